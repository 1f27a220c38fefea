package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"net/http"
	"strconv"
	"time"
)

// request is one logical request on its way through attempts: the state
// of the one retry state machine. Send, Get, each page of List and each
// item of SendBatch are one request each; decide moves it on after every
// attempt and run drives it. A request belongs to the goroutine that
// called Send (or Get, List, SendBatch); it is never shared.
type request struct {
	method string
	path   string // escaped, without the query: what logs and errors name
	url    string // absolute, for a request sent on its own
	body   []byte
	read   bool   // a GET: paced as a read, and its answer's body is the point
	id     string // its $batch item id, unique within the SendBatch call
	item   []byte // its $batch item, JSON-encoded

	res       Result    // what it got so far; final once done
	start     time.Time // the first attempt's
	sent      time.Time // the latest attempt's
	attempt   uint64    // the latest attempt's HTTP request, numbered by the client
	notBefore time.Time // its own Retry-After or backoff: no attempt before
	retries   int       // attempts after a transient failure, against MaxRetries
	refreshed bool      // the token was refreshed once for it
	done      bool
}

// attempt is what one attempt of a request got: an answer (status > 0)
// with its headers and body, or no answer (status 0) and why. A $batch
// item's attempt is its own response inside the POST's answer.
type attempt struct {
	status int
	header http.Header
	body   []byte
	// err is why no answer came, when status is 0; with a status, why
	// the answer's body could not be read (body is then nil).
	err error
	// requestID stands in when the answer names no request-id of its
	// own: the $batch POST's, for one of its items.
	requestID string
}

// next is what comes after an attempt.
type next int

const (
	finished   next = iota // the request ended, in success or final failure
	retryLater             // send again once notBefore has passed
	refresh                // refresh the token once, then send again at once
)

// decide records in r what attempt a got at now and says what comes
// next. It is the one place where retry, refresh and throttling decisions
// are made, so that a request sent alone and a $batch item answered the
// same way end the same way. It does not look at ctx (only the log
// does): whether a retry it asks for is sent is run's decision.
func (c *Client) decide(ctx context.Context, r *request, a attempt, now time.Time) next {
	c.reach.note(a.status > 0, a.err, now)
	if a.status == 0 {
		c.unanswered.Add(1)
	}
	r.res.Status = a.status
	if a.status == 0 {
		return c.failed(ctx, r, a.err, shouldRetry(0, a.err), 0, now)
	}
	if a.status == http.StatusTooManyRequests {
		r.res.Throttled++
	}
	if a.status == http.StatusOK || a.status == http.StatusNoContent {
		r.setRequestID(a.header.Get("request-id"), a.requestID)
		if a.err != nil && r.read {
			// A read is for its body: without it the answer is no
			// answer, and asking again is safe.
			err := fmt.Errorf("graph: %s %s: the %d answer's body is unreadable: %w", r.method, r.path, a.status, a.err)
			return c.failed(ctx, r, err, shouldRetry(0, a.err), 0, now)
		}
		c.pacerOf(r).observe(now, r.sent, r.attempt, served, 0)
		r.res.Err = nil
		if a.err != nil {
			// Graph accepted the write; only its echo is lost.
			r.res.Note = "answer body unreadable: " + a.err.Error()
		}
		if b := bytes.TrimSpace(a.body); a.status == http.StatusOK && json.Valid(b) {
			r.res.Body = json.RawMessage(b)
		}
		c.logAttempt(ctx, r, 0, nil)
		return finished
	}
	e := c.apiError(a, now)
	r.setRequestID(e.RequestID, a.requestID)
	if e.ClientRequestID == "" {
		e.ClientRequestID = r.res.ClientRequestID
	}
	if a.status == http.StatusUnauthorized && c.tokens != nil && !r.refreshed {
		c.pacerOf(r).observe(now, r.sent, r.attempt, served, 0)
		r.res.Err = e
		c.logAttempt(ctx, r, 0, e)
		return refresh
	}
	return c.failed(ctx, r, e, shouldRetry(a.status, nil), e.RetryAfter, now)
}

// failed records err as r's outcome so far. When retry is set and r has
// retries left it schedules the next attempt, else r is finished. The
// pacer's controller reads the answer first: a 429 or a transient
// failure that it takes as strong evidence (a run of them) pauses every
// request of its kind for as long as this one waits, whether or not r
// itself may retry; an isolated one delays r alone.
func (c *Client) failed(ctx context.Context, r *request, err error, retry bool, ra time.Duration, now time.Time) next {
	r.res.Err = err
	p := c.pacerOf(r)
	v := p.observe(now, r.sent, r.attempt, signalOf(r.res.Status, retry), ra)
	var wait time.Duration
	if retry {
		wait = c.retryWait(r.res.Status, ra, r.retries+1, v.brief)
	}
	c.noteThrottle(p, r.res.Status, ra, wait, v, now)
	if !retry || r.retries >= c.maxRetries {
		c.logAttempt(ctx, r, 0, err)
		return finished
	}
	r.retries++
	r.notBefore = now.Add(wait)
	c.logAttempt(ctx, r, wait, err)
	return retryLater
}

// signalOf is what a failed attempt tells the rate controller: a 429 is
// throttling, a failure worth retrying otherwise (5xx, no answer) a
// fault, anything else (a 4xx) an answer the server had room for.
func signalOf(status int, retry bool) signal {
	switch {
	case status == http.StatusTooManyRequests:
		return throttled
	case retry:
		return faulted
	}
	return served
}

// setRequestID records the answer's request-id, else fallback; an answer
// that names none keeps the last one known.
func (r *request) setRequestID(id, fallback string) {
	if id == "" {
		id = fallback
	}
	if id != "" {
		r.res.RequestID = id
	}
}

func (c *Client) pacerOf(r *request) *pacer {
	if r.read {
		return c.reads
	}
	return c.writes
}

// retryWait is the wait before retry number n after a failed attempt
// (see waitFor).
func (c *Client) retryWait(status int, ra time.Duration, n int, brief bool) time.Duration {
	return waitFor(status, ra, n, brief, c.jitter())
}

// waitFor is the wait before retry number n after a failed attempt: the
// server's Retry-After when a 429, 503 or 504 gave one, else jittered
// backoff (r is the jitter draw), brief when the rate controller took the
// failure for an isolated one.
func waitFor(status int, ra time.Duration, n int, brief bool, r float64) time.Duration {
	switch status {
	case http.StatusTooManyRequests, http.StatusServiceUnavailable, http.StatusGatewayTimeout:
		if ra > 0 {
			return ra
		}
	}
	if brief {
		return briefBackoff(n, r)
	}
	return backoff(n, r)
}

// sharedPause is how long every request waits after an answer the
// controller judged strong evidence: as long as the request that got it
// (wait: its Retry-After or backoff), or, for one that will not retry
// (wait 0), its Retry-After or the shortest backoff.
func sharedPause(ra, wait time.Duration) time.Duration {
	if wait > 0 {
		return wait
	}
	return max(ra, backoffMin)
}

// noteThrottle carries out the controller's verdict on an answer received
// at now: strong evidence pauses every request of its kind (see
// sharedPause). A cut is logged for operators: it is what explains a run
// slower than --rate.
func (c *Client) noteThrottle(p *pacer, status int, ra, wait time.Duration, v verdict, now time.Time) {
	var pause time.Duration
	if v.pause {
		pause = sharedPause(ra, wait)
		p.pauseUntil(now.Add(pause))
	}
	if v.after < v.before {
		kind := "write"
		if p == c.reads {
			kind = "read"
		}
		c.log.Info("throttled: rate lowered", "requests", kind, "status", status,
			"rate_before", roundRate(v.before), "rate_after", roundRate(v.after), "pause_ms", pause.Milliseconds())
	}
}

func roundRate(r float64) float64 { return math.Round(r*100) / 100 }

// apiError decodes an error answer, measuring an HTTP-date Retry-After
// against the client's clock when the answer had no Date header. An
// answer whose body could not be read keeps its status and headers, and
// says so as its message.
func (c *Client) apiError(a attempt, now time.Time) *APIError {
	e := decodeError(a.status, a.header, a.body)
	if a.err != nil {
		e.Message = "the answer's body could not be read: " + a.err.Error()
	}
	if e.RetryAfter == 0 {
		e.RetryAfter, _ = retryAfter(a.header, now)
	}
	return e
}

// sender makes one attempt of each request in group with the bearer
// token tok ("" for none) and returns what each got, index-aligned.
type sender func(ctx context.Context, group []*request, tok string) []attempt

// run drives rs until every one is finished: the one loop behind Send,
// Get, List and SendBatch. It takes the requests that are due, at most
// size at a time, waits for the pacer once per request and for a place
// on the wire (board), sends them with send, and lets decide judge each
// attempt; when none is due it sleeps until the next one is. A 401
// refreshes the token once for all the requests that got it. Once ctx is
// done no attempt starts: every unfinished request is stopped. An attempt
// that has started runs to its end (see roundTrip) and is judged like any
// other.
func (c *Client) run(ctx context.Context, rs []*request, size int, send sender) {
	var tok string // a refreshed token to send next, if any
	for {
		group, wake := due(rs, c.clock.Now(), size)
		if group == nil && wake.IsZero() {
			return
		}
		group, err := c.ready(ctx, group, wake, &tok)
		if err != nil {
			if ctx.Err() != nil {
				c.stop(rs, ctx.Err())
				return
			}
			c.finishAll(group, err)
			continue
		}
		if group == nil {
			continue
		}
		if err := c.board(ctx); err != nil {
			c.stop(rs, err)
			return
		}
		now := c.clock.Now()
		attempt := c.attempts.Add(1)
		for _, r := range group {
			r.begin(c, now, attempt)
		}
		got := send(ctx, group, tok)
		c.alight()
		sent := tok
		tok = ""
		now = c.clock.Now()
		var rejected []*request
		for i, r := range group {
			switch c.decide(ctx, r, got[i], now) {
			case finished:
				c.finish(r)
			case refresh:
				rejected = append(rejected, r)
			}
		}
		if len(rejected) > 0 {
			tok = c.refresh(ctx, rejected, sent)
		}
	}
}

// ready waits until group may be sent, or the part of it the pacer lets
// go now (the rest stays due), and returns that part: it waits for the
// pacer and for a token, which it leaves in *tok unless one is there
// already. With no group it sleeps until wake instead. It fails with
// ctx's error when ctx ends first, and checks ctx once more last, so that
// a request whose waits all completed at the moment ctx ended is not
// sent either.
func (c *Client) ready(ctx context.Context, group []*request, wake time.Time, tok *string) ([]*request, error) {
	if group == nil {
		return nil, sleep(ctx, c.clock, wake.Sub(c.clock.Now()))
	}
	// One booking for the whole group: a $batch leaves when the last of
	// its items' slots has come, and the next group's slots follow them,
	// so that concurrent $batch POSTs do not leave together.
	k, err := c.pacerOf(group[0]).wait(ctx, len(group))
	if err != nil {
		return group, err
	}
	group = group[:k]
	if *tok == "" {
		t, err := c.token(ctx)
		if err != nil {
			return group, err
		}
		*tok = t
	}
	return group, ctx.Err()
}

// board waits for a place on the wire (Config.MaxInFlight) for one HTTP
// request, until ctx ends; like ready, it fails when ctx ended, even if
// a place came free at the same moment, so that nothing leaves after a
// stop. alight gives the place back. Both tell reach what is on the wire.
func (c *Client) board(ctx context.Context) error {
	if c.onWire == nil {
		if err := ctx.Err(); err != nil {
			return err
		}
		c.reach.sending()
		return nil
	}
	select {
	case c.onWire <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := ctx.Err(); err != nil {
		<-c.onWire
		return err
	}
	c.reach.sending()
	return nil
}

func (c *Client) alight() {
	c.reach.back()
	if c.onWire != nil {
		<-c.onWire
	}
}

// due returns the first (at most size) unfinished requests of rs whose
// time has come, or, when there is none, the earliest time one will be
// due (zero when all are finished).
func due(rs []*request, now time.Time, size int) (group []*request, wake time.Time) {
	for _, r := range rs {
		switch {
		case r.done:
		case !r.notBefore.After(now):
			if len(group) < size {
				group = append(group, r)
			}
		case wake.IsZero() || r.notBefore.Before(wake):
			wake = r.notBefore
		}
	}
	return group, wake
}

// begin counts the attempt r is about to make at now, in the HTTP
// request numbered attempt.
func (r *request) begin(c *Client, now time.Time, attempt uint64) {
	if r.start.IsZero() {
		r.start = now
	}
	r.sent, r.attempt = now, attempt
	r.res.Attempts++
	if r.res.Attempts > 1 {
		c.retries.Add(1)
	}
}

// refresh gets a new token once for rs, whose attempts were refused with
// a 401 after sending rejected, and returns it; rs are then due at once.
// When no token can be had they are finished with the *TokenError; when
// ctx ended they are left for run to stop.
func (c *Client) refresh(ctx context.Context, rs []*request, rejected string) string {
	for _, r := range rs {
		r.refreshed = true
		r.notBefore = time.Time{}
	}
	if ctx.Err() != nil {
		return ""
	}
	t, err := c.tokens.Refresh(ctx, rejected)
	if t, err = checkToken("refresh", t, err); err == nil {
		return t
	}
	if ctx.Err() == nil {
		c.finishAll(rs, err)
	}
	return ""
}

// finish ends r with the Result it has.
func (c *Client) finish(r *request) {
	r.done = true
	if !r.start.IsZero() {
		r.res.Duration = c.clock.Now().Sub(r.start)
	}
}

// finishAll ends rs with err.
func (c *Client) finishAll(rs []*request, err error) {
	for _, r := range rs {
		r.res.Err = err
		c.finish(r)
	}
}

// stop ends every unfinished request of rs because ctx ended with err.
// One that was never sent says so plainly; one that was keeps its last
// answer's Status and RequestID and says it was stopped before its retry,
// so that callers record it as failed and resumable, not as Graph's
// final word.
func (c *Client) stop(rs []*request, err error) {
	for _, r := range rs {
		if r.done {
			continue
		}
		if r.res.Attempts == 0 {
			r.res.Err = fmt.Errorf("graph: %s %s: %w", r.method, r.path, err)
		} else {
			r.res.Err = fmt.Errorf("graph: %s %s: stopped before its retry (attempt %d got %s): %w",
				r.method, r.path, r.res.Attempts, gotWhat(r.res.Err), err)
		}
		c.finish(r)
	}
}

// gotWhat names what an attempt that ended in err got, briefly.
func gotWhat(err error) string {
	var e *APIError
	if !errors.As(err, &e) {
		return "no answer"
	}
	if c := printable(e.Code, 80); c != "" {
		return fmt.Sprintf("%d %s", e.Status, c)
	}
	return strconv.Itoa(e.Status)
}

func (c *Client) logAttempt(ctx context.Context, r *request, wait time.Duration, err error) {
	if !c.log.Enabled(ctx, slog.LevelDebug) {
		return
	}
	attrs := []slog.Attr{
		slog.String("method", r.method),
		slog.String("path", r.path),
		slog.Int("status", r.res.Status),
		slog.Int("attempt", r.res.Attempts),
		slog.String("request_id", r.res.RequestID),
		slog.String("client_request_id", r.res.ClientRequestID),
	}
	if wait > 0 {
		attrs = append(attrs, slog.Duration("wait", wait))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", err.Error()))
	}
	c.log.LogAttrs(ctx, slog.LevelDebug, "graph attempt", attrs...)
}
