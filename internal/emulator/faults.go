package emulator

import (
	"context"
	"errors"
	"net"
	"net/http"
	"time"
)

// Faults are the probabilities, each in [0, 1] and together at most 1, that
// a request meets a fault instead of an ordinary answer. Options.Faults
// holds the shares for writes (a PATCH or action, and a $batch POST holding
// one), Options.ReadFaults those for reads (a GET of an object, a
// collection page, and a $batch POST of reads only). A request the limiter
// throttles meets none. One draw from the seeded RNG decides per request,
// so a run with the same Seed and the same request order meets the same
// faults.
type Faults struct {
	// ResetBeforeApply drops the connection without applying the write (or
	// answering the read).
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
	// Retry-After (reported for Intune: a 429 for a write that took
	// effect); a read meeting it is simply throttled.
	ThrottleAfterApply float64
	// IgnoreWrite answers a write as a success, 200 with the object as it
	// is or 204, without applying it, as Intune does to some PATCHes
	// (ownerType stays unknown): only reading the object back tells.
	// Writes only.
	IgnoreWrite float64
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
	faultIgnoreWrite
)

// faultNames are the keys of Stats.Faults, named after the Faults fields;
// faults of Options.ReadFaults count under the same names prefixed with
// "read.".
var faultNames = [...]string{
	faultResetBefore:   "resetBeforeApply",
	faultResetAfter:    "resetAfterApply",
	faultHang:          "hang",
	faultServerError:   "serverError",
	faultThrottleAfter: "throttleAfterApply",
	faultIgnoreWrite:   "ignoreWrite",
}

// The fault kinds each kind of request may meet: a $batch item cannot drop
// or hold its connection, the POST carrying it can, and only writes can be
// ignored.
var (
	writeFaults     = []fault{faultResetBefore, faultResetAfter, faultHang, faultServerError, faultThrottleAfter, faultIgnoreWrite}
	readFaults      = []fault{faultResetBefore, faultResetAfter, faultHang, faultServerError, faultThrottleAfter}
	writeItemFaults = []fault{faultServerError, faultThrottleAfter, faultIgnoreWrite}
	readItemFaults  = []fault{faultServerError, faultThrottleAfter}
	envelopeFaults  = []fault{faultResetBefore, faultResetAfter, faultHang, faultServerError}
	lenientEnvelope = []fault{faultResetBefore, faultResetAfter, faultHang} // before the strict default: no 5xx for the POST
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
	case faultIgnoreWrite:
		return f.IgnoreWrite
	}
	return 0
}

func (f *Faults) check() error {
	sum := 0.0
	for _, k := range writeFaults {
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

// faultTable is the shares a request draws from and how its faults count.
type faultTable struct {
	f      *Faults
	prefix string // of the Stats.Faults names
}

// faultsFor returns the shares for a write or a read.
func (s *Server) faultsFor(write bool) faultTable {
	if write {
		return faultTable{&s.opt.Faults, ""}
	}
	return faultTable{&s.opt.ReadFaults, "read."}
}

// roll draws which of kinds, if any, the current request meets. It draws from the RNG only when some of them can happen, so that
// runs without faults see the same shuffles and Retry-After choices.
// Callers hold s.mu.
func (s *Server) roll(ft faultTable, kinds []fault) fault {
	total := 0.0
	for _, k := range kinds {
		total += ft.f.prob(k)
	}
	if total == 0 {
		return noFault
	}
	u := s.rng.Float64()
	for _, k := range kinds {
		p := ft.f.prob(k)
		if u < p {
			return k
		}
		u -= p
	}
	return noFault
}

// count records that a fault took effect. Callers hold s.mu.
func (s *Server) count(ft faultTable, k fault) {
	s.stats.Faults[ft.prefix+faultNames[k]]++
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
