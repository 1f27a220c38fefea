package main

import (
	"context"
	"fmt"
	"path/filepath"
	"strconv"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// emulatorPageSize is the emulator's default page size
// (emulator.Options.PageSize), which every figure's emulator uses.
const emulatorPageSize = 50

// Figure 9 (issue 17): apply reads before it writes, so a second apply of
// an input the first one applied must write nothing and take a small
// share of the first one's time. On figure 1's server, with Intune's read
// limit scaled as figure 1 scales the write limit, a fresh tenant gets
// the same default (reconciling) command line twice: the first run reads
// every object and writes every row, the second reads every object and
// finds nothing to write.

// reapplyGoal is figure 9's goal for the second run's time over the
// first's.
const reapplyGoal = 0.05

// intuneReadsPerWrite is how many requests Intune allows per write it
// allows: 1000 requests and 100 writes per 20 s per app registration.
const intuneReadsPerWrite = 10

// Reapply holds figure 9.
type Reapply struct {
	// Allowed and ReadsAllowed are the server's sustained writes/s and
	// requests/s; Profile is the server as `bulkpatch emulator` flags.
	Allowed, ReadsAllowed float64
	Profile               string
	First, Second         applyRun
	// Exact counts the rows whose object ended exactly as the row says,
	// after each run.
	FirstExact, SecondExact int
	Err                     string
}

// reapplyProfile is figure 1's server with Intune's read limit scaled
// alike: ten times as many requests as writes per window.
func reapplyProfile(c config) emulator.Options {
	opt := limitProfile(c)
	opt.ReadLimit = intuneReadsPerWrite * c.writeLimit
	return opt
}

func (b *bench) reapply(ctx context.Context) Reapply {
	c := b.cfg
	opt := reapplyProfile(c)
	ra := Reapply{Allowed: c.allowed(), ReadsAllowed: float64(opt.ReadLimit) / opt.Window.Seconds(), Profile: describe(opt)}
	n := c.reapplyRows
	in, err := b.input(n)
	if err != nil {
		ra.Err = err.Error()
		return ra
	}
	e, err := startEmu(genState(n), opt)
	if err != nil {
		ra.Err = err.Error()
		return ra
	}
	defer e.close()
	// bulkpatch's defaults for the applications bucket (--rate 5,
	// --read-rate 50) scaled as the server's limits are: the ratio of
	// reading to writing stays Intune's.
	results := resultsName(in, "reapply")
	args := applyArgs(in, e.base, results, []string{"--rate", formatFloat(ra.Allowed), "--read-rate", formatFloat(ra.ReadsAllowed),
		"--concurrency", strconv.Itoa(limitConcurrency)})
	var before emulator.Stats
	for i, run := range []*applyRun{&ra.First, &ra.Second} {
		p, err := b.bulkpatch(ctx, e.base, args...)
		*run = applyRun{proc: p, Rows: n, Profile: ra.Profile, Exact: -1}
		if err == nil && p.Exit != 0 {
			err = fmt.Errorf("%s: exit %d: %s", p.Cmd, p.Exit, p.tail())
		}
		if err != nil {
			ra.Err = fmt.Sprintf("run %d: %v", i+1, err)
			return ra
		}
		st := e.srv.Stats()
		run.account(e, opt, st, before)
		before = st
		run.Exact = exactRows(e.srv, n)
		if run.Outcomes, err = countOutcomes(filepath.Join(b.dir, results)); err != nil {
			ra.Err = err.Error()
			return ra
		}
		b.logf("reapply, run %d: %v, %d writes, %d reads, %d throttled", i+1, p.Wall.Round(time.Millisecond), run.Writes, run.Reads, run.Throttled)
	}
	ra.FirstExact, ra.SecondExact = ra.First.Exact, ra.Second.Exact
	return ra
}

// ratio is the second run's time over the first's.
func (ra *Reapply) ratio() float64 {
	if ra.First.Wall <= 0 {
		return 0
	}
	return ra.Second.Wall.Seconds() / ra.First.Wall.Seconds()
}

func (r *Report) reapplyGoals() []goal {
	ra := r.Reapply
	if ra == nil || ra.Err != "" {
		return nil
	}
	q := ra.ratio()
	g := goal{Figure: "9", What: "a second apply of an applied file (issue 17): writes, and time ÷ the first apply's",
		Measured: fmt.Sprintf("%d writes; %s (%s against %s)", ra.Second.Writes, ratio(q), secs(ra.Second.Wall), secs(ra.First.Wall)),
		Target:   "0 writes, ≤ 0.05", Met: ra.Second.Writes == 0 && q <= reapplyGoal && ra.SecondExact == ra.Second.Rows}
	if !g.Met {
		g.Cause = ra.cause(q)
	}
	return []goal{g}
}

// cause explains a missed figure 9 from what the runs measured.
func (ra *Reapply) cause(q float64) string {
	s, f := &ra.Second, &ra.First
	var c string
	if s.Writes > 0 {
		c += fmt.Sprintf("The second run wrote %d rows (%s) where every object already held its row's values. ", s.Writes, outcomes(s.Outcomes))
	}
	if ra.SecondExact != s.Rows {
		c += fmt.Sprintf("Only %d of %d rows ended exact. ", ra.SecondExact, s.Rows)
	}
	if q > reapplyGoal {
		c += fmt.Sprintf("The second run made %d reads (%d answered 429), which at --read-rate %s take %s at least; the first "+
			"made %d reads and %d writes, which at --rate %s take %s. The second run's time is its reads': to take 5%% of a "+
			"first run that writes every row, a run must read at least 20 times faster than it writes. ",
			s.Reads, s.Throttled, formatFloat(ra.ReadsAllowed), secs(time.Duration(float64(s.Reads)/ra.ReadsAllowed*float64(time.Second))),
			f.Reads, f.Writes, formatFloat(ra.Allowed), secs(time.Duration(float64(f.Writes)/ra.Allowed*float64(time.Second))))
	}
	return c
}

func (r *Report) renderReapply(w *mdWriter) {
	w.line("## 9. A second apply of an applied file")
	w.line("")
	ra := r.Reapply
	if ra == nil {
		notRun(w)
		return
	}
	c := r.Config
	w.line(fmt.Sprintf("Issue 17: apply reads every object before it writes (the default), so running it again on a file it has "+
		"applied must write nothing. A fresh emulator with figure 1's write limit (%d writes per %v: Intune's 100 per 20 s, "+
		"scaled) and Intune's read limit scaled the same way (%d requests per %v: Intune's 1000 per 20 s, which counts "+
		"writes too), holding the %d objects of a generated input with Graph's defaults. The same command line runs twice: "+
		"the first run reads every object and writes every row, the second finds every object as its row asks. Both pass "+
		"bulkpatch's defaults for the applications bucket (--rate 5, --read-rate 50) scaled like the limits, --rate %s "+
		"and --read-rate %s, so that reading costs what it costs against Intune relative to writing. A collection that %d "+
		"or more rows address is read by listing it (one read a page of %d objects), any other row's object by one GET. *Writes* and *reads* "+
		"are counted by the emulator, per run; *exact* is the rows whose object holds exactly the row's values after the run.",
		reapplyProfile(c).WriteLimit, c.window, reapplyProfile(c).ReadLimit, c.window, c.reapplyRows,
		formatFloat(ra.Allowed), formatFloat(ra.ReadsAllowed), apply.ListThreshold, emulatorPageSize))
	w.line("")
	if ra.Err != "" {
		failed(w, "the second apply", ra.Err)
		return
	}
	var rows [][]string
	for _, x := range []struct {
		name string
		a    *applyRun
	}{{"first apply (fresh tenant)", &ra.First}, {"second apply, the same command line", &ra.Second}} {
		a := x.a
		rows = append(rows, []string{x.name, strconv.Itoa(a.Rows), strconv.Itoa(a.Writes), strconv.Itoa(a.Reads),
			strconv.Itoa(a.Throttled), secs(a.Wall), fmt.Sprintf("%d / %d", a.Exact, a.Rows), outcomes(a.Outcomes)})
	}
	w.table([]string{"run", "rows", "writes (server)", "reads (server)", "429s", "time", "exact", "results file"}, rows)
	w.line(fmt.Sprintf("Second ÷ first: **%s** (goal ≤ %s), with %d writes (goal 0).", ratio(ra.ratio()), formatFloat(reapplyGoal), ra.Second.Writes))
	w.line("")
	w.line("Emulator: `" + ra.Profile + "`. Command, run twice:")
	w.line("")
	w.commands(ra.First.Cmd)
}
