package graph

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// fakeTokens is a TokenSource that counts its calls. Refresh issues a new
// token only when the rejected one is current, as the contract asks.
type fakeTokens struct {
	mu        sync.Mutex
	tok       string
	gets      int
	refreshes int
	n         int
	err       error
}

func (f *fakeTokens) Token(context.Context) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.gets++
	return f.tok, f.err
}

func (f *fakeTokens) Refresh(_ context.Context, rejected string) (string, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.refreshes++
	if rejected == f.tok {
		f.n++
		f.tok = "secret-token-" + string(rune('a'+f.n))
	}
	return f.tok, f.err
}

// seen is one request as the test server saw it.
type seen struct {
	Method, Path, Query string
	CRID, Auth          string
	ContentType, Accept string
	UserAgent           string
	Body                string
}

// script answers the n-th request with steps[n] (the last step repeats)
// and records every request.
type script struct {
	mu    sync.Mutex
	reqs  []seen
	steps []http.HandlerFunc
}

func (s *script) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	s.mu.Lock()
	s.reqs = append(s.reqs, seen{
		Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery,
		CRID: r.Header.Get("client-request-id"), Auth: r.Header.Get("Authorization"),
		ContentType: r.Header.Get("Content-Type"), Accept: r.Header.Get("Accept"),
		UserAgent: r.Header.Get("User-Agent"), Body: string(b),
	})
	i := min(len(s.reqs), len(s.steps)) - 1
	step := s.steps[i]
	s.mu.Unlock()
	step(w, r)
}

func (s *script) setSteps(steps ...http.HandlerFunc) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.steps = steps
}

func (s *script) Requests() []seen {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]seen(nil), s.reqs...)
}

// reply returns a step writing status, headers (pairs) and body.
func reply(status int, body string, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		if body != "" {
			w.Header().Set("Content-Type", "application/json")
		}
		w.WriteHeader(status)
		io.WriteString(w, body)
	}
}

// hangUp is a step that closes the connection without answering.
func hangUp(w http.ResponseWriter, r *http.Request) {
	conn, _, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	conn.Close()
}

const errBody404 = `{"error":{"code":"ResourceNotFound","message":"The object does not exist.","innerError":{"date":"2026-01-02T03:04:05","request-id":"inner-rid","client-request-id":"inner-crid"}}}`

// newTestClient starts a server running steps and a client for it with an
// auto fake clock, jitter 0.5 and 5 retries; mod adjusts the config.
func newTestClient(t *testing.T, mod func(*Config), steps ...http.HandlerFunc) (*Client, *script, *fakeClock) {
	t.Helper()
	sc := &script{steps: steps}
	srv := httptest.NewServer(sc)
	t.Cleanup(srv.Close)
	clk := newFakeClock(true)
	cfg := Config{
		BaseURL:    srv.URL + "/beta",
		HTTPClient: srv.Client(),
		MaxRetries: 5,
		Clock:      clk,
		Rand:       func() float64 { return 0.5 },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, sc, clk
}

// target is the path most tests write to; the server sees targetPath.
const (
	target     = "/deviceAppManagement/mobileApps/app-1/deviceStatuses/st-1"
	targetPath = "/beta" + target
)
