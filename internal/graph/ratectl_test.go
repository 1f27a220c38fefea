package graph

import (
	"math"
	"testing"
	"time"
)

// ctlAt drives a ratectl on a clock of its own: each answer is sent at
// the time given and answered 10 ms later.
type ctlAt struct {
	c       *ratectl
	attempt uint64
}

func newCtl(ceiling float64) *ctlAt { return &ctlAt{c: newRatectl(ceiling, t0)} }

func (x *ctlAt) answer(sentAt time.Duration, sig signal, ra time.Duration) verdict {
	x.attempt++
	sent := t0.Add(sentAt)
	return x.c.observe(sent.Add(10*time.Millisecond), sent, x.attempt, sig, ra, ra > 0 && ra%time.Second == 0)
}

// TestSingle429IsWeak: one 429 among served answers neither pauses nor
// cuts; the third of the latest ten does both.
func TestSingle429IsWeak(t *testing.T) {
	x := newCtl(10)
	ms := func(n int) time.Duration { return time.Duration(n) * 100 * time.Millisecond }
	for i := range 5 {
		x.answer(ms(i), served, 0)
	}
	if v := x.answer(ms(5), throttled, time.Second); v.pause || v.after != 10 {
		t.Errorf("first 429: %+v; want no pause, no cut", v)
	}
	x.answer(ms(6), served, 0)
	if v := x.answer(ms(7), throttled, time.Second); v.pause || v.after != 10 {
		t.Errorf("second 429: %+v; want no pause, no cut", v)
	}
	v := x.answer(ms(8), throttled, 0)
	if !v.pause || v.after >= 10 || v.after <= 5 {
		t.Errorf("third 429 of the latest ten: %+v; want a pause and a cut to the accepted share, not to half", v)
	}
	// Answers to attempts sent before the cut are stale: no second cut.
	before := x.c.rate
	if v := x.answer(ms(8)+time.Millisecond, throttled, time.Second); v.pause || v.after != before {
		t.Errorf("stale 429: %+v; want it ignored", v)
	}
}

// TestBurstEstimate: a burst that filled the window from empty, then a
// run of 429s whose Retry-After says when the first slot frees: the cut
// is to the rate the window refills at, not to the share.
func TestBurstEstimate(t *testing.T) {
	x := newCtl(60)
	// 40 writes in 0.65 s, accepted; then three 429s saying the first
	// slot frees 1.3 s later: 40 writes per 2 s.
	for i := range 40 {
		x.c.reserve(t0.Add(time.Duration(i)*time.Second/60), 1)
		x.answer(time.Duration(i)*time.Second/60, served, 0)
	}
	var v verdict
	for i := 40; i < 43; i++ {
		x.c.reserve(t0.Add(time.Duration(i)*time.Second/60), 1)
		sent := time.Duration(i) * time.Second / 60
		v = x.answer(sent, throttled, 2*time.Second-sent-10*time.Millisecond)
	}
	if !v.pause || math.Abs(v.after-20) > 1 {
		t.Errorf("cut to %.2f (pause %v); want about 20/s", v.after, v.pause)
	}
}

// TestFaultRun: 5xx and resets alone are brief and never cut; four in a
// row make everyone wait (as briefly); one POST failing whole is one
// failure.
func TestFaultRun(t *testing.T) {
	x := newCtl(10)
	for i := range 3 {
		if v := x.answer(time.Duration(i)*time.Millisecond, faulted, 0); v.pause || !v.brief || v.after != 10 {
			t.Errorf("fault %d: %+v; want brief, no pause, no cut", i+1, v)
		}
	}
	if v := x.answer(3*time.Millisecond, faulted, 0); !v.pause || !v.brief || v.after != 10 {
		t.Errorf("fourth fault in a row: %+v; want everyone to wait as briefly, no cut", v)
	}
	y := newCtl(10)
	y.attempt = 7
	for i := range 20 { // twenty items of one POST
		v := y.c.observe(t0.Add(10*time.Millisecond), t0, 8, faulted, 0, false)
		if v.pause {
			t.Fatalf("item %d of one failed POST paused everyone", i)
		}
	}
}

// TestBatchPostIsOneAttempt: a POST with many items refused is one
// throttled attempt; three such POSTs in a row are a run.
func TestBatchPostIsOneAttempt(t *testing.T) {
	x := newCtl(50)
	for post := uint64(1); post <= 3; post++ {
		sent := t0.Add(time.Duration(post) * 400 * time.Millisecond)
		paused := false
		for range 20 {
			v := x.c.observe(sent.Add(30*time.Millisecond), sent, post, throttled, 100*time.Millisecond, false)
			paused = paused || v.pause
		}
		if paused != (post == 3) {
			t.Errorf("POST %d refused: pause %v; want a run at the third", post, paused)
		}
	}
}

// TestFrames: once groups are booked, bookings go into frames of
// MaxBatch slots, never straddled, each group leaving at its frame's last
// slot; a full group books in the second half of a frame, so that a
// smaller one goes first and the full one is split.
func TestFrames(t *testing.T) {
	c := newRatectl(50, t0)
	iv := time.Duration(float64(c.interval()) / frameShare)
	at, k, _ := c.reserve(t0, 3) // retried items open a frame
	if k != 3 || !closeTo(at.Sub(t0), 19*iv) {
		t.Errorf("small group: k %d leaving at %v; want 3 at %v", k, at.Sub(t0), 19*iv)
	}
	at, k, _ = c.reserve(t0, MaxBatch) // a full group waits for the frame's second half
	if k != 0 || !closeTo(at.Sub(t0), 9*iv) {
		t.Errorf("full group before the second half: k %d, book again at %v; want 0, %v", k, at.Sub(t0), 9*iv)
	}
	at, k, _ = c.reserve(t0.Add(9*iv), MaxBatch)
	if k != MaxBatch-3 || !closeTo(at.Sub(t0), 19*iv) {
		t.Errorf("full group: k %d leaving at %v; want %d at %v", k, at.Sub(t0), MaxBatch-3, 19*iv)
	}
	at, k, _ = c.reserve(t0.Add(10*iv), 3) // the rest, in the next frame
	if k != 3 || !closeTo(at.Sub(t0), 39*iv) {
		t.Errorf("the rest: k %d leaving at %v; want 3 at %v", k, at.Sub(t0), 39*iv)
	}
}

// TestPauseVoidsBookings: a pause voids the slots booked before it, and
// sending resumes from its end.
func TestPauseVoidsBookings(t *testing.T) {
	c := newRatectl(10, t0)
	_, _, ticket := c.reserve(t0, 1)
	c.pause(t0.Add(time.Second))
	if c.valid(ticket) {
		t.Error("a booking made before a pause is still valid")
	}
	at, _, ticket := c.reserve(t0, 1)
	if !at.Equal(t0.Add(time.Second)) || !c.valid(ticket) {
		t.Errorf("booked at %v, want the pause's end", at.Sub(t0))
	}
}

// TestRecovery: after a cut, a calm server brings the rate back up by
// probes, never above the ceiling; a 429 during a probe ends it.
func TestRecovery(t *testing.T) {
	x := newCtl(10)
	ms := func(n int) time.Duration { return time.Duration(n) * 100 * time.Millisecond }
	for i := range 7 {
		x.answer(ms(i), served, 0)
	}
	for i := 7; i < 10; i++ {
		x.answer(ms(i), throttled, 100*time.Millisecond)
	}
	cut := x.c.rate
	if cut >= 10 {
		t.Fatalf("no cut: %v", cut)
	}
	for i := 11; i < 40; i++ {
		x.answer(ms(i), served, 0)
	}
	if r := x.c.current(t0.Add(ms(40))); r <= cut {
		t.Errorf("rate %v after 3 s of calm, want above the cut %v", r, cut)
	}
	probe := x.c.rate
	if v := x.answer(ms(41), throttled, 0); v.pause || v.after >= probe {
		t.Errorf("429 during a probe: %+v; want the probe ended without a pause", v)
	}
	for i := 42; i < 1000; i++ {
		x.answer(ms(i), served, 0)
	}
	if r := x.c.current(t0.Add(ms(1000))); r != 10 {
		t.Errorf("rate %v after a long calm, want the ceiling 10", r)
	}
}
