package auth

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/auth/authtest"
)

// fakeClock is a settable clock for expiry decisions.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

func envFunc(m map[string]string) func(string) string {
	return func(k string) string { return m[k] }
}

// entraSource returns a Source of the given kind signing in at srv.
func entraSource(t *testing.T, srv *authtest.Server, kind string, env map[string]string, clock *fakeClock, prompt *bytes.Buffer) *Source {
	t.Helper()
	// azidentity reads this one from the process environment; make sure a
	// developer's setting cannot send the test off the loopback.
	t.Setenv("AZURE_REGIONAL_AUTHORITY_NAME", "")
	opt := Options{
		Kind:          kind,
		Getenv:        envFunc(env),
		AuthorityHost: srv.URL,
		Transport:     srv.Client(),
		Interactive:   prompt != nil,
		Clock:         clock.now,
		LookPath:      func(string) (string, error) { return "", errors.New("not found") },
	}
	if prompt != nil {
		opt.Prompt = prompt
	}
	src, err := New(opt)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	return src
}

var secretEnv = map[string]string{
	"AZURE_TENANT_ID":     "contoso.example",
	"AZURE_CLIENT_ID":     "11111111-2222-3333-4444-555555555555",
	"AZURE_CLIENT_SECRET": "not-a-real-secret",
}

// checkNoMetadata fails the test if the server saw anything but the
// discovery document and token requests (no instance discovery, no IMDS)
// and nothing was sent anywhere else.
func checkNoMetadata(t *testing.T, srv *authtest.Server) {
	t.Helper()
	for _, u := range srv.Strays() {
		t.Errorf("a sign-in request left the fake server: %s", u)
	}
	for _, r := range srv.Requests() {
		p := strings.ToLower(r.Path)
		if strings.Contains(p, "metadata") || strings.Contains(p, "discovery/instance") || strings.Contains(p, "msi") {
			t.Errorf("server saw a metadata request: %s %s", r.Method, r.Path)
		}
		if !strings.HasSuffix(p, "/v2.0/.well-known/openid-configuration") && !strings.HasSuffix(p, "/oauth2/v2.0/token") && !strings.HasSuffix(p, "/oauth2/v2.0/devicecode") {
			t.Errorf("server saw an unexpected request: %s %s", r.Method, r.Path)
		}
	}
}

func TestEnvironmentSecretTokenAndRefresh(t *testing.T) {
	srv := authtest.NewServer(t)
	clock := &fakeClock{t: time.Now()}
	src := entraSource(t, srv, KindEnvironment, secretEnv, clock, nil)
	ctx := context.Background()

	tok1, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if want := authtest.TokenPrefix + "1"; tok1 != want {
		t.Fatalf("Token = %q, want %q", tok1, want)
	}
	if got, err := src.Token(ctx); err != nil || got != tok1 {
		t.Fatalf("second Token = %q, %v; want the cached %q", got, err, tok1)
	}
	if n := srv.Issued(); n != 1 {
		t.Fatalf("issued %d tokens after two Token calls, want 1", n)
	}

	// Many workers see the same 401: one new token, the same for all.
	const workers = 8
	got := make([]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { got[i], errs[i] = src.Refresh(ctx, tok1) })
	}
	wg.Wait()
	want := authtest.TokenPrefix + "2"
	for i := range workers {
		if errs[i] != nil || got[i] != want {
			t.Errorf("Refresh #%d = %q, %v; want %q", i, got[i], errs[i], want)
		}
	}
	if n := srv.Issued(); n != 2 {
		t.Errorf("issued %d tokens after %d concurrent Refresh calls, want 2", n, workers)
	}
	if tok, err := src.Token(ctx); err != nil || tok != want {
		t.Errorf("Token after Refresh = %q, %v; want %q", tok, err, want)
	}

	// The refresh got past MSAL's cache because it carried claims; the
	// first request did not.
	var grants []string
	for _, r := range srv.Requests() {
		if r.GrantType != "" {
			grants = append(grants, r.GrantType+" claims="+boolWord(r.Claims != ""))
		}
	}
	if want := []string{"client_credentials claims=no", "client_credentials claims=yes"}; strings.Join(grants, "|") != strings.Join(want, "|") {
		t.Errorf("token requests = %q, want %q", grants, want)
	}
	for _, r := range srv.Requests() {
		if r.GrantType != "" && strings.Fields(r.Scope)[0] != "https://graph.microsoft.com/.default" {
			t.Errorf("token request scope = %q, want the global Graph scope first", r.Scope)
		}
	}
	checkNoMetadata(t, srv)
}

func boolWord(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// Without the claims trick MSAL hands back its cached token: this is what
// Refresh has to get past, and proves the test above can fail.
func TestMSALCacheWithoutClaims(t *testing.T) {
	srv := authtest.NewServer(t)
	clock := &fakeClock{t: time.Now()}
	src := entraSource(t, srv, KindEnvironment, secretEnv, clock, nil)
	f := src.fetcher.(*credentialFetcher)
	ctx := context.Background()
	a, err := f.fetch(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	b, err := f.fetch(ctx, false)
	if err != nil {
		t.Fatal(err)
	}
	if a.value != b.value || srv.Issued() != 1 {
		t.Fatalf("unforced fetches gave %q then %q with %d issued; want MSAL's cached token", a.value, b.value, srv.Issued())
	}
	c, err := f.fetch(ctx, true)
	if err != nil {
		t.Fatal(err)
	}
	if c.value == a.value || srv.Issued() != 2 {
		t.Fatalf("forced fetch gave %q (issued %d); want a new token", c.value, srv.Issued())
	}
}

func TestEnvironmentRefreshBeforeExpiry(t *testing.T) {
	srv := authtest.NewServer(t)
	// Shorter than MSAL's own 5-minute margin, so MSAL never serves these
	// from its cache and the Source alone decides when to fetch.
	srv.SetExpiresIn(250 * time.Second)
	clock := &fakeClock{t: time.Now()}
	src := entraSource(t, srv, KindEnvironment, secretEnv, clock, nil)
	ctx := context.Background()

	tok1, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(100 * time.Second) // before half the lifetime: keep it
	if tok, err := src.Token(ctx); err != nil || tok != tok1 {
		t.Fatalf("Token at +100s = %q, %v; want %q", tok, err, tok1)
	}
	clock.advance(30 * time.Second) // past half of a short lifetime: replace
	tok2, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if tok2 == tok1 || srv.Issued() != 2 {
		t.Fatalf("Token at +130s = %q (issued %d), want a second token", tok2, srv.Issued())
	}
	checkNoMetadata(t, srv)
}

func TestEnvironmentFailureKeepsWorkingToken(t *testing.T) {
	srv := authtest.NewServer(t)
	srv.SetExpiresIn(250 * time.Second)
	clock := &fakeClock{t: time.Now()}
	src := entraSource(t, srv, KindEnvironment, secretEnv, clock, nil)
	ctx := context.Background()
	tok1, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	clock.advance(130 * time.Second)
	srv.FailNext(1)
	if tok, err := src.Token(ctx); err != nil || tok != tok1 {
		t.Fatalf("Token with a failing early refresh = %q, %v; want the still valid %q", tok, err, tok1)
	}
	requests := len(srv.Requests())
	if tok, err := src.Token(ctx); err != nil || tok != tok1 {
		t.Fatalf("Token right after = %q, %v; want %q", tok, err, tok1)
	}
	if n := len(srv.Requests()); n != requests {
		t.Errorf("a failed early refresh was retried at once (%d requests, want %d)", n, requests)
	}
	clock.advance(retryEarlyRefresh)
	if tok, err := src.Token(ctx); err != nil || tok == tok1 {
		t.Fatalf("Token after the hold-off = %q, %v; want a new token", tok, err)
	}
}

func TestEnvironmentBadSecret(t *testing.T) {
	srv := authtest.NewServer(t)
	clock := &fakeClock{t: time.Now()}
	src := entraSource(t, srv, KindEnvironment, secretEnv, clock, nil)
	srv.FailNext(100)
	_, err := src.Token(context.Background())
	var ae *Error
	if !errors.As(err, &ae) || ae.Kind != KindEnvironment {
		t.Fatalf("Token error = %v, want an *Error of kind environment", err)
	}
	if strings.Contains(err.Error(), secretEnv["AZURE_CLIENT_SECRET"]) {
		t.Errorf("error %q contains the client secret", err)
	}
	if !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Errorf("error %q does not pass on Entra's reason", err)
	}
}

func TestEnvironmentCertificate(t *testing.T) {
	srv := authtest.NewServer(t)
	path := writeTestCertificate(t)
	env := map[string]string{
		"AZURE_TENANT_ID":               "contoso.example",
		"AZURE_CLIENT_ID":               "11111111-2222-3333-4444-555555555555",
		"AZURE_CLIENT_CERTIFICATE_PATH": path,
	}
	src := entraSource(t, srv, KindAuto, env, &fakeClock{t: time.Now()}, nil)
	if src.Kind() != KindEnvironment {
		t.Fatalf("auto chose %q, want environment", src.Kind())
	}
	tok, err := src.Token(context.Background())
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if tok != authtest.TokenPrefix+"1" {
		t.Errorf("Token = %q", tok)
	}
	checkNoMetadata(t, srv)
}

// writeTestCertificate writes a self-signed certificate and its key as PEM.
func writeTestCertificate(t *testing.T) string {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048) // MSAL signs assertions with RSA only
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "bulkpatch test"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	var b bytes.Buffer
	_ = pem.Encode(&b, &pem.Block{Type: "CERTIFICATE", Bytes: der})
	_ = pem.Encode(&b, &pem.Block{Type: "PRIVATE KEY", Bytes: pk})
	path := filepath.Join(t.TempDir(), "app.pem")
	if err := os.WriteFile(path, b.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func TestDeviceCode(t *testing.T) {
	srv := authtest.NewServer(t)
	var prompt bytes.Buffer
	src := entraSource(t, srv, KindDeviceCode, map[string]string{}, &fakeClock{t: time.Now()}, &prompt)
	ctx := context.Background()
	tok1, err := src.Token(ctx)
	if err != nil {
		t.Fatalf("Token: %v", err)
	}
	if !strings.Contains(prompt.String(), "AUTHTEST") {
		t.Errorf("prompt %q does not show the user code", prompt.String())
	}
	// A rejected user token is replaced through the refresh token, not by
	// asking the user again.
	prompt.Reset()
	tok2, err := src.Refresh(ctx, tok1)
	if err != nil {
		t.Fatalf("Refresh: %v", err)
	}
	if tok2 == tok1 {
		t.Errorf("Refresh returned the rejected token")
	}
	if prompt.Len() != 0 {
		t.Errorf("Refresh prompted again: %q", prompt.String())
	}
	var grants []string
	for _, r := range srv.Requests() {
		if r.GrantType != "" {
			grants = append(grants, r.GrantType+" claims="+boolWord(r.Claims != ""))
		}
		if r.ClientID != "" && r.ClientID != GraphCLIClientID {
			t.Errorf("client_id = %q, want the Graph CLI tools app %q", r.ClientID, GraphCLIClientID)
		}
		if !strings.HasPrefix(r.Path, "/organizations/") {
			t.Errorf("request to %s, want the organizations tenant", r.Path)
		}
	}
	if want := "device_code claims=no|refresh_token claims=yes"; strings.Join(grants, "|") != want {
		t.Errorf("grants = %q, want %q", grants, want)
	}
	checkNoMetadata(t, srv)
}

// Without DisableInstanceDiscovery MSAL would ask the public cloud to
// vouch for the unknown loopback authority: the override must prevent it,
// and this shows the guard in checkNoMetadata would notice.
func TestInstanceDiscoveryWouldStray(t *testing.T) {
	srv := authtest.NewServer(t)
	t.Setenv("AZURE_REGIONAL_AUTHORITY_NAME", "")
	s, err := settings(Options{Transport: srv.Client()}, Cloud{AuthorityHost: srv.URL}, envFunc(secretEnv))
	if err != nil {
		t.Fatal(err)
	}
	if s.disableDiscovery {
		t.Fatal("discovery disabled without an AuthorityHost override")
	}
	s.client.Retry.MaxRetries = -1 // azcore would retry the refused request with backoff
	cred, err := environmentCredential(s)
	if err != nil {
		t.Fatal(err)
	}
	f := &credentialFetcher{cred: cred, scope: "https://graph.microsoft.com/.default", claims: true, now: time.Now}
	if _, err := f.fetch(context.Background(), false); err == nil {
		t.Fatal("fetch succeeded although instance discovery could not reach its host")
	}
	if len(srv.Strays()) == 0 {
		t.Fatal("no stray request recorded")
	}
	if !strings.Contains(srv.Strays()[0], "discovery/instance") {
		t.Errorf("stray = %q, want MSAL's instance discovery", srv.Strays()[0])
	}
}
