package main

import (
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// config sizes the runs. The full sizes keep `make bench` within about
// ten minutes on a 2-core machine; quick ones make a smoke run.
type config struct {
	// Figures 1, 2 and 6: an Intune-like write quota on a short window.
	limitRows  int
	writeLimit int
	window     time.Duration
	// Figure 3: rows per run are concurrency × latencyRounds, so every
	// run is latencyRounds × latency long at best.
	latency       time.Duration
	concurrencies []int
	latencyRounds int
	// Figure 4.
	batchRows, batchConcurrency int
	// Figure 5.
	overheadSizes []int
	reps          int
	cpuRows       int
	// Figure 6 (and 7's peers).
	newman bool
	// Figure 7: the bad day, on the window above.
	badDayRows, badDayLimit int
	// Figure 8: a second client taking half the quota from shareFrom
	// after bulkpatch's first write, on figure 1's server.
	shareRows int
	shareFrom time.Duration
	// Figure 9: a second, reconciling apply of an input the first one
	// applied, on figure 1's server with Intune's read limit scaled alike.
	reapplyRows int
	// Figure 10: managedDevice rows at the resource's default --rate, on
	// the devices bucket with figure 1's window.
	devicesRows int
}

func fullConfig() config {
	return config{
		limitRows: 600, writeLimit: 40, window: 2 * time.Second,
		latency: 100 * time.Millisecond, concurrencies: []int{1, 4, 16, 64}, latencyRounds: 50,
		batchRows: 1600, batchConcurrency: 16,
		overheadSizes: []int{100_000, 1_000_000}, reps: 3, cpuRows: 4000,
		newman:     true,
		badDayRows: 1000, badDayLimit: 100,
		shareRows: 300, shareFrom: 4 * time.Second,
		reapplyRows: 1000, devicesRows: 300,
	}
}

func quickConfig() config {
	return config{
		limitRows: 60, writeLimit: 20, window: 2 * time.Second,
		latency: 100 * time.Millisecond, concurrencies: []int{1, 4, 16, 64}, latencyRounds: 5,
		batchRows: 320, batchConcurrency: 16,
		overheadSizes: []int{10_000, 100_000}, reps: 1, cpuRows: 500,
		newman:     true,
		badDayRows: 200, badDayLimit: 100,
		shareRows: 120, shareFrom: 2 * time.Second,
		reapplyRows: 100, devicesRows: 60,
	}
}

const token = "bench-token" // the emulator requires a bearer token, any will do

// bench runs the scenarios. Children run in dir, so commands name files
// relative to it.
type bench struct {
	cfg  config
	bin  string // the bulkpatch binary
	self string // this program, for the baseline modes
	dir  string
	log  io.Writer
	gen  map[string]bool // the inputs generated so far, by name

	// Newman, installed once for figures 6 and 7.
	newmanCmd, newmanInstall, newmanVersion string
	newmanErr                               error
}

// input returns the name (in b.dir) of an n-row generated input, writing
// it the first time.
func (b *bench) input(n int) (string, error) {
	return b.generated(fmt.Sprintf("rows-%d.csv", n), func(w io.Writer) error { return writeInput(w, n, false) })
}

// inputFor returns the generated n-row input for spec's tenant: managed
// devices or install statuses.
func (b *bench) inputFor(spec emuSpec, n int) (string, error) {
	if spec.devices {
		return b.generated(fmt.Sprintf("devices-%d.csv", n), func(w io.Writer) error { return writeDevices(w, n) })
	}
	return b.input(n)
}

// generated returns name (in b.dir), having write fill it the first time.
func (b *bench) generated(name string, write func(io.Writer) error) (string, error) {
	if b.gen[name] {
		return name, nil
	}
	start := time.Now()
	if err := genWith(filepath.Join(b.dir, name), write); err != nil {
		return "", err
	}
	b.logf("generated %s in %v", name, time.Since(start).Round(time.Millisecond))
	b.gen[name] = true
	return name, nil
}

func (b *bench) logf(format string, args ...any) {
	fmt.Fprintf(b.log, "bench: "+format+"\n", args...)
}

// bulkpatch runs the binary in b.dir. base, when set, is replaced by
// "http://127.0.0.1:PORT/beta" in the command shown.
func (b *bench) bulkpatch(ctx context.Context, base string, args ...string) (proc, error) {
	return b.bulkpatchEnv(ctx, base, nil, args...)
}

// bulkpatchEnv is bulkpatch with env added to the binary's environment
// and shown before the command, as a shell would take it.
func (b *bench) bulkpatchEnv(ctx context.Context, base string, env []string, args ...string) (proc, error) {
	display := strings.Join(append(slices.Clone(env), "bulkpatch"), " ") + " " + strings.Join(args, " ")
	if base != "" {
		display = strings.ReplaceAll(display, base, "http://127.0.0.1:PORT/beta")
	}
	return b.run(ctx, display, env, b.bin, args...)
}

// child runs a program in b.dir with the bench token in its environment.
func (b *bench) child(ctx context.Context, display, name string, args ...string) (proc, error) {
	return b.run(ctx, display, nil, name, args...)
}

// noReconcile makes apply write every row without reading it first
// (after one preflight read of the first row's object), where by default
// it reads every object and writes only the rows that differ. Every
// figure that measures the write path passes it: against a fresh tenant
// every row differs, so reading first would add a read per row (paced at
// --read-rate) to what is timed, and the peers write every row unread.
const noReconcile = "--no-reconcile"

// writeFlags are flags for a run measuring the write path: noReconcile,
// then flags.
func writeFlags(flags ...string) []string { return append([]string{noReconcile}, flags...) }

// applyRun is one apply (or peer) run against a fresh emulator.
type applyRun struct {
	proc
	Rows    int
	Profile string // the emulator, as `bulkpatch emulator` flags
	// From the emulator: the server's view of what happened.
	Applied      int // objects changed at least once
	Requests     int // HTTP requests ($batch POST: one)
	Reads        int // GETs, throttled ones included
	Writes       int // write items, throttled ones included
	Admitted     int // write items the limiter let through: Writes less its 429s
	Throttled    int
	EarlyRetries int
	MaxInFlight  int
	// Exact is how many rows' objects ended exactly as the row says
	// (-1: not checked).
	Exact int
	// From the probe: first and last write arrival, end of the last
	// answer, and the Retry-After the 429s promised, summed.
	First, Last, Done time.Time
	Promised          time.Duration
	// Under a write limit: for each 429, how long the limit's worth of
	// admitted writes before it took to arrive, and the longest gap
	// between consecutive writes (see probe.bunching).
	Spans  []time.Duration
	MaxGap time.Duration
	// Waits503 are the Retry-After values of the 503s that answered
	// whole requests (a $batch item's travels in the body, unseen).
	Waits503 []time.Duration
	// From bulkpatch's results file, when there is one.
	Outcomes map[string]int
}

// writeSpan is the time from the first write's arrival to the last's.
func (r *applyRun) writeSpan() time.Duration { return r.Last.Sub(r.First) }

// busySpan is the time from the first write's arrival to the end of the
// last answer: how long the server was kept busy.
func (r *applyRun) busySpan() time.Duration { return r.Done.Sub(r.First) }

// withEmu runs fn against a fresh emulator holding every object of an
// n-row input and returns the emulator's account of the run.
func (b *bench) withEmu(ctx context.Context, rows int, opt emulator.Options, fn func(base string) (proc, error)) (applyRun, error) {
	return b.withEmuSpec(ctx, rows, emuSpec{opt: opt}, false, func(e *emu) (proc, error) { return fn(e.base) })
}

// tenant is the emulator state an n-row generated input for spec
// addresses, every object with Graph's defaults.
func tenant(spec emuSpec, rows int) *emulator.State {
	if spec.devices {
		return devicesState(rows)
	}
	state := genState(rows)
	if spec.other {
		withOther(state)
	}
	return state
}

// withEmuSpec is withEmu for an emulator as spec says; with exact set it
// also checks, row by row, that each object ended as its row says.
func (b *bench) withEmuSpec(ctx context.Context, rows int, spec emuSpec, exact bool, fn func(e *emu) (proc, error)) (applyRun, error) {
	run := applyRun{Rows: rows, Profile: describeSpec(spec), Exact: -1}
	e, err := startEmuSpec(tenant(spec, rows), spec)
	if err != nil {
		return run, err
	}
	p, err := fn(e)
	e.close()
	run.proc = p
	if err != nil {
		return run, err
	}
	run.account(e, spec.opt, e.srv.Stats(), emulator.Stats{})
	if exact {
		run.Exact = exactOf(e.srv, spec, rows)
	}
	return run, nil
}

// exactOf counts the rows 0..n-1 of spec's generated input whose object
// holds exactly what the row says.
func exactOf(srv *emulator.Server, spec emuSpec, n int) int {
	if spec.devices {
		return exactDevices(srv, n)
	}
	return exactRows(srv, n)
}

// account fills in the server's view of the run: the emulator's counts
// since before (zero: since it started) and the probe's times.
func (a *applyRun) account(e *emu, opt emulator.Options, st, before emulator.Stats) {
	a.Applied = len(st.WritesApplied) - len(before.WritesApplied)
	a.Requests, a.Reads = st.Requests-before.Requests, st.Reads-before.Reads
	a.Writes, a.Throttled = st.Writes-before.Writes, st.Throttled-before.Throttled
	after := st.Faults["throttleAfterApply"] - before.Faults["throttleAfterApply"]
	a.Admitted = a.Writes - (a.Throttled - after)
	a.EarlyRetries, a.MaxInFlight = st.EarlyRetries-before.EarlyRetries, st.MaxInFlight
	a.First, a.Last, a.Done = e.probe.writeTimes()
	a.Promised = e.probe.promised()
	a.Waits503 = e.probe.unavailableWaits()
	if opt.WriteLimit > 0 {
		a.Spans, a.MaxGap = e.probe.bunching(opt.WriteLimit)
	}
}

// applyCase is one `bulkpatch apply` run against a fresh emulator.
type applyCase struct {
	tag  string // names the results file: INPUT.tag.results.csv
	rows int
	spec emuSpec
	// in is the input (in b.dir); empty: the generated rows-row input for
	// spec's tenant.
	in string
	// exact makes the run count the rows whose object ended exactly as
	// they say.
	exact bool
	// during, when set, runs beside bulkpatch (figure 8's second client)
	// until bulkpatch exits.
	during func(ctx context.Context, e *emu)
	// env is added to bulkpatch's environment (and shown before its
	// command), e.g. GODEBUG=gctrace=1.
	env   []string
	flags []string
}

// apply runs `bulkpatch apply` on an n-row input against a fresh
// emulator.
func (b *bench) apply(ctx context.Context, tag string, rows int, opt emulator.Options, flags ...string) (applyRun, error) {
	return b.applyCase(ctx, applyCase{tag: tag, rows: rows, spec: emuSpec{opt: opt}, flags: flags})
}

// applyArgs are apply's arguments for input in, sending to base and
// writing the results to results, then flags.
func applyArgs(in, base, results string, flags []string) []string {
	return append([]string{"apply", in, "--graph-url", base, "--auth", "token", "--yes", "--progress", "never", "--results", results}, flags...)
}

// resultsName is the results file of input in for run tag.
func resultsName(in, tag string) string {
	return strings.TrimSuffix(in, ".csv") + "." + tag + ".results.csv"
}

// applyCase runs c.
func (b *bench) applyCase(ctx context.Context, c applyCase) (applyRun, error) {
	in, err := c.in, error(nil)
	if in == "" {
		if in, err = b.inputFor(c.spec, c.rows); err != nil {
			return applyRun{}, err
		}
	}
	results := resultsName(in, c.tag)
	run, err := b.withEmuSpec(ctx, c.rows, c.spec, c.exact, func(e *emu) (proc, error) {
		if c.during != nil {
			dctx, cancel := context.WithCancel(ctx)
			done := make(chan struct{})
			go func() { defer close(done); c.during(dctx, e) }()
			defer func() { cancel(); <-done }()
		}
		return b.bulkpatchEnv(ctx, e.base, c.env, applyArgs(in, e.base, results, c.flags)...)
	})
	if err != nil {
		return run, err
	}
	if run.Exit != 0 {
		return run, fmt.Errorf("%s: exit %d: %s", run.Cmd, run.Exit, run.tail())
	}
	run.Outcomes, err = countOutcomes(filepath.Join(b.dir, results))
	b.logf("%s: %v, %d applied, %d throttled", c.tag, run.Wall.Round(time.Millisecond), run.Applied, run.Throttled)
	return run, err
}

// countOutcomes counts a results file's rows by outcome.
func countOutcomes(path string) (map[string]int, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.ReuseRecord = true
	header, err := r.Read()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := slices.Index(header, "outcome")
	if col < 0 {
		return nil, fmt.Errorf("%s: no outcome column", path)
	}
	n := map[string]int{}
	for {
		rec, err := r.Read()
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		n[rec[col]]++
	}
}

func limitProfile(c config) emulator.Options {
	return emulator.Options{WriteLimit: c.writeLimit, Window: c.window}
}

// allowed is the limit profile's sustained write rate in writes/s.
func (c config) allowed() float64 { return float64(c.writeLimit) / c.window.Seconds() }

func formatFloat(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

// LimitRuns holds figures 1 and 2: the same server, --rate at its limit
// and three times above it.
type LimitRuns struct {
	Allowed    float64       // writes/s the server sustains
	Window     time.Duration // the server's window
	Limit      int           // writes it admits per window
	AtLimit    applyRun
	OverAsked  applyRun
	AtLimitErr string
	OverErr    string
	// OverFrac repeats the over-asked run against a server that sends
	// Retry-After to the millisecond.
	OverFrac    *applyRun
	OverFracErr string
	// AtLimitLong repeats the at-limit run against a window longwindow
	// times longer (and as many more writes in it: the same rate), when
	// the at-limit goal was missed: the same jitter is then a smaller
	// share of the window, as on Intune's 20 s one.
	AtLimitLong    *applyRun
	AtLimitLongErr string
}

// longWindow is how many times longer AtLimitLong's window is.
const longWindow = 5

// limitConcurrency is --concurrency for figures 1 and 2.
const limitConcurrency = 16

func (b *bench) limits(ctx context.Context) LimitRuns {
	c := b.cfg
	lr := LimitRuns{Allowed: c.allowed(), Window: c.window, Limit: c.writeLimit}
	// Concurrency well above what the rate needs, so that only the pacer
	// decides when writes go: with 4, answers slowed by a busy machine
	// left every worker waiting and the pace slipped without any 429.
	flags := func(rate float64) []string {
		return writeFlags("--rate", formatFloat(rate), "--concurrency", strconv.Itoa(limitConcurrency))
	}
	var err error
	if lr.AtLimit, err = b.apply(ctx, "at-limit", c.limitRows, limitProfile(c), flags(lr.Allowed)...); err != nil {
		lr.AtLimitErr = err.Error()
	} else if lr.AtLimit.Throttled > 0 || lr.AtLimit.achieved()/lr.Allowed < pacingGoal {
		opt := limitProfile(c)
		opt.WriteLimit *= longWindow
		opt.Window *= longWindow
		run, err := b.apply(ctx, "at-limit-long-window", c.limitRows, opt, flags(lr.Allowed)...)
		lr.AtLimitLong = &run
		if err != nil {
			lr.AtLimitLongErr = err.Error()
		}
	}
	if lr.OverAsked, err = b.apply(ctx, "over-asked", c.limitRows, limitProfile(c), flags(3*lr.Allowed)...); err != nil {
		lr.OverErr = err.Error()
	}
	// Issue 11 asks the same of a server that sends Retry-After to the
	// millisecond, as Intune also does.
	opt := limitProfile(c)
	opt.RetryAfter = emulator.RetryAfterFractional
	run, err := b.apply(ctx, "over-asked-fractional", c.limitRows, opt, flags(3*lr.Allowed)...)
	lr.OverFrac = &run
	if err != nil {
		lr.OverFracErr = err.Error()
	}
	return lr
}

// LatencyRun is one run of figure 3, with the plain client at the same
// concurrency on the same rows as the floor the machine allows.
type LatencyRun struct {
	Concurrency int
	Run         applyRun
	Err         string
	Plain       applyRun
	PlainErr    string
}

// latencyRate is a --rate far above anything the latency runs reach.
const latencyRate = 100000

func (b *bench) latencyRuns(ctx context.Context) []LatencyRun {
	var out []LatencyRun
	for _, conc := range b.cfg.concurrencies {
		rows := conc * b.cfg.latencyRounds
		run, err := b.apply(ctx, fmt.Sprintf("latency-c%d", conc), rows, emulator.Options{Latency: b.cfg.latency},
			writeFlags("--rate", strconv.Itoa(latencyRate), "--concurrency", strconv.Itoa(conc))...)
		lr := LatencyRun{Concurrency: conc, Run: run}
		if err != nil {
			lr.Err = err.Error()
		}
		if lr.Plain, err = b.sequential(ctx, rows, emulator.Options{Latency: b.cfg.latency}, conc); err != nil {
			lr.PlainErr = err.Error()
		}
		out = append(out, lr)
	}
	return out
}

// BatchRuns holds figure 4: the same rows, concurrency and latency, with
// one request per row and with --batch 20.
type BatchRuns struct {
	Single, Batched       applyRun
	SingleErr, BatchedErr string
}

func (b *bench) batchRuns(ctx context.Context) BatchRuns {
	var br BatchRuns
	opt := emulator.Options{Latency: b.cfg.latency}
	common := writeFlags("--rate", strconv.Itoa(latencyRate), "--concurrency", strconv.Itoa(b.cfg.batchConcurrency))
	var err error
	if br.Single, err = b.apply(ctx, "single", b.cfg.batchRows, opt, common...); err != nil {
		br.SingleErr = err.Error()
	}
	if br.Batched, err = b.apply(ctx, "batch20", b.cfg.batchRows, opt, append(slices.Clip(common), "--batch", "20")...); err != nil {
		br.BatchedErr = err.Error()
	}
	return br
}

// Overhead is figure 5 for one input size: each command's best of the
// repetitions (see best).
type Overhead struct {
	Rows                  int
	Bytes                 int64
	Plain, Validate, Plan proc
	// Direct is validate of the same number of rows all on the direct
	// route (four collections instead of one per user status), run for
	// the largest input only: it isolates what bulkpatch keeps per
	// collection.
	Direct *proc
	Err    string
}

func (b *bench) overhead(ctx context.Context) []Overhead {
	var out []Overhead
	for i, n := range b.cfg.overheadSizes {
		o := Overhead{Rows: n}
		err := b.measureOverhead(ctx, &o)
		if err == nil && i == len(b.cfg.overheadSizes)-1 {
			err = b.measureDirect(ctx, &o)
		}
		if err != nil {
			o.Err = err.Error()
		}
		out = append(out, o)
	}
	return out
}

// measureDirect runs validate on an input of o.Rows rows all on the
// direct route.
func (b *bench) measureDirect(ctx context.Context, o *Overhead) error {
	name := fmt.Sprintf("rows-%d-direct.csv", o.Rows)
	if err := genFile(filepath.Join(b.dir, name), o.Rows, true); err != nil {
		return err
	}
	var runs []proc
	for range b.cfg.reps {
		p, err := b.bulkpatch(ctx, "", "validate", name)
		if err == nil && p.Exit != 0 {
			err = fmt.Errorf("%s: exit %d: %s", p.Cmd, p.Exit, p.tail())
		}
		if err != nil {
			return err
		}
		runs = append(runs, p)
	}
	m := best(runs)
	o.Direct = &m
	b.logf("overhead %d rows, direct route only: validate %v, %s", o.Rows, m.Wall.Round(time.Millisecond), mib(m.MaxRSS))
	return nil
}

func (b *bench) measureOverhead(ctx context.Context, o *Overhead) error {
	in, err := b.input(o.Rows)
	if err != nil {
		return err
	}
	if fi, err := os.Stat(filepath.Join(b.dir, in)); err == nil {
		o.Bytes = fi.Size()
	}
	var plain, validate, plan []proc
	// Interleaved, so that load from elsewhere hits all three alike.
	for range b.cfg.reps {
		p, err := b.child(ctx, "bench -mode plaincsv "+in, b.self, "-mode", "plaincsv", in)
		if err == nil && p.Exit != 0 {
			err = fmt.Errorf("%s: exit %d: %s", p.Cmd, p.Exit, p.tail())
		}
		if err != nil {
			return err
		}
		plain = append(plain, p)
		for _, cmd := range []struct {
			into *[]proc
			args []string
		}{{&validate, []string{"validate", in}}, {&plan, []string{"plan", in}}} {
			p, err := b.bulkpatch(ctx, "", cmd.args...)
			if err == nil && p.Exit != 0 {
				err = fmt.Errorf("%s: exit %d: %s", p.Cmd, p.Exit, p.tail())
			}
			if err != nil {
				return err
			}
			*cmd.into = append(*cmd.into, p)
		}
	}
	o.Plain, o.Validate, o.Plan = best(plain), best(validate), best(plan)
	b.logf("overhead %d rows: plain %v, validate %v, plan %v", o.Rows, o.Plain.Wall.Round(time.Millisecond),
		o.Validate.Wall.Round(time.Millisecond), o.Plan.Wall.Round(time.Millisecond))
	return nil
}

// best returns the run with the shortest wall time, with the least CPU
// time of all runs and the median peak RSS. On a machine shared with
// other work the fastest of a few runs is the least disturbed one; peak
// RSS hardly varies.
func best(ps []proc) proc {
	b := ps[0]
	for _, p := range ps[1:] {
		if p.Wall < b.Wall {
			b = p
		}
	}
	rss := make([]int64, len(ps))
	for i, p := range ps {
		b.CPU = min(b.CPU, p.CPU)
		rss[i] = p.MaxRSS
	}
	slices.Sort(rss)
	b.MaxRSS = rss[len(rss)/2]
	return b
}

// CPURuns holds figure 5's CPU per applied row: bulkpatch and the plain
// sequential client on the same rows against the same fast server; and
// apply's memory as rows grow (memory.go).
type CPURuns struct {
	Bulkpatch, Plain applyRun
	Err              string
	// Mem are the memory table's runs; Listings what the largest
	// reconcile run's listings held; Heap what apply's per-row state
	// holds at the smallest and largest size (HeapErr: why not known).
	Mem      []MemRun
	Listings *Listings
	Heap     []heapShares
	HeapErr  string
}

func (b *bench) cpuRuns(ctx context.Context) CPURuns {
	var cr CPURuns
	n := b.cfg.cpuRows
	var err error
	if cr.Bulkpatch, err = b.apply(ctx, "cpu", n, emulator.Options{}, writeFlags("--rate", strconv.Itoa(latencyRate), "--concurrency", "8")...); err != nil {
		cr.Err = err.Error()
		return cr
	}
	if cr.Plain, err = b.sequential(ctx, n, emulator.Options{}, 1); err != nil {
		cr.Err = err.Error()
		return cr
	}
	cr.Mem, cr.Listings = b.memoryRuns(ctx)
	if cr.Heap, err = b.heapRuns(ctx); err != nil {
		cr.HeapErr = err.Error()
	}
	return cr
}

// sequential runs the plain client on an n-row input against a fresh
// emulator, with conc requests in flight.
func (b *bench) sequential(ctx context.Context, n int, opt emulator.Options, conc int) (applyRun, error) {
	in, err := b.input(n)
	if err != nil {
		return applyRun{}, err
	}
	run, err := b.withEmu(ctx, n, opt, func(base string) (proc, error) {
		args := []string{"-mode", "sequential"}
		if conc > 1 {
			args = append(args, "-concurrency", strconv.Itoa(conc))
		}
		args = append(args, "-url", base, in)
		display := strings.ReplaceAll("bench "+strings.Join(args, " "), base, "http://127.0.0.1:PORT/beta")
		return b.child(ctx, display, b.self, args...)
	})
	if err == nil && run.Exit != 0 {
		err = fmt.Errorf("%s: exit %d: %s", run.Cmd, run.Exit, run.tail())
	}
	if err == nil {
		var sum seqSummary
		if jerr := json.Unmarshal(run.Stdout, &sum); jerr != nil || sum.Rows != n {
			err = fmt.Errorf("%s: unexpected output %q", run.Cmd, run.Stdout)
		}
	}
	b.logf("plain client, %d rows at concurrency %d: %v, %d applied, %d throttled", n, conc, run.Wall.Round(time.Millisecond), run.Applied, run.Throttled)
	return run, err
}
