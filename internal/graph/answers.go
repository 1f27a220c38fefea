package graph

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net"
	"net/http"
	"strings"
	"sync"
	"syscall"
	"time"
)

// reach follows whether a client's attempts get HTTP answers at all. It
// is safe for concurrent use.
type reach struct {
	mu    sync.Mutex
	since time.Time // when the current run of unanswered attempts began; zero: the last one was answered
	last  time.Time // the latest unanswered attempt of the run
	err   error     // the last unanswered attempt's error
	heard bool      // some attempt, ever, got an answer
	// onWire counts the HTTP requests sent and not yet back: while one
	// is out, Graph's silence grows with the clock; while none is (every
	// request waits for the pacer or for its retry), it does not.
	onWire int
}

// sending and back bracket an HTTP request on the wire.
func (r *reach) sending() {
	r.mu.Lock()
	r.onWire++
	r.mu.Unlock()
}

func (r *reach) back() {
	r.mu.Lock()
	r.onWire--
	r.mu.Unlock()
}

// note records an attempt of r at now: answered, or not with err.
func (r *reach) note(answered bool, err error, now time.Time) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case answered:
		r.since, r.last, r.err = time.Time{}, time.Time{}, nil
		r.heard = true
	case r.since.IsZero():
		r.since, r.last, r.err = now, now, err
	default:
		r.last, r.err = now, err
	}
}

// Unanswered returns when the current run of attempts that got no HTTP
// answer at all (refused, no such host, TLS failures, timeouts) began, on
// the client's Clock, and the last one's error; a zero time when the
// last attempt was answered, whatever its status. A caller stops a run
// when Graph has not answered for long (see NoAnswerCause for the words).
//
// Once Graph has answered anything, the silence counts only while
// bulkpatch is asking: up to the latest unanswered attempt, or up to now
// while a request is on the wire. Requests that wait out their backoff,
// or wait for the pacer after a cut of the rate, are no evidence that
// Graph has gone quiet (their next attempts will tell), so the time
// returned is as much before now as the silence spans. A Graph never
// heard from counts from the first unanswered attempt.
func (c *Client) Unanswered() (time.Time, error) {
	c.reach.mu.Lock()
	defer c.reach.mu.Unlock()
	r := &c.reach
	if r.since.IsZero() || !r.heard {
		return r.since, r.err
	}
	now := c.clock.Now()
	end := r.last
	if r.onWire > 0 {
		end = now
	}
	return now.Add(-end.Sub(r.since)), r.err
}

// IsApprovalRequired reports whether err is Intune's Multi Admin Approval
// refusing a write: 403 (one copy of Microsoft's page says 400) with the
// code ApprovalRequired, or a message that the
// x-msft-approval-justification header is required. Every write to the
// protected workload would get it, and it is not a missing permission:
// callers stop the run and say so. (Reported wordings, June 2026; see
// shared/docs/graph-api.md.)
func IsApprovalRequired(err error) bool {
	var e *APIError
	if !errors.As(err, &e) || e.Status != http.StatusForbidden && e.Status != http.StatusBadRequest {
		return false
	}
	return strings.EqualFold(e.Code, "ApprovalRequired") ||
		strings.Contains(strings.ToLower(e.Message), "x-msft-approval-justification")
}

// NoAnswerCause says in a few words why an attempt got no HTTP answer at
// all: "no such host", "connection refused", "TLS: certificate signed by
// unknown authority", "no answer within the request timeout", … It is for
// messages that name the host; err is the attempt's error.
func NoAnswerCause(err error) string {
	var (
		dns     *net.DNSError
		unknown x509.UnknownAuthorityError
		host    x509.HostnameError
		verify  *tls.CertificateVerificationError
	)
	switch {
	case errors.As(err, &dns) && dns.IsNotFound:
		return "no such host"
	case errors.As(err, &dns):
		return "the host name could not be resolved (" + dns.Err + ")"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "connection refused"
	case errors.Is(err, syscall.ECONNRESET):
		return "connection reset"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "no route to the host"
	case errors.As(err, &unknown):
		return "TLS: certificate signed by an unknown authority"
	case errors.As(err, &host):
		return "TLS: the certificate is not for this host"
	case errors.As(err, &verify):
		return "TLS: the certificate could not be verified"
	case errors.Is(err, context.DeadlineExceeded):
		return "no answer within the request timeout"
	}
	return "no answer"
}
