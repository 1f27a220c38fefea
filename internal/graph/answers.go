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
	first *request  // the request whose attempt began the run
	many  bool      // attempts of other requests went unanswered in the run too
	err   error     // the last unanswered attempt's error
	heard bool      // some attempt, ever, got an answer
}

// note records an attempt of r at now: answered, or not with err.
func (r *reach) note(answered bool, err error, now time.Time, req *request) {
	r.mu.Lock()
	defer r.mu.Unlock()
	switch {
	case answered:
		r.since, r.last, r.first, r.many, r.err = time.Time{}, time.Time{}, nil, false, nil
		r.heard = true
	case r.since.IsZero():
		r.since, r.last, r.first, r.many, r.err = now, now, req, false, err
	default:
		r.last, r.err = now, err
		r.many = r.many || req != r.first
	}
}

// Unanswered returns when the current run of attempts that got no HTTP
// answer at all (refused, no such host, TLS failures, timeouts) began, on
// the client's Clock, and the last one's error; a zero time when the
// last attempt was answered, whatever its status. A caller stops a run
// when Graph has not answered for long (see NoAnswerCause for the words).
//
// Once Graph has answered anything, a run of one request's unanswered
// attempts counts only as far as its latest attempt: that request
// waiting out its own backoff after a few resets is no evidence that
// Graph has gone quiet (other requests, or its next attempt, will tell),
// so the time returned is as much before now as its attempts span. A
// Graph never heard from, or several requests unanswered, count from the
// first unanswered attempt.
func (c *Client) Unanswered() (time.Time, error) {
	c.reach.mu.Lock()
	defer c.reach.mu.Unlock()
	r := &c.reach
	if r.since.IsZero() || r.many || !r.heard {
		return r.since, r.err
	}
	return c.clock.Now().Add(-r.last.Sub(r.since)), r.err
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
