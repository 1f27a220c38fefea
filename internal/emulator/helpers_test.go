package emulator

import (
	"bytes"
	"crypto/tls"
	"encoding/json"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeClock is a settable clock for limit tests.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func newFakeClock() *fakeClock {
	return &fakeClock{t: time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)}
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

const seedJSON = `{
  "mobileApps": [
    {
      "id": "app1",
      "deviceStatuses": [
        {"id": "s1", "deviceName": "PC-1", "installState": "installed", "errorCode": 0,
         "lastSyncDateTime": "2026-01-15T08:30:00Z"},
        {"id": "s2", "deviceName": "PC-2"},
        {"id": "a/b", "deviceName": "slashed"}
      ],
      "userStatuses": [
        {"id": "u1", "deviceStatuses": [{"id": "s1", "deviceName": "nested"}]}
      ]
    },
    {"id": "empty"}
  ]
}`

func seedState(t testing.TB) *State {
	t.Helper()
	st, err := LoadState(strings.NewReader(seedJSON))
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// start runs a server on loopback and returns it with its API root.
func start(t testing.TB, st *State, opt Options) (*Server, string) {
	t.Helper()
	if st == nil {
		st = seedState(t)
	}
	s, err := New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := s.Close(); err != nil {
			t.Errorf("close: %v", err)
		}
	})
	return s, base
}

// reply is a decoded HTTP answer.
type reply struct {
	status int
	header http.Header
	body   []byte
}

func (r reply) json(t testing.TB) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body %q: %v", r.body, err)
	}
	return m
}

// errorCode returns the error code of a Graph error body, checking its
// shape on the way.
func (r reply) errorCode(t testing.TB) string {
	t.Helper()
	checkErrorShape(t, r)
	return r.json(t)["error"].(map[string]any)["code"].(string)
}

func (r reply) errorMessage(t testing.TB) string {
	t.Helper()
	return r.json(t)["error"].(map[string]any)["message"].(string)
}

// checkErrorShape fails unless r is a Graph error: the body shape, the
// innerError ids matching the headers.
func checkErrorShape(t testing.TB, r reply) {
	t.Helper()
	var e struct {
		Error *struct {
			Code       *string `json:"code"`
			Message    *string `json:"message"`
			InnerError *struct {
				Date            string `json:"date"`
				RequestID       string `json:"request-id"`
				ClientRequestID string `json:"client-request-id"`
			} `json:"innerError"`
		} `json:"error"`
	}
	if err := json.Unmarshal(r.body, &e); err != nil {
		t.Fatalf("error body %q: %v", r.body, err)
	}
	if e.Error == nil || e.Error.Code == nil || e.Error.Message == nil || e.Error.InnerError == nil {
		t.Fatalf("error body %q lacks error.code, .message or .innerError", r.body)
	}
	in := e.Error.InnerError
	if _, err := time.Parse("2006-01-02T15:04:05", in.Date); err != nil {
		t.Errorf("innerError.date %q: %v", in.Date, err)
	}
	if in.RequestID == "" || (r.header != nil && in.RequestID != r.header.Get("request-id")) {
		t.Errorf("innerError.request-id %q, header %q", in.RequestID, r.header.Get("request-id"))
	}
	if in.ClientRequestID == "" {
		t.Errorf("innerError.client-request-id is empty")
	}
}

// testToken is the bearer token the helpers send unless told otherwise:
// the emulator requires one by default.
const testToken = "test-token"

// do sends one request with a real client; hdr holds extra headers as
// name, value pairs; an empty value removes a header the helper would
// send (Authorization, Content-Type).
func do(t testing.TB, method, url, body string, hdr ...string) reply {
	t.Helper()
	r, err := send(method, url, body, hdr...)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

// tlsClients holds, by host:port, a client that trusts the certificate
// of the TLS server listening there (see startTLS).
var tlsClients sync.Map

// clientFor returns the client for rawURL: the one trusting its TLS
// server, or http.DefaultClient.
func clientFor(rawURL string) *http.Client {
	if u, err := url.Parse(rawURL); err == nil && u.Scheme == "https" {
		if c, ok := tlsClients.Load(u.Host); ok {
			return c.(*http.Client)
		}
	}
	return http.DefaultClient
}

// startTLS is start with Options.TLS, registering a client that trusts
// the server's certificate for do and send.
func startTLS(t testing.TB, st *State, opt Options) (*Server, string) {
	t.Helper()
	opt.TLS = true
	s, base := start(t, st, opt)
	u, err := url.Parse(base)
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}, ForceAttemptHTTP2: true}
	tlsClients.Store(u.Host, &http.Client{Transport: tr})
	t.Cleanup(func() {
		tr.CloseIdleConnections()
		tlsClients.Delete(u.Host)
	})
	return s, base
}

func send(method, url, body string, hdr ...string) (reply, error) {
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		return reply{}, err
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		if hdr[i+1] == "" {
			req.Header.Del(hdr[i])
			continue
		}
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := clientFor(url).Do(req)
	if err != nil {
		return reply{}, err
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		return reply{}, err
	}
	return reply{resp.StatusCode, resp.Header, bytes.TrimSpace(b)}, nil
}
