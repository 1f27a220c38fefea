package graph

import (
	"context"
	"math"
	"sync"
	"time"
)

// pacer gates one kind of request (writes or reads) for the whole client,
// as rclone's pacer does for all its workers: every request books its
// slot with one rate controller (ratectl), and a pause the controller
// calls for stops every goroutine, not only the one that was told to.
// It is safe for concurrent use; the controller it wraps is not, and is
// only ever called with mu held and the time from clock.
type pacer struct {
	clock Clock
	mu    sync.Mutex
	ctl   *ratectl
}

// newPacer returns a pacer allowing perSec requests per second at most;
// 0 means unlimited (the controller's pauses still apply).
func newPacer(clk Clock, perSec float64) *pacer {
	if perSec <= 0 {
		perSec = math.Inf(1)
	}
	return &pacer{clock: clk, ctl: newRatectl(perSec, clk.Now())}
}

// wait blocks until a group of n requests may start, or the first k of
// them (at least 1; see ratectl.reserve), and returns k: after any shared
// pause, in the slots the controller books for them, asking again when
// the controller says the group may not book yet. A pause that starts
// while it waits voids the booking, and it books again after the pause.
// It returns ctx's error if ctx ends first, giving the slots back.
func (p *pacer) wait(ctx context.Context, n int) (int, error) {
	for {
		p.mu.Lock()
		now := p.clock.Now()
		at, k, ticket := p.ctl.reserve(now, n)
		p.mu.Unlock()
		if err := sleep(ctx, p.clock, at.Sub(now)); err != nil {
			p.mu.Lock()
			p.ctl.release(at, k, ticket)
			p.mu.Unlock()
			return 0, err
		}
		p.mu.Lock()
		ok := p.ctl.valid(ticket)
		p.mu.Unlock()
		if ok && k > 0 {
			return k, nil
		}
	}
}

// observe tells the controller what an item sent at sent in HTTP request
// attempt got at now.
func (p *pacer) observe(now, sent time.Time, attempt uint64, sig signal, ra time.Duration) verdict {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctl.observe(now, sent, attempt, sig, ra, ra > 0 && ra%time.Second == 0)
}

// pauseUntil stops every request of this kind until until.
func (p *pacer) pauseUntil(until time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.ctl.pause(until)
}

// paused returns the end of the shared pause (zero if there never was one).
func (p *pacer) paused() time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.ctl.paused()
}

// rate returns the current rate in requests/s, 0 when unlimited.
func (p *pacer) rate() float64 {
	p.mu.Lock()
	defer p.mu.Unlock()
	r := p.ctl.current(p.clock.Now())
	if math.IsInf(r, 1) {
		return 0
	}
	return r
}
