package graph

import (
	"math"
	"time"

	"golang.org/x/time/rate"
)

// signal is what one attempt's answer says about the server's capacity.
type signal int

const (
	// served: an answer that is neither a 429 nor transient (2xx, and
	// 4xx other than 429). The server counted the request and had room.
	served signal = iota
	// throttled: a 429.
	throttled
	// faulted: a transient failure (5xx, or no answer at all). It says
	// nothing about the rate unless it comes in a run.
	faulted
)

// Controller tuning. Each constant says what it trades.
const (
	// paceShare is the share of the current rate the pacer actually
	// spends. Servers count a quota over a sliding window; two requests
	// spaced exactly one window apart by the client arrive less than a
	// window apart whenever the earlier one was delayed more on the way,
	// and the server then counts one too many. Running 2% slow leaves 2%
	// of the window (400 ms of Intune's 20 s) against that. It still
	// earns its place now that a single 429 costs only its own request:
	// at --rate equal to the limit of a 2 s window on a loaded 2-core
	// machine, the bench measured 14 × 429 in 600 writes without it and
	// 1 with it (2 and 0 on a 10 s window), for the same throughput.
	paceShare = 0.98

	// frameShare is the share of paceShare that $batch groups run at:
	// all the items of a POST arrive together, so a POST delayed on the
	// way costs its window up to twenty slots, not one, and groups need
	// a wider margin than single requests for the same jitter.
	frameShare = 0.98

	// minRate is the floor a run of cuts can push the rate to, in
	// requests/s.
	minRate = 0.05

	// The controller reads the answers to the latest runSpan attempts
	// (of at most recent answers: a $batch POST is one attempt of many
	// items). runOf429 throttled attempts among them are a run: one 429
	// among ten is what a single unlucky request (or a write that took
	// effect and was answered 429 anyway) looks like; three are the
	// server saying it is full. A POST counts as throttled when at
	// least batchRun429 of its items were: one or two 429s in a POST
	// are unlucky items too.
	recent      = 64
	runSpan     = 10
	runOf429    = 3
	batchRun429 = 3

	// shareSpan is how many of the latest attempts the accepted share is
	// measured over, and minEvidence how many answers it needs. The same
	// ten as a run: a longer span reaches back before the server filled
	// up and cuts too little, so that a client that must give way to
	// another (figure 8) takes more runs, each a pause, to settle.
	shareSpan   = 10
	minEvidence = 5

	// faultRun is how many transient failures in a row, with no other
	// answer between them, make a systemic signal: the server (or the
	// way to it) is failing, not one request. Everyone then waits with
	// the request that made the run.
	faultRun = 4

	// calmAnswers is how many answers must come back without a 429 after
	// a pause before the controller believes the server again and
	// returns to the last rate that drew no run of 429s.
	calmAnswers = 10

	// goodAfter is how long a rate must have run without a run of 429s
	// to be worth returning to after a cut.
	goodAfter = 5 * time.Second

	// probeStep is how far a probe raises the rate above the last rate
	// the server accepted; probeEvery is how long a rate must run
	// without a 429 before the next probe, doubled after each failed
	// probe up to probeMax, so that a client sitting at the server's
	// limit probes rarely and one below it finds its way up quickly.
	probeStep  = 0.10
	probeEvery = time.Second
	probeMax   = 32 * time.Second

	// idleGap is the pause in sending after which the server's window is
	// taken to have emptied: the next burst starts a fresh measurement.
	idleGap = 2 * time.Second
)

// verdict is the controller's reading of one attempt.
type verdict struct {
	// pause: the evidence is strong (a run of 429s, or a run of
	// failures): every request of this kind waits as long as this one.
	pause bool
	// brief: an isolated failure with no Retry-After: back this request
	// off briefly, not as for a server in trouble.
	brief bool
	// before and after are the rate before and after the answer; after
	// is lower when the answer cut it.
	before, after float64
}

// answerRec is one answered item in the controller's memory.
type answerRec struct {
	sent    time.Time
	attempt uint64 // the HTTP request it went in: the items of a $batch POST share it
	sig     signal
}

// ratectl decides how fast one kind of request (writes or reads) is sent
// and what an answer says about that. It is a pure type: no clock, no
// locks, no goroutines. Callers pass the time to every method and
// serialise the calls (pacer does both).
//
// What it believes, and why:
//   - The configured rate is a ceiling the user believes in: the rate
//     starts there and never exceeds it.
//   - A single 429 is weak evidence: one unlucky request, or a write
//     Graph took and answered 429 anyway. It delays only its own request
//     (by its Retry-After). A run of them (runOf429 of the latest
//     runSpan attempts), or a 429 while the rate is above the one the
//     server was last seen to accept by more than a probe step, is the
//     server saying it is full: then every request waits out the
//     Retry-After and the rate is cut to the rate the server was seen to
//     accept (see estimate), not to a fixed fraction.
//   - 5xx and resets delay only their own request, briefly (or by their
//     Retry-After), unless faultRun of them come in a row: then every
//     request waits with the one that made the run. They never cut the
//     rate: they say the server is failing, not that the client is too
//     fast.
//   - Once the pause has passed and calmAnswers answers came back
//     without a 429, the rate returns straight to the last one that
//     drew no run of 429s. From the rate the server accepted it probes
//     upward in probeStep steps, each after probeEvery of clean running;
//     a 429 during a probe ends the probe, and the next one comes later.
//
// Pacing is a virtual schedule: each request books the next slot,
// 1/(rate·paceShare) after the last. Groups (a $batch's items) book
// their slots in frames of MaxBatch slots that they never straddle and
// leave together when their frame's last slot comes, so that $batch
// POSTs, retried items and all, arrive as evenly as single requests
// would: a server window holding a whole number of frames never sees
// more than the frames it holds.
type ratectl struct {
	ceiling float64
	rate    float64
	// quota is the rate the server was seen to accept at the last cut,
	// raised by every probe that ran clean (0: never cut).
	quota float64
	// good is the rate that ran without a run of 429s for goodAfter
	// before the last cut, to return to once the server is calm; 0 when
	// there is none to trust.
	good     float64
	since    time.Time // when the rate last changed
	jumpedAt time.Time // when the rate last returned to good

	// The schedule. lim (golang.org/x/time/rate, burst 1, driven by the
	// times given, never the clock) books the slots of requests sent on
	// their own; lastAt is its latest booking's slot (zero: none since
	// the schedule started), which release can give back. A rate change
	// starts a new limiter whose first free slot is the old one's
	// (reschedule). Once a group has been booked (framed), every booking
	// goes into frames: frame is the first slot of the current one, used
	// its slots taken. gen changes whenever a pause voids the bookings.
	lim    *rate.Limiter
	lastAt time.Time
	// limAt is the latest time lim was driven at. rate.Limiter takes
	// the time it is given as its clock, even one before the last: a
	// time earlier than a booking made for later (after a pause) would
	// move its clock back and credit the time in between a second time.
	// So it is always driven at limAt or later (drive).
	limAt  time.Time
	framed bool
	frame  time.Time
	used   int
	gen    uint64
	until  time.Time // the shared pause: no slot before this

	// Evidence.
	answers   [recent]answerRec // ring of the latest answered items
	nAnswers  int
	lastSent  time.Time // the latest slot handed out
	fresh     time.Time // when the current measurement began: first send after an idle gap, or a pause's end
	accepted  int       // items sent since fresh and answered without a 429
	cutAt     time.Time // answers to attempts sent before this are stale
	calm      int       // answers without a 429 since the last pause ended
	faults    int       // transient failures in a row
	lastFault uint64    // the attempt of the latest of them
	probeAt   time.Time // next probe, if the rate is below the ceiling
	probeWait time.Duration
}

func newRatectl(ceiling float64, now time.Time) *ratectl {
	c := &ratectl{ceiling: ceiling, rate: ceiling, probeWait: probeEvery, fresh: now, since: now}
	c.lim = rate.NewLimiter(c.limit(), 1)
	return c
}

// reschedule makes the limiter pace at the current rate while keeping
// its next free slot where it was: the slots booked stand, and the one
// after them comes when it would have. (SetLimitAt would re-price, at
// the new rate, the slots booked ahead: after a cut from 60 to 20 a
// second, the next slot would move three times further out, and the
// simulation's 3x-over and second-client runs lose 10-20%.)
func (c *ratectl) reschedule(now time.Time) {
	t := c.drive(now)
	tok := c.lim.TokensAt(t)
	if tok >= 1 || c.lim.Limit() == rate.Inf {
		c.startAt(time.Time{}) // a slot is free now
		return
	}
	c.startAt(t.Add(time.Duration((1 - tok) / float64(c.lim.Limit()) * float64(time.Second))))
}

// startAt starts a new schedule at the current rate whose first free
// slot is next (zero: free at once).
func (c *ratectl) startAt(next time.Time) {
	c.lim, c.lastAt = rate.NewLimiter(c.limit(), 1), time.Time{}
	if next.IsZero() || c.lim.Limit() == rate.Inf {
		return
	}
	taken := next.Add(-c.interval())
	c.lim.ReserveN(taken, 1) // the slot before next is taken
	c.limAt = taken
}

// drive returns the time to drive the limiter at for t: t, or the latest
// time it was driven at when that is later (see limAt).
func (c *ratectl) drive(t time.Time) time.Time {
	if t.Before(c.limAt) {
		return c.limAt
	}
	c.limAt = t
	return t
}

// limit is the pace of slots at the current rate, for the limiter.
func (c *ratectl) limit() rate.Limit {
	if math.IsInf(c.rate, 1) {
		return rate.Inf
	}
	return rate.Limit(c.rate * paceShare)
}

// interval is the spacing of slots at the current rate.
func (c *ratectl) interval() time.Duration {
	return time.Duration(float64(time.Second) / (c.rate * paceShare))
}

// reserve books slots at or after now for a group of n requests (1 for a
// request sent alone) and returns when they may leave together, how many
// of them may (k: a group that does not fit in the current frame sends
// the rest in a later one; 0 when it may not book yet, and is to ask
// again at at), and a ticket that stays valid until a pause voids the
// booking.
func (c *ratectl) reserve(now time.Time, n int) (at time.Time, k int, ticket uint64) {
	c.advance(now)
	earliest := now
	if c.until.After(earliest) {
		earliest = c.until
	}
	iv := c.interval()
	if n > 1 && iv > 0 {
		c.framed = true
	}
	if !c.framed || iv == 0 {
		// One slot (n is 1 unless the rate is unlimited): the limiter's
		// next, at or after earliest.
		t := c.drive(earliest)
		at = t.Add(c.lim.ReserveN(t, n).DelayFrom(t))
		c.lastAt = at
		k = n
	} else {
		iv = time.Duration(float64(iv) / frameShare)
		end := c.frame.Add((MaxBatch - 1) * iv)
		if c.frame.IsZero() || c.used >= MaxBatch || !end.After(earliest) {
			// A new frame: right after the last one, or from now when
			// the last one is long gone.
			next := c.frame.Add(MaxBatch * iv)
			if c.frame.IsZero() || next.Before(earliest) {
				next = earliest
			}
			if next.Sub(earliest) > MaxBatch*iv {
				// Frames are booked one ahead at most: a group that
				// would leave later books later, with the groups
				// waiting then.
				return next.Add(-MaxBatch * iv), 0, c.gen
			}
			c.frame, c.used = next, 0
			end = c.frame.Add((MaxBatch - 1) * iv)
		}
		if n == MaxBatch {
			// A full group books only in the second half of a frame's
			// time, so that smaller groups (retried items, whose
			// requests hold a worker each while they wait) go first
			// and full groups are split to fill what is left.
			if open := end.Add(-MaxBatch * iv / 2); earliest.Before(open) {
				return open, 0, c.gen
			}
		}
		k = min(n, MaxBatch-c.used)
		c.used += k
		at = end
	}
	if at.Sub(c.lastSent) > idleGap {
		c.fresh = at
		c.accepted = 0
	}
	c.lastSent = at
	return at, k, c.gen
}

// valid reports whether a booking made with ticket still stands.
func (c *ratectl) valid(ticket uint64) bool { return ticket == c.gen }

// release gives back the k slots of a booking that leaves at at, when
// nobody booked after them: its requests will not be sent.
func (c *ratectl) release(at time.Time, k int, ticket uint64) {
	if ticket != c.gen {
		return
	}
	iv := c.interval()
	if !c.framed {
		if !c.lastAt.IsZero() && c.lastAt.Equal(at) {
			c.startAt(at) // its slot is free again
		}
		return
	}
	if c.frame.Add((MaxBatch-1)*time.Duration(float64(iv)/frameShare)).Equal(at) && c.used >= k {
		c.used -= k
	}
}

// pause stops every request until until; the slots booked so far are
// void, and sending resumes from until at the current rate.
func (c *ratectl) pause(until time.Time) {
	if !until.After(c.until) {
		return
	}
	c.until = until
	c.lim, c.lastAt, c.limAt = rate.NewLimiter(c.limit(), 1), time.Time{}, time.Time{} // a fresh schedule from until on
	c.frame, c.used = until, 0
	c.gen++
	c.calm = 0
	c.fresh = until
	c.accepted = 0
}

// paused returns the end of the shared pause.
func (c *ratectl) paused() time.Time { return c.until }

// current returns the rate at now, after any probe that is due.
func (c *ratectl) current(now time.Time) float64 {
	c.advance(now)
	return c.rate
}

// advance raises the rate by a probe step when the rate has run without
// a 429 for the probe interval.
func (c *ratectl) advance(now time.Time) {
	if c.rate >= c.ceiling || c.probeAt.IsZero() || now.Before(c.probeAt) || now.Before(c.until) {
		return
	}
	if c.rate > c.quota {
		c.probeWait = probeEvery // a probe succeeded: the server has room
	}
	c.quota = max(c.quota, c.rate) // it ran clean: the server accepts it
	c.setRate(now, min(c.ceiling, c.rate*(1+probeStep)))
	c.probeAt = now.Add(c.probeWait)
}

// setRate changes the rate at now.
func (c *ratectl) setRate(now time.Time, r float64) {
	if r != c.rate {
		c.rate = r
		c.since = now
		c.reschedule(now)
	}
}

// observe records at now the answer to an item sent at sent in HTTP
// request attempt (a number the caller gives each request it sends, the
// same for all the items of a $batch POST) and says what it means. ra is
// the answer's Retry-After (0: none); whole says it came in whole
// seconds, so that the true wait may be up to a second shorter.
func (c *ratectl) observe(now, sent time.Time, attempt uint64, sig signal, ra time.Duration, whole bool) verdict {
	c.advance(now)
	v := verdict{before: c.rate, after: c.rate}
	c.answers[c.nAnswers%recent] = answerRec{sent: sent, attempt: attempt, sig: sig}
	c.nAnswers++
	if sig != throttled {
		if sig == faulted {
			// The items of one $batch POST that failed as a whole are
			// one failure, not a run.
			if attempt != c.lastFault {
				c.faults++
				c.lastFault = attempt
			}
			// A run of them is systemic: everyone waits with this
			// request, but as briefly, so that a server failing every
			// request is found out (apply stops after 20 such rows)
			// at the pace of single failures.
			v.pause = c.faults >= faultRun
			v.brief = true
		} else {
			c.faults = 0
		}
		if !sent.Before(c.fresh) {
			c.accepted++
		}
		c.settle(now, sent)
		return v
	}
	c.faults = 0
	if sent.Before(c.cutAt) {
		return v // sent before the last cut, which answered it already
	}
	c.calm = 0
	probing := c.quota > 0 && c.rate > c.quota && c.rate <= c.quota*(1+probeStep)*1.001
	if c.run() < runOf429 && (c.quota == 0 || c.rate <= c.quota || probing) {
		if probing {
			// A probe met the limit: back to what was accepted, and
			// probe less often.
			c.setRate(now, c.quota)
			c.probeWait = min(2*c.probeWait, probeMax)
			c.probeAt = now.Add(c.probeWait)
			v.after = c.rate
		}
		return v // weak: this request alone waits
	}
	v.pause = true
	est := c.estimate(now, ra, whole)
	switch {
	case !c.jumpedAt.IsZero() && now.Sub(c.jumpedAt) < goodAfter,
		!c.cutAt.IsZero() && now.Sub(c.cutAt) < goodAfter:
		// A return to it drew 429s again, or the last cut was not
		// enough: the server has less room than it had, for now.
		c.good = 0
	case now.Sub(c.since) >= goodAfter:
		c.good = c.rate
	}
	c.jumpedAt = time.Time{}
	c.cutAt = now
	if math.IsInf(c.ceiling, 1) {
		return v // unlimited: nothing to cut
	}
	c.setRate(now, max(min(c.rate, est), min(minRate, c.ceiling)))
	c.quota = c.rate
	c.probeAt = now.Add(c.probeWait)
	v.after = c.rate
	return v
}

// settle counts an answer without a 429 since the last pause, returning
// to the last good rate once the server has been calm long enough.
func (c *ratectl) settle(now, sent time.Time) {
	if sent.Before(c.until) || now.Before(c.until) {
		return
	}
	c.calm++
	if c.calm < calmAnswers {
		return
	}
	if c.good > c.rate && now.Sub(c.cutAt) >= goodAfter {
		c.setRate(now, c.good)
		c.jumpedAt = now
	}
	if c.probeAt.IsZero() && c.rate < c.ceiling {
		c.probeAt = now.Add(c.probeWait)
	}
}

// latest calls f for the answers to the latest span attempts that are
// not stale, newest first, with the attempt's index (0 for the newest).
// The items of one $batch POST are one attempt.
func (c *ratectl) latest(span int, f func(a answerRec, attempt int)) {
	attempt := -1
	var prev uint64
	for i := 0; i < min(c.nAnswers, recent); i++ {
		a := c.answers[(c.nAnswers-1-i)%recent]
		if a.sent.Before(c.cutAt) {
			return
		}
		if attempt < 0 || a.attempt != prev {
			if attempt++; attempt >= span {
				return
			}
			prev = a.attempt
		}
		f(a, attempt)
	}
}

// run counts the latest attempts that were throttled: a request sent
// alone that was answered 429, or a $batch POST with at least
// batchRun429 items answered 429.
func (c *ratectl) run() int {
	n, items, refused := 0, 0, 0
	last := -1
	flush := func() {
		if refused > 0 && refused >= min(items, batchRun429) {
			n++
		}
	}
	c.latest(runSpan, func(a answerRec, attempt int) {
		if attempt != last {
			flush()
			items, refused, last = 0, 0, attempt
		}
		items++
		if a.sig == throttled {
			refused++
		}
	})
	flush()
	return n
}

// estimate is the rate the server was seen to accept, judged at now from
// a 429 with Retry-After ra. Two readings, the lower wins:
//
//   - the share of the latest answers that were not 429s, times the rate
//     they were sent at: what the server let through while it was full;
//   - the requests it accepted since the current burst began (the run's
//     first requests, the first after an idle gap or after a pause),
//     spread over the time since plus the Retry-After: a burst that
//     filled the server's window from empty says, with the Retry-After,
//     how fast the window refills. A whole-second Retry-After is read as
//     up to a second less, so as not to cut below what the server takes.
func (c *ratectl) estimate(now time.Time, ra time.Duration, whole bool) float64 {
	est := math.Inf(1)
	var n, ok int
	var first, last time.Time
	c.latest(shareSpan, func(a answerRec, _ int) {
		n++
		if a.sig != throttled {
			ok++
		}
		if first.IsZero() || a.sent.Before(first) {
			first = a.sent
		}
		if a.sent.After(last) {
			last = a.sent
		}
	})
	if n >= minEvidence {
		sent := c.rate * paceShare
		if span := last.Sub(first).Seconds(); span > 0 {
			sent = min(sent, float64(n-1)/span)
		}
		est = sent * float64(ok) / float64(n)
	}
	if c.accepted >= minEvidence {
		d := ra
		if whole {
			d = max(0, d-time.Second)
		}
		if span := now.Sub(c.fresh) + d; span > 0 {
			est = min(est, float64(c.accepted)/span.Seconds())
		}
	}
	if math.IsInf(est, 1) {
		est = c.rate / 2 // nothing to measure by: halve
	}
	return est
}
