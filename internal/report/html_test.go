package report

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"golang.org/x/net/html"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
	"github.com/google/go-cmp/cmp"
)

// resultsBytes writes rows as a results file with Writer and returns it.
func resultsBytes(t testing.TB, cols Columns, dialect csvio.WriterOptions, rows []Row) []byte {
	t.Helper()
	path := filepath.Join(t.TempDir(), "in.results.csv")
	w, err := Create(path, cols, dialect)
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, r := range rows {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// Hostile text: what a server's error message, a user's spreadsheet or a
// file name could hold to attack the page or mislead its reader.
const (
	scriptTag  = `<script>document.documentElement.setAttribute("data-pwned","1");window.pwned=1;alert(1)</script>`
	imgTag     = `"><img src=x onerror="document.title='pwned'">`
	svgTag     = `<svg onload=alert(1)><a href="javascript:alert(1)">x</a></svg>`
	rtl        = "invoice\u202Efdp.exe"
	styleBreak = `</style><style>body{display:none}</style>`
)

var hostileCols = Columns{
	Keys:     resource.MobileAppInstallStatus.KeyNames(),
	Props:    []string{"deviceName", "installState", "userPrincipalName"},
	Comments: []string{"# note <b>" + scriptTag},
}

// hostileReportRows are results rows whose every text cell attacks the
// page, in every place the page shows text: keys, codes, messages,
// request ids, property values (applied and unchanged), comments.
func hostileReportRows() []Row {
	t0 := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	rows := []Row{
		{Line: 2, Key: resource.Key{"app-1", "", rtl}, Outcome: Applied, HTTPStatus: 204, Attempts: 1,
			RequestID: imgTag, Duration: 300 * time.Millisecond, FinishedAt: t0.Add(time.Second),
			Props: []string{scriptTag, "installed", rtl}, Comments: []string{svgTag}},
		{Line: 3, Key: resource.Key{"app-1", "", "s-3"}, Outcome: Unchanged, HTTPStatus: 200, Attempts: 1,
			Duration: 80 * time.Millisecond, FinishedAt: t0.Add(2 * time.Second),
			Props: []string{`=HYPERLINK("http://evil.example","x")`, "\x1b]8;;http://evil\x1b\\failed", "<null>"}},
		{Line: 4, Key: resource.Key{"app-1", "", "s-4"}, Outcome: Failed, HTTPStatus: 400, ErrorCode: imgTag,
			ErrorMessage: scriptTag + " " + rtl + " " + styleBreak, Attempts: 3, RequestID: svgTag, ClientRequestID: "c",
			Duration: 5 * time.Second, FinishedAt: t0.Add(9 * time.Second), Props: []string{"x", "", ""}},
		{Line: 5, Key: resource.Key{"app-1", "", "s-5"}, Outcome: Failed, HTTPStatus: 429, ErrorCode: "TooManyRequests",
			ErrorMessage: "-1+cmd|' /C calc'!A0", Attempts: 11, RequestID: "=1+1",
			Duration: 90 * time.Second, FinishedAt: t0.Add(95 * time.Second), Props: []string{"", "", ""}},
		{Line: 6, Key: resource.Key{"app-1", "", "s-6"}, Outcome: Invalid, ErrorMessage: `line 6, column installState: "` + scriptTag + `"`,
			Props: []string{"", scriptTag, ""}},
		{Line: 7, Key: resource.Key{"app-1", "", "s-7"}, Outcome: NotAttempted, Props: []string{"y", "", ""}, Comments: []string{rtl}},
	}
	return rows
}

// allowedElements are the elements the page is made of: anything else in
// it came from data that was not escaped.
var allowedElements = map[string]bool{
	"html": true, "head": true, "meta": true, "title": true, "style": true, "body": true, "header": true,
	"h1": true, "h2": true, "h3": true, "p": true, "dl": true, "dt": true, "dd": true, "div": true,
	"section": true, "table": true, "tbody": true, "tr": true, "th": true, "td": true, "span": true, "pre": true,
	"code": true, "footer": true, "svg": true, "g": true, "rect": true, "line": true, "path": true, "text": true,
}

// checkPageSafe fails unless page is made only of allowedElements, with no
// event handler, link or source attribute, no script, and no raw control
// or bidirectional-override character.
func checkPageSafe(t *testing.T, page []byte) {
	t.Helper()
	if !utf8.Valid(page) {
		t.Error("page is not valid UTF-8")
	}
	for _, bad := range []string{"<script", "<img", "<iframe", "<object", "<embed", "<a ", "<link", "<style><style"} {
		if bytes.Contains(bytes.ToLower(page), []byte(bad)) {
			t.Errorf("page contains %q", bad)
		}
	}
	for i, r := range string(page) {
		if r == '\n' || r == '\t' {
			continue
		}
		if hidden(r) {
			t.Errorf("page holds U+%04X raw at byte %d", r, i)
			break
		}
	}
	styles := 0
	z := html.NewTokenizer(bytes.NewReader(page))
	for {
		tt := z.Next()
		if tt == html.ErrorToken {
			if z.Err() != io.EOF {
				t.Fatalf("page does not tokenize: %v", z.Err())
			}
			break
		}
		if tt != html.StartTagToken && tt != html.SelfClosingTagToken {
			continue
		}
		tok := z.Token()
		if !allowedElements[tok.Data] {
			t.Errorf("element <%s> in the page", tok.Data)
		}
		if tok.Data == "style" {
			styles++
		}
		for _, a := range tok.Attr {
			k := strings.ToLower(a.Key)
			if strings.HasPrefix(k, "on") || k == "href" || k == "src" || k == "xlink:href" || k == "action" || k == "formaction" {
				t.Errorf("<%s %s=%q> in the page", tok.Data, a.Key, a.Val)
			}
		}
	}
	if styles != 1 {
		t.Errorf("%d <style> elements, want the page's one", styles)
	}
}

// TestHTMLEscapesEveryCell renders a results file of hostile cells with
// its journal and checks that the page runs nothing from them and shows
// each as text.
func TestHTMLEscapesEveryCell(t *testing.T) {
	rows := hostileReportRows()
	results := resultsBytes(t, hostileCols, csvio.WriterOptions{Comma: ';', BOM: true, UseCRLF: true}, rows)
	journal := journalBytes(t, rows)
	sum := RunSummary{Format: 1, Results: rtl, ExitCode: 1, Throttled: 4}
	var page bytes.Buffer
	err := WriteHTML(&page, bytes.NewReader(results), bytes.NewReader(journal), HTMLOptions{
		ResultsPath: "dir/" + rtl + "<b>.csv", InputPath: "in " + scriptTag + ".csv", RetryPath: "x'" + rtl + ".csv",
		Resource: imgTag, Summary: &sum, Title: scriptTag,
	})
	if err != nil {
		t.Fatal(err)
	}
	b := page.Bytes()
	checkPageSafe(t, b)

	// Each attack is on the page as text: the parsed page's text holds it
	// whole (and checkPageSafe found no element or attribute made of it).
	text := pageText(t, b)
	for _, want := range []string{
		scriptTag,                  // error message, title, property value, invalid row
		imgTag,                     // error code, request id, resource in the commands
		svgTag,                     // request id
		"invoice⟨U+202E⟩fdp.exe",   // key, property value, paths, comments
		styleBreak,                 // error message
		`'=HYPERLINK("http://evil`, // neutralised like the results file
		"'-1+cmd|' /C calc'!A0",    // message
		"'=1+1",                    // request id
		"⟨U+001B⟩]8;;http://evil⟨U+001B⟩\\failed", // an OSC 8 link in a value: shown, not an escape
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if bytes.Contains(b, []byte("\x1b")) {
		t.Error("page holds an ESC byte")
	}
	if t.Failed() {
		os.WriteFile(filepath.Join(t.TempDir(), "page.html"), b, 0o600)
		t.Logf("page:\n%s", b)
	}
}

// journalBytes is the journal apply would have written for rows, in the
// journal package's format (one run).
func journalBytes(t testing.TB, rows []Row) []byte {
	t.Helper()
	var b bytes.Buffer
	enc := json.NewEncoder(&b)
	enc.SetEscapeHTML(false)
	start := time.Date(2026, 11, 30, 4, 59, 30, 0, time.UTC)
	enc.Encode(map[string]any{"header": map[string]any{"format": 2, "input_sha256": "ab", "started_at": start, "pid": 4242}})
	for _, r := range rows {
		if r.Outcome == Invalid || r.Outcome == NotAttempted {
			continue
		}
		enc.Encode(map[string]any{"row": map[string]any{"line": r.Line, "key": r.Key, "id": "0011223344556677",
			"outcome": r.Outcome, "http_status": r.HTTPStatus, "error_code": r.ErrorCode, "error_message": r.ErrorMessage,
			"attempts": r.Attempts, "request_id": r.RequestID, "duration_ns": int64(r.Duration), "finished_at": r.FinishedAt}})
	}
	b.WriteString(`{"row":{"line":9,"outc`) // torn by a kill
	return b.Bytes()
}

// TestDisplay pins how text is made safe to show.
func TestDisplay(t *testing.T) {
	for in, want := range map[string]string{
		"plain Zoë 日本":          "plain Zoë 日本",
		"a\u202Eb":              "a⟨U+202E⟩b",
		"\u2066x\u2069":         "⟨U+2066⟩x⟨U+2069⟩",
		"tab\there\x00\x1b[31m": "tab⟨U+0009⟩here⟨U+0000⟩⟨U+001B⟩[31m",
		"\u0085\u009b":          "⟨U+0085⟩⟨U+009B⟩",
		"zero\u200bwidth\ufeff": "zero⟨U+200B⟩width⟨U+FEFF⟩",
		"=SUM(A1)":              "'=SUM(A1)",
		"-1":                    "-1",
		"bad \ufffd byte":       "bad ⟨U+FFFD⟩ byte",
		"soft\u00adhyphen":      "soft\u00adhyphen",
		"<b>":                   "<b>", // html/template's to escape
	} {
		if got := display(in); got != want {
			t.Errorf("display(%q) = %q, want %q", in, got, want)
		}
	}
}

// timelineRows are a run of 60 rows, one finishing every second from t0,
// each 500 ms long; row 10 took 3 attempts over 30 s, row 20 ended with
// 429 after 11; 5 rows were unchanged (reads).
func timelineRows() []Row {
	t0 := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
	var rows []Row
	for i := range 60 {
		r := Row{Line: i + 2, Key: resource.Key{"a", "", fmt.Sprintf("s%d", i)}, Outcome: Applied, HTTPStatus: 204, Attempts: 1,
			Duration: 500 * time.Millisecond, FinishedAt: t0.Add(time.Duration(i+1) * time.Second), Props: []string{"PC", "installed", ""}}
		switch {
		case i == 10:
			r.Attempts, r.Duration = 3, 30*time.Second
		case i == 20:
			r.Outcome, r.HTTPStatus, r.ErrorCode, r.ErrorMessage, r.Attempts, r.Duration = Failed, 429, "TooManyRequests", "Too many requests", 11, 20*time.Second
		case i >= 55:
			r.Outcome, r.HTTPStatus, r.Props = Unchanged, 200, []string{"PC", "failed", ""}
		}
		rows = append(rows, r)
	}
	return rows
}

// TestWindows checks the counting per 20 s window against the rows above:
// attempts spread evenly over each row's time, counted from the run's
// start.
func TestWindows(t *testing.T) {
	var events []event
	for _, r := range timelineRows() {
		ev, ok := eventOf(resultRow{line: r.Line, outcome: r.Outcome, status: r.HTTPStatus, attempts: r.Attempts, duration: r.Duration, finished: r.FinishedAt})
		if !ok {
			t.Fatalf("row %d has no event", r.Line)
		}
		events = append(events, ev)
	}
	runs := sessions(events)
	if len(runs) != 1 {
		t.Fatalf("%d runs, want 1", len(runs))
	}
	rc := drawRun(1, runs[0], 100, 5)
	// Row i finishes at +i+1 s; most take 500 ms, so start at +i+0.5 s.
	// The run starts at the earliest start, row 10's: it finished at +11 s
	// after 30 s, so it started at -19 s, and windows are [-19, +1),
	// [+1, +21), [+21, +41), [+41, +61). Its 3 attempts went out at -19,
	// -9 and +1 s. Row 20 took 11 attempts over [+1, +21) and ended with
	// 429 at +21 s.
	if rc.Writes != 55*1+2+10 || rc.Retries != 2+10 || rc.Final429 != 1 || rc.Reads != 5 {
		t.Errorf("writes %d retries %d final 429 %d reads %d, want 67, 12, 1, 5", rc.Writes, rc.Retries, rc.Final429, rc.Reads)
	}
	var got []string
	for _, b := range rc.Chart.Bars {
		got = append(got, fmt.Sprintf("%d/%d/%d", b.Writes, b.Retries, b.Final429))
	}
	// window 0: row 0 (+0.5 s) and row 10's first two attempts;
	// window 1: rows 1..19 but 10 (18), row 10's third attempt, row 20's 11;
	// window 2: rows 21..40 (20), and row 20's 429 at +21 s;
	// window 3: rows 41..54 (14).
	want := []string{"3/1/0", "30/11/0", "20/0/1", "14/0/0"}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("windows writes/retries/429 (-want +got):\n%s", diff)
	}
	if rc.Peak != 30 || rc.Over != 0 || rc.Rows != 60 {
		t.Errorf("peak %d over %d, want 30, 0", rc.Peak, rc.Over)
	}
}

// TestHTMLReportShows renders a realistic run and checks what the page
// says about it: counts, groups, runs from the journal, values, commands.
func TestHTMLReportShows(t *testing.T) {
	rows := timelineRows()
	rows = append(rows,
		Row{Line: 70, Key: resource.Key{"a", "", "x1"}, Outcome: Failed, HTTPStatus: 404, ErrorCode: "ResourceNotFound", ErrorMessage: "Not found", Attempts: 1, RequestID: "req-404-a", FinishedAt: rows[0].FinishedAt, Props: []string{"", "", ""}},
		Row{Line: 71, Key: resource.Key{"a", "", "x2"}, Outcome: Failed, HTTPStatus: 404, ErrorCode: "ResourceNotFound", ErrorMessage: "Not found", Attempts: 1, RequestID: "req-404-b", FinishedAt: rows[0].FinishedAt, Props: []string{"", "", ""}},
		Row{Line: 72, Key: resource.Key{"a", "", "x3"}, Outcome: NotAttempted, Props: []string{"", "", ""}},
	)
	cols := Columns{Keys: resource.MobileAppInstallStatus.KeyNames(), Props: []string{"deviceName", "installState", "userName"}}
	results := resultsBytes(t, cols, csvio.WriterOptions{}, rows)
	var page bytes.Buffer
	err := WriteHTML(&page, bytes.NewReader(results), bytes.NewReader(journalBytes(t, rows)), HTMLOptions{
		ResultsPath: "in.results.csv", InputPath: "in.csv", RetryPath: "in.results.retry.csv", Rate: 5,
	})
	if err != nil {
		t.Fatal(err)
	}
	text := pageText(t, page.Bytes())
	for _, want := range []string{
		"applied 54 ", "unchanged 5 ", "failed 3 ", "not_attempted 1 ", "total 63",
		"Run 1: started 2026-11-30 04:59:30Z, took 1m30s (process 4242)", "62 rows settled, 69 writes (12 retries), 5 reads",
		"3 failed rows, in 2 groups",
		"2 404 ResourceNotFound Not found 70, 71 req-404-a req-404-b",
		"1 429 TooManyRequests Too many requests 22",
		"1 row was not attempted",
		"installed 54 0", "failed 0 5", // values: set / already so
		"bulkpatch validate in.results.retry.csv", "bulkpatch apply in.results.retry.csv",
		"bulkpatch apply in.csv --results in.results.csv --resume",
		"are left out: 1.",
		"old → new transitions need the old values",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q", want)
		}
	}
	if t.Failed() {
		t.Logf("page text:\n%s", text)
	}
	checkPageSafe(t, page.Bytes())
}

// pageText is the page's text, cells and words separated by single
// spaces.
func pageText(t *testing.T, page []byte) string {
	t.Helper()
	doc, err := html.Parse(bytes.NewReader(page))
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	var walk func(*html.Node)
	walk = func(n *html.Node) {
		if n.Type == html.ElementNode && (n.Data == "style" || n.Data == "head" || n.Data == "svg") {
			return
		}
		if n.Type == html.TextNode {
			b.WriteString(n.Data)
			b.WriteByte(' ')
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			walk(c)
		}
	}
	walk(doc)
	return strings.Join(strings.Fields(strings.ReplaceAll(b.String(), "\u202f", "")), " ")
}

// TestHTMLTransitionsFromPlan: with the saved reconciled plan the run
// applied, the page shows old → new for the applied rows only.
func TestHTMLTransitionsFromPlan(t *testing.T) {
	rows := timelineRows()
	cols := Columns{Keys: resource.MobileAppInstallStatus.KeyNames(), Props: []string{"deviceName", "installState", "userName"}}
	results := resultsBytes(t, cols, csvio.WriterOptions{}, rows)
	var pb bytes.Buffer
	fw, err := plan.NewFileWriter(&pb, plan.Header{Tool: "test", Reconcile: true, Columns: []string{"installState"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		old := []byte(`"failed"`)
		if r.Line%2 == 0 {
			old, _ = json.Marshal(scriptTag)
		}
		e := plan.Entry{Line: r.Line, Key: r.Key, Action: plan.ActionUpdate, Body: []byte(`{"installState":"installed"}`),
			Changes: []plan.Change{{Property: "installState", Old: old, New: []byte(`"installed"`)}}}
		if err := fw.Write(e); err != nil {
			t.Fatal(err)
		}
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := WriteHTML(&page, bytes.NewReader(results), nil, HTMLOptions{Plan: &pb}); err != nil {
		t.Fatal(err)
	}
	checkPageSafe(t, page.Bytes())
	text := pageText(t, page.Bytes())
	// 60 rows: 54 applied (not row 20, failed, nor the 5 unchanged);
	// lines 2..56 applied but 22: even lines 2..56 without 22 are 27,
	// odd 3..55 are 27.
	for _, want := range []string{"failed → installed 27", scriptTag + " → installed 27", "From the saved plan"} {
		if !strings.Contains(text, want) {
			t.Errorf("page text lacks %q\n%s", want, text)
		}
	}
}

func TestHTMLNotResults(t *testing.T) {
	for _, in := range []string{"", "a,b\n1,2\n", "line,outcome\n2,applied\n"} {
		if err := WriteHTML(io.Discard, strings.NewReader(in), nil, HTMLOptions{}); err == nil {
			t.Errorf("%q: no error", in)
		}
	}
}

// TestWriteRetry: the retry file holds the failed and not attempted rows,
// in the input's dialect, and reads as an input of the resource.
func TestWriteRetry(t *testing.T) {
	rows := hostileReportRows()
	for _, dialect := range []csvio.WriterOptions{
		{Comma: ';', BOM: true, UseCRLF: true},
		{Comma: '\t', Encoding: csvio.UTF16LE, BOM: true, UseCRLF: true},
		{Encoding: csvio.Windows1252, SepLine: true, Comma: ';'},
	} {
		results := resultsBytes(t, hostileCols, dialect, rows)
		var b bytes.Buffer
		enc := csvio.AutoEncoding
		if dialect.Encoding == csvio.Windows1252 {
			enc = csvio.Windows1252
		}
		n, err := WriteRetry(&b, bytes.NewReader(results), enc)
		if err != nil || n != 3 {
			t.Fatalf("%+v: WriteRetry = %d, %v; want 3 rows", dialect, n, err)
		}
		res := resource.MobileAppInstallStatus
		r, err := csvio.NewReader(bytes.NewReader(b.Bytes()), csvio.ReaderOptions{Columns: plan.Columns(res), Encoding: enc})
		if err != nil {
			t.Fatalf("%+v: the retry file is not an input: %v\n%q", dialect, err, b.Bytes())
		}
		if got, want := r.Dialect().WriterOptions(), (csvio.Dialect{Comma: dialect.Comma, Encoding: cmpOr(dialect.Encoding, csvio.UTF8),
			BOM: dialect.BOM && dialect.Encoding != csvio.Windows1252, CRLF: dialect.UseCRLF, SepLine: dialect.SepLine}).WriterOptions(); got != want {
			t.Errorf("retry dialect %+v, want the results' %+v", got, want)
		}
		if diff := cmp.Diff(append(append([]string(nil), hostileCols.Comments...), RetryLineColumn), r.Comments()); diff != "" {
			t.Errorf("comment columns (-want +got):\n%s", diff)
		}
		var got []string
		for {
			var rec csvio.Record
			err := r.Read(&rec)
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Fatal(err)
			}
			got = append(got, fmt.Sprintf("%s|%s|%s", rec.Cells[2], rec.Cells[3], rec.Comments[len(rec.Comments)-1]))
		}
		want := []string{"s-4|x|4", "s-5||5", "s-7|y|7"}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%+v: retry rows (-want +got):\n%s", dialect, diff)
		}
	}
}

func cmpOr(e, def csvio.Encoding) csvio.Encoding {
	if e == "" {
		return def
	}
	return e
}

// TestWriteReport writes the files beside a results file: the retry file
// only when there is something to retry, summary.json read when present,
// mode 0600, and never over the results or the input.
func TestWriteReport(t *testing.T) {
	dir := t.TempDir()
	results := filepath.Join(dir, "in.results.csv")
	if err := os.WriteFile(results, resultsBytes(t, hostileCols, csvio.WriterOptions{}, hostileReportRows()), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(JournalPath(results), journalBytes(t, hostileReportRows()), 0o600); err != nil {
		t.Fatal(err)
	}
	sum := goldenSummary().RunSummary(RunInfo{Results: results, ExitCode: 1})
	if err := WriteSummaryJSON(SummaryPath(results), sum); err != nil {
		t.Fatal(err)
	}
	files, err := WriteReport(results, "", HTMLOptions{InputPath: filepath.Join(dir, "in.csv")})
	if err != nil {
		t.Fatal(err)
	}
	if files.HTML != HTMLPath(results) || files.Retry != RetryPath(results) || files.RetryRows != 3 {
		t.Errorf("WriteReport = %+v", files)
	}
	for _, p := range []string{files.HTML, files.Retry} {
		fi, err := os.Stat(p)
		if err != nil || fi.Mode().Perm() != 0o600 {
			t.Errorf("%s: %v, mode %v; want 0600", p, err, fi.Mode().Perm())
		}
	}
	page, _ := os.ReadFile(files.HTML)
	checkPageSafe(t, page)
	text := pageText(t, page)
	for _, want := range []string{"summary.json", "249 writes, 12 reads, 7 answered 429", "bulkpatch apply " + RetryPath(results)} {
		if !strings.Contains(text, want) {
			t.Errorf("page lacks %q", want)
		}
	}

	for _, bad := range []string{results, JournalPath(results), filepath.Join(dir, "in.csv")} {
		if bad == filepath.Join(dir, "in.csv") {
			os.WriteFile(bad, []byte("input"), 0o600)
		}
		_, err := WriteReport(results, bad, HTMLOptions{InputPath: filepath.Join(dir, "in.csv")})
		var te *safefile.TargetError
		if !errors.As(err, &te) {
			t.Errorf("report onto %s: %v, want a *safefile.TargetError", bad, err)
		}
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "in.csv")); string(b) != "input" {
		t.Error("the input was overwritten")
	}

	// Nothing to retry: no retry file.
	clean := filepath.Join(t.TempDir(), "ok.results.csv")
	os.WriteFile(clean, resultsBytes(t, hostileCols, csvio.WriterOptions{}, hostileReportRows()[:2]), 0o600)
	files, err = WriteReport(clean, "", HTMLOptions{})
	if err != nil || files.Retry != "" {
		t.Errorf("WriteReport with nothing to retry = %+v, %v", files, err)
	}
	if _, err := os.Stat(RetryPath(clean)); err == nil {
		t.Error("a retry file was written with nothing in it")
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{
		"in.results.csv":     "in.results.csv",
		"/a/b-c_d/e@f:1,2+3": "/a/b-c_d/e@f:1,2+3",
		"my file.csv":        "'my file.csv'",
		"it's.csv":           `'it'\''s.csv'`,
		"$(rm -rf ~).csv":    "'$(rm -rf ~).csv'",
		"":                   "''",
	} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}
func TestPathsBesideResults(t *testing.T) {
	for in, want := range map[string][3]string{
		"in.results.csv":     {"in.results.summary.json", "in.results.retry.csv", "in.results.report.html"},
		"/a/b/RESULTS.CSV":   {"/a/b/RESULTS.summary.json", "/a/b/RESULTS.retry.csv", "/a/b/RESULTS.report.html"},
		"out":                {"out.summary.json", "out.retry.csv", "out.report.html"},
		"dir/.csv":           {"dir/.csv.summary.json", "dir/.csv.retry.csv", "dir/.csv.report.html"},
		"unicode text.txt":   {"unicode text.summary.json", "unicode text.retry.csv", "unicode text.report.html"},
		"x.results.tsv":      {"x.results.summary.json", "x.results.retry.csv", "x.results.report.html"},
		"archive.csv.backup": {"archive.csv.backup.summary.json", "archive.csv.backup.retry.csv", "archive.csv.backup.report.html"},
	} {
		got := [3]string{SummaryPath(in), RetryPath(in), HTMLPath(in)}
		if got != want {
			t.Errorf("paths beside %q = %q, want %q", in, got, want)
		}
	}
}

// FuzzHTML renders a results file whose text cells come from the fuzzer
// (split on \x1f), with fuzzed journal bytes, and checks the page is safe:
// only the page's own elements and attributes, no raw hidden characters.
func FuzzHTML(f *testing.F) {
	f.Add(scriptTag+"\x1f"+imgTag+"\x1f"+rtl+"\x1f=1+1\x1f\x1b[31m", []byte(`{"header":{"format":2}}`+"\n"+`{"row":{"line":2,"outcome":"applied","attempts":3,"duration_ns":5000000000,"finished_at":"2026-11-30T05:00:00Z"}}`))
	f.Add("</style><script>\x1f</title><img>\x1f\u2066\u2069\u200f\x1f\x00\x7f\u0085", []byte("garbage\n{\"row\":{}}\n"))
	f.Add("", []byte(nil))
	f.Fuzz(func(t *testing.T, s string, journal []byte) {
		cells := strings.Split(strings.ToValidUTF8(s, "\ufffd"), "\x1f")
		cell := func(i int) string { return cells[i%len(cells)] }
		t0 := time.Date(2026, 11, 30, 5, 0, 0, 0, time.UTC)
		var rows []Row
		for i, o := range []Outcome{Applied, Unchanged, Failed, Failed, Invalid, NotAttempted} {
			rows = append(rows, Row{Line: i + 2, Key: resource.Key{cell(i), cell(i + 1), cell(i + 2)}, Outcome: o,
				HTTPStatus: 400 + i, ErrorCode: cell(i + 3), ErrorMessage: cell(i + 4), Attempts: 1 + i%3,
				RequestID: cell(i + 5), Duration: time.Duration(i) * time.Second, FinishedAt: t0.Add(time.Duration(i) * time.Second),
				Props: []string{cell(i + 6), cell(i + 7), cell(i + 8)}, Comments: []string{cell(i + 9)}})
		}
		results := resultsBytes(t, hostileCols, csvio.WriterOptions{}, rows)
		var jr io.Reader
		if journal != nil {
			jr = bytes.NewReader(journal)
		}
		var page bytes.Buffer
		if err := WriteHTML(&page, bytes.NewReader(results), jr, HTMLOptions{Title: cell(0), ResultsPath: cell(1), InputPath: cell(2), RetryPath: cell(3), Resource: cell(4)}); err != nil {
			t.Fatal(err)
		}
		checkPageSafe(t, page.Bytes())
	})
}

// utf16le encodes s as UTF-16LE without a BOM, by hand: the test must not
// share the encoder it checks.
func utf16le(s string) string {
	var b strings.Builder
	for _, r := range s {
		if r >= 0x10000 {
			r -= 0x10000
			hi, lo := 0xD800+(r>>10), 0xDC00+(r&0x3FF)
			b.WriteString(string([]byte{byte(hi), byte(hi >> 8), byte(lo), byte(lo >> 8)}))
			continue
		}
		b.WriteString(string([]byte{byte(r), byte(r >> 8)}))
	}
	return b.String()
}
