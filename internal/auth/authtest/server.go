// Package authtest provides a fake Microsoft Entra ID token service for
// tests: an https server on a loopback address that answers the requests
// MSAL (behind azidentity) makes for the client-secret, certificate and
// device-code flows, so end-to-end sign-in tests need no network.
//
// Use it with auth.Options{AuthorityHost: srv.URL, Transport: srv.Client()}
// and AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET set to any
// values in the injected environment.
package authtest

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
)

// TokenPrefix starts every access token the server issues; the n-th is
// TokenPrefix followed by n ("authtest-token-1", ...).
const TokenPrefix = "authtest-token-"

// Request is one request the server received.
type Request struct {
	Method, Path string
	GrantType    string // grant_type of a token request, "" otherwise
	Claims       string // the claims form field, "" when absent
	Scope        string
	ClientID     string
}

// Server is a fake Entra ID token service. It serves, under any tenant:
//
//	GET  /{tenant}/v2.0/.well-known/openid-configuration
//	POST /{tenant}/oauth2/v2.0/token       client_credentials (secret or assertion), device_code, refresh_token
//	POST /{tenant}/oauth2/v2.0/devicecode
//
// and answers anything else 404 (Requests records it). Its methods are
// safe for concurrent use.
type Server struct {
	// URL is the authority host, "https://127.0.0.1:PORT/", for
	// auth.Options.AuthorityHost.
	URL string

	srv *httptest.Server

	mu        sync.Mutex
	issued    []string
	requests  []Request
	strays    []string
	expiresIn time.Duration
	failNext  int
}

// NewServer starts a Server that is closed when the test ends. Tokens it
// issues last an hour unless SetExpiresIn says otherwise.
func NewServer(t testing.TB) *Server {
	t.Helper()
	s := &Server{expiresIn: time.Hour}
	s.srv = httptest.NewTLSServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL + "/"
	t.Cleanup(s.srv.Close)
	return s
}

// Client returns an HTTP client that trusts the server's certificate and
// refuses to send anything anywhere else (Strays lists what it refused);
// pass it as auth.Options.Transport.
func (s *Server) Client() *http.Client {
	c := s.srv.Client()
	return &http.Client{Transport: onlyTo{s: s, host: s.srv.Listener.Addr().String(), next: c.Transport}}
}

// Strays returns the URLs of requests Client refused because they were
// not for this server, e.g. instance discovery or a metadata endpoint.
func (s *Server) Strays() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.strays...)
}

// onlyTo lets requests through to one host only.
type onlyTo struct {
	s    *Server
	host string
	next http.RoundTripper
}

func (o onlyTo) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.URL.Host != o.host {
		o.s.mu.Lock()
		o.s.strays = append(o.s.strays, r.Method+" "+r.URL.String())
		o.s.mu.Unlock()
		return nil, fmt.Errorf("authtest: refusing to send %s %s: not the fake token server", r.Method, r.URL.Redacted())
	}
	return o.next.RoundTrip(r)
}

// Issued returns how many access tokens the server has issued.
func (s *Server) Issued() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.issued)
}

// Tokens returns the access tokens issued so far, oldest first.
func (s *Server) Tokens() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued...)
}

// Valid reports whether the server issued tok. A fake Graph can use it to
// check Authorization headers.
func (s *Server) Valid(tok string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, t := range s.issued {
		if t == tok {
			return true
		}
	}
	return false
}

// Requests returns every request received so far, oldest first.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// SetExpiresIn sets the lifetime of the tokens issued from now on.
func (s *Server) SetExpiresIn(d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresIn = d
}

// FailNext makes the next n token requests fail with 401 invalid_client,
// as Entra ID answers a wrong client secret.
func (s *Server) FailNext(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failNext = n
}

const (
	deviceCode = "authtest-device-code"
	userCode   = "AUTHTEST"
	tenantGUID = "00000000-0000-4000-8000-00000000a0a0"
	userOID    = "00000000-0000-4000-8000-00000000b0b0"
)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	_ = r.ParseForm()
	req := Request{
		Method:   r.Method,
		Path:     r.URL.Path,
		Claims:   r.PostForm.Get("claims"),
		Scope:    r.PostForm.Get("scope"),
		ClientID: r.PostForm.Get("client_id"),
	}
	if strings.HasSuffix(r.URL.Path, "/oauth2/v2.0/token") {
		req.GrantType = r.PostForm.Get("grant_type")
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()

	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := parts[0], strings.Join(parts[1:], "/")
	switch {
	case r.Method == http.MethodGet && rest == "v2.0/.well-known/openid-configuration":
		base := s.URL + tenant
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                        base + "/v2.0",
			"authorization_endpoint":        base + "/oauth2/v2.0/authorize",
			"token_endpoint":                base + "/oauth2/v2.0/token",
			"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode",
		})
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/devicecode":
		writeJSON(w, http.StatusOK, map[string]any{
			"device_code":      deviceCode,
			"user_code":        userCode,
			"verification_uri": "https://login.microsoft.com/device",
			"expires_in":       900,
			"interval":         1,
			"message":          "To sign in, use a web browser to open the page https://login.microsoft.com/device and enter the code " + userCode + " to authenticate.",
		})
	case r.Method == http.MethodPost && rest == "oauth2/v2.0/token":
		s.token(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) token(w http.ResponseWriter, r *http.Request) {
	f := r.PostForm
	s.mu.Lock()
	fail := s.failNext > 0
	if fail {
		s.failNext--
	}
	s.mu.Unlock()
	if fail {
		oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000215: Invalid client secret provided.")
		return
	}
	if f.Get("client_id") == "" || !strings.HasSuffix(f.Get("scope"), "/.default") && !strings.Contains(f.Get("scope"), "/.default ") {
		oauthError(w, http.StatusBadRequest, "invalid_request", "AADSTS900144: client_id and a /.default scope are required.")
		return
	}
	user := false
	switch f.Get("grant_type") {
	case "client_credentials":
		if f.Get("client_secret") == "" && f.Get("client_assertion") == "" {
			oauthError(w, http.StatusUnauthorized, "invalid_client", "AADSTS7000216: client_secret or client_assertion is required.")
			return
		}
	case "device_code", "urn:ietf:params:oauth:grant-type:device_code": // MSAL sends the former
		if f.Get("device_code") != deviceCode {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS70019: unknown device code.")
			return
		}
		user = true
	case "refresh_token":
		if !strings.HasPrefix(f.Get("refresh_token"), "authtest-refresh-") {
			oauthError(w, http.StatusBadRequest, "invalid_grant", "AADSTS9002313: invalid refresh token.")
			return
		}
		user = true
	default:
		oauthError(w, http.StatusBadRequest, "unsupported_grant_type", "AADSTS70003: unsupported grant type.")
		return
	}

	s.mu.Lock()
	n := len(s.issued) + 1
	tok := fmt.Sprintf("%s%d", TokenPrefix, n)
	s.issued = append(s.issued, tok)
	life := int(s.expiresIn / time.Second)
	s.mu.Unlock()

	body := map[string]any{
		"token_type":     "Bearer",
		"access_token":   tok,
		"expires_in":     life,
		"ext_expires_in": life,
		"scope":          f.Get("scope"),
	}
	if user {
		now := time.Now().Unix()
		body["refresh_token"] = fmt.Sprintf("authtest-refresh-%d", n)
		body["client_info"] = b64(`{"uid":"` + userOID + `","utid":"` + tenantGUID + `"}`)
		body["id_token"] = b64(`{"alg":"none","typ":"JWT"}`) + "." + b64(fmt.Sprintf(
			`{"aud":%q,"iss":%q,"tid":%q,"oid":%q,"sub":"authtest-subject","preferred_username":"user@authtest.example","name":"Authtest User","ver":"2.0","iat":%d,"nbf":%d,"exp":%d}`,
			f.Get("client_id"), s.URL+tenantGUID+"/v2.0", tenantGUID, userOID, now, now, now+3600)) + ".c2ln"
	}
	writeJSON(w, http.StatusOK, body)
}

func b64(s string) string { return base64.RawURLEncoding.EncodeToString([]byte(s)) }

func oauthError(w http.ResponseWriter, status int, code, desc string) {
	writeJSON(w, status, map[string]any{"error": code, "error_description": desc, "error_codes": []int{0}})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}
