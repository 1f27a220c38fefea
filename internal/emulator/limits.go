package emulator

import (
	"strconv"
	"time"
)

// window is a sliding-window request log: at most limit requests in any
// span. Only admitted requests are logged, so a 429's Retry-After is the
// true time until a slot frees, whatever other clients do meanwhile.
// Not safe for concurrent use; the server's mutex guards it.
type window struct {
	limit int
	span  time.Duration
	times []time.Time // admitted requests, oldest first
}

// newWindow returns nil, meaning "no limit", for a zero limit.
func newWindow(limit int, span time.Duration) *window {
	if limit <= 0 {
		return nil
	}
	return &window{limit: limit, span: span}
}

// wait returns how long from now until the window has a free slot; 0 when
// it has one now.
func (w *window) wait(now time.Time) time.Duration {
	if w == nil {
		return 0
	}
	cut := 0
	for cut < len(w.times) && !w.times[cut].After(now.Add(-w.span)) {
		cut++
	}
	w.times = w.times[cut:] // append reallocates once the front is used up, so this stays bounded
	if len(w.times) < w.limit {
		return 0
	}
	return w.times[len(w.times)-w.limit].Add(w.span).Sub(now)
}

func (w *window) add(now time.Time) {
	if w != nil {
		w.times = append(w.times, now)
	}
}

// The Retry-After modes of Options.RetryAfter.
const (
	// RetryAfterInteger sends whole seconds, rounded up, at least 1.
	RetryAfterInteger = "integer"
	// RetryAfterFractional sends seconds to the millisecond, e.g. "2.128".
	RetryAfterFractional = "fractional"
	// RetryAfterNone sends 429s without Retry-After.
	RetryAfterNone = "none"
	// RetryAfterMixed chooses per 429, by the seeded RNG: no header or a
	// fractional one, half the time each.
	RetryAfterMixed = "mixed"
)

// retryAfterValue formats wait as a Retry-After value in mode (integer or
// fractional) and returns the delay it promises: the integer form is
// rounded up to whole seconds, at least 1; the fractional one up to whole
// milliseconds, at least 1 ms. Rounding up means a client that waits exactly
// the value it was given is never early.
func retryAfterValue(mode string, wait time.Duration) (string, time.Duration) {
	if mode == RetryAfterFractional {
		ms := max((wait+time.Millisecond-1)/time.Millisecond, 1)
		return strconv.FormatFloat(float64(ms)/1000, 'f', -1, 64), ms * time.Millisecond
	}
	sec := max((wait+time.Second-1)/time.Second, 1)
	return strconv.FormatInt(int64(sec), 10), sec * time.Second
}

// retryBook remembers, per client-request-id, until when its sender was
// told to stay away, to count retries that came back early.
type retryBook struct {
	notBefore map[string]time.Time
	sweepAt   int // size at which expired entries are next swept out
}

// told records at now that the request with this client-request-id may
// not come back before until.
func (b *retryBook) told(id string, now, until time.Time) {
	if id == "" {
		return
	}
	if b.notBefore == nil {
		b.notBefore = make(map[string]time.Time)
		b.sweepAt = 1024
	}
	b.notBefore[id] = until
	if len(b.notBefore) >= b.sweepAt {
		for k, t := range b.notBefore {
			if !now.Before(t) {
				delete(b.notBefore, k)
			}
		}
		b.sweepAt = max(1024, 2*len(b.notBefore))
	}
}

// forget drops what the request with this client-request-id was told:
// the answer that said it was lost on the way.
func (b *retryBook) forget(id string) { delete(b.notBefore, id) }

// early reports whether a request with this client-request-id arriving at
// now came back before it was told to.
func (b *retryBook) early(id string, now time.Time) bool {
	until, ok := b.notBefore[id]
	if !ok {
		return false
	}
	if !now.Before(until) {
		delete(b.notBefore, id)
		return false
	}
	return true
}

const throttleMessage = "Too many requests: the application is over its request limit for this tenant. Retry after the time given in the Retry-After header."

// admit takes a slot in the windows a request needs and returns 0, or
// returns how long until all of them have one free, taking none. Callers
// hold s.mu.
func (s *Server) admit(write bool, now time.Time) time.Duration {
	wait := s.all.wait(now)
	if write {
		wait = max(wait, s.writes.wait(now))
	}
	if wait > 0 {
		return wait
	}
	s.all.add(now)
	if write {
		s.writes.add(now)
	}
	return 0
}

// setRetryAfter adds a Retry-After for wait to a, in the configured mode,
// and remembers what c's sender was told. Callers hold s.mu.
func (s *Server) setRetryAfter(c *call, a *answer, now time.Time, wait time.Duration) {
	mode := s.opt.RetryAfter
	if mode == RetryAfterMixed {
		if s.rng.IntN(2) == 0 {
			return
		}
		mode = RetryAfterFractional
	}
	if mode == RetryAfterNone {
		return
	}
	v, promised := retryAfterValue(mode, wait)
	a.header["Retry-After"] = v
	s.book.told(c.clientRequestID, now, now.Add(promised))
}
