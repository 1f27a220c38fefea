package graph

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

func TestIsApprovalRequired(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want bool
	}{
		{&APIError{Status: 403, Code: "ApprovalRequired", Message: "This operation requires approval."}, true},
		{&APIError{Status: 403, Code: "Forbidden", Message: "The x-msft-approval-justification header is required for this request."}, true},
		{&APIError{Status: 400, Code: "BadRequest", Message: "Missing header x-msft-approval-justification"}, true},
		{&APIError{Status: 403, Code: "Forbidden", Message: "Application is not authorized to perform this operation."}, false},
		{&APIError{Status: 404, Code: "ApprovalRequired"}, false},
		{fmt.Errorf("wrapped: %w", &APIError{Status: 403, Code: "approvalrequired"}), true},
		{errors.New("ApprovalRequired"), false},
	} {
		if got := IsApprovalRequired(tt.err); got != tt.want {
			t.Errorf("IsApprovalRequired(%v) = %v, want %v", tt.err, got, tt.want)
		}
	}
}

// TestUnanswered: attempts that get no answer start the count; any
// answer, an error status included, ends it.
func TestUnanswered(t *testing.T) {
	// A port nothing listens on: connection refused, at once.
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	closed := "http://" + l.Addr().String() + "/beta"
	l.Close()
	c, err := New(Config{BaseURL: closed})
	if err != nil {
		t.Fatal(err)
	}
	if since, _ := c.Unanswered(); !since.IsZero() {
		t.Fatal("a new client counts unanswered attempts")
	}
	before := time.Now()
	res := c.Get(context.Background(), "/x")
	since, uerr := c.Unanswered()
	if res.Err == nil || since.Before(before) || uerr == nil {
		t.Fatalf("after a refused attempt: since %v, err %v (result %v)", since, uerr, res.Err)
	}
	if got := NoAnswerCause(uerr); got != "connection refused" {
		t.Errorf("NoAnswerCause = %q, want connection refused", got)
	}
	c.Get(context.Background(), "/x")
	if again, _ := c.Unanswered(); again.After(since) {
		t.Errorf("a second unanswered attempt moved the start later, from %v to %v", since, again)
	}

	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { w.WriteHeader(404) }))
	defer ts.Close()
	c2, _ := New(Config{BaseURL: ts.URL + "/beta"})
	c2.reach = reach{since: since, err: uerr} // as if it had been unreachable
	c2.Get(context.Background(), "/x")
	if s, _ := c2.Unanswered(); !s.IsZero() {
		t.Error("a 404 answer did not end the unanswered run")
	}
}

func TestNoAnswerCause(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want string
	}{
		{&net.DNSError{Err: "no such host", Name: "graph.invalid", IsNotFound: true}, "no such host"},
		{&net.DNSError{Err: "server misbehaving", Name: "graph.example"}, "the host name could not be resolved (server misbehaving)"},
		{context.DeadlineExceeded, "no answer within the request timeout"},
		{errors.New("something else"), "no answer"},
	} {
		if got := NoAnswerCause(fmt.Errorf("get: %w", tt.err)); !strings.HasPrefix(got, tt.want) {
			t.Errorf("NoAnswerCause(%v) = %q, want %q", tt.err, got, tt.want)
		}
	}
}

// TestEchoedTokenRedacted: a server that echoes the request's token back
// in its error body never gets it into the error.
func TestEchoedTokenRedacted(t *testing.T) {
	const tok = "eyJ.secret-token-value.sig"
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(400)
		fmt.Fprintf(w, `{"error":{"code":"BadRequest","message":"bad header %s"}}`, r.Header.Get("Authorization"))
	}))
	defer ts.Close()
	c, err := New(Config{BaseURL: ts.URL + "/beta", Tokens: staticTokens(tok)})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Get(context.Background(), "/x")
	var ae *APIError
	if !errors.As(res.Err, &ae) || strings.Contains(ae.Message, "secret") || !strings.Contains(ae.Message, "[redacted]") {
		t.Errorf("error = %v", res.Err)
	}
}

type staticTokens string

func (s staticTokens) Token(context.Context) (string, error)           { return string(s), nil }
func (s staticTokens) Refresh(context.Context, string) (string, error) { return string(s), nil }

// TestShortTokenNotRedacted: a token too short to be a secret does not
// mangle the answers it happens to occur in.
func TestShortTokenNotRedacted(t *testing.T) {
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprint(w, `{"id":"d-1","notes":"text"}`)
	}))
	defer ts.Close()
	c, _ := New(Config{BaseURL: ts.URL + "/beta", Tokens: staticTokens("t")})
	if res := c.Get(context.Background(), "/x"); string(res.Body) != `{"id":"d-1","notes":"text"}` {
		t.Errorf("body = %s", res.Body)
	}
}

// TestUnansweredSilence: once Graph has answered, silence counts only
// while bulkpatch asks: across unanswered attempts, and while a request
// is on the wire, not while every request waits out a backoff or the
// pacer.
func TestUnansweredSilence(t *testing.T) {
	clk := newFakeClock(false)
	c := &Client{clock: clk}
	silence := func() time.Duration {
		since, _ := c.Unanswered()
		if since.IsZero() {
			return 0
		}
		return clk.Now().Sub(since)
	}
	c.reach.note(true, nil, clk.Now()) // Graph answered before
	c.reach.note(false, errors.New("reset"), clk.Now())
	clk.Advance(15 * time.Second)
	c.reach.note(false, errors.New("reset"), clk.Now()) // a retry, say
	clk.Advance(30 * time.Second)                       // its backoff, or the pacer: nothing asked
	if s := silence(); s != 15*time.Second {
		t.Errorf("%v of silence after 30 s of asking nothing, want the attempts' span, 15s", s)
	}
	c.reach.note(false, errors.New("refused"), clk.Now()) // another request
	if s := silence(); s != 45*time.Second {
		t.Errorf("%v of silence, want 45s, from the first unanswered attempt to the last", s)
	}
	c.reach.sending() // a request on the wire: silence grows with the clock
	clk.Advance(10 * time.Second)
	if s := silence(); s != 55*time.Second {
		t.Errorf("%v of silence with a request on the wire for 10s, want 55s", s)
	}
	c.reach.back()
	c.reach.note(true, nil, clk.Now())
	if s := silence(); s != 0 {
		t.Errorf("an answer did not end the silence: %v", s)
	}
	// A Graph never heard from counts from the first attempt, asking or
	// not: an unreachable host stops a run in time.
	fresh := &Client{clock: clk}
	fresh.reach.note(false, errors.New("no such host"), clk.Now().Add(-45*time.Second))
	if s, _ := fresh.Unanswered(); clk.Now().Sub(s) != 45*time.Second {
		t.Errorf("a Graph never heard from: %v of silence, want 45s", clk.Now().Sub(s))
	}
}
