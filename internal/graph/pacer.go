package graph

import (
	"context"
	"sync"
	"time"

	"golang.org/x/time/rate"
)

// AIMD tuning. A burst of 429s answering requests that were already in
// flight says one thing, so cuts are spaced by cutSpacing; recovery adds
// growthShare of the configured rate per second of running without a 429.
const (
	cutFactor   = 0.5
	cutSpacing  = time.Second
	growthShare = 0.05
	minRate     = 0.05 // requests/s; the floor a run of 429s can push the rate to
)

// paceShare is the share of the current rate the token bucket actually
// runs at. Servers count a quota over a sliding window; two requests
// spaced exactly one window apart by the client arrive less than a window
// apart whenever the earlier one was delayed more on the way (scheduling,
// the network), and the server then counts one too many and answers 429,
// which halves the rate. Running 2% slow gives a margin of 2% of the window
// (400 ms of Intune's 20 s) against that. Without it, `make bench`
// measured 4 429s in 600 writes paced at exactly the emulator's limit,
// and the halving that followed cost a quarter of the run's throughput.
const paceShare = 0.98

// limit is the token bucket's rate for an aimd rate of perSec.
func limit(perSec float64) rate.Limit { return rate.Limit(perSec * paceShare) }

// aimd is an additive-increase, multiplicative-decrease rate: it halves on
// a 429 and creeps back towards its ceiling while none come. It is safe
// for concurrent use and takes the time from its caller, so tests drive it
// with plain time values.
type aimd struct {
	mu      sync.Mutex
	ceiling float64 // the configured rate; never exceeded
	floor   float64
	cur     float64
	last    time.Time // when cur was last brought up to date
	lastCut time.Time // zero: never cut
}

func newAIMD(ceiling float64, now time.Time) *aimd {
	return &aimd{ceiling: ceiling, floor: min(minRate, ceiling), cur: ceiling, last: now}
}

// grow adds the recovery earned since a.last. Requires a.mu.
func (a *aimd) grow(now time.Time) {
	if dt := now.Sub(a.last); dt > 0 {
		a.cur = min(a.ceiling, a.cur+growthShare*a.ceiling*dt.Seconds())
		a.last = now
	}
}

// rate returns the current rate at now.
func (a *aimd) rate(now time.Time) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.grow(now)
	return a.cur
}

// throttled records a 429 at now and returns the resulting rate. Only the
// first 429 of each cutSpacing window cuts.
func (a *aimd) throttled(now time.Time) float64 {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.grow(now)
	if a.lastCut.IsZero() || now.Sub(a.lastCut) >= cutSpacing {
		a.cur = max(a.floor, a.cur*cutFactor)
		a.lastCut = now
	}
	return a.cur
}

// pacer gates one kind of request (writes or reads) for the whole client,
// as rclone's pacer does for all its workers: a token bucket (burst 1)
// whose rate follows an aimd, and a shared pause that a 429 extends so
// that every goroutine stops, not only the one that was told to.
type pacer struct {
	clock Clock
	lim   *rate.Limiter // nil: unlimited
	aimd  *aimd         // nil: unlimited

	mu    sync.Mutex
	until time.Time // nobody starts a request before this
}

// newPacer returns a pacer allowing perSec requests per second; 0 means
// unlimited (the shared pause still applies).
func newPacer(clk Clock, perSec float64) *pacer {
	p := &pacer{clock: clk}
	if perSec > 0 {
		p.aimd = newAIMD(perSec, clk.Now())
		p.lim = rate.NewLimiter(limit(perSec), 1)
	}
	return p
}

// wait blocks until one request may start: after any shared pause, and
// when the token bucket allows it. It returns ctx's error if ctx ends
// first.
func (p *pacer) wait(ctx context.Context) error {
	for {
		p.mu.Lock()
		until := p.until
		p.mu.Unlock()
		if d := until.Sub(p.clock.Now()); d > 0 {
			if err := sleep(ctx, p.clock, d); err != nil {
				return err
			}
			continue
		}
		if p.lim == nil {
			return ctx.Err()
		}
		p.mu.Lock()
		now := p.clock.Now()
		if r := limit(p.aimd.rate(now)); r != p.lim.Limit() {
			p.lim.SetLimitAt(now, r)
		}
		res := p.lim.ReserveN(now, 1) // always OK: burst 1, n 1, rate > 0
		p.mu.Unlock()
		if err := sleep(ctx, p.clock, res.DelayFrom(now)); err != nil {
			res.CancelAt(p.clock.Now())
			return err
		}
		p.mu.Lock()
		paused := p.until.After(p.clock.Now())
		p.mu.Unlock()
		if !paused {
			return nil
		}
		// A 429 arrived while we waited for our slot: honour it too.
	}
}

// throttled records a throttling answer at now: nobody starts before
// until, and when cut is set (a 429) the rate is cut. It returns the rate
// before and after, equal when nothing was cut (0 when unlimited).
func (p *pacer) throttled(now, until time.Time, cut bool) (before, after float64) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if until.After(p.until) {
		p.until = until
	}
	if p.aimd == nil {
		return 0, 0
	}
	before = p.aimd.rate(now)
	after = before
	if cut {
		after = p.aimd.throttled(now)
		p.lim.SetLimitAt(now, limit(after))
	}
	return before, after
}

// rate returns the current rate in requests/s, 0 when unlimited.
func (p *pacer) rate() float64 {
	if p.aimd == nil {
		return 0
	}
	return p.aimd.rate(p.clock.Now())
}
