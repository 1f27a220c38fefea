package report

import (
	"cmp"
	_ "embed"
	"encoding/json"
	"errors"
	"fmt"
	"html/template"
	"io"
	"math"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// The HTML run report.
//
// WriteHTML reads a results file (and, when there is one, its journal,
// its summary.json and the saved plan it applied) and writes one
// self-contained HTML page: no script, no network, no external font;
// charts are inline SVG. Every string from those files reaches the page
// through html/template's escaping, after display() has made control and
// bidirectional-override characters visible, and a Content-Security-
// Policy forbids scripts besides: a results file is server and user text,
// and the page is opened in a browser.

// DefaultWindowLimit is Intune's write limit: 100 requests per 20 s per
// app (the CLI contract's --rate 5 matches it).
const DefaultWindowLimit = 100

// window is the length of the quota window the chart counts in.
const window = 20 * time.Second

// HTMLOptions configures WriteHTML. The zero value works: the page then
// names no paths it does not know.
type HTMLOptions struct {
	// Title names the run at the top; "" means ResultsPath's base name.
	Title string
	// ResultsPath is the results file as the user names it, for the page
	// and the commands on it.
	ResultsPath string
	// InputPath is the input the run read, when known: the page then shows
	// the resume command that sends the rows left over again.
	InputPath string
	// RetryPath is where WriteRetry wrote the rows to run again, "" when
	// it was not written (the page then says how to write it).
	RetryPath string
	// Resource is the --resource the commands need, "" for the default.
	Resource string
	// Encoding is the results file's encoding; AutoEncoding detects UTF-8
	// and UTF-16. A Windows-1252 results file must be named, and the
	// commands then say --encoding windows-1252.
	Encoding csvio.Encoding
	// WindowLimit is the writes allowed per 20 s window, drawn on the
	// chart; 0 means DefaultWindowLimit.
	WindowLimit int
	// Rate is the run's --rate in writes per second, when known: drawn as
	// the level the run was paced at.
	Rate float64
	// Summary is the run's summary.json, when there is one: it adds what
	// rows cannot tell (requests, 429s, the exit code).
	Summary *RunSummary
	// Plan is the saved plan the run applied (apply --plan), when it was
	// made with --reconcile: its old values give the field transitions.
	Plan io.Reader
}

// WriteHTML writes the run report of the results file read from results
// to w. journal is the run's journal (RESULTS.journal) or nil. An error
// means results could not be read as a bulkpatch results file; a journal
// or plan that cannot be read is noted on the page instead, since the
// results alone make a report.
func WriteHTML(w io.Writer, results io.Reader, journal io.Reader, opt HTMLOptions) error {
	rep, err := buildReport(results, journal, opt)
	if err != nil {
		return err
	}
	if err := pageTemplate.Execute(w, rep); err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	return nil
}

//go:embed report.html.tmpl
var pageSource string

var pageTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"f":   func(v float64) string { return strconv.FormatFloat(v, 'f', 1, 64) },
	"pct": func(n, total int) string { return percent(n, total) },
	"num": func(n int) string { return groupDigits(int64(n)) },
	"n64": groupDigits,
	"plural": func(n int, one, many string) string {
		if n == 1 {
			return one
		}
		return many
	},
}).Parse(pageSource))

// resultsLayout is where a results file's columns are: the fixed ones by
// name, the key columns between line and outcome, the property columns
// after finished_at, and the comment columns ('#').
type resultsLayout struct {
	fixed    map[string]int
	keys     []int
	props    []int
	comments []int
	header   []string
}

// fixedColumns are the columns every results file has.
var fixedColumns = append([]string{"line"}, resultColumns[:]...)

func layoutOf(header []string) (*resultsLayout, error) {
	l := &resultsLayout{fixed: map[string]int{}, header: header}
	for i, h := range header {
		if slices.Contains(fixedColumns, h) {
			if _, dup := l.fixed[h]; !dup {
				l.fixed[h] = i
			}
		}
	}
	var missing []string
	for _, c := range fixedColumns {
		if _, ok := l.fixed[c]; !ok {
			missing = append(missing, c)
		}
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("not a bulkpatch results file: no column %s", strings.Join(missing, ", "))
	}
	for i, h := range header {
		switch {
		case strings.HasPrefix(strings.TrimSpace(h), "#"):
			l.comments = append(l.comments, i)
		case i > l.fixed["line"] && i < l.fixed["outcome"]:
			l.keys = append(l.keys, i)
		case i > l.fixed["finished_at"]:
			l.props = append(l.props, i)
		}
	}
	return l, nil
}

func (l *resultsLayout) names(idx []int) []string {
	n := make([]string, len(idx))
	for i, c := range idx {
		n[i] = l.header[c]
	}
	return n
}

// resultRow is one results row, parsed.
type resultRow struct {
	fileLine int // the results file's line, for messages
	line     int // the input line
	outcome  Outcome
	status   int
	code     string
	message  string
	attempts int
	reqID    string
	duration time.Duration
	finished time.Time
}

// parseRow reads the fixed cells of one row; a cell that is not what the
// writer writes counts as bad and reads as zero.
func (l *resultsLayout) parseRow(cells []string, fileLine int) (resultRow, int) {
	bad := 0
	num := func(col string) int {
		s := cells[l.fixed[col]]
		if s == "" {
			return 0
		}
		n, err := strconv.Atoi(s)
		if err != nil {
			bad++
		}
		return n
	}
	r := resultRow{
		fileLine: fileLine,
		line:     num("line"),
		outcome:  Outcome(cells[l.fixed["outcome"]]),
		status:   num("http_status"),
		code:     cells[l.fixed["error_code"]],
		message:  cells[l.fixed["error_message"]],
		attempts: num("attempts"),
		reqID:    cells[l.fixed["request_id"]],
		duration: time.Duration(num("duration_ms")) * time.Millisecond,
	}
	if s := cells[l.fixed["finished_at"]]; s != "" {
		t, err := time.Parse(time.RFC3339Nano, s)
		if err != nil {
			bad++
		}
		r.finished = t
	}
	if !r.outcome.Valid() {
		bad++
	}
	return r, bad
}

// report is everything the page shows.
type report struct {
	Title       string
	ResultsPath string
	Generated   string // what the page was made from
	Notes       []string

	Rows     int
	Outcomes []outcomeCount
	Bar      []barSegment
	Summary  *RunSummary

	Runs        []runChart
	RunsOmitted int
	Pace        paceFacts

	Failures      []failureGroup
	FailedRows    int
	FailureGroups int // before the cut to maxFailureGroups
	Invalid       []invalidRow
	InvalidRows   int
	NotAttempted  int
	Reconciled    bool
	Transitions   []transitionTable
	FromPlan      bool
	ValueTables   []valueTable
	Rerun         rerun
}

type outcomeCount struct {
	Outcome string
	Rows    int
	Share   string
	Class   string
}

type barSegment struct {
	X, W  float64
	Class string
	Title string
}

// The page's limits on what it lists, so that a 50,000-row file makes a
// page a browser opens at once.
const (
	maxFailureGroups = 100
	maxSamples       = 10
	maxRequestIDs    = 3
	maxInvalidShown  = 50
	maxValues        = 12
	maxDistinct      = 2000 // distinct values tracked per column
	maxRunsDrawn     = 5
	maxWindows       = 20000 // about 111 hours of 20 s windows per run
)

type failureGroup struct {
	Rows       int
	Status     string
	Code       string
	Message    string
	Lines      string
	RequestIDs []string
}

type invalidRow struct {
	Line    int
	Message string
}

func buildReport(results, journal io.Reader, opt HTMLOptions) (*report, error) {
	tr, err := csvio.NewTableReader(results, csvio.TableOptions{Encoding: opt.Encoding, Names: fixedColumns})
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	lay, err := layoutOf(tr.Header())
	if err != nil {
		return nil, fmt.Errorf("read results: %w", err)
	}
	rep := &report{Title: opt.Title, ResultsPath: display(opt.ResultsPath), Summary: opt.Summary}
	if rep.Title == "" && opt.ResultsPath != "" {
		rep.Title = filepath.Base(opt.ResultsPath)
	}
	rep.Title = display(rep.Title)

	t := newTally(lay, journal == nil)
	if err := rep.readRows(tr, lay, t); err != nil {
		return nil, err
	}
	rep.outcomes(t.counts)
	rep.FailedRows = t.counts[Failed]
	rep.failures(t.groups)

	sources := []string{"the results file"}
	sources = append(sources, rep.timing(journal, t, opt)...)
	if opt.Summary != nil {
		sources = append(sources, "its summary.json")
	}
	if opt.Plan != nil {
		tables, err := planTransitions(opt.Plan, t.applied)
		if err != nil {
			rep.Notes = append(rep.Notes, "The saved plan could not be read, so the report shows no transitions: "+display(err.Error()))
		} else {
			rep.Transitions, rep.FromPlan = tables, true
			sources = append(sources, "the saved plan it applied")
		}
	}
	rep.ValueTables = t.values.tables()
	rep.Generated = strings.Join(sources, ", ")
	rep.Rerun = makeRerun(opt, t.counts[Failed], rep.NotAttempted, rep.InvalidRows, tr.Dialect())
	return rep, nil
}

// tally is what one pass over the rows of a results file counts for the
// page.
type tally struct {
	counts     map[Outcome]int
	groups     map[failureKey]*failureAcc
	events     []event // the rows' own timing, when there is no journal to read it from
	durations  []int64
	applied    map[int]bool // input lines applied, for a plan's transitions
	values     *valueCounter
	badCells   int
	badRows    int
	withEvents bool
}

func newTally(lay *resultsLayout, withEvents bool) *tally {
	return &tally{counts: map[Outcome]int{}, groups: map[failureKey]*failureAcc{}, applied: map[int]bool{},
		values: newValueCounter(lay), withEvents: withEvents}
}

// readRows reads every row of the results file into t and the report's
// row counts, leaving out (and noting) rows and cells it cannot read.
func (rep *report) readRows(tr *csvio.TableReader, lay *resultsLayout, t *tally) error {
	for {
		fileLine, cells, err := tr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			var pe *csvio.ParseError
			if errors.As(err, &pe) && !errors.Is(err, csvio.ErrEncoding) && !errors.Is(err, csvio.ErrRecordTooLarge) {
				t.badRows++ // one bad row; the rest still make a report
				continue
			}
			return fmt.Errorf("read results: %w", err)
		}
		r, bad := lay.parseRow(cells, fileLine)
		t.badCells += bad
		rep.add(t, r, cells)
	}
	if t.badRows > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("Rows of the results file that could not be read are left out: %d.", t.badRows))
	}
	if t.badCells > 0 {
		rep.Notes = append(rep.Notes, fmt.Sprintf("Cells of the results file that were not what bulkpatch writes there (a number, a time, an outcome) were read as empty: %d.", t.badCells))
	}
	return nil
}

// add counts one row of the results file.
func (rep *report) add(t *tally, r resultRow, cells []string) {
	rep.Rows++
	if !r.outcome.Valid() {
		r.outcome = Failed // as Summary.Add counts it: the exit code stays honest
	}
	t.counts[r.outcome]++
	switch r.outcome {
	case Failed:
		k := failureKey{r.status, r.code, r.message}
		g := t.groups[k]
		if g == nil {
			g = &failureAcc{}
			t.groups[k] = g
		}
		g.add(r)
	case Invalid:
		rep.InvalidRows++
		if len(rep.Invalid) < maxInvalidShown {
			rep.Invalid = append(rep.Invalid, invalidRow{Line: r.line, Message: display(r.message)})
		}
	case NotAttempted:
		rep.NotAttempted++
	case Unchanged:
		rep.Reconciled = true
	case Applied:
		t.applied[r.line] = true
	}
	t.values.add(r.outcome, cells)
	if r.duration > 0 && r.outcome != Skipped {
		t.durations = append(t.durations, r.duration.Milliseconds())
	}
	if t.withEvents {
		if ev, ok := eventOf(r); ok {
			t.events = append(t.events, ev)
		}
	}
}

// timing sets the page's pace from the journal's runs when there is a
// journal, else from the rows' own times, and returns the sources it
// read besides the results file.
func (rep *report) timing(journal io.Reader, t *tally, opt HTMLOptions) []string {
	var sources []string
	var runs []run
	if journal != nil {
		var note string
		runs, note = readJournal(journal)
		rep.Pace.FromJournal = true
		if note != "" {
			rep.Notes = append(rep.Notes, note)
		}
		sources = append(sources, "its journal")
	} else {
		runs = sessions(t.events)
	}
	rep.pace(runs, t.durations, cmp.Or(opt.WindowLimit, DefaultWindowLimit), opt.Rate)
	return sources
}

func (rep *report) outcomes(counts map[Outcome]int) {
	x := 0.0
	for _, o := range outcomes {
		n := counts[o]
		rep.Outcomes = append(rep.Outcomes, outcomeCount{Outcome: string(o), Rows: n, Share: percent(n, rep.Rows), Class: "o-" + string(o)})
		if n > 0 && rep.Rows > 0 {
			w := 1000 * float64(n) / float64(rep.Rows)
			rep.Bar = append(rep.Bar, barSegment{X: x, W: w, Class: "o-" + string(o),
				Title: fmt.Sprintf("%s: %s rows (%s)", o, groupDigits(int64(n)), percent(n, rep.Rows))})
			x += w
		}
	}
}

// failureKey groups failed rows: HTTP status × Graph code × message.
type failureKey struct {
	status  int
	code    string
	message string
}

type failureAcc struct {
	rows   int
	lines  []int
	reqIDs []string
}

func (g *failureAcc) add(r resultRow) {
	g.rows++
	if len(g.lines) < maxSamples {
		g.lines = append(g.lines, r.line)
	}
	if r.reqID != "" && len(g.reqIDs) < maxRequestIDs {
		g.reqIDs = append(g.reqIDs, r.reqID)
	}
}

func (rep *report) failures(groups map[failureKey]*failureAcc) {
	keys := make([]failureKey, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, func(a, b failureKey) int {
		return cmp.Or(cmp.Compare(groups[b].rows, groups[a].rows), cmp.Compare(a.status, b.status),
			strings.Compare(a.code, b.code), strings.Compare(a.message, b.message))
	})
	rep.FailureGroups = len(keys)
	for _, k := range keys[:min(len(keys), maxFailureGroups)] {
		g := groups[k]
		status := "no answer"
		if k.status != 0 {
			status = strconv.Itoa(k.status)
		}
		lines := make([]string, len(g.lines))
		for i, l := range g.lines {
			lines[i] = strconv.Itoa(l)
		}
		sample := strings.Join(lines, ", ")
		if g.rows > len(g.lines) {
			sample += ", …"
		}
		ids := make([]string, len(g.reqIDs))
		for i, id := range g.reqIDs {
			ids[i] = display(id)
		}
		rep.Failures = append(rep.Failures, failureGroup{Rows: g.rows, Status: status, Code: display(k.code),
			Message: display(k.message), Lines: sample, RequestIDs: ids})
	}
}

// percent is n of total as a percentage with one decimal, "" for no total.
func percent(n, total int) string {
	if total == 0 {
		return ""
	}
	return strconv.FormatFloat(100*float64(n)/float64(total), 'f', 1, 64) + " %"
}

// groupDigits writes n with thin spaces between groups of three digits.
func groupDigits(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteString("\u202f") // narrow no-break space
		}
		b.WriteRune(c)
	}
	if neg {
		return "-" + b.String()
	}
	return b.String()
}

// display makes a string from a results file, journal or path safe to
// show as text: it is neutralised as the results file neutralises it (a
// cell copied from the page into a spreadsheet runs no formula), and
// control characters, bidirectional overrides and invisible characters
// are shown as visible stand-ins, so "evil\u202Etxt.exe" reads as written
// and not reversed. html/template escapes the result for HTML.
func display(s string) string {
	s = csvio.Neutralize(s)
	if !strings.ContainsFunc(s, hidden) {
		return s
	}
	var b strings.Builder
	for _, r := range s {
		if hidden(r) {
			// One form for all: Unicode's control pictures (␛) would say
			// more, but many fonts draw them as empty boxes.
			fmt.Fprintf(&b, "⟨U+%04X⟩", r)
		} else {
			b.WriteRune(r)
		}
	}
	return b.String()
}

// hidden reports whether r is a character a page must not show as is:
// controls (C0, DEL, C1), the bidirectional marks, embeddings, overrides
// and isolates, the invisible joiners and separators, and U+FFFD (so bad
// bytes are noticed).
func hidden(r rune) bool {
	switch {
	case r < 0x20, r >= 0x7f && r < 0xa0:
		return true
	case r == 0x061c, r == 0x200b, r == 0x200c, r == 0x200d, r == 0x200e, r == 0x200f,
		r >= 0x2028 && r <= 0x202e, r >= 0x2060 && r <= 0x2069, r == 0xfeff, r == utf8.RuneError:
		return true
	}
	return unicode.Is(unicode.Cf, r) && r != 0x00ad
}

// valueCounter counts, per property column, how many rows were set to
// each value (applied) and how many already had it (unchanged).
type valueCounter struct {
	lay     *resultsLayout
	columns []valueColumn
}

type valueColumn struct {
	name     string
	counts   map[string]*[2]int // value -> [applied, unchanged]
	other    [2]int             // rows whose value was past maxDistinct
	distinct int
}

func newValueCounter(lay *resultsLayout) *valueCounter {
	vc := &valueCounter{lay: lay}
	for _, c := range lay.props {
		vc.columns = append(vc.columns, valueColumn{name: lay.header[c], counts: map[string]*[2]int{}})
	}
	return vc
}

func (vc *valueCounter) add(o Outcome, cells []string) {
	var i int
	switch o {
	case Applied:
		i = 0
	case Unchanged:
		i = 1
	default:
		return
	}
	for k, c := range vc.lay.props {
		v := cells[c]
		if v == "" {
			continue // not sent
		}
		col := &vc.columns[k]
		n := col.counts[v]
		if n == nil {
			if len(col.counts) >= maxDistinct {
				col.other[i]++
				col.distinct++
				continue
			}
			n = new([2]int)
			col.counts[strings.Clone(v)] = n
			col.distinct++
		}
		n[i]++
	}
}

type valueTable struct {
	Property string
	Values   []valueRow
	More     int // values not listed
	Distinct int
	PerRow   bool // nearly one value per row: names, ids; not listed
}

type valueRow struct {
	Value     string
	Applied   int
	Unchanged int
}

func (vc *valueCounter) tables() []valueTable {
	var out []valueTable
	for _, col := range vc.columns {
		if len(col.counts) == 0 {
			continue
		}
		t := valueTable{Property: display(col.name), Distinct: len(col.counts)}
		rows := 0
		for _, n := range col.counts {
			rows += n[0] + n[1]
		}
		if len(col.counts) > maxValues && len(col.counts)*2 > rows {
			t.PerRow = true
			out = append(out, t)
			continue
		}
		vals := make([]string, 0, len(col.counts))
		for v := range col.counts {
			vals = append(vals, v)
		}
		slices.SortFunc(vals, func(a, b string) int {
			na, nb := col.counts[a], col.counts[b]
			return cmp.Or(cmp.Compare(nb[0]+nb[1], na[0]+na[1]), strings.Compare(a, b))
		})
		for _, v := range vals[:min(len(vals), maxValues)] {
			n := col.counts[v]
			shown := display(v)
			if v == "<null>" {
				shown = "<null> (cleared)"
			}
			t.Values = append(t.Values, valueRow{Value: shown, Applied: n[0], Unchanged: n[1]})
		}
		t.More = len(vals) - len(t.Values)
		out = append(out, t)
	}
	return out
}

// transitionTable is one property's old → new counts from a saved plan.
type transitionTable struct {
	Property string
	Rows     []transitionRow
	More     int
}

type transitionRow struct {
	Old, New string
	Rows     int
}

// planTransitions counts, per property, the old → new changes a saved
// reconciled plan recorded for the rows the results file lists as applied.
// A plan made without --reconcile has no old values: it yields no table.
func planTransitions(r io.Reader, applied map[int]bool) ([]transitionTable, error) {
	fr, err := plan.NewFileReader(r)
	if err != nil {
		return nil, err
	}
	type key struct{ prop, old, new string }
	counts := map[key]int{}
	var props []string
	for {
		e, err := fr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, err
		}
		if !applied[e.Line] {
			continue
		}
		for _, c := range e.Changes {
			k := key{c.Property, jsonText(c.Old), jsonText(c.New)}
			if counts[k] == 0 && len(counts) >= 10*maxDistinct {
				continue // a plan of per-row values: enough are counted
			}
			if !slices.Contains(props, c.Property) {
				props = append(props, c.Property)
			}
			counts[k]++
		}
	}
	var out []transitionTable
	for _, p := range props {
		t := transitionTable{Property: display(p)}
		for k, n := range counts {
			if k.prop == p {
				t.Rows = append(t.Rows, transitionRow{Old: display(k.old), New: display(k.new), Rows: n})
			}
		}
		slices.SortFunc(t.Rows, func(a, b transitionRow) int {
			return cmp.Or(cmp.Compare(b.Rows, a.Rows), strings.Compare(a.Old, b.Old), strings.Compare(a.New, b.New))
		})
		if len(t.Rows) > maxValues {
			t.More, t.Rows = len(t.Rows)-maxValues, t.Rows[:maxValues]
		}
		out = append(out, t)
	}
	return out, nil
}

// jsonText shows a JSON value from a plan: a string without its quotes,
// null as "(null)", anything else as written.
func jsonText(raw json.RawMessage) string {
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	if t := strings.TrimSpace(string(raw)); t != "null" && t != "" {
		return t
	}
	return "(null)"
}

// An event is one settled row on the time line: its requests went out
// between start and finished.
type event struct {
	start, finished time.Time
	attempts        int
	outcome         Outcome
	status          int
}

// eventOf places a results row on the time line. Rows that sent nothing
// (invalid, not attempted) have no place there.
func eventOf(r resultRow) (event, bool) {
	if r.finished.IsZero() || r.attempts < 1 {
		return event{}, false
	}
	switch r.outcome {
	case Applied, Failed, Unchanged, Skipped:
	default:
		return event{}, false
	}
	return event{start: r.finished.Add(-r.duration), finished: r.finished, attempts: r.attempts, outcome: r.outcome, status: r.status}, true
}

// run is one run of apply over the file: from the journal, a run header
// and its rows; from the results alone, rows close together in time.
type run struct {
	start, end time.Time
	pid        int
	events     []event
}

// sessionGap splits rows into runs when the journal is missing: a pause
// this long is taken as the end of one run and the start of another.
const sessionGap = 5 * time.Minute

func sessions(events []event) []run {
	slices.SortFunc(events, func(a, b event) int { return a.start.Compare(b.start) })
	var runs []run
	for _, ev := range events {
		if n := len(runs); n > 0 && !ev.start.After(runs[n-1].end.Add(sessionGap)) {
			r := &runs[n-1]
			r.events = append(r.events, ev)
			if ev.finished.After(r.end) {
				r.end = ev.finished
			}
			continue
		}
		runs = append(runs, run{start: ev.start, end: ev.finished, events: []event{ev}})
	}
	return runs
}

type runChart struct {
	N        int
	Start    string
	Took     string
	PID      int
	Rows     int
	Writes   int
	Retries  int
	Final429 int
	Reads    int
	Peak     int
	Over     int // windows above the limit
	Chart    *chart
	TooLong  bool
}

type paceFacts struct {
	First, Last    string
	Took           string
	RowsPerMinute  string
	WritesPerSec   string
	P50, P95, Max  string
	RowsRetried    int
	Retries        int
	Final429       int
	Limit          int
	Rate           string
	HaveTimes      bool
	FromJournal    bool
	TotalRunsShown int
}

func (rep *report) pace(runs []run, durations []int64, limit int, rate float64) {
	rep.Pace.Limit = limit
	if rate > 0 {
		rep.Pace.Rate = strconv.FormatFloat(rate, 'f', -1, 64)
	}
	if len(durations) > 0 {
		slices.Sort(durations)
		q := func(p float64) string {
			i := int(math.Ceil(p*float64(len(durations)))) - 1
			return fmtDuration(time.Duration(durations[max(0, i)]) * time.Millisecond)
		}
		rep.Pace.P50, rep.Pace.P95, rep.Pace.Max = q(0.5), q(0.95), q(1)
	}
	var first, last time.Time
	writes := 0
	for _, r := range runs {
		if first.IsZero() || r.start.Before(first) {
			first = r.start
		}
		if r.end.After(last) {
			last = r.end
		}
		for _, ev := range r.events {
			if ev.outcome == Applied || ev.outcome == Failed {
				writes += ev.attempts
			}
			if ev.attempts > 1 {
				rep.Pace.RowsRetried++
				rep.Pace.Retries += ev.attempts - 1
			}
			if ev.status == 429 {
				rep.Pace.Final429++
			}
		}
	}
	if !first.IsZero() {
		rep.Pace.HaveTimes = true
		rep.Pace.First, rep.Pace.Last = fmtTime(first), fmtTime(last)
		var busy time.Duration
		settled := 0
		for _, r := range runs {
			busy += r.end.Sub(r.start)
			settled += len(r.events)
		}
		rep.Pace.Took = fmtDuration(busy)
		if len(runs) > 1 {
			rep.Pace.Took += fmt.Sprintf(" over %d runs (%s from the first request to the last row)", len(runs), fmtDuration(last.Sub(first)))
		}
		if busy > 0 {
			rep.Pace.RowsPerMinute = strconv.FormatFloat(float64(settled)/busy.Minutes(), 'f', 1, 64)
			rep.Pace.WritesPerSec = strconv.FormatFloat(float64(writes)/busy.Seconds(), 'f', 2, 64)
		}
	}
	skip := max(0, len(runs)-maxRunsDrawn)
	rep.RunsOmitted = skip
	for i, r := range runs[skip:] {
		rep.Runs = append(rep.Runs, drawRun(skip+i+1, r, limit, rate))
	}
}

// drawRun counts a run's requests per 20 s window and draws them.
//
// A row records when it finished, how long it took from its first request
// and how many requests it took, not when each went out: its requests are
// spread evenly from its start (finished_at − duration) to its finish.
// Applied and failed rows count as writes; unchanged rows were only read.
func drawRun(n int, r run, limit int, rate float64) runChart {
	rc := runChart{N: n, Start: fmtTime(r.start), Took: fmtDuration(r.end.Sub(r.start)), PID: r.pid, Rows: len(r.events)}
	nw := int(r.end.Sub(r.start)/window) + 1
	if nw > maxWindows {
		rc.TooLong = true
		return rc
	}
	wins := make([]windowCount, nw)
	for _, ev := range r.events {
		if ev.outcome == Unchanged {
			rc.Reads += ev.attempts
			continue
		}
		if ev.outcome != Applied && ev.outcome != Failed {
			continue
		}
		d := ev.finished.Sub(ev.start)
		for k := range ev.attempts {
			t := ev.start.Add(time.Duration(float64(d) * float64(k) / float64(ev.attempts)))
			i := min(nw-1, max(0, int(t.Sub(r.start)/window)))
			wins[i].writes++
			rc.Writes++
			if k > 0 {
				wins[i].retries++
				rc.Retries++
			}
		}
		if ev.status == 429 {
			i := min(nw-1, max(0, int(ev.finished.Sub(r.start)/window)))
			wins[i].final429++
			rc.Final429++
		}
	}
	for _, w := range wins {
		rc.Peak = max(rc.Peak, w.writes)
		if w.writes > limit {
			rc.Over++
		}
	}
	rc.Chart = newChart(wins, limit, rate)
	return rc
}

type windowCount struct{ writes, retries, final429 int }

// chart is a drawn bar chart of windows, in SVG coordinates.
type chart struct {
	W, H       float64
	PlotTop    float64
	PlotBottom float64
	Left       float64
	Bars       []chartBar
	Grid       []chartLine
	Ticks      []chartTick
	Limit      chartLine
	Paced      *chartLine
	Label      string
}

type chartBar struct {
	X, W             float64
	Y, H             float64 // first attempts
	RY, RH           float64 // retries, stacked on top
	Mark             bool    // rows that ended with 429 here
	MarkX, MarkY     float64
	Title            string
	Writes, Retries  int
	Final429, Window int
}

type chartLine struct {
	X1, Y1, X2, Y2 float64
	Label          string
}

type chartTick struct {
	X, Y  float64
	Label string
}

func newChart(wins []windowCount, limit int, rate float64) *chart {
	const (
		left, right, top, bottom = 44.0, 12.0, 14.0, 28.0
		height                   = 240.0
	)
	bw := max(2.0, min(36.0, 900/float64(len(wins))))
	c := &chart{Left: left, W: left + right + bw*float64(len(wins)), H: height, PlotTop: top, PlotBottom: height - bottom}
	c.W = max(c.W, 480)
	peak := float64(limit)
	paced := rate * window.Seconds()
	peak = max(peak, paced)
	for _, w := range wins {
		peak = max(peak, float64(w.writes))
	}
	step := niceStep(peak / 4)
	ymax := math.Ceil(peak*1.1/step) * step
	y := func(v float64) float64 { return c.PlotBottom - (c.PlotBottom-c.PlotTop)*v/ymax }
	for v := 0.0; v <= ymax+step/2; v += step {
		c.Grid = append(c.Grid, chartLine{X1: left, Y1: y(v), X2: c.W - right, Y2: y(v), Label: strconv.FormatFloat(v, 'f', -1, 64)})
	}
	every := max(1, int(math.Ceil(60/bw)))                         // a tick every 60 px or more
	for _, m := range []int{3, 6, 15, 30, 45, 90, 180, 360, 720} { // whole minutes: 3 windows a minute
		if m >= every {
			every = m
			break
		}
	}
	for i, w := range wins {
		x := left + bw*float64(i)
		first := float64(w.writes - w.retries)
		b := chartBar{X: x + 0.5, W: max(1, bw-1), Y: y(first), H: y(0) - y(first), Writes: w.writes, Retries: w.retries, Final429: w.final429, Window: i}
		b.RY, b.RH = y(float64(w.writes)), y(first)-y(float64(w.writes))
		if w.final429 > 0 {
			b.Mark, b.MarkX, b.MarkY = true, x+bw/2, y(float64(w.writes))-4
		}
		b.Title = fmt.Sprintf("+%s to +%s: %d writes (%d retries)", fmtOffset(time.Duration(i)*window), fmtOffset(time.Duration(i+1)*window), w.writes, w.retries)
		if w.final429 > 0 {
			b.Title += fmt.Sprintf(", %d rows ended with 429", w.final429)
		}
		c.Bars = append(c.Bars, b)
		if i%every == 0 {
			c.Ticks = append(c.Ticks, chartTick{X: x, Y: height - 8, Label: "+" + fmtOffset(time.Duration(i)*window)})
		}
	}
	c.Limit = chartLine{X1: left, Y1: y(float64(limit)), X2: c.W - right, Y2: y(float64(limit)), Label: fmt.Sprintf("limit %d / 20 s", limit)}
	if paced > 0 && paced != float64(limit) {
		c.Paced = &chartLine{X1: left, Y1: y(paced), X2: c.W - right, Y2: y(paced), Label: fmt.Sprintf("--rate %s/s", strconv.FormatFloat(rate, 'f', -1, 64))}
	}
	c.Label = fmt.Sprintf("Writes per 20 s window, %d windows", len(wins))
	return c
}

// niceStep rounds v up to 1, 2 or 5 times a power of ten.
func niceStep(v float64) float64 {
	if v <= 0 {
		return 1
	}
	p := math.Pow(10, math.Floor(math.Log10(v)))
	for _, m := range []float64{1, 2, 5, 10} {
		if m*p >= v {
			return max(1, m*p)
		}
	}
	return max(1, 10*p)
}

func fmtTime(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05Z") }

// fmtDuration shows d to the second (to the millisecond below a second).
func fmtDuration(d time.Duration) string {
	if d < time.Second {
		return d.Round(time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

// fmtOffset shows an offset into a run as 1h4m20s, leaving out zero
// parts.
func fmtOffset(d time.Duration) string {
	d = d.Round(time.Second)
	h, m, sec := int(d/time.Hour), int(d/time.Minute)%60, int(d/time.Second)%60
	var b strings.Builder
	if h > 0 {
		fmt.Fprintf(&b, "%dh", h)
	}
	if m > 0 {
		fmt.Fprintf(&b, "%dm", m)
	}
	if sec > 0 || b.Len() == 0 {
		fmt.Fprintf(&b, "%ds", sec)
	}
	return b.String()
}
