package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

var guidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNewBaseURL(t *testing.T) {
	tests := []struct {
		url  string
		ok   bool
		base string
	}{
		{"", true, DefaultBaseURL},
		{"https://graph.microsoft.com/beta", true, "https://graph.microsoft.com/beta"},
		{"https://graph.microsoft.us/v1.0/", true, "https://graph.microsoft.us/v1.0"},
		{"http://127.0.0.1:8089/beta", true, "http://127.0.0.1:8089/beta"},
		{"http://127.5.6.7/beta", true, "http://127.5.6.7/beta"},
		{"http://[::1]:8089/beta", true, "http://[::1]:8089/beta"},
		{"http://localhost:8089/beta", true, "http://localhost:8089/beta"},
		{"http://LOCALHOST/beta", true, "http://LOCALHOST/beta"},
		{"http://graph.microsoft.com/beta", false, ""},
		{"http://10.0.0.1/beta", false, ""},
		{"http://localhost.evil.example/beta", false, ""},
		{"http://127.0.0.1.nip.io/beta", false, ""},
		{"http://[::ffff:10.0.0.1]/beta", false, ""},
		{"https://user:pw@graph.microsoft.com/beta", false, ""},
		{"https://graph.microsoft.com/beta?x=1", false, ""},
		{"https://graph.microsoft.com/beta?", false, ""},
		{"https://graph.microsoft.com/beta#frag", false, ""},
		{"https://graph.microsoft.com/beta#", false, ""},
		{"ftp://graph.microsoft.com/beta", false, ""},
		{"graph.microsoft.com/beta", false, ""},
		{"https:///beta", false, ""},
		{"mailto:x@example.com", false, ""},
		{"https://graph.microsoft.com/%zz", false, ""},
	}
	for _, tt := range tests {
		c, err := New(Config{BaseURL: tt.url})
		if (err == nil) != tt.ok {
			t.Errorf("New(%q) error = %v, want ok %v", tt.url, err, tt.ok)
			continue
		}
		if err == nil && c.base != tt.base {
			t.Errorf("New(%q) base = %q, want %q", tt.url, c.base, tt.base)
		}
		if err != nil && strings.Contains(err.Error(), "pw") {
			t.Errorf("New(%q) error shows the password: %v", tt.url, err)
		}
	}
}

// TestNewBaseURLHidesSecrets: a refused base URL may carry a token where
// people paste one (user info, query, fragment, even a port); the error
// goes to logs and must not repeat it.
func TestNewBaseURLHidesSecrets(t *testing.T) {
	const secret = "S3CRET-t0ken"
	tests := []struct{ url, shown string }{
		{"https://graph.microsoft.com/beta?access_token=" + secret, `"https://graph.microsoft.com/beta…"`},
		{"https://" + secret + "@graph.microsoft.com/beta", `"https://graph.microsoft.com/beta…"`},
		{"https://user:" + secret + "@graph.microsoft.com/beta", `"https://graph.microsoft.com/beta…"`},
		{"https://graph.microsoft.com/beta#" + secret, `"https://graph.microsoft.com/beta…"`},
		{"http://graph.microsoft.com/beta?" + secret, `"http://graph.microsoft.com/beta…"`},
		{"https://graph.microsoft.com/be%zz?" + secret, "a % is not followed by two hex digits"},
		{"https://graph.microsoft.com:" + secret + "/beta", "not a valid URL"},
		{"https://graph microsoft.com/beta?" + secret, "not a valid URL"},
		{"https://graph.microsoft.com/beta\x01?" + secret, "not a valid URL"},
	}
	for _, tt := range tests {
		_, err := New(Config{BaseURL: tt.url})
		if err == nil {
			t.Errorf("New(%q) succeeded", tt.url)
			continue
		}
		if strings.Contains(err.Error(), secret) || !strings.Contains(err.Error(), tt.shown) {
			t.Errorf("New(%q) error = %q, want it to show %s and not the secret", tt.url, err, tt.shown)
		}
	}
}

func TestNewRejectsBadRates(t *testing.T) {
	for _, cfg := range []Config{
		{WriteRate: -1}, {ReadRate: -0.5}, {WriteRate: float64Inf()}, {ReadRate: float64NaN()},
		{RequestTimeout: -time.Second},
	} {
		if _, err := New(cfg); err == nil {
			t.Errorf("New(%+v) succeeded, want an error", cfg)
		}
	}
}

func float64Inf() float64 { var z float64; return 1 / z }
func float64NaN() float64 { var z float64; return z / z }

func TestPatchSuccess(t *testing.T) {
	obj := `{"id":"st-1","installState":"installed"}`
	tests := []struct {
		name     string
		step     http.HandlerFunc
		status   int
		wantBody string
	}{
		{"204 no content", reply(204, "", "request-id", "rid-1"), 204, ""},
		{"200 with the object", reply(200, obj, "request-id", "rid-1"), 200, obj},
	}
	for _, tt := range tests {
		tok := &fakeTokens{tok: "secret-token-a"}
		c, sc, _ := newTestClient(t, func(cfg *Config) { cfg.Tokens = tok; cfg.UserAgent = "bulkpatch-test/1" }, tt.step)
		body := `{"installState":"installed"}`
		res := c.Send(context.Background(), Write{Path: target, Body: []byte(body), ClientRequestID: "crid-1"})
		if res.Err != nil {
			t.Fatalf("%s: %v", tt.name, res.Err)
		}
		want := Result{Status: tt.status, Attempts: 1, RequestID: "rid-1", ClientRequestID: "crid-1"}
		if tt.wantBody != "" {
			want.Body = json.RawMessage(tt.wantBody)
		}
		if diff := cmp.Diff(want, res); diff != "" {
			t.Errorf("%s: result (-want +got):\n%s", tt.name, diff)
		}
		wantSeen := []seen{{
			Method: "PATCH", Path: targetPath, CRID: "crid-1", Auth: "Bearer secret-token-a",
			ContentType: "application/json", Accept: "application/json", UserAgent: "bulkpatch-test/1", Body: body,
		}}
		if diff := cmp.Diff(wantSeen, sc.Requests()); diff != "" {
			t.Errorf("%s: requests (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestNoTokensNoAuthorization(t *testing.T) {
	c, sc, _ := newTestClient(t, nil, reply(204, ""))
	res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	r := sc.Requests()[0]
	if r.Auth != "" {
		t.Errorf("Authorization %q sent without a TokenSource", r.Auth)
	}
	if r.UserAgent != "bulkpatch" {
		t.Errorf("User-Agent %q, want the default bulkpatch", r.UserAgent)
	}
	if !guidRE.MatchString(r.CRID) || res.ClientRequestID != r.CRID {
		t.Errorf("client-request-id %q (result %q), want one fresh GUID", r.CRID, res.ClientRequestID)
	}
}

func TestFinalErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		code   string
	}{
		{"400", 400, `{"error":{"code":"BadRequest","message":"Invalid value"}}`, "BadRequest"},
		{"403", 403, `{"error":{"code":"Forbidden","message":"no permission"}}`, "Forbidden"},
		{"404", 404, errBody404, "ResourceNotFound"},
		{"409", 409, `{"error":{"code":"Conflict","message":"busy"}}`, "Conflict"},
		{"501", 501, ``, ""},
	}
	for _, tt := range tests {
		c, sc, clk := newTestClient(t, nil, reply(tt.status, tt.body, "request-id", "rid-9"))
		res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`), ClientRequestID: "c1"})
		var apiErr *APIError
		if !errors.As(res.Err, &apiErr) {
			t.Fatalf("%s: Err = %v, want *APIError", tt.name, res.Err)
		}
		if apiErr.Status != tt.status || apiErr.Code != tt.code || apiErr.RequestID != "rid-9" {
			t.Errorf("%s: APIError %+v", tt.name, apiErr)
		}
		if res.Attempts != 1 || res.Status != tt.status || res.RequestID != "rid-9" || len(sc.Requests()) != 1 {
			t.Errorf("%s: Attempts %d, Status %d, RequestID %q, requests %d; want 1, %d, rid-9, 1",
				tt.name, res.Attempts, res.Status, res.RequestID, len(sc.Requests()), tt.status)
		}
		if w := clk.Waits(); len(w) != 0 {
			t.Errorf("%s: waited %v for a final error", tt.name, w)
		}
	}
}

// TestThrottledThenSuccess covers each form of Retry-After: the wait the
// client asks of its clock is the server's, exactly, and the same
// client-request-id goes out again.
func TestThrottledThenSuccess(t *testing.T) {
	date := "Fri, 02 Jan 2026 10:00:00 GMT"
	tests := []struct {
		name    string
		status  int
		headers []string
		wait    time.Duration
	}{
		{"integer", 429, []string{"Retry-After", "3"}, 3 * time.Second},
		{"fractional", 429, []string{"Retry-After", "2.128"}, 2128 * time.Millisecond},
		{"sub-second", 429, []string{"Retry-After", "0.249"}, 249 * time.Millisecond},
		{"HTTP date against Date", 429, []string{"Retry-After", "Fri, 02 Jan 2026 10:00:05 GMT", "Date", date}, 5 * time.Second},
		{"HTTP date against the clock", 429, []string{"Retry-After", t0.Add(7 * time.Second).Format(http.TimeFormat), "Date", ""}, 7 * time.Second},
		{"missing: backoff, not immediate", 429, nil, 500 * time.Millisecond},
		{"zero: backoff", 429, []string{"Retry-After", "0"}, 500 * time.Millisecond},
		{"garbage: backoff", 429, []string{"Retry-After", "-1"}, 500 * time.Millisecond},
		{"503 with Retry-After", 503, []string{"Retry-After", "4"}, 4 * time.Second},
		{"504 with Retry-After", 504, []string{"Retry-After", "1.5"}, 1500 * time.Millisecond},
		{"500 ignores Retry-After: a brief backoff", 500, []string{"Retry-After", "9"}, 50 * time.Millisecond},
		{"502: a brief backoff", 502, nil, 50 * time.Millisecond},
	}
	for _, tt := range tests {
		first := func(w http.ResponseWriter, r *http.Request) {
			for i := 0; i+1 < len(tt.headers); i += 2 {
				if tt.headers[i+1] == "" {
					w.Header()[tt.headers[i]] = nil // suppress the server's own Date
					continue
				}
				w.Header().Set(tt.headers[i], tt.headers[i+1])
			}
			w.WriteHeader(tt.status)
			w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"slow down"}}`))
		}
		c, sc, clk := newTestClient(t, nil, first, reply(204, "", "request-id", "rid-ok"))
		res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
		if res.Err != nil {
			t.Errorf("%s: %v", tt.name, res.Err)
			continue
		}
		wantThrottled := 0
		if tt.status == 429 {
			wantThrottled = 1
		}
		if res.Attempts != 2 || res.Throttled != wantThrottled || res.Status != 204 || res.RequestID != "rid-ok" {
			t.Errorf("%s: Attempts %d Throttled %d Status %d RequestID %q; want 2 %d 204 rid-ok",
				tt.name, res.Attempts, res.Throttled, res.Status, res.RequestID, wantThrottled)
		}
		if got := clk.Waits(); len(got) != 1 || got[0] != tt.wait {
			t.Errorf("%s: waits %v, want [%v]", tt.name, got, tt.wait)
		}
		if res.Duration != tt.wait {
			t.Errorf("%s: Duration %v, want %v on the fake clock", tt.name, res.Duration, tt.wait)
		}
		reqs := sc.Requests()
		if len(reqs) != 2 || reqs[0].CRID != reqs[1].CRID || reqs[0].CRID != res.ClientRequestID {
			t.Errorf("%s: client-request-ids %q, want the same on both attempts", tt.name, []string{reqs[0].CRID, reqs[1].CRID})
		}
		if st := c.Stats(); st.Requests != 2 || st.Writes != 2 || st.Retries != 1 || st.Throttled != int64(wantThrottled) {
			t.Errorf("%s: Stats %+v", tt.name, st)
		}
	}
}

func TestRetriesExhausted(t *testing.T) {
	c, sc, clk := newTestClient(t, func(cfg *Config) { cfg.MaxRetries = 3 }, reply(503, `{"error":{"code":"ServiceUnavailable","message":"busy"}}`))
	res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
	var apiErr *APIError
	if !errors.As(res.Err, &apiErr) || apiErr.Status != 503 {
		t.Fatalf("Err = %v, want a 503 APIError", res.Err)
	}
	if res.Attempts != 4 || len(sc.Requests()) != 4 {
		t.Errorf("Attempts %d, requests %d; want 4", res.Attempts, len(sc.Requests()))
	}
	// Brief backoffs (window 100 ms doubling, draw 0.5): each 503 alone is
	// an isolated failure; the fourth in a row, which is not retried,
	// would have been a run.
	want := []time.Duration{50 * time.Millisecond, 100 * time.Millisecond, 200 * time.Millisecond}
	if diff := cmp.Diff(want, clk.Waits()); diff != "" {
		t.Errorf("backoff waits (-want +got):\n%s", diff)
	}
}

func TestNegativeMaxRetriesMeansNone(t *testing.T) {
	c, sc, _ := newTestClient(t, func(cfg *Config) { cfg.MaxRetries = -4 }, reply(500, ""))
	res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
	if res.Attempts != 1 || len(sc.Requests()) != 1 || res.Err == nil {
		t.Errorf("Attempts %d, requests %d, Err %v; want one failed attempt", res.Attempts, len(sc.Requests()), res.Err)
	}
}

func TestResetThenSuccess(t *testing.T) {
	c, sc, clk := newTestClient(t, nil, hangUp, reply(204, ""))
	res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Attempts != 2 || res.Status != 204 || res.Throttled != 0 {
		t.Errorf("Attempts %d Status %d Throttled %d; want 2 204 0", res.Attempts, res.Status, res.Throttled)
	}
	if got := clk.Waits(); len(got) != 1 || got[0] != 50*time.Millisecond {
		t.Errorf("waits %v, want [50ms]: a brief backoff", got)
	}
	if reqs := sc.Requests(); reqs[0].CRID != reqs[1].CRID {
		t.Errorf("client-request-id changed across the retry")
	}
}

func TestResetEveryTimeIsNoAPIError(t *testing.T) {
	c, _, _ := newTestClient(t, func(cfg *Config) { cfg.MaxRetries = 1 }, hangUp)
	res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
	var apiErr *APIError
	if res.Err == nil || errors.As(res.Err, &apiErr) {
		t.Errorf("Err = %v, want a transport error that is not an *APIError", res.Err)
	}
	if res.Status != 0 || res.Attempts != 2 {
		t.Errorf("Status %d Attempts %d; want 0 2", res.Status, res.Attempts)
	}
}

// hang blocks until the client gives up on the request (or the test ends).
func hang(release <-chan struct{}) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}
}

func TestAttemptTimeout(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	c, sc, clk := newTestClient(t, func(cfg *Config) { cfg.RequestTimeout = 50 * time.Millisecond }, hang(release), reply(204, ""))
	res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
	if res.Err != nil {
		t.Fatal(res.Err)
	}
	if res.Attempts != 2 || len(sc.Requests()) != 2 {
		t.Errorf("Attempts %d requests %d; want 2", res.Attempts, len(sc.Requests()))
	}
	if got := clk.Waits(); len(got) != 1 || got[0] != 50*time.Millisecond {
		t.Errorf("waits %v, want one brief backoff of 50ms", got)
	}

	c2, _, _ := newTestClient(t, func(cfg *Config) { cfg.RequestTimeout = 50 * time.Millisecond; cfg.MaxRetries = 0 }, hang(release))
	res = c2.Get(context.Background(), target)
	var apiErr *APIError
	if !errors.Is(res.Err, context.DeadlineExceeded) || errors.As(res.Err, &apiErr) || res.Status != 0 {
		t.Errorf("Err %v Status %d; want a per-attempt DeadlineExceeded, no status", res.Err, res.Status)
	}
	if !strings.Contains(res.Err.Error(), "no answer within 50ms") {
		t.Errorf("Err %q does not name the per-attempt timeout", res.Err)
	}
}

func TestUnauthorizedRefreshOnce(t *testing.T) {
	unauth := reply(401, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}`)
	t.Run("then success", func(t *testing.T) {
		tok := &fakeTokens{tok: "secret-token-a"}
		c, sc, clk := newTestClient(t, func(cfg *Config) { cfg.Tokens = tok }, unauth, reply(204, ""))
		res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
		if res.Err != nil {
			t.Fatal(res.Err)
		}
		reqs := sc.Requests()
		if tok.refreshes != 1 || res.Attempts != 2 || reqs[1].Auth != "Bearer secret-token-b" {
			t.Errorf("refreshes %d Attempts %d second auth %q; want 1 2 the new token", tok.refreshes, res.Attempts, reqs[1].Auth)
		}
		if len(clk.Waits()) != 0 {
			t.Errorf("waited %v before the refreshed retry; want none", clk.Waits())
		}
	})
	t.Run("second 401 is final", func(t *testing.T) {
		tok := &fakeTokens{tok: "secret-token-a"}
		c, sc, _ := newTestClient(t, func(cfg *Config) { cfg.Tokens = tok }, unauth)
		res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
		var apiErr *APIError
		if !errors.As(res.Err, &apiErr) || apiErr.Status != 401 || apiErr.Code != "InvalidAuthenticationToken" {
			t.Fatalf("Err = %v, want the 401 APIError", res.Err)
		}
		if tok.refreshes != 1 || res.Attempts != 2 || len(sc.Requests()) != 2 {
			t.Errorf("refreshes %d Attempts %d requests %d; want 1 2 2", tok.refreshes, res.Attempts, len(sc.Requests()))
		}
		if strings.Contains(res.Err.Error(), "secret-token") {
			t.Errorf("error shows the token: %v", res.Err)
		}
	})
	t.Run("without a TokenSource no refresh", func(t *testing.T) {
		c, sc, _ := newTestClient(t, nil, unauth)
		res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
		if res.Status != 401 || res.Attempts != 1 || len(sc.Requests()) != 1 {
			t.Errorf("Status %d Attempts %d requests %d; want 401 1 1", res.Status, res.Attempts, len(sc.Requests()))
		}
	})
	t.Run("refresh fails", func(t *testing.T) {
		tok := &fakeTokens{tok: "secret-token-a"}
		c, _, _ := newTestClient(t, func(cfg *Config) { cfg.Tokens = tok }, func(w http.ResponseWriter, r *http.Request) {
			tok.mu.Lock()
			tok.err = errors.New("sign-in required")
			tok.mu.Unlock()
			unauth(w, r)
		})
		res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
		var te *TokenError
		if !errors.As(res.Err, &te) || te.Op != "refresh" {
			t.Errorf("Err = %v, want a refresh TokenError", res.Err)
		}
	})
}

func TestTokenErrors(t *testing.T) {
	for _, tok := range []*fakeTokens{
		{err: errors.New("no credentials")},
		{tok: ""},
		{tok: "secret-token\r\nX-Evil: 1"},
	} {
		c, sc, _ := newTestClient(t, func(cfg *Config) { cfg.Tokens = tok }, reply(204, ""))
		res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
		var te *TokenError
		if !errors.As(res.Err, &te) || te.Op != "get" {
			t.Errorf("token %q: Err = %v, want a TokenError", tok.tok, res.Err)
		}
		if len(sc.Requests()) != 0 || res.Attempts != 0 {
			t.Errorf("token %q: sent %d requests", tok.tok, len(sc.Requests()))
		}
		if strings.Contains(res.Err.Error(), "secret-token") {
			t.Errorf("error shows the token: %v", res.Err)
		}
	}
}

// TestSingle429DelaysOnlyItsRow: one write's 429 is weak evidence: it
// waits its own Retry-After, in full, and holds nobody else back.
func TestSingle429DelaysOnlyItsRow(t *testing.T) {
	sc := &script{steps: []http.HandlerFunc{reply(429, "", "Retry-After", "5"), reply(204, "")}}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	clk := newFakeClock(false)
	c, err := New(Config{BaseURL: srv.URL + "/beta", HTTPClient: srv.Client(), MaxRetries: 3, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	results := make(chan Result, 1)
	go func() { results <- c.Send(ctx, Write{Path: target, Body: []byte(`{}`)}) }()
	clk.BlockUntil(t, 1) // A got its 429 and waits
	if res := c.Send(ctx, Write{Path: "/deviceAppManagement/mobileApps/app-1/deviceStatuses/st-2", Body: []byte(`{}`)}); res.Err != nil || res.Attempts != 1 {
		t.Errorf("B = %+v; want it sent at once and applied", res)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second}, clk.Pending()); diff != "" {
		t.Errorf("pending waits (-want +got):\n%s", diff)
	}
	clk.Advance(4999 * time.Millisecond)
	if got := len(sc.Requests()); got != 2 {
		t.Errorf("%d requests before A's Retry-After passed, want 2", got)
	}
	clk.Advance(time.Millisecond)
	if res := <-results; res.Err != nil || res.Attempts != 2 {
		t.Errorf("A = %+v; want applied on its retry", res)
	}
}

// TestRunOf429sPausesEveryone: a run of 429s (three throttled attempts
// among the latest) holds back every goroutine's write until the
// Retry-After of the one that made the run has passed.
func TestRunOf429sPausesEveryone(t *testing.T) {
	throttle := reply(429, "", "Retry-After", "5")
	sc := &script{steps: []http.HandlerFunc{throttle, throttle, throttle, reply(204, "")}}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	clk := newFakeClock(false)
	c, err := New(Config{BaseURL: srv.URL + "/beta", HTTPClient: srv.Client(), MaxRetries: 3, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	results := make(chan Result, 4)
	send := func(i int) {
		results <- c.Send(ctx, Write{Path: fmt.Sprintf("/deviceAppManagement/mobileApps/app-1/deviceStatuses/st-%d", i), Body: []byte(`{}`)})
	}
	for i := range 3 {
		go send(i)
		clk.BlockUntil(t, i+1) // its 429 came; it waits
	}
	go send(3)
	clk.BlockUntil(t, 4) // D waits on the shared pause
	if got := len(sc.Requests()); got != 3 {
		t.Fatalf("%d requests during the pause, want 3", got)
	}
	if diff := cmp.Diff([]time.Duration{5 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}, clk.Pending()); diff != "" {
		t.Errorf("pending waits (-want +got):\n%s", diff)
	}
	clk.Advance(5 * time.Second)
	for range 4 {
		if res := <-results; res.Err != nil {
			t.Error(res.Err)
		}
	}
	if got := len(sc.Requests()); got != 7 {
		t.Errorf("%d requests, want 7", got)
	}
}

// TestAdaptiveWriteRate: at 2 writes/s the pacer spaces writes 500 ms
// (plus the pacing margin) on the client's clock; a single 429 delays its
// own write by its Retry-After and leaves the rate alone.
func TestAdaptiveWriteRate(t *testing.T) {
	c, _, clk := newTestClient(t, func(cfg *Config) { cfg.WriteRate = 2 },
		reply(204, ""), reply(204, ""), reply(429, "", "Retry-After", "0.1"), reply(204, ""))
	ctx := context.Background()
	for range 3 {
		if res := c.Send(ctx, Write{Path: target, Body: []byte(`{}`)}); res.Err != nil {
			t.Fatal(res.Err)
		}
	}
	if r := c.Stats().WriteRate; r != 2 {
		t.Errorf("WriteRate after a single 429 = %v, want 2", r)
	}
	got := clk.Waits()
	want := []time.Duration{
		spacing(2),                        // second write
		spacing(2),                        // third write, first attempt: answered 429
		100 * time.Millisecond,            // its Retry-After
		spacing(2) - 100*time.Millisecond, // its retry, in the next slot
	}
	if len(got) != len(want) {
		t.Fatalf("waits %v, want %v", got, want)
	}
	for i := range want {
		if !closeTo(got[i], want[i]) {
			t.Errorf("wait %d = %v, want %v", i, got[i], want[i])
		}
	}
}

func TestGet(t *testing.T) {
	obj := `{"id":"st-1","installState":"failed","errorCode":-2016345060}`
	c, sc, _ := newTestClient(t, func(cfg *Config) { cfg.ReadRate = 10 }, reply(200, obj, "request-id", "r1"))
	res := c.Get(context.Background(), "/deviceAppManagement/mobileApps/app-1/userStatuses/u-1/deviceStatuses/st-1")
	if res.Err != nil || string(res.Body) != obj || res.Status != 200 {
		t.Fatalf("Get = %+v", res)
	}
	r := sc.Requests()[0]
	if r.Method != "GET" || r.Path != "/beta/deviceAppManagement/mobileApps/app-1/userStatuses/u-1/deviceStatuses/st-1" {
		t.Errorf("sent %s %s", r.Method, r.Path)
	}
	if st := c.Stats(); st.Reads != 1 || st.Writes != 0 {
		t.Errorf("Stats %+v, want one read", st)
	}
	for _, step := range []http.HandlerFunc{reply(204, ""), reply(200, `[]`), reply(200, `{"id":`), reply(200, ``)} {
		sc.setSteps(step)
		res := c.Get(context.Background(), target)
		var e *APIError
		if res.Err == nil || errors.As(res.Err, &e) || res.Body != nil {
			t.Errorf("Get of a non-object answer = %+v, want a non-API error", res)
		}
	}

	// A query (url.Values.Encode's, e.g. $select) travels as given.
	sc.setSteps(reply(200, `{"id":"abc","notes":"n"}`))
	q := url.Values{"$select": {"id,managedDeviceName,notes"}}.Encode()
	if res := c.Get(context.Background(), "/deviceManagement/managedDevices/abc?"+q); res.Err != nil {
		t.Fatal(res.Err)
	}
	reqs := sc.Requests()
	if r := reqs[len(reqs)-1]; r.Path != "/beta/deviceManagement/managedDevices/abc" || r.Query != q {
		t.Errorf("sent %s?%s, want the path and %s", r.Path, r.Query, q)
	}
}

// TestLogsNeverShowToken runs a story with a refresh and a throttle at
// debug level and checks the log for the tokens.
func TestLogsNeverShowToken(t *testing.T) {
	var buf bytes.Buffer
	var mu sync.Mutex
	logger := slog.New(slog.NewTextHandler(&lockedWriter{w: &buf, mu: &mu}, &slog.HandlerOptions{Level: slog.LevelDebug}))
	tok := &fakeTokens{tok: "secret-token-a"}
	c, _, _ := newTestClient(t, func(cfg *Config) { cfg.Tokens = tok; cfg.Logger = logger },
		reply(401, `{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`),
		reply(429, "", "Retry-After", "1"), reply(204, ""))
	if res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)}); res.Err != nil {
		t.Fatal(res.Err)
	}
	c.SendBatch(context.Background(), []Write{{Path: target, Body: []byte(`{}`)}})
	mu.Lock()
	out := buf.String()
	mu.Unlock()
	if strings.Contains(out, "secret-token") || strings.Contains(out, "Bearer") {
		t.Errorf("log shows the token:\n%s", out)
	}
	if !strings.Contains(out, "attempt=3") || !strings.Contains(out, "wait=1s") || !strings.Contains(out, "path=/deviceAppManagement/") {
		t.Errorf("log lacks the attempt story:\n%s", out)
	}
}

type lockedWriter struct {
	w  *bytes.Buffer
	mu *sync.Mutex
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func TestConcurrentUse(t *testing.T) {
	c, sc, _ := newTestClient(t, func(cfg *Config) { cfg.WriteRate = 1000 }, reply(204, ""))
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			res := c.Send(context.Background(), Write{Path: "/deviceAppManagement/mobileApps/a/deviceStatuses/" + string(rune('a'+i)), Body: []byte(`{}`)})
			if res.Err != nil {
				t.Error(res.Err)
			}
			_ = c.Stats()
		})
	}
	wg.Wait()
	if got := len(sc.Requests()); got != 16 {
		t.Errorf("%d requests, want 16", got)
	}
	if st := c.Stats(); st.Requests != 16 || st.Writes != 16 {
		t.Errorf("Stats %+v", st)
	}
}

// TestMaxInFlight: however many goroutines send, single requests and
// $batch POSTs alike, no more than MaxInFlight HTTP requests are on the
// wire at once, and every one is sent. The server is in-process, in a
// synctest bubble: once every goroutine is blocked, the requests held by
// the server are all the client let out.
func TestMaxInFlight(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var onWire atomic.Int32
		release := make(chan struct{})
		var sent atomic.Int32
		hold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sent.Add(1)
			onWire.Add(1)
			<-release
			onWire.Add(-1)
			if r.URL.Path == "/beta/$batch" {
				w.Header().Set("Content-Type", "application/json")
				io.WriteString(w, `{"responses":[{"id":"1","status":204},{"id":"2","status":204}]}`)
				return
			}
			w.WriteHeader(204)
		})
		c := inProcessClient(t, hold, 2)
		const senders = 6
		var wg sync.WaitGroup
		for i := range senders {
			path := "/deviceAppManagement/mobileApps/a/deviceStatuses/" + string(rune('a'+i))
			wg.Go(func() {
				var rs []Result
				if i%2 == 0 {
					rs = []Result{c.Send(context.Background(), Write{Path: path, Body: []byte(`{}`)})}
				} else {
					rs = c.SendBatch(context.Background(), []Write{{Path: path, Body: []byte(`{}`)}, {Path: path + "2", Body: []byte(`{}`)}})
				}
				for _, res := range rs {
					if res.Err != nil {
						t.Error(res.Err)
					}
				}
			})
		}
		synctest.Wait()
		if n := onWire.Load(); n != 2 {
			t.Errorf("%d requests on the wire with every sender waiting, want MaxInFlight 2", n)
		}
		close(release)
		wg.Wait()
		if n := sent.Load(); n != senders {
			t.Errorf("%d requests, want %d", n, senders)
		}
	})
}

// TestMaxInFlightCancel: a request waiting for a place on the wire when
// its context ends is not sent, and says it never was (Attempts 0).
func TestMaxInFlightCancel(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		var sent atomic.Int32
		hold := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			sent.Add(1)
			<-release
			w.WriteHeader(204)
		})
		c := inProcessClient(t, hold, 1)
		var first Result
		done := make(chan struct{})
		go func() {
			defer close(done)
			first = c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
		}()
		synctest.Wait() // the first is on the wire
		ctx, cancel := context.WithCancel(context.Background())
		var second Result
		waited := make(chan struct{})
		go func() {
			defer close(waited)
			second = c.Send(ctx, Write{Path: target + "2", Body: []byte(`{}`)})
		}()
		synctest.Wait() // the second waits for a place
		cancel()
		<-waited
		if !errors.Is(second.Err, context.Canceled) || second.Attempts != 0 {
			t.Errorf("the waiting request: Err %v after %d attempts, want context.Canceled and 0", second.Err, second.Attempts)
		}
		close(release)
		<-done
		if first.Err != nil || sent.Load() != 1 {
			t.Errorf("first: %v; %d requests sent, want 1", first.Err, sent.Load())
		}
	})
}

// inProcessClient is a client of h, served in-process (so that it can run
// in a synctest bubble), with at most maxInFlight requests on the wire.
func inProcessClient(t *testing.T, h http.Handler, maxInFlight int) *Client {
	t.Helper()
	c, err := New(Config{BaseURL: "http://127.0.0.1/beta", HTTPClient: &http.Client{Transport: handlerTransport{h}}, MaxInFlight: maxInFlight})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// handlerTransport serves requests with a handler in-process.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// TestDefaultClientDoesNotFollowRedirects: with HTTPClient nil a 3xx is
// an answer, not an invitation to replay the PATCH elsewhere.
func TestDefaultClientDoesNotFollowRedirects(t *testing.T) {
	sc := &script{steps: []http.HandlerFunc{reply(307, "", "Location", "/elsewhere")}}
	srv := httptest.NewServer(sc)
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL + "/beta", Clock: newFakeClock(true)})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
	var e *APIError
	if !errors.As(res.Err, &e) || e.Status != 307 || len(sc.Requests()) != 1 {
		t.Errorf("Err %v after %d requests, want a 307 APIError and no redirect", res.Err, len(sc.Requests()))
	}
	if e != nil && e.ClientRequestID != res.ClientRequestID {
		t.Errorf("APIError.ClientRequestID %q, want the one sent %q", e.ClientRequestID, res.ClientRequestID)
	}
}
