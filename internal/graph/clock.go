package graph

import (
	"context"
	"time"
)

// Clock is the client's source of time. Every wait the client makes (a
// Retry-After, a backoff, a shared pause, the rate limiter's spacing) asks
// the Clock for a Timer, so a fake Clock in tests can record the waits and
// release them without real sleeping. Per-attempt timeouts
// (Config.RequestTimeout) are the exception: they bound real network I/O
// and use real time. Implementations must be safe for concurrent use.
type Clock interface {
	// Now returns the current time.
	Now() time.Time
	// NewTimer returns a Timer that delivers the time on its channel once
	// d has passed. The client only asks for d > 0.
	NewTimer(d time.Duration) Timer
}

// Timer is a one-shot timer made by a Clock, the subset of *time.Timer the
// client needs.
type Timer interface {
	// C returns the channel on which the timer delivers the time once.
	C() <-chan time.Time
	// Stop prevents the timer from firing; it reports whether it was
	// still pending.
	Stop() bool
}

// realClock is the Clock used when Config.Clock is nil.
type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }

func (realClock) NewTimer(d time.Duration) Timer { return realTimer{time.NewTimer(d)} }

type realTimer struct{ t *time.Timer }

func (t realTimer) C() <-chan time.Time { return t.t.C }
func (t realTimer) Stop() bool          { return t.t.Stop() }

// sleep waits for d on clk, returning early with ctx's error when ctx is
// done first. A d <= 0 creates no timer.
func sleep(ctx context.Context, clk Clock, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	if d <= 0 {
		return nil
	}
	t := clk.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C():
		return nil
	}
}
