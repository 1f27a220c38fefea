package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Figure 8: a second client of the same tenant takes half the quota
// mid-run. On figure 1's server (40 writes per 2 s, whole-second
// Retry-After), bulkpatch runs at --rate equal to the limit; shareFrom
// after its first write another client starts writing at half the limit,
// as another app of the tenant would, and keeps at it, sending what the
// server refused again after its Retry-After, within its own pace. bulkpatch must settle at the
// half left within two windows and achieve at least 0.9 of it.

// Goals of figure 8.
const (
	shareGoal       = 0.9 // bulkpatch's writes/s from two windows on ÷ half the allowed rate
	shareSettleGoal = 2   // windows
)

// ShareRun holds figure 8.
type ShareRun struct {
	Run applyRun
	Err string
	// Allowed is the server's rate, Limit and Window its quota.
	Allowed float64
	Limit   int
	Window  time.Duration
	// Start is when the second client's first write arrived; Bins are,
	// for each window from Start on that ended before bulkpatch's last
	// write and began with at least half the quota's rows left for
	// bulkpatch to write (a window at the end of the input cannot show
	// whether it holds the half), the writes the server admitted from
	// bulkpatch and from the second client.
	Start time.Time
	Bins  [][2]int
	// Mine and Theirs are the writes/s the server admitted from bulkpatch
	// and from the second client, from two windows after Start to
	// bulkpatch's last write.
	Mine, Theirs float64
	// OtherRefused counts the second client's writes answered 429.
	OtherRefused int
}

// settled is the first window (counting from Start, 0-based) from which
// every window held between 0.8 and 1.1 of the half of the quota for
// bulkpatch; len(Bins) when it never did.
func (s *ShareRun) settled() int {
	half := float64(s.Limit) / 2
	k := len(s.Bins)
	for i := len(s.Bins) - 1; i >= 0; i-- {
		n := float64(s.Bins[i][0])
		if n < 0.8*half || n > 1.1*half {
			break
		}
		k = i
	}
	return k
}

func (b *bench) share(ctx context.Context) ShareRun {
	c := b.cfg
	sr := ShareRun{Allowed: c.allowed(), Limit: c.writeLimit, Window: c.window}
	spec := emuSpec{opt: limitProfile(c), other: true}
	during := func(ctx context.Context, e *emu) {
		// Start shareFrom after bulkpatch's first write.
		for {
			if first, _, _ := e.probe.writeTimes(); !first.IsZero() {
				if !sleepCtx(ctx, time.Until(first.Add(c.shareFrom))) {
					return
				}
				break
			}
			if !sleepCtx(ctx, 10*time.Millisecond) {
				return
			}
		}
		secondClient(ctx, e.base, c.allowed()/2)
	}
	var probeOf *emu
	spy := func(ctx context.Context, e *emu) {
		probeOf = e
		during(ctx, e)
	}
	run, err := b.applyCase(ctx, applyCase{tag: "second-client", rows: c.shareRows, spec: spec, exact: true, during: spy,
		flags: writeFlags("--rate", formatFloat(c.allowed()), "--concurrency", strconv.Itoa(limitConcurrency))})
	sr.Run = run
	if err != nil {
		sr.Err = err.Error()
		return sr
	}
	if probeOf == nil {
		sr.Err = "the second client never ran"
		return sr
	}
	mine, theirs := probeOf.probe.all()
	sr.measure(mine, theirs, run.Last, c.shareRows)
	if sr.Start.IsZero() {
		sr.Err = "the second client's writes never reached the server: bulkpatch finished first"
	}
	b.logf("second client: bulkpatch %.2f writes/s, the other %.2f, settled after %d windows", sr.Mine, sr.Theirs, sr.settled())
	return sr
}

// measure fills the bins and rates from the arrivals of both clients,
// up to last (bulkpatch's last write); rows is what bulkpatch applies.
func (s *ShareRun) measure(mine, theirs []arrival, last time.Time, rows int) {
	if len(theirs) == 0 {
		return
	}
	admitted := func(a arrival) bool { return a.status >= 200 && a.status < 300 }
	s.Start = theirs[0].at
	for _, a := range theirs {
		if a.at.Before(s.Start) {
			s.Start = a.at
		}
		if a.status == http.StatusTooManyRequests {
			s.OtherRefused++
		}
	}
	count := func(as []arrival, from, to time.Time) int {
		n := 0
		for _, a := range as {
			if admitted(a) && !a.at.Before(from) && a.at.Before(to) {
				n++
			}
		}
		return n
	}
	for t := s.Start; !t.Add(s.Window).After(last); t = t.Add(s.Window) {
		if left := rows - count(mine, time.Time{}, t); 2*left < s.Limit {
			break
		}
		s.Bins = append(s.Bins, [2]int{count(mine, t, t.Add(s.Window)), count(theirs, t, t.Add(s.Window))})
	}
	from := s.Start.Add(2 * s.Window)
	if span := last.Sub(from).Seconds(); span > 0 {
		s.Mine = float64(count(mine, from, last.Add(time.Nanosecond))) / span
		s.Theirs = float64(count(theirs, from, last.Add(time.Nanosecond))) / span
	}
}

// secondClient writes to otherApp's statuses at perSec until ctx ends, as
// another app of the tenant pacing itself to half the quota would: at
// each tick it sends one write, a refused one again once its Retry-After
// (1 s when it has none) has passed, with the same client-request-id,
// else a new one. Its retries take its own ticks, so it always asks for
// exactly perSec.
func secondClient(ctx context.Context, base string, perSec float64) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 64
	client := &http.Client{Transport: tr}
	defer tr.CloseIdleConnections()
	tick := time.NewTicker(time.Duration(float64(time.Second) / perSec))
	defer tick.Stop()
	type refused struct {
		i         int
		notBefore time.Time
	}
	var (
		mu    sync.Mutex
		again []refused
		wg    sync.WaitGroup
	)
	defer wg.Wait()
	for next := 0; ; {
		i := -1
		mu.Lock()
		for k, r := range again {
			if !time.Now().Before(r.notBefore) {
				i = r.i
				again = append(again[:k], again[k+1:]...)
				break
			}
		}
		mu.Unlock()
		if i < 0 {
			i, next = next, next+1
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			if wait, ok := secondWrite(ctx, client, base, i); !ok {
				mu.Lock()
				again = append(again, refused{i, time.Now().Add(wait)})
				mu.Unlock()
			}
		}()
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

// secondWrite sends the second client's write i once and reports
// whether it was not refused; when it was, how long the server asked it
// to wait.
func secondWrite(ctx context.Context, client *http.Client, base string, i int) (time.Duration, bool) {
	url := fmt.Sprintf("%s/deviceAppManagement/mobileApps/%s/deviceStatuses/other-%02d", base, otherApp, i%otherObjects)
	req, err := http.NewRequestWithContext(ctx, http.MethodPatch, url, strings.NewReader(fmt.Sprintf(`{"deviceName":"other-%d"}`, i)))
	if err != nil {
		return 0, true
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("User-Agent", otherAgent)
	req.Header.Set("client-request-id", fmt.Sprintf("second-client-%d", i))
	resp, err := client.Do(req)
	if err != nil {
		return 0, true // the run is over
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTooManyRequests {
		return 0, true
	}
	wait := time.Second
	if s, err := strconv.ParseFloat(resp.Header.Get("Retry-After"), 64); err == nil && s > 0 {
		wait = time.Duration(s * float64(time.Second))
	}
	return wait, false
}

// sleepCtx waits d unless ctx ends first; it reports whether d passed.
func sleepCtx(ctx context.Context, d time.Duration) bool {
	if d <= 0 {
		return ctx.Err() == nil
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return false
	case <-t.C:
		return true
	}
}

func (r *Report) shareGoals() []goal {
	s := r.Share
	if s == nil || s.Err != "" {
		return nil
	}
	half := s.Allowed / 2
	q := s.Mine / half
	k := s.settled()
	g := goal{Figure: "8", What: "a second client takes half the quota: bulkpatch settles within two windows and achieves ≥ 0.9 of the half left",
		Measured: fmt.Sprintf("settled after %d windows; %s (%.2f of %s writes/s; the other client %.2f)", k, ratio(q), s.Mine, formatFloat(half), s.Theirs),
		Target:   "≤ 2 windows, ≥ 0.9", Met: k <= shareSettleGoal && q >= shareGoal && s.Run.Exact == s.Run.Rows}
	if !g.Met {
		g.Cause = fmt.Sprintf("Per window from the second client's first write (bulkpatch/other, admitted): %s. ", binsText(s.Bins))
		if s.Run.Exact != s.Run.Rows {
			g.Cause += fmt.Sprintf("Only %d of %d rows ended exact. ", s.Run.Exact, s.Run.Rows)
		}
		g.Cause += fmt.Sprintf("bulkpatch drew %d × 429 (Retry-After summed: %s); the second client %d. ",
			s.Run.Throttled-s.OtherRefused, secs(s.Run.Promised), s.OtherRefused)
		if q > 1 {
			// bulkpatch took more than its half (windows above 1.1 of it
			// kept it from settling): the other client, which never asks
			// for more than its half, got less.
			g.Cause += fmt.Sprintf("bulkpatch took more than the half left to it, %.2f writes/s against the other client's %.2f: "+
				"the other client never asks for more than its half, so the slots it lost to 429s went to bulkpatch, whose "+
				"controller raises its rate again after running clean (probing for room) and, when a run of 429s comes, "+
				"cuts it to what the server accepted of its own latest attempts, most of which got through.", s.Mine, s.Theirs)
		} else {
			g.Cause += fmt.Sprintf("With whole-second Retry-After on a %v window, each run of 429s stops every worker for a second, "+
				"half a window, while the controller's cut (to the share of its latest attempts the server accepted) takes a few "+
				"runs to reach the half the other client leaves.", s.Window)
		}
	}
	return []goal{g}
}

func binsText(bins [][2]int) string {
	parts := make([]string, len(bins))
	for i, b := range bins {
		parts[i] = fmt.Sprintf("%d/%d", b[0], b[1])
	}
	return strings.Join(parts, " ")
}

func (r *Report) renderShare(w *mdWriter) {
	w.line("## 8. A second client takes half the quota")
	w.line("")
	s := r.Share
	if s == nil {
		notRun(w)
		return
	}
	c := r.Config
	w.line(fmt.Sprintf("Figure 1's server (%d writes per %v, whole-second Retry-After); bulkpatch applies %d rows at --rate %s. "+
		"%v after bulkpatch's first write, a second client of the same tenant (the bench itself, another app's objects) starts "+
		"writing at %s writes/s, half the quota, one write per tick whatever it is told: a refused write again once its "+
		"Retry-After has passed, else a new one. Counted at the server, per window of %v from the second client's first write, while bulkpatch has at least "+
		"half the quota's rows left to write; bulkpatch's rate is measured from two windows after that to its last write. *Settled* is the first window from which every window held "+
		"between 0.8 and 1.1 of the half of the quota for bulkpatch. "+writePathNote,
		s.Limit, s.Window, c.shareRows, formatFloat(s.Allowed), c.shareFrom, formatFloat(s.Allowed/2), s.Window))
	w.line("")
	if s.Err != "" {
		failed(w, "the second-client run", s.Err)
		return
	}
	w.table([]string{"rows", "exact", "time", "bulkpatch writes/s (from 2 windows on)", "÷ half the allowed rate", "second client writes/s",
		"settled after (windows)", "bulkpatch 429s", "second client 429s", "early retries"},
		[][]string{{strconv.Itoa(s.Run.Rows), fmt.Sprintf("%d / %d", s.Run.Exact, s.Run.Rows), secs(s.Run.Wall),
			fmt.Sprintf("%.2f", s.Mine), ratio(s.Mine / (s.Allowed / 2)), fmt.Sprintf("%.2f", s.Theirs), strconv.Itoa(s.settled()),
			strconv.Itoa(s.Run.Throttled - s.OtherRefused), strconv.Itoa(s.OtherRefused), strconv.Itoa(s.Run.EarlyRetries)}})
	w.line("Writes admitted per window (bulkpatch/second client): " + binsText(s.Bins) + ".")
	w.line("")
	w.line("Emulator: `" + s.Run.Profile + "`. Command:")
	w.line("")
	w.commands(s.Run.Cmd)
}

// all returns bulkpatch's arrivals and the second client's, each in
// arrival order.
func (p *probe) all() (mine, theirs []arrival) {
	p.mu.Lock()
	mine, theirs = slices.Clone(p.arrivals), slices.Clone(p.others)
	p.mu.Unlock()
	for _, as := range [][]arrival{mine, theirs} {
		slices.SortFunc(as, func(a, b arrival) int { return a.at.Compare(b.at) })
	}
	return mine, theirs
}
