package graph

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"net/http"
	"strings"
	"time"
)

// MaxRetryAfter caps any Retry-After the client honours: a server asking
// for hours is more likely broken than serious, and a bulk run should
// rather retry and fail visibly than hang.
const MaxRetryAfter = time.Hour

// Backoff parameters for transient failures without a usable Retry-After.
const (
	backoffBase = time.Second
	backoffCap  = 60 * time.Second
	// backoffMin keeps full jitter from drawing an immediate retry: a
	// 429 without Retry-After must never be answered by resending at once.
	backoffMin = backoffBase / 4
	// briefBase is the backoff window of a first retry after an isolated
	// failure (a 5xx without Retry-After, a reset), which the rate
	// controller does not take for a server in trouble: such a request
	// is resent soon, since it holds a worker while it waits.
	briefBase = 100 * time.Millisecond
	briefMin  = briefBase / 4
)

// ParseRetryAfter parses a Retry-After value: delta-seconds, integer or
// fractional as Intune sends them ("2.128", "0.249"), or an HTTP-date,
// measured from now. A positive value never becomes zero (it is rounded
// up to the next nanosecond); a date in the past gives 0. Negative, NaN,
// infinite, exponent or otherwise malformed values are rejected. Results
// above MaxRetryAfter are capped to it.
func ParseRetryAfter(v string, now time.Time) (time.Duration, bool) {
	v = strings.TrimSpace(v)
	if v == "" {
		return 0, false
	}
	if d, ok := parseSeconds(v); ok {
		return d, true
	}
	t, err := http.ParseTime(v)
	if err != nil {
		return 0, false
	}
	d := t.Sub(now)
	switch {
	case d < 0:
		return 0, true
	case d > MaxRetryAfter:
		return MaxRetryAfter, true
	}
	return d, true
}

// parseSeconds parses digits[.digits] exactly, without float rounding,
// so "2.128" is exactly 2.128 s and "0.0000000001" is 1 ns, not 0.
func parseSeconds(v string) (time.Duration, bool) {
	intPart, frac, hasDot := strings.Cut(v, ".")
	if intPart == "" || hasDot && frac == "" || !allDigits(intPart) || !allDigits(frac) {
		return 0, false
	}
	intPart = strings.TrimLeft(intPart, "0")
	const capSeconds = int64(MaxRetryAfter / time.Second)
	var secs int64
	for i := 0; i < len(intPart); i++ {
		secs = secs*10 + int64(intPart[i]-'0')
		if secs > capSeconds {
			return MaxRetryAfter, true
		}
	}
	var nanos int64
	for i := 0; i < len(frac); i++ {
		if i < 9 {
			nanos = nanos*10 + int64(frac[i]-'0')
		} else if frac[i] != '0' {
			// Finer than a nanosecond: round up, never down.
			nanos++
			break
		}
	}
	for i := len(frac); i < 9; i++ {
		nanos *= 10
	}
	d := time.Duration(secs)*time.Second + time.Duration(nanos)
	if d > MaxRetryAfter {
		d = MaxRetryAfter
	}
	return d, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// retryAfter reads the Retry-After header of an answer. An HTTP-date is
// measured against the answer's Date header when it has one (the server's
// own clock, so client clock skew does not matter), else against now; with
// neither, only the delta-seconds form is understood.
func retryAfter(h http.Header, now time.Time) (time.Duration, bool) {
	v := h.Get("Retry-After")
	if v == "" {
		return 0, false
	}
	if d, ok := parseSeconds(strings.TrimSpace(v)); ok {
		return d, true
	}
	if date, err := http.ParseTime(h.Get("Date")); err == nil {
		now = date
	}
	if now.IsZero() {
		return 0, false
	}
	return ParseRetryAfter(v, now)
}

// errBodyTooLarge reports an answer larger than the client reads; sending
// the request again would not make it smaller.
var errBodyTooLarge = errors.New("too large")

// shouldRetry decides whether a failed attempt is worth another one. It
// is pure: err is the error of an attempt that got no answer (status is
// then ignored), otherwise status is the answer's. Whether the caller
// still wants a retry (its ctx) is not its business: the retry loop
// starts no attempt once ctx is done, whatever shouldRetry said.
func shouldRetry(status int, err error) bool {
	if err != nil {
		// No answer: resets, EOFs, refused connections, DNS hiccups and
		// per-attempt timeouts are worth another try. A certificate the
		// client will not trust stays untrusted, and a too-large answer
		// stays too large.
		var (
			unknownAuthority x509.UnknownAuthorityError
			hostname         x509.HostnameError
			invalid          x509.CertificateInvalidError
			verify           *tls.CertificateVerificationError
		)
		switch {
		case errors.As(err, &unknownAuthority), errors.As(err, &hostname),
			errors.As(err, &invalid), errors.As(err, &verify),
			errors.Is(err, errBodyTooLarge):
			return false
		}
		return true
	}
	switch status {
	case http.StatusTooManyRequests,
		http.StatusInternalServerError,
		http.StatusBadGateway,
		http.StatusServiceUnavailable,
		http.StatusGatewayTimeout:
		return true
	}
	// Other 5xx are transient too (bounded by MaxRetries like the rest),
	// except those that state a permanent refusal.
	return status >= 500 && status <= 599 &&
		status != http.StatusNotImplemented &&
		status != http.StatusHTTPVersionNotSupported
}

// backoff returns the wait before retry number n (1 for the first retry)
// when the server gave no Retry-After: full jitter over an exponential
// window (base 1 s, doubling, cap 60 s), but at least backoffMin. r is a
// jitter draw in [0,1).
func backoff(n int, r float64) time.Duration { return jittered(n, r, backoffBase, backoffMin) }

// briefBackoff is backoff after an isolated failure: full jitter over a
// window of briefBase doubling per retry (so that a request failing again
// and again soon backs off like any other), at least briefMin.
func briefBackoff(n int, r float64) time.Duration { return jittered(n, r, briefBase, briefMin) }

// jittered is full jitter r over a window of base doubled for each retry
// after the first (n is 1 for the first), capped at backoffCap, but at
// least floor.
func jittered(n int, r float64, base, floor time.Duration) time.Duration {
	if !(r >= 0 && r < 1) { // also catches NaN
		r = 0.5
	}
	window := base
	for i := 1; i < n && window < backoffCap; i++ {
		window *= 2
	}
	return max(time.Duration(r*float64(min(window, backoffCap))), floor)
}
