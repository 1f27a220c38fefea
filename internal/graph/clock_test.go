package graph

import (
	"sync"
	"testing"
	"time"
)

// fakeClock is a Clock whose time moves only when told. In auto mode every
// timer fires at once and moves the time to its deadline, so a retry
// story runs straight through while the waits it asked for are recorded.
// In manual mode timers stay pending until Advance.
type fakeClock struct {
	mu      sync.Mutex
	now     time.Time
	auto    bool
	waits   []time.Duration
	pending []*fakeTimer
	changed chan struct{} // closed and replaced on every new timer
}

type fakeTimer struct {
	clk  *fakeClock
	when time.Time
	ch   chan time.Time
	done bool
}

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

func newFakeClock(auto bool) *fakeClock {
	return &fakeClock{now: t0, auto: auto, changed: make(chan struct{})}
}

func (f *fakeClock) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeClock) NewTimer(d time.Duration) Timer {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.waits = append(f.waits, d)
	t := &fakeTimer{clk: f, when: f.now.Add(d), ch: make(chan time.Time, 1)}
	if f.auto {
		if t.when.After(f.now) {
			f.now = t.when
		}
		t.done = true
		t.ch <- f.now
	} else {
		f.pending = append(f.pending, t)
	}
	close(f.changed)
	f.changed = make(chan struct{})
	return t
}

func (t *fakeTimer) C() <-chan time.Time { return t.ch }

func (t *fakeTimer) Stop() bool {
	f := t.clk
	f.mu.Lock()
	defer f.mu.Unlock()
	if t.done {
		return false
	}
	t.done = true
	for i, p := range f.pending {
		if p == t {
			f.pending = append(f.pending[:i], f.pending[i+1:]...)
			break
		}
	}
	return true
}

// Advance moves the time by d and fires the timers that are due.
func (f *fakeClock) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	keep := f.pending[:0]
	for _, t := range f.pending {
		if t.when.After(f.now) {
			keep = append(keep, t)
			continue
		}
		t.done = true
		t.ch <- f.now
	}
	f.pending = keep
}

// Waits returns every duration a timer was asked for, in order.
func (f *fakeClock) Waits() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]time.Duration(nil), f.waits...)
}

// BlockUntil returns once n timers are pending. The real-time limit only
// keeps a broken test from hanging; it is not what the test measures.
func (f *fakeClock) BlockUntil(t *testing.T, n int) {
	t.Helper()
	limit := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		got, ch := len(f.pending), f.changed
		f.mu.Unlock()
		if got >= n {
			return
		}
		select {
		case <-ch:
		case <-limit:
			t.Fatalf("fake clock: %d timers pending, waited for %d", got, n)
		}
	}
}

// Pending returns the durations of the pending timers, measured from now.
func (f *fakeClock) Pending() []time.Duration {
	f.mu.Lock()
	defer f.mu.Unlock()
	var ds []time.Duration
	for _, t := range f.pending {
		ds = append(ds, t.when.Sub(f.now))
	}
	return ds
}
