package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// These tests check the bench's structure, never a speed: the figures are
// for BENCHMARKS.md, not for pass or fail.

// TestGeneratedInputIsValid reads a generated input the way bulkpatch
// does: every row must validate, so that validate and plan measure the
// happy path.
func TestGeneratedInputIsValid(t *testing.T) {
	var buf bytes.Buffer
	if err := writeInput(&buf, 200, false); err != nil {
		t.Fatal(err)
	}
	res := resource.MobileAppInstallStatus
	r, err := csvio.NewReader(&buf, csvio.ReaderOptions{Columns: plan.Columns(res)})
	if err != nil {
		t.Fatal(err)
	}
	v := plan.NewValidator(res)
	var rec csvio.Record
	rows, nested := 0, 0
	for {
		err := r.Read(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, probs := v.Check(&rec); len(probs) > 0 {
			t.Fatalf("line %d: %v", rec.Line, probs)
		}
		rows++
		if plan.KeyCells(res, &rec)[1] != "" {
			nested++
		}
	}
	if rows != 200 || nested != 50 {
		t.Errorf("read %d rows, %d nested; want 200 and 50", rows, nested)
	}
}

// TestSequentialClientAppliesEveryRow runs the sequential baseline
// in-process against an emulator seeded by genState: without a limit
// every generated row must address an existing object and be applied.
func TestSequentialClientAppliesEveryRow(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.csv")
	if err := genFile(path, 40, false); err != nil {
		t.Fatal(err)
	}
	e, err := startEmu(genState(40), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	var out bytes.Buffer
	if err := sequential(context.Background(), e.base, "t", path, 4, &out); err != nil {
		t.Fatal(err)
	}
	var sum seqSummary
	if err := json.Unmarshal(out.Bytes(), &sum); err != nil {
		t.Fatalf("output %q: %v", out.String(), err)
	}
	want := seqSummary{Rows: 40, ByStatus: map[string]int{"200": 40}}
	if diff := cmp.Diff(want, sum); diff != "" {
		t.Errorf("summary (-want +got):\n%s", diff)
	}
	st := e.srv.Stats()
	if len(st.WritesApplied) != 40 {
		t.Errorf("emulator applied %d objects, want 40", len(st.WritesApplied))
	}
	if n := exactRows(e.srv, 40); n != 40 {
		t.Errorf("%d of 40 rows exact after applying them all", n)
	}
	if n := exactRows(e.srv, 41); n != 40 {
		t.Errorf("%d of 41 rows exact, the last never written; want 40", n)
	}
	first, last, done := e.probe.writeTimes()
	if first.IsZero() || last.Before(first) || done.Before(last) {
		t.Errorf("probe times first %v last %v done %v", first, last, done)
	}
}

func TestPlainCSVCountsRecords(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := genFile(path, 25, false); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := plainCSV(path, &out); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "26 records\n" {
		t.Errorf("output %q, want 26 records (header included)", got)
	}
}

func TestNewmanCollectionIsPostmanV21(t *testing.T) {
	b, err := newmanCollection()
	if err != nil {
		t.Fatal(err)
	}
	var c struct {
		Info struct{ Schema string }
		Item []struct {
			Request struct {
				Method string
				URL    string
			}
		}
	}
	if err := json.Unmarshal(b, &c); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(c.Info.Schema, "v2.1.0") || len(c.Item) != 1 || c.Item[0].Request.Method != "PATCH" ||
		c.Item[0].Request.URL != "{{baseUrl}}/{{statusPath}}" {
		t.Errorf("collection %s", b)
	}
}

func TestParseBench(t *testing.T) {
	out := []byte(`goos: linux
pkg: github.com/bulkpatch/bulkpatch/internal/csvio
BenchmarkRead-2       	      57	  30028437 ns/op	  86.85 MB/s	 7681092 B/op	  180179 allocs/op
BenchmarkPatch-8   	   20000	     61234 ns/op	         1.000 conns	    5120 B/op	      61 allocs/op
BenchmarkNoSuffix 	 100	 12 ns/op
PASS
`)
	got := parseBench("internal/csvio", out)
	want := []Micro{
		{Package: "internal/csvio", Name: "BenchmarkRead", N: 57, NsOp: 30028437, MBs: 86.85, BOp: 7681092, Allocs: 180179},
		{Package: "internal/csvio", Name: "BenchmarkPatch", N: 20000, NsOp: 61234, BOp: 5120, Allocs: 61, Extra: []string{"1.000 conns"}},
		{Package: "internal/csvio", Name: "BenchmarkNoSuffix", N: 100, NsOp: 12},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("parseBench (-want +got):\n%s", diff)
	}
}

func TestBest(t *testing.T) {
	ps := []proc{
		{Cmd: "a", Wall: 3 * time.Second, CPU: 1 * time.Second, MaxRSS: 30},
		{Cmd: "b", Wall: 1 * time.Second, CPU: 3 * time.Second, MaxRSS: 10},
		{Cmd: "c", Wall: 2 * time.Second, CPU: 2 * time.Second, MaxRSS: 50},
	}
	m := best(ps)
	if m.Cmd != "b" || m.Wall != time.Second || m.CPU != time.Second || m.MaxRSS != 30 {
		t.Errorf("best = %+v", m)
	}
}

func TestBestOf(t *testing.T) {
	got := bestOf([]Micro{
		{Name: "BenchmarkA", NsOp: 30}, {Name: "BenchmarkB", NsOp: 5}, {Name: "BenchmarkA", NsOp: 10}, {Name: "BenchmarkA", NsOp: 20},
	})
	want := []Micro{{Name: "BenchmarkA", NsOp: 10}, {Name: "BenchmarkB", NsOp: 5}}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("bestOf (-want +got):\n%s", diff)
	}
}

// fakeReport has every figure filled in, two goals missed.
func fakeReport() *Report {
	cfg := fullConfig()
	t0 := time.Date(2026, 11, 30, 6, 0, 0, 0, time.UTC)
	run := func(rows, applied, throttled int, wall, span time.Duration) applyRun {
		return applyRun{
			proc: proc{Cmd: "bulkpatch apply rows.csv", Wall: wall, CPU: wall / 10, MaxRSS: 20 << 20},
			Rows: rows, Applied: applied, Requests: applied + throttled, Writes: applied + throttled, Throttled: throttled,
			First: t0, Last: t0.Add(span), Done: t0.Add(span + 10*time.Millisecond),
			Outcomes: map[string]int{"applied": applied},
		}
	}
	over := run(600, 600, 12, 42*time.Second, 41*time.Second)
	frac := run(600, 600, 10, 33*time.Second, 32*time.Second)
	rep := &Report{
		Started: t0, Elapsed: 5 * time.Minute, Config: cfg,
		Machine: Machine{NProc: 2, CPU: "AMD EPYC", Go: "go version go1.26", OS: "linux", LoadStart: "1 1 1", LoadEnd: "2 2 2"},
		Build:   "go build -o $TMP/bulkpatch ./cmd/bulkpatch",
		Limits: &LimitRuns{Allowed: 20, Window: 2 * time.Second, Limit: 40,
			AtLimit: run(600, 600, 0, 31*time.Second, 30*time.Second), OverAsked: over, OverFrac: &frac},
		Batch: &BatchRuns{Single: run(1600, 1600, 0, 11*time.Second, 10*time.Second), Batched: run(1600, 1600, 0, time.Second, 500*time.Millisecond)},
		CPU:   &CPURuns{Bulkpatch: run(4000, 4000, 0, time.Second, time.Second), Plain: run(4000, 4000, 0, 2*time.Second, 2*time.Second)},
		Peers: &Peers{Bulkpatch: run(600, 600, 0, 31*time.Second, 30*time.Second), Sequential: run(600, 40, 560, time.Second, time.Second),
			NewmanSkipped: "npm is not installed, so Newman could not be installed"},
		Micro: &MicroRuns{Cmds: []string{"go test -run=^$ -bench=. -benchmem -count=3 -benchtime=500ms ./internal/csvio"}, Results: []Micro{
			{Package: "internal/csvio", Name: "BenchmarkRead", NsOp: 3000, BOp: 700, Allocs: 18},
			{Package: "internal/csvio", Name: "BenchmarkPlainCSV", NsOp: 1000, BOp: 250, Allocs: 1},
		}, Errs: []string{"internal/journal: exit 1"}},
	}
	for _, c := range cfg.concurrencies {
		rep.Latency = append(rep.Latency, LatencyRun{Concurrency: c, Run: run(c*50, c*50, 0, 5*time.Second, 5*time.Second)})
	}
	day := func(wall time.Duration) applyRun {
		a := run(1000, 1000, 10, wall, wall)
		a.Admitted, a.Exact = 1080, 1000
		return a
	}
	rep.BadDay = &BadDay{Allowed: 50, Single: day(23760 * time.Millisecond), Batched: day(30 * time.Second),
		NewmanSkipped: "no npm here", SDKSkipped: "no npm here"}
	share := ShareRun{Allowed: 20, Limit: 40, Window: 2 * time.Second, Run: run(300, 300, 5, 25*time.Second, 24*time.Second),
		Bins: [][2]int{{25, 20}, {19, 20}, {20, 20}}, Mine: 9.5, Theirs: 10}
	share.Run.Exact = 300
	rep.Share = &share
	first, second := run(1000, 1000, 0, 52*time.Second, 50*time.Second), run(1000, 0, 0, 1500*time.Millisecond, 0)
	first.Exact, second.Exact, second.Outcomes = 1000, 1000, map[string]int{"unchanged": 1000}
	rep.Reapply = &Reapply{Allowed: 20, ReadsAllowed: 200, First: first, Second: second, FirstExact: 1000, SecondExact: 1000}
	dev := run(300, 300, 2, 31*time.Second, 30*time.Second)
	dev.Exact = 300
	rep.Devices = &DevicesRun{Limit: 20, Window: 2 * time.Second, Allowed: 10, DefaultRate: 10, Run: dev}
	mem := func(rows int, reconcile, byApp bool, rss, live int64) MemRun {
		m := MemRun{Name: "--no-reconcile", Reconcile: reconcile, ByApp: byApp, Run: run(rows, rows, 0, time.Second, time.Second), Live: live << 20, GCs: 10}
		m.Run.MaxRSS = rss << 20
		return m
	}
	rep.CPU.Mem = []MemRun{mem(4000, false, false, 21, 2), mem(40000, false, false, 29, 6), mem(4000, true, false, 23, 2),
		mem(40000, true, false, 55, 17), mem(40000, true, true, 38, 9)}
	rep.CPU.Listings = &Listings{Rows: 40000, Collections: 3, Objects: 30000, Bytes: 9800 << 10, IDBytes: 1 << 20, Got: 10000, GotCollections: 5000}
	rep.CPU.Heap = []heapShares{{Rows: 4000, Collections: 503, Check: 340000, CollectionsCopy: 150000, Journal: 125000},
		{Rows: 40000, Collections: 5003, Check: 2830000, CollectionsCopy: 1400000, Journal: 1100000}}
	for _, n := range cfg.overheadSizes {
		plain := proc{Cmd: "bench -mode plaincsv", Wall: time.Duration(n) * 500, CPU: time.Duration(n) * 500, MaxRSS: 13 << 20}
		val := proc{Cmd: "bulkpatch validate", Wall: time.Duration(n) * 4500, CPU: time.Duration(n) * 4500, MaxRSS: int64(n) * 150}
		rep.Overhead = append(rep.Overhead, Overhead{Rows: n, Bytes: int64(n) * 200, Plain: plain, Validate: val, Plan: val})
	}
	return rep
}

// TestRenderHasEverySection renders a report with every figure present
// and checks the sections, the goal verdicts and the stated causes.
func TestRenderHasEverySection(t *testing.T) {
	md := fakeReport().Render()
	for _, want := range []string{
		"# bulkpatch benchmarks", "## Machine", "## Goals at a glance",
		"## 1 and 2. Pacing at the server's write limit", "## 3. Latency hiding", "## 4. Batching",
		"## 5. Own overhead", "### CPU time per applied row during apply", "## 6. Peers", "## Go micro-benchmarks",
		"AMD EPYC", "`go build -o $TMP/bulkpatch ./cmd/bulkpatch`",
		"| 1 | pacing efficiency (achieved ÷ allowed writes/s) | 0.998, 0 × 429 | ≥ 0.97 and zero 429s | met |",
		"**Missed: 2, over-asked rate (3 × the limit), whole-second Retry-After: total ÷ ideal time.**",
		"| 2 | over-asked rate (3 × the limit), fractional Retry-After: total ÷ ideal time | 1.100 (429s: 1.6% of writes) | ≤ 1.15 | met |",
		"## 7. A bad day", "| 7 | bad day: time ÷ (admitted writes ÷ allowed rate), state exact | 1.100 (23.76 s for 1080 admitted writes; 1000 of 1000 rows exact) | ≤ 1.15, every row exact | met |",
		"**Missed: 7, bad day, --batch 20: time ÷ one request per row's, state exact.**", "skipped: no npm here",
		"## 8. A second client takes half the quota", "settled after 1 windows; 0.950",
		"**Missed: 5, `validate`, 100k rows: time ÷ encoding/csv read; 5, `plan`, 100k rows: time ÷ encoding/csv read; 5, `validate`, 1M rows",
		"skipped: npm is not installed", "csvio Read ÷ plain encoding/csv: **3.00×**", "not measured: internal/journal: exit 1",
		"latency hiding, --concurrency 64",
		"## 9. A second apply of an applied file", "| 9 | a second apply of an applied file (issue 17): writes, and time ÷ the first apply's | 0 writes; 0.029 (1.50 s against 52.00 s) | 0 writes, ≤ 0.05 | met |",
		"## 10. Pacing at the devices bucket", "**Missed: 10, managedDevice at its default --rate",
		"#### apply's memory as rows grow", "**Missed: 5, apply --no-reconcile: memory flat as rows grow (4k → 40k rows).**",
		"So 3 listings, not 4", "the listings' lifetime is confirmed", "for the journal's index by input line",
	} {
		if !strings.Contains(md, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Count(md, "**missed**") < 2 {
		t.Errorf("report marks fewer than 2 goals missed:\n%s", md)
	}
}

// TestRenderNotRun: a partial run says which figures it left out instead
// of failing.
func TestRenderNotRun(t *testing.T) {
	md := (&Report{Config: quickConfig(), Quick: true}).Render()
	if n := strings.Count(md, "Not run this time"); n != 10 {
		t.Errorf("%d sections say not run, want 10:\n%s", n, md)
	}
	if !strings.Contains(md, "smoke run") {
		t.Error("a -quick report does not say so")
	}
}

func TestParseOnly(t *testing.T) {
	got, err := parseOnly("peers")
	if err != nil || !got["peers"] || !got["limits"] || got["micro"] {
		t.Errorf("parseOnly(peers) = %v, %v; want peers and limits", got, err)
	}
	if _, err := parseOnly("speed"); err == nil {
		t.Error("parseOnly(speed) accepted an unknown figure")
	}
	all, _ := parseOnly("")
	if len(all) != len(figures) {
		t.Errorf("parseOnly(\"\") = %v, want every figure", all)
	}
}

// TestChildModeRejectsRemoteURL: the sequential baseline only ever talks
// to a loopback emulator.
func TestChildModeRejectsRemoteURL(t *testing.T) {
	err := runChildMode(context.Background(), "sequential", "https://graph.microsoft.com/beta", 1, []string{"x.csv"}, io.Discard)
	if err == nil {
		t.Error("sequential mode accepted a non-loopback URL")
	}
	if err := runChildMode(context.Background(), "nope", "", 1, []string{"x"}, io.Discard); err == nil {
		t.Error("unknown mode accepted")
	}
}

// TestBunching: for each 429 the probe reports how long the limit's worth
// of admitted writes before it took, and the longest gap between writes
// before the first 429; arrivals come in any order.
func TestBunching(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	ms := func(n int) time.Time { return t0.Add(time.Duration(n) * time.Millisecond) }
	p := &probe{arrivals: []arrival{
		{ms(1000), 429}, {ms(0), 200}, {ms(100), 200}, {ms(130), 200}, {ms(150), 429}, {ms(900), 204}, {ms(1010), 0},
	}}
	spans, gap := p.bunching(2)
	want := []time.Duration{50 * time.Millisecond, 870 * time.Millisecond}
	if diff := cmp.Diff(want, spans); diff != "" || gap != 100*time.Millisecond {
		t.Errorf("bunching(2) = %v, %v; want %v, 100ms (-want +got spans):\n%s", spans, gap, want, diff)
	}
}

func TestParseBenchOutput(t *testing.T) {
	out := []byte(`goos: linux
pkg: github.com/bulkpatch/bulkpatch/internal/csvio
BenchmarkRead-2   	57	30 ns/op
BenchmarkRead-2   	57	20 ns/op
PASS
ok  	github.com/bulkpatch/bulkpatch/internal/csvio	3.0s
# github.com/bulkpatch/bulkpatch/internal/journal
internal/journal/journal.go:1:1: syntax error
FAIL	github.com/bulkpatch/bulkpatch/internal/journal [build failed]
pkg: github.com/bulkpatch/bulkpatch/internal/plan
BenchmarkCheck-2   	100	1500 ns/op	72 B/op	0 allocs/op
PASS
`)
	got, errs := parseBenchOutput(out)
	want := []Micro{
		{Package: "internal/csvio", Name: "BenchmarkRead", N: 57, NsOp: 20},
		{Package: "internal/plan", Name: "BenchmarkCheck", N: 100, NsOp: 1500, BOp: 72},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("results (-want +got):\n%s", diff)
	}
	if len(errs) != 1 || !strings.Contains(errs[0], "internal/journal [build failed]") {
		t.Errorf("errors %q", errs)
	}
}

// TestShareMeasure: windows counted from the second client's first
// write, up to bulkpatch's last; settled is the first window from which
// every window held 0.8 to 1.1 of bulkpatch's half.
func TestShareMeasure(t *testing.T) {
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(ms int, status int) arrival {
		return arrival{at: t0.Add(time.Duration(ms) * time.Millisecond), status: status}
	}
	var mine, theirs []arrival
	// Window 0: 8 of ours (too few), window 1: 12 (too many), windows 2
	// and 3: 10 each; the other client 10 a window, one refused.
	for w, n := range []int{8, 12, 10, 10} {
		for i := range n {
			mine = append(mine, at(w*2000+i*100, 204))
		}
		for i := range 10 {
			theirs = append(theirs, at(w*2000+i*200, 204))
		}
	}
	theirs = append(theirs, at(100, 429))
	s := ShareRun{Limit: 20, Window: 2 * time.Second, Allowed: 10}
	s.measure(mine, theirs, t0.Add(8*time.Second), 1000)
	if diff := cmp.Diff([][2]int{{8, 10}, {12, 10}, {10, 10}, {10, 10}}, s.Bins); diff != "" {
		t.Errorf("bins (-want +got):\n%s", diff)
	}
	// With 38 rows in all, 8 are left when the last window begins, fewer
	// than half the quota: that window says nothing of the share.
	tail := ShareRun{Limit: 20, Window: 2 * time.Second, Allowed: 10}
	tail.measure(mine, theirs, t0.Add(8*time.Second), 38)
	if diff := cmp.Diff([][2]int{{8, 10}, {12, 10}, {10, 10}}, tail.Bins); diff != "" {
		t.Errorf("bins with 38 rows (-want +got):\n%s", diff)
	}
	if k := s.settled(); k != 2 {
		t.Errorf("settled after %d windows, want 2", k)
	}
	if s.OtherRefused != 1 || s.Mine != 5 || s.Theirs != 5 {
		t.Errorf("refused %d, mine %v, theirs %v; want 1, 5, 5", s.OtherRefused, s.Mine, s.Theirs)
	}
}

// TestPeakLive reads the live heap of gctrace's lines and counts them;
// other lines on stderr are left alone.
func TestPeakLive(t *testing.T) {
	stderr := []byte(`gc 1 @0.029s 2%: 0.28+1.2+0.074 ms clock, 0.57+0.49/0.36/0.44+0.14 ms cpu, 3->3->0 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P
time=2026-12-02T07:32:07Z level=INFO msg="run starting" rows=4000
gc 2 @0.173s 4%: 0.34+4.0+0.005 ms clock, 0.68+0.18/1.3/0+0.010 ms cpu, 15->16->12 MB, 17 MB goal, 0 MB stacks, 0 MB globals, 2 P
gc 3 @0.204s 4%: 1.3+3.0+0.004 ms clock, 2.7+0.66/1.8/1.0+0.008 ms cpu, 24->24->2 MB, 24 MB goal, 0 MB stacks, 0 MB globals, 2 P
`)
	live, gcs := peakLive(stderr)
	if live != 12<<20 || gcs != 3 {
		t.Errorf("peakLive = %d B over %d GCs, want 12 MiB over 3", live, gcs)
	}
}

// TestWriteByApp: the grouped input has exactly the rows of the
// interleaved one, each app's together and in input order.
func TestWriteByApp(t *testing.T) {
	var in, by bytes.Buffer
	if err := writeInput(&in, 40, false); err != nil {
		t.Fatal(err)
	}
	if err := writeByApp(&by, 40); err != nil {
		t.Fatal(err)
	}
	a, b := strings.Split(in.String(), "\n"), strings.Split(by.String(), "\n")
	if a[0] != b[0] || len(a) != len(b) {
		t.Fatalf("headers %q and %q, %d and %d lines", a[0], b[0], len(a), len(b))
	}
	var want []string
	for app := range numApps {
		for i := app; i < 40; i += numApps {
			want = append(want, a[1+i])
		}
	}
	if diff := cmp.Diff(want, b[1:len(b)-1]); diff != "" {
		t.Errorf("grouped rows (-want +got):\n%s", diff)
	}
}

// TestDevicesInput: the managedDevice input validates as bulkpatch reads
// it, its objects exist in the emulator with values the rows change, and
// a row written is counted exact.
func TestDevicesInput(t *testing.T) {
	var buf bytes.Buffer
	if err := writeDevices(&buf, 30); err != nil {
		t.Fatal(err)
	}
	if got := strings.SplitN(buf.String(), "\n", 2)[0]; got != strings.Join(devicesHeader, ",") {
		t.Errorf("header %q", got)
	}
	res := resource.ManagedDevice
	r, err := csvio.NewReader(&buf, csvio.ReaderOptions{Columns: plan.Columns(res)})
	if err != nil {
		t.Fatal(err)
	}
	v := plan.NewValidator(res)
	var rec csvio.Record
	rows := 0
	for {
		err := r.Read(&rec)
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		if _, probs := v.Check(&rec); len(probs) > 0 {
			t.Fatalf("line %d: %v", rec.Line, probs)
		}
		rows++
	}
	if rows != 30 {
		t.Errorf("read %d rows, want 30", rows)
	}
	e, err := startEmu(devicesState(30), emulator.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer e.close()
	if n := exactDevices(e.srv, 30); n != 0 {
		t.Errorf("%d devices exact before any write, want 0", n)
	}
	cells := deviceCells(7)
	body := fmt.Sprintf(`{"managedDeviceName":%q,"notes":%q,"ownerType":%q}`, cells[1], cells[2], cells[3])
	req, _ := http.NewRequest(http.MethodPatch, e.base+"/deviceManagement/managedDevices/"+cells[0], strings.NewReader(body))
	req.Header.Set("Authorization", "Bearer t")
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode >= 300 {
		t.Fatalf("PATCH answered %d", resp.StatusCode)
	}
	if n := exactDevices(e.srv, 30); n != 1 {
		t.Errorf("%d devices exact after writing one, want 1", n)
	}
}

// TestListings lists what apply.Live lists for a generated input: the
// direct collections of the apps that have any, every nested row read by
// GET.
func TestListings(t *testing.T) {
	ls := listings(200)
	if ls.Err != "" {
		t.Fatal(ls.Err)
	}
	if ls.Collections != 3 || ls.Objects != 150 || ls.Got != 50 || ls.GotCollections != 25 || ls.Bytes <= 0 || ls.IDBytes != 150*36 {
		t.Errorf("listings(200) = %+v", ls)
	}
}

// TestMeasureHeap: the heap child reads the input and reports every share.
func TestMeasureHeap(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.csv")
	if err := genFile(path, 400, false); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := measureHeap(path, &out); err != nil {
		t.Fatal(err)
	}
	var hs heapShares
	if err := json.Unmarshal(out.Bytes(), &hs); err != nil {
		t.Fatal(err)
	}
	if hs.Rows != 400 || hs.Collections != 53 || hs.Check <= 0 || hs.CollectionsCopy <= 0 || hs.Journal <= 0 {
		t.Errorf("heap shares %+v", hs)
	}
}

// TestSpawnReports: `bench -mode spawn` reports its child's exit code and
// passes the environment it is given.
func TestSpawnReports(t *testing.T) {
	if _, err := exec.LookPath("sh"); err != nil {
		t.Skip("no sh")
	}
	report := filepath.Join(t.TempDir(), "report.json")
	if err := spawn(report, []string{"BENCH_SPAWN_TEST=7"}, []string{"sh", "-c", `exit "$BENCH_SPAWN_TEST"`}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(report)
	if err != nil {
		t.Fatal(err)
	}
	var rep spawnReport
	if err := json.Unmarshal(b, &rep); err != nil {
		t.Fatal(err)
	}
	if rep.Exit != 7 || rep.Wall <= 0 {
		t.Errorf("report %+v, want exit 7", rep)
	}
}

// TestShareCause: a missed figure 8 says which way bulkpatch missed its
// half.
func TestShareCause(t *testing.T) {
	for _, c := range []struct {
		mine float64
		want string
	}{{11.25, "bulkpatch took more than the half left to it"}, {7, "takes a few runs to reach the half"}} {
		s := ShareRun{Allowed: 20, Limit: 40, Window: 2 * time.Second, Bins: [][2]int{{13, 21}, {22, 16}, {24, 15}, {23, 16}},
			Mine: c.mine, Theirs: 8.31, Run: applyRun{Rows: 300, Exact: 300}}
		gs := (&Report{Share: &s}).shareGoals()
		if len(gs) != 1 || gs[0].Met || !strings.Contains(gs[0].Cause, c.want) {
			t.Errorf("bulkpatch at %v writes/s: goals %+v, want a miss saying %q", c.mine, gs, c.want)
		}
	}
}
