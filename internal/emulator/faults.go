package emulator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Faults are the probabilities, each in [0, 1] and together at most 1, that
// a write request (a PATCH, or a $batch POST holding a write for the
// connection-level ones) meets a fault instead of an ordinary answer. A
// write the limiter throttles meets none. One draw from the seeded RNG
// decides per write, so a run with the same Seed and the same request order
// meets the same faults.
type Faults struct {
	// ResetBeforeApply drops the connection without applying the write.
	ResetBeforeApply float64
	// ResetAfterApply applies the write, then drops the connection.
	ResetAfterApply float64
	// Hang neither applies nor answers until HangFor passes (then 504) or
	// the client gives up.
	Hang float64
	// ServerError answers 500, 502, 503 or 504 without applying; a 503
	// carries Retry-After half the time.
	ServerError float64
	// ThrottleAfterApply applies the write, then answers 429 with
	// Retry-After (reported for Intune: a 429 for a write that took effect).
	ThrottleAfterApply float64
	// HangFor bounds a hang; 0 means 2 minutes.
	HangFor time.Duration
}

// fault is one kind of injected failure.
type fault int

const (
	noFault fault = iota
	faultResetBefore
	faultResetAfter
	faultHang
	faultServerError
	faultThrottleAfter
)

// faultNames are the keys of Stats.Faults, named after the Faults fields.
var faultNames = [...]string{
	faultResetBefore:   "resetBeforeApply",
	faultResetAfter:    "resetAfterApply",
	faultHang:          "hang",
	faultServerError:   "serverError",
	faultThrottleAfter: "throttleAfterApply",
}

// The fault kinds each kind of write may meet: a $batch item cannot drop or
// hold its connection, the POST carrying it can.
var (
	requestFaults = []fault{faultResetBefore, faultResetAfter, faultHang, faultServerError, faultThrottleAfter}
	itemFaults    = []fault{faultServerError, faultThrottleAfter}
	postFaults    = []fault{faultResetBefore, faultResetAfter, faultHang}
)

func (f *Faults) prob(k fault) float64 {
	switch k {
	case faultResetBefore:
		return f.ResetBeforeApply
	case faultResetAfter:
		return f.ResetAfterApply
	case faultHang:
		return f.Hang
	case faultServerError:
		return f.ServerError
	case faultThrottleAfter:
		return f.ThrottleAfterApply
	}
	return 0
}

func (f *Faults) check() error {
	sum := 0.0
	for _, k := range requestFaults {
		p := f.prob(k)
		if !(p >= 0 && p <= 1) { // also rejects NaN
			return errors.New("emulator: fault probabilities must be within [0, 1]")
		}
		sum += p
	}
	if sum > 1 {
		return errors.New("emulator: fault probabilities must add up to at most 1")
	}
	if f.HangFor < 0 {
		return errors.New("emulator: negative HangFor")
	}
	return nil
}

// roll draws which of kinds, if any, the current write meets. It draws from
// the RNG only when some of them can happen, so that runs without faults
// see the same shuffles and Retry-After choices. Callers hold s.mu.
func (s *Server) roll(kinds []fault) fault {
	total := 0.0
	for _, k := range kinds {
		total += s.opt.Faults.prob(k)
	}
	if total == 0 {
		return noFault
	}
	u := s.rng.Float64()
	for _, k := range kinds {
		p := s.opt.Faults.prob(k)
		if u < p {
			return k
		}
		u -= p
	}
	return noFault
}

// serverError answers c with a random 5xx. Callers hold s.mu.
func (s *Server) serverError(c *call) answer {
	now := s.now()
	switch s.rng.IntN(4) {
	case 0:
		return c.fail(now, 500, "InternalServerError", c.intuneMessage("An internal server error has occurred"))
	case 1:
		return c.fail(now, 502, "BadGateway", "The server received an invalid response from an upstream server.")
	case 2:
		return c.fail(now, 504, "GatewayTimeout", gatewayTimeoutMessage)
	}
	a := c.fail(now, 503, "ServiceUnavailable", "The service is temporarily unavailable. Please retry later.")
	if s.rng.IntN(2) == 0 {
		s.setRetryAfter(c, &a, now, 500*time.Millisecond+time.Duration(s.rng.Int64N(int64(4500*time.Millisecond))))
	}
	return a
}

const gatewayTimeoutMessage = "The gateway did not receive a timely response from the upstream server."

// sleep waits for d, or until ctx ends or the server closes; it reports
// whether the whole d passed.
func (s *Server) sleep(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return true
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
		return true
	case <-ctx.Done():
		return false
	case <-s.done:
		return false
	}
}

// abortConn drops the client's connection without an answer. Over TCP the
// close is a reset (linger 0), as a failing proxy would do; where the
// connection cannot be hijacked (HTTP/2, a recorder) it aborts the handler
// the way net/http documents, with http.ErrAbortHandler.
func abortConn(w http.ResponseWriter) {
	if hj, ok := w.(http.Hijacker); ok {
		if conn, _, err := hj.Hijack(); err == nil {
			if tc, ok := conn.(*net.TCPConn); ok {
				_ = tc.SetLinger(0)
			}
			_ = conn.Close()
			return
		}
	}
	panic(http.ErrAbortHandler)
}
