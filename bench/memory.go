package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Figure 5's apply memory as rows grow: apply on cpuRows and ten times as
// many rows against an emulator without limits, with --no-reconcile (the
// figure: what the engine keeps per row, its journal index and results)
// and with the default reconcile (which reads every object first, and
// keeps a listed collection's objects until the last of its rows has
// been read). Every run has GODEBUG=gctrace=1, so that besides the peak
// RSS the live heap after each collection is known: what the process
// held, without the collector's headroom.

// gctrace is the environment that makes the Go runtime print one line
// per garbage collection to stderr.
const gctrace = "GODEBUG=gctrace=1"

// MemRun is one apply run of the memory table.
type MemRun struct {
	Name      string // what the run measures
	Reconcile bool
	ByApp     bool // the rows grouped by app (diagnosis)
	Run       applyRun
	Err       string
	// Live is the largest live heap any collection left (gctrace's
	// marked heap, whole MiB), GCs how many collections ran; Live is 0
	// when gctrace printed nothing.
	Live int64
	GCs  int
}

// Listings is what the reconcile runs' listings held at the largest
// size, measured by listing the same collections from a fresh emulator as
// apply.Live does: the collections that apply.ListThreshold or more rows
// address.
type Listings struct {
	Rows        int   // the input's rows
	Collections int   // collections listed
	Objects     int   // objects in them
	Bytes       int64 // their raw JSON, as Graph answers each object
	IDBytes     int64 // their ids (Live keys each object by its id, lower-cased)
	// Got rows, in GotCollections collections below the threshold, are
	// read one GET per row.
	Got, GotCollections int
	Err                 string
}

// memoryRuns runs the memory table: --no-reconcile and reconcile at n and
// 10 × n rows, and reconcile on 10 × n rows grouped by app.
func (b *bench) memoryRuns(ctx context.Context) ([]MemRun, *Listings) {
	n := b.cfg.cpuRows
	base := []string{"--rate", strconv.Itoa(latencyRate), "--read-rate", strconv.Itoa(latencyRate), "--concurrency", "8"}
	runs := []MemRun{
		{Name: "--no-reconcile", Run: applyRun{Rows: n}},
		{Name: "--no-reconcile", Run: applyRun{Rows: 10 * n}},
		{Name: "reconcile (the default)", Reconcile: true, Run: applyRun{Rows: n}},
		{Name: "reconcile (the default)", Reconcile: true, Run: applyRun{Rows: 10 * n}},
		{Name: "reconcile, the same rows grouped by app (diagnosis)", Reconcile: true, ByApp: true, Run: applyRun{Rows: 10 * n}},
	}
	for i := range runs {
		m := &runs[i]
		c := applyCase{rows: m.Run.Rows, env: []string{gctrace}, flags: base}
		switch {
		case !m.Reconcile:
			c.tag, c.flags = "memory", writeFlags(base...)
		case m.ByApp:
			c.tag = "memory-reconcile"
			in, err := b.generated(fmt.Sprintf("rows-%d-byapp.csv", c.rows), func(w io.Writer) error { return writeByApp(w, c.rows) })
			if err != nil {
				m.Err = err.Error()
				continue
			}
			c.in = in
		default:
			c.tag = "memory-reconcile"
		}
		run, err := b.applyCase(ctx, c)
		m.Run = run
		if err != nil {
			m.Err = err.Error()
			continue
		}
		m.Live, m.GCs = peakLive(run.Stderr)
		b.logf("memory %s, %d rows: peak RSS %s, peak live heap %s over %d GCs", m.Name, c.rows, mib(run.MaxRSS), mib(m.Live), m.GCs)
	}
	ls := listings(10 * n)
	return runs, &ls
}

// heapRuns measures heapShares in a child for the n-row and 10 × n-row
// inputs.
func (b *bench) heapRuns(ctx context.Context) ([]heapShares, error) {
	var out []heapShares
	for _, rows := range []int{b.cfg.cpuRows, 10 * b.cfg.cpuRows} {
		in, err := b.input(rows)
		if err != nil {
			return nil, err
		}
		p, err := b.child(ctx, "bench -mode heap "+in, b.self, "-mode", "heap", in)
		if err == nil && p.Exit != 0 {
			err = fmt.Errorf("%s: exit %d: %s", p.Cmd, p.Exit, p.tail())
		}
		if err != nil {
			return nil, err
		}
		var hs heapShares
		if err := json.Unmarshal(p.Stdout, &hs); err != nil {
			return nil, fmt.Errorf("%s: output %q: %w", p.Cmd, p.Stdout, err)
		}
		out = append(out, hs)
	}
	return out, nil
}

// gcLine matches the heap sizes of a gctrace line: heap at the start of
// the collection, at its end, and the live heap it marked, in MB.
var gcLine = regexp.MustCompile(`^gc \d+ @.*: .* (\d+)->(\d+)->(\d+) MB`)

// peakLive returns the largest live heap in gctrace's lines (MB there
// are MiB: the runtime divides by 1<<20) and the number of collections.
func peakLive(stderr []byte) (live int64, gcs int) {
	sc := bufio.NewScanner(bytes.NewReader(stderr))
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		m := gcLine.FindSubmatch(sc.Bytes())
		if m == nil {
			continue
		}
		gcs++
		if v, err := strconv.ParseInt(string(m[3]), 10, 64); err == nil {
			live = max(live, v<<20)
		}
	}
	return live, gcs
}

// listings lists, from a fresh emulator holding the objects of an n-row
// input, the collections that apply.Live lists for it.
func listings(n int) Listings {
	ls := Listings{Rows: n}
	e, err := startEmu(genState(n), emulator.Options{})
	if err != nil {
		ls.Err = err.Error()
		return ls
	}
	defer e.close()
	counts := map[[2]int]int{} // rows by collection: app, user (-1: the app's direct collection)
	for i := range n {
		a, u, nested := rowIDs(i, false)
		if !nested {
			u = -1
		}
		counts[[2]int{a, u}]++
	}
	client := &http.Client{Timeout: time.Minute}
	for k, rows := range counts {
		if rows < apply.ListThreshold {
			ls.Got += rows
			ls.GotCollections++
			continue
		}
		p := "/deviceAppManagement/mobileApps/" + url.PathEscape(string(appendAppID(nil, k[0]))) + "/"
		if k[1] >= 0 {
			p += "userStatuses/" + url.PathEscape(string(appendUserID(nil, k[1]))) + "/"
		}
		objs, raw, ids, err := listCollection(client, e.base+p+"deviceStatuses")
		if err != nil {
			ls.Err = err.Error()
			return ls
		}
		ls.Collections++
		ls.Objects += objs
		ls.Bytes += raw
		ls.IDBytes += ids
	}
	return ls
}

// listCollection pages through the collection at u and returns how many
// objects it holds, their raw JSON bytes and their ids' bytes.
func listCollection(client *http.Client, u string) (objects int, raw, ids int64, err error) {
	for u != "" {
		req, err := http.NewRequest(http.MethodGet, u, nil)
		if err != nil {
			return 0, 0, 0, err
		}
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := client.Do(req)
		if err != nil {
			return 0, 0, 0, err
		}
		var page struct {
			Value []json.RawMessage `json:"value"`
			Next  string            `json:"@odata.nextLink"`
		}
		err = json.NewDecoder(resp.Body).Decode(&page)
		resp.Body.Close()
		if err == nil && resp.StatusCode != http.StatusOK {
			err = fmt.Errorf("listing %s: status %d", u, resp.StatusCode)
		}
		if err != nil {
			return 0, 0, 0, err
		}
		for _, obj := range page.Value {
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(obj, &head); err != nil {
				return 0, 0, 0, err
			}
			objects++
			raw += int64(len(obj))
			ids += int64(len(head.ID))
		}
		u = page.Next
	}
	return objects, raw, ids, nil
}

// memRun returns the memory run of rows rows in the mode asked for.
func (c *CPURuns) memRun(rows int, reconcile, byApp bool) (*MemRun, bool) {
	if c == nil {
		return nil, false
	}
	for i := range c.Mem {
		m := &c.Mem[i]
		if m.Run.Rows == rows && m.Reconcile == reconcile && m.ByApp == byApp && m.Err == "" {
			return m, true
		}
	}
	return nil, false
}

// growth returns the peak RSS and peak live heap added per extra row
// between the smallest and the largest run of a mode.
func (c *CPURuns) growth(reconcile bool) (small, big *MemRun, rss, live float64, ok bool) {
	if c == nil || c.Err != "" {
		return nil, nil, 0, 0, false
	}
	small, ok1 := c.memRun(c.Bulkpatch.Rows, reconcile, false)
	big, ok2 := c.memRun(10*c.Bulkpatch.Rows, reconcile, false)
	if !ok1 || !ok2 {
		return nil, nil, 0, 0, false
	}
	extra := float64(big.Run.Rows - small.Run.Rows)
	return small, big, float64(big.Run.MaxRSS-small.Run.MaxRSS) / extra, float64(big.Live-small.Live) / extra, true
}

// applyMemoryGoal is the goal row of apply's memory: --no-reconcile's
// growth, with the default reconcile's beside it.
func (r *Report) applyMemoryGoal() (goal, bool) {
	c := r.CPU
	small, big, rss, live, ok := c.growth(false)
	if !ok {
		return goal{}, false
	}
	measured := fmt.Sprintf("+%.0f B peak RSS per extra row (live heap +%.0f B)", rss, live)
	if _, _, rrss, rlive, ok := c.growth(true); ok {
		measured += fmt.Sprintf("; with the default reconcile +%.0f B (live heap +%.0f B)", rrss, rlive)
	}
	g := goal{Figure: "5", What: fmt.Sprintf("apply --no-reconcile: memory flat as rows grow (%s → %s rows)", count(small.Run.Rows), count(big.Run.Rows)),
		Measured: measured, Target: fmt.Sprintf("≤ %d B per row", rssBudget), Met: rss <= rssBudget}
	if !g.Met {
		g.Cause = fmt.Sprintf("With --no-reconcile apply's peak RSS grew from %s at %s rows to %s at %s, and its largest live heap "+
			"(gctrace, after a collection, to the MiB) from %s to %s: %.0f B per extra row live, %.0f B of peak RSS (Go's collector "+
			"lets the heap grow to about twice the live data between collections). ",
			mib(small.Run.MaxRSS), count(small.Run.Rows), mib(big.Run.MaxRSS), count(big.Run.Rows), mib(small.Live), mib(big.Live), live, rss)
		g.Cause += c.perRowState()
	}
	return g, true
}

// perRowState says, from the heap measurements, what apply keeps per row
// whatever it sends.
func (c *CPURuns) perRowState() string {
	if c.HeapErr != "" || len(c.Heap) < 2 {
		return ""
	}
	s, b := c.Heap[0], c.Heap[len(c.Heap)-1]
	extra := float64(b.Rows - s.Rows)
	per := func(f func(h heapShares) int64) float64 { return float64(f(b)-f(s)) / extra }
	coll := per(func(h heapShares) int64 { return h.CollectionsCopy })
	check := per(func(h heapShares) int64 { return h.Check })
	jr := per(func(h heapShares) int64 { return h.Journal })
	return fmt.Sprintf("Measured in-process on the same inputs (`bench -mode heap`: live heap after a collection), what apply "+
		"--no-reconcile keeps for the whole run grows per extra row by %.0f B for the check pass (its duplicate detection, "+
		"about 40 B a row, is dropped once the input checked clean, and it counts no collections: nothing is read) and by "+
		"%.0f B for the journal's index by input line: %.0f B a row live; results are written from the journal and add nothing. "+
		"With reads (the default, or --verify), input.Stats.Collections, the rows per collection the reads list by, adds "+
		"%.0f B (%d collections at %s rows: every user status is one). ",
		check, jr, check+jr, coll, b.Collections, count(b.Rows))
}

// reconcileMemory explains, from the memory runs and the listings, what
// the default reconcile adds to apply's memory.
func (c *CPURuns) reconcileMemory() string {
	_, nrBig, _, _, ok1 := c.growth(false)
	_, rBig, _, _, ok2 := c.growth(true)
	if !ok1 || !ok2 || nrBig.Live == 0 || rBig.Live == 0 {
		return ""
	}
	var s strings.Builder
	extra := rBig.Live - nrBig.Live
	fmt.Fprintf(&s, "At %s rows the default reconcile's largest live heap is %s against %s with --no-reconcile: %s more "+
		"(peak RSS %s against %s). Reading first, apply.Live lists every collection that %d or more rows address and keeps "+
		"each listed object's raw JSON, keyed by its lower-cased id, until the last row of that collection has been read; "+
		"the other rows' objects it reads one GET each and keeps nothing of. ",
		count(rBig.Run.Rows), mib(rBig.Live), mib(nrBig.Live), mib(extra), mib(rBig.Run.MaxRSS), mib(nrBig.Run.MaxRSS), apply.ListThreshold)
	ls := c.Listings
	if ls == nil || ls.Err != "" || ls.Collections == 0 {
		return s.String()
	}
	held := ls.Bytes + ls.IDBytes
	fmt.Fprintf(&s, "For this input that is %d listed collections (apps' own deviceStatuses) holding %d objects: %s of raw "+
		"JSON as the emulator lists them and %s of ids, %s together, measured by listing the same collections from a fresh "+
		"emulator; the other %d rows are in %d collections of fewer than %d rows (user statuses, read one GET a row). ",
		ls.Collections, ls.Objects, mib(ls.Bytes), mib(ls.IDBytes), mib(held), ls.Got, ls.GotCollections, apply.ListThreshold)
	if n := numApps - ls.Collections; n > 0 {
		fmt.Fprintf(&s, "So %d listings, not %d: the generator sends every row of %d of its %d apps through a user status. ",
			ls.Collections, numApps, n, numApps)
	}
	s.WriteString(agreement(extra, held, "The listings, all held at once, account for what reconcile adds. ",
		"That does not account for what reconcile adds: something else does. "))
	if by, ok := c.memRun(rBig.Run.Rows, true, true); ok && by.Live > 0 {
		one := held * int64(ls.Collections-1) / int64(ls.Collections)
		fmt.Fprintf(&s, "The input deals its rows out to the apps in turn, so each listed collection's first row is among the "+
			"input's first and its last among the last: the %d listings are all held until the reads end. With the same rows "+
			"grouped by app, each listing is freed once its app's last row has been read; the largest live heap is then %s, "+
			"%s less, where holding one listing at a time instead of %d should save about %s: %s ",
			ls.Collections, mib(by.Live), mib(rBig.Live-by.Live), ls.Collections, mib(one),
			agreement(rBig.Live-by.Live, one, "the listings' lifetime is confirmed.", "the listings' lifetime does not explain it."))
	}
	s.WriteString("The reads all come before the first write, so the listings are garbage by the time writing starts; " +
		"what the write phase keeps of the reads takes 2 bits a row (apply.Reads).")
	return s.String()
}

// agreement returns yes when a measured live heap difference agrees with
// the expected one, within gctrace's resolution (1 MiB on each of two
// readings) or 30%, and no otherwise.
func agreement(measured, expected int64, yes, no string) string {
	if d := measured - expected; max(d, -d) <= max(2<<20, expected*3/10) {
		return yes
	}
	return no
}

func (r *Report) renderMemory(w *mdWriter) {
	c := r.CPU
	if c == nil || len(c.Mem) == 0 {
		return
	}
	w.line("#### apply's memory as rows grow")
	w.line("")
	w.line(fmt.Sprintf("apply on %s and %s rows, each run against a fresh emulator without limits or latency, with `--no-reconcile` (the figure: "+
		"what apply keeps per row whatever it sends; it writes the results file from the journal) and with the "+
		"default reconcile (every object read first: %d collections listed and the other rows read one GET each, with "+
		"--read-rate as high as --rate). Every run had `%s`: *live heap* is the largest heap any collection left marked, "+
		"as the runtime prints it (whole MiB); peak RSS is that plus the collector's headroom (GOGC=100) and the runtime's own.",
		count(c.Bulkpatch.Rows), count(10*c.Bulkpatch.Rows), c.listed(), gctrace))
	w.line("")
	var rows [][]string
	var cmds []string
	for _, m := range c.Mem {
		if m.Err != "" {
			rows = append(rows, []string{m.Name, strconv.Itoa(m.Run.Rows), "-", "-", "-", "-", "-", "-", "not measured: " + m.Err})
			continue
		}
		cmds = append(cmds, m.Run.Cmd)
		a := &m.Run
		rows = append(rows, []string{m.Name, strconv.Itoa(a.Rows), strconv.Itoa(a.Applied), strconv.Itoa(a.Reads), secs(a.Wall),
			fmt.Sprintf("%.1f µs", a.CPU.Seconds()*1e6/float64(max(a.Rows, 1))), mib(a.MaxRSS), mib(m.Live), outcomes(a.Outcomes)})
	}
	w.table([]string{"mode", "rows", "applied (server)", "reads (server)", "total", "CPU per row", "peak RSS", "live heap (gctrace)", "results file"}, rows)
	var lines []string
	for _, x := range []struct {
		name      string
		reconcile bool
	}{{"--no-reconcile", false}, {"reconcile", true}} {
		if small, big, rss, live, ok := c.growth(x.reconcile); ok {
			lines = append(lines, fmt.Sprintf("%s: +%.0f B of peak RSS and +%.0f B of live heap per extra row (%s → %s rows).",
				x.name, rss, live, count(small.Run.Rows), count(big.Run.Rows)))
		}
	}
	if len(lines) > 0 {
		w.line("Growth, " + strings.Join(lines, " "))
		w.line("")
	}
	if t := c.reconcileMemory(); t != "" {
		w.line(t)
		w.line("")
	}
	w.line("Commands:")
	w.line("")
	w.commands(cmds...)
}

// listed is how many collections the largest reconcile run listed (0
// when the listings were not measured).
func (c *CPURuns) listed() int {
	if c.Listings != nil && c.Listings.Err == "" {
		return c.Listings.Collections
	}
	return 0
}

// heapShares is what `bench -mode heap FILE` measures in-process, in a
// process of its own: the live heap of the per-row state apply keeps
// whatever it sends, for the input FILE.
type heapShares struct {
	Rows        int `json:"rows"`
	Collections int `json:"collections"`
	// Check is what the check pass of apply --no-reconcile leaves live
	// for the whole run: the input.Source with the Validator every pass
	// shares (which forgets its rows once the input checked clean).
	Check int64 `json:"check"`
	// CollectionsCopy is the live heap of input.Stats.Collections, the
	// rows per collection that reads list by, built as Check builds it
	// when reads follow (reconciling, --verify).
	CollectionsCopy int64 `json:"collectionsCopy"`
	// Journal is a journal's live heap after one record per row: its
	// index by input line.
	Journal int64 `json:"journal"`
}

// liveHeap returns the live heap after two collections.
func liveHeap() int64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return int64(m.HeapAlloc)
}

// measureHeap measures heapShares for the input at path and prints them
// as JSON; it is main for `bench -mode heap`.
func measureHeap(path string, stdout io.Writer) error {
	var hs heapShares
	h0 := liveHeap()
	src, err := input.Open(path, input.Options{SkipCollections: true}) // as apply --no-reconcile
	if err != nil {
		return err
	}
	defer src.Close()
	st, err := src.Check(func(string) {})
	if err != nil {
		return err
	}
	h1 := liveHeap()
	hs.Rows, hs.Check = st.Rows, h1-h0

	// The rows per collection, counted as Check counts them when reads
	// follow (reconciling, --verify): each new key's ids cloned.
	cp := make(map[resource.Key]int)
	for row, err := range src.Rows() {
		if err != nil {
			return err
		}
		k := src.Res.Collection(row.Key)
		if _, ok := cp[k]; !ok {
			for i := range k {
				k[i] = strings.Clone(k[i])
			}
		}
		cp[k]++
	}
	hs.Collections = len(cp)
	h2 := liveHeap()
	hs.CollectionsCopy = h2 - h1

	dir, err := os.MkdirTemp("", "bench-heap-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	jr, _, err := journal.Open(filepath.Join(dir, "journal"), src.SHA256, journal.Fresh)
	if err != nil {
		return err
	}
	defer jr.Close()
	for row, err := range src.Rows() {
		if err != nil {
			return err
		}
		out := report.Row{Line: row.Line, Key: row.Key, Outcome: report.Applied, HTTPStatus: 200, Attempts: 1, FinishedAt: time.Now()}
		if err := jr.Record(out, journal.RowID(row.Key, row.Body)); err != nil {
			return err
		}
	}
	hs.Journal = liveHeap() - h2
	runtime.KeepAlive(src)
	runtime.KeepAlive(st)
	runtime.KeepAlive(cp)
	return json.NewEncoder(stdout).Encode(hs)
}
