package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

const (
	hashA = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
	hashB = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
)

func journalPath(t testing.TB) string {
	return filepath.Join(t.TempDir(), "out.results.csv.journal")
}

func sampleRow(line int, o report.Outcome) report.Row {
	return report.Row{
		Line:            line,
		Key:             resource.Key{"app-1", "user-1", fmt.Sprintf("status-%d", line)},
		Outcome:         o,
		HTTPStatus:      204,
		Attempts:        2,
		RequestID:       "req-" + fmt.Sprint(line),
		ClientRequestID: "client-" + fmt.Sprint(line),
		Duration:        1234567 * time.Microsecond,
		FinishedAt:      time.Date(2026, 11, 30, 4, 52, 10, 123456789, time.UTC),
	}
}

// idOf is the RowID the tests record a row under: its key and a body.
func idOf(r report.Row) uint64 { return RowID(r.Key, []byte(`{"deviceName":"PC-ÄÖ-01"}`)) }

// write creates a journal at path with one run over hashA holding rows.
func write(t *testing.T, path string, rows ...report.Row) {
	t.Helper()
	j, _, err := Open(path, hashA, Fresh)
	if err != nil {
		t.Fatal(err)
	}
	record(t, j, rows...)
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func record(t *testing.T, j *Journal, rows ...report.Row) {
	t.Helper()
	for _, r := range rows {
		if err := j.Record(r, idOf(r)); err != nil {
			t.Fatal(err)
		}
	}
}

// reopen continues the journal at path and returns it open; the test
// closes it.
func reopen(t *testing.T, path string) (*Journal, Opened) {
	t.Helper()
	j, o, err := Open(path, hashA, Resume)
	if err != nil {
		t.Fatalf("Open(Resume) = %v", err)
	}
	t.Cleanup(func() { j.Close() })
	return j, o
}

// records returns the journal's lines, failing on any line that is not a
// whole JSON object.
func records(t *testing.T, path string) []string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 0 && b[len(b)-1] != '\n' {
		t.Errorf("journal does not end with a newline: %q", b)
	}
	var lines []string
	sc := bufio.NewScanner(bytes.NewReader(b))
	for sc.Scan() {
		if !json.Valid(sc.Bytes()) {
			t.Errorf("journal line %d is not JSON: %q", len(lines)+1, sc.Text())
		}
		lines = append(lines, sc.Text())
	}
	return lines
}

func TestRoundTrip(t *testing.T) {
	path := journalPath(t)
	rows := []report.Row{
		sampleRow(2, report.Applied),
		sampleRow(3, report.Failed),
		{Line: 4, Outcome: report.Unchanged},
		{Line: 5, Outcome: report.Failed, ErrorCode: "Forbidden", ErrorMessage: "line one\nline \"two\" <b>&</b>", HTTPStatus: 403},
	}
	before := time.Now()
	write(t, path, rows...)
	j, o := reopen(t, path)
	if !o.Resumed || o.Done != 2 {
		t.Errorf("Opened = %+v, want resumed with 2 rows done", o)
	}
	for _, want := range rows {
		got, ok, err := j.Row(want.Line, idOf(want))
		if err != nil || !ok {
			t.Errorf("Row(%d) = %v, %v", want.Line, ok, err)
			continue
		}
		if diff := cmp.Diff(want, got.Row); diff != "" {
			t.Errorf("Row(%d) (-want +got):\n%s", want.Line, diff)
		}
		if !got.Earlier {
			t.Errorf("Row(%d) is not marked as an earlier run's", want.Line)
		}
	}
	if _, ok, err := j.Row(99, 0); ok || err != nil {
		t.Errorf("Row(99) = %v, %v; want none", ok, err)
	}
	runs := j.Runs()
	if len(runs) != 1 {
		t.Fatalf("Runs() = %v, want one", runs)
	}
	h := runs[0]
	if h.Format != Format || h.InputSHA256 != hashA || h.PID != os.Getpid() || h.StartedAt.Before(before.Add(-time.Second)) {
		t.Errorf("run header = %+v, want format %d, hash %s, pid %d, started after %v", h, Format, hashA, os.Getpid(), before)
	}
	// This run's records are not earlier ones.
	r := sampleRow(6, report.Applied)
	record(t, j, r)
	if got, ok, _ := j.Row(6, idOf(r)); !ok || got.Earlier {
		t.Errorf("Row(6) after Record = %+v, %v; want this run's", got, ok)
	}
}

func TestDone(t *testing.T) {
	withID := func(o report.Outcome, id string) report.Row {
		r := sampleRow(7, o)
		r.RequestID = id
		return r
	}
	tests := []struct {
		name   string
		runs   [][]report.Row // one journal run each
		wantOK bool
		wantID string // RequestID of the latest record
	}{
		{"applied", [][]report.Row{{withID(report.Applied, "a")}}, true, "a"},
		{"unchanged", [][]report.Row{{withID(report.Unchanged, "u")}}, true, "u"},
		{"failed", [][]report.Row{{withID(report.Failed, "f")}}, false, "f"},
		{"invalid", [][]report.Row{{withID(report.Invalid, "i")}}, false, "i"},
		{"not attempted", [][]report.Row{{withID(report.NotAttempted, "n")}}, false, "n"},
		{"never recorded", [][]report.Row{{}}, false, ""},
		{"failed then applied", [][]report.Row{{withID(report.Failed, "f"), withID(report.Applied, "a")}}, true, "a"},
		{"failed, applied by a later run", [][]report.Row{{withID(report.Failed, "f")}, {withID(report.Applied, "a")}}, true, "a"},
		{"applied then failed: latest wins", [][]report.Row{{withID(report.Applied, "a"), withID(report.Failed, "f")}}, false, "f"},
		{"skipped keeps the earlier success", [][]report.Row{{withID(report.Applied, "a")}, {withID(report.Skipped, "s")}}, true, "a"},
		{"skipped twice keeps it", [][]report.Row{{withID(report.Unchanged, "u")}, {withID(report.Skipped, "s")}, {withID(report.Skipped, "s2")}}, true, "u"},
		{"skipped alone still done", [][]report.Row{{withID(report.Skipped, "s")}}, true, "s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := journalPath(t)
			write(t, path, sampleRow(2, report.Applied))
			for _, run := range tt.runs {
				j, _, err := Open(path, hashA, Resume)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range run {
					if r.Line != 0 {
						record(t, j, r)
					}
				}
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
			}
			j, _ := reopen(t, path)
			r := sampleRow(7, report.Applied)
			ok, err := j.Done(7, idOf(r))
			if err != nil || ok != tt.wantOK {
				t.Errorf("Done(7) = %v, %v; want %v", ok, err, tt.wantOK)
			}
			got, _, _ := j.Row(7, idOf(r))
			if got.Row.RequestID != tt.wantID {
				t.Errorf("Row(7) has request %q, want %q", got.Row.RequestID, tt.wantID)
			}
		})
	}
}

// TestRowIdentity: a record is only taken for the row it was written
// for. Another key or another body at the same line is refused.
func TestRowIdentity(t *testing.T) {
	path := journalPath(t)
	r := sampleRow(2, report.Applied)
	write(t, path, r)
	j, _ := reopen(t, path)
	other := r.Key
	other[2] = "status-other"
	for name, id := range map[string]uint64{
		"other key":  RowID(other, []byte(`{"deviceName":"PC-ÄÖ-01"}`)),
		"other body": RowID(r.Key, []byte(`{"deviceName":"PC-02"}`)),
	} {
		var rm *RowMismatchError
		if _, err := j.Done(2, id); !errors.As(err, &rm) || rm.Line != 2 {
			t.Errorf("%s: Done = %v, want a *RowMismatchError for line 2", name, err)
		}
		if _, _, err := j.Row(2, id); !errors.As(err, &rm) {
			t.Errorf("%s: Row = %v, want a *RowMismatchError", name, err)
		}
	}
	if ok, err := j.Done(2, idOf(r)); !ok || err != nil {
		t.Errorf("Done for the right row = %v, %v", ok, err)
	}
	// The identity covers the key's structure, not just its text.
	if RowID(resource.Key{"ab", "", "c"}, nil) == RowID(resource.Key{"a", "b", "c"}, nil) {
		t.Error("RowID does not separate the key cells")
	}
}

// TestOpenModes covers what Open does with an earlier journal in each
// mode: cron's Auto continues an interrupted run of the same input only.
func TestOpenModes(t *testing.T) {
	interrupted := func(t *testing.T, path string) {
		write(t, path, sampleRow(2, report.Applied), sampleRow(3, report.Failed))
	}
	completed := func(t *testing.T, path string) {
		j, _, err := Open(path, hashA, Fresh)
		if err != nil {
			t.Fatal(err)
		}
		record(t, j, sampleRow(2, report.Applied))
		if err := j.Complete(); err != nil {
			t.Fatal(err)
		}
		j.Close()
	}
	otherInput := func(t *testing.T, path string) {
		j, _, err := Open(path, hashB, Fresh)
		if err != nil {
			t.Fatal(err)
		}
		record(t, j, sampleRow(2, report.Applied))
		j.Close()
	}
	tests := []struct {
		name    string
		setup   func(t *testing.T, path string)
		mode    Mode
		want    Opened
		wantErr bool
	}{
		{"auto, no journal", func(*testing.T, string) {}, Auto, Opened{Why: "no journal"}, false},
		{"auto, interrupted", interrupted, Auto, Opened{Resumed: true, Done: 1}, false},
		{"auto, completed", completed, Auto, Opened{Why: "the last run completed"}, false},
		{"auto, other input", otherInput, Auto, Opened{Why: "the input changed since the last run", Replaced: true}, false},
		{"auto, header only", func(t *testing.T, path string) { write(t, path) }, Auto, Opened{Why: "the journal holds no finished row"}, false},
		{"resume, interrupted", interrupted, Resume, Opened{Resumed: true, Done: 1}, false},
		{"resume, other input", otherInput, Resume, Opened{}, true},
		{"fresh, interrupted", interrupted, Fresh, Opened{Why: "--fresh", Replaced: true}, false},
		{"fresh, no journal", func(*testing.T, string) {}, Fresh, Opened{Why: "--fresh"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := journalPath(t)
			tt.setup(t, path)
			before, _ := os.ReadFile(path)
			peeked, perr := Peek(path, hashA, tt.mode)
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("Peek modified the journal")
			}
			j, got, err := Open(path, hashA, tt.mode)
			if (perr == nil) != (err == nil) || perr == nil && peeked != got {
				t.Errorf("Peek = %+v, %v; Open = %+v, %v", peeked, perr, got, err)
			}
			if tt.wantErr {
				var me *MismatchError
				if !errors.As(err, &me) {
					t.Fatalf("Open = %v, want a *MismatchError", err)
				}
				if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
					t.Error("a refused journal was modified")
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			defer j.Close()
			if got != tt.want {
				t.Errorf("Opened = %+v, want %+v", got, tt.want)
			}
			if !got.Resumed {
				if lines := records(t, path); len(lines) != 1 || !strings.Contains(lines[0], hashA) {
					t.Errorf("journal after a fresh start = %q, want only a header for %s", lines, hashA)
				}
			}
		})
	}
}

func mustWrite(t *testing.T, path, s string) {
	t.Helper()
	if err := os.WriteFile(path, []byte(s), 0o600); err != nil {
		t.Fatal(err)
	}
}

func mustAppend(t *testing.T, path, s string) {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.WriteString(s); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
}

// TestDamagedLastLine is what kill -9 (or a power cut) leaves: the last
// line torn or garbled. It is dropped, cut from the file, and appending
// continues behind the good lines.
func TestDamagedLastLine(t *testing.T) {
	for name, tail := range map[string]string{
		"half a line":            `{"row":{"line":5,"key":["app-1"],"outc`,
		"garbled with newline":   "{\"row\":{\"line\":5,\x00\x00}\n",
		"zeros from a power cut": "\x00\x00\x00\x00\x00\x00",
		"blank line":             "\n",
		"unknown outcome last":   `{"row":{"line":5,"id":"0000000000000000","outcome":"exploded"}}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := journalPath(t)
			write(t, path, sampleRow(2, report.Applied), sampleRow(3, report.Failed), sampleRow(4, report.Applied))
			mustAppend(t, path, tail)

			j, o, err := Open(path, hashA, Resume)
			if err != nil {
				t.Fatalf("Open(Resume) = %v", err)
			}
			if o.Done != 2 {
				t.Errorf("Done = %d, want 2", o.Done)
			}
			if _, ok, _ := j.Row(5, idOf(sampleRow(5, report.Applied))); ok {
				t.Error("the damaged line's row was kept")
			}
			record(t, j, sampleRow(5, report.Applied))
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if lines := records(t, path); len(lines) != 1+3+1+1 {
				t.Errorf("journal has %d lines, want 6 (header, 3 rows, header, row):\n%s", len(lines), strings.Join(lines, "\n"))
			}
			j, o = reopen(t, path)
			if ok, _ := j.Done(5, idOf(sampleRow(5, report.Applied))); !ok || o.Done != 3 {
				t.Errorf("after appending: Done(5) = %v, %d done; want true, 3", ok, o.Done)
			}
		})
	}
}

func TestCorrupt(t *testing.T) {
	good := func(t *testing.T, path string) {
		write(t, path, sampleRow(2, report.Applied), sampleRow(3, report.Applied))
	}
	row9 := `{"row":{"line":9,"id":"0000000000000001","outcome":"applied"}}` + "\n"
	tests := []struct {
		name     string
		content  func(t *testing.T, path string)
		wantLine int
	}{
		{"garbage in the middle", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, "garbage\n")
			mustAppend(t, path, row9)
		}, 4},
		{"garbage before a torn last line", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, "{\"row\":\n{\"row\":{\"li")
		}, 4},
		{"not a journal", func(t *testing.T, path string) {
			mustWrite(t, path, "line,mobileAppId\n2,app\n")
		}, 1},
		{"rows before a header", func(t *testing.T, path string) {
			mustWrite(t, path, row9+row9)
		}, 1},
		{"older format", func(t *testing.T, path string) {
			mustWrite(t, path, `{"header":{"format":1,"input_sha256":"`+hashA+`"}}`+"\n"+row9)
		}, 1},
		{"two records in one line", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, `{"header":{"format":2,"input_sha256":"`+hashA+`"},"row":{"line":2,"outcome":"applied"}}`+"\n\n")
		}, 4},
		{"line zero", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, `{"row":{"line":0,"id":"0000000000000001","outcome":"applied"}}`+"\n"+row9)
		}, 4},
		{"no row id", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, `{"row":{"line":9,"outcome":"applied"}}`+"\n"+row9)
		}, 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := journalPath(t)
			tt.content(t, path)
			before, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			for _, mode := range []Mode{Resume, Auto} {
				j, _, err := Open(path, hashA, mode)
				var ce *CorruptError
				if !errors.As(err, &ce) {
					if j != nil {
						j.Close()
					}
					t.Fatalf("Open(%v) = %v, want *CorruptError", mode, err)
				}
				if ce.Line != tt.wantLine || ce.Path != path {
					t.Errorf("CorruptError = %+v, want line %d of %s", ce, tt.wantLine, path)
				}
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("a rejected journal was modified")
			}
		})
	}
}

func TestMismatchMessage(t *testing.T) {
	e := &MismatchError{Path: "j", Want: hashB, Got: hashA}
	if !strings.Contains(e.Error(), "another input") {
		t.Errorf("message %q does not say the journal is for another input", e.Error())
	}
}

func TestMode0600(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, mode := range []Mode{Fresh, Resume} {
		t.Run(fmt.Sprint("mode=", mode), func(t *testing.T) {
			path := journalPath(t)
			write(t, path, sampleRow(2, report.Failed))
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			j, _, err := Open(path, hashA, mode)
			if err != nil {
				t.Fatal(err)
			}
			j.Close()
			fi, err := os.Stat(path)
			if err != nil {
				t.Fatal(err)
			}
			if got := fi.Mode().Perm(); got != 0o600 {
				t.Errorf("mode = %v, want 0600", got)
			}
		})
	}
}

func TestConcurrentRecord(t *testing.T) {
	path := journalPath(t)
	j, _, err := Open(path, hashA, Fresh)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			r := sampleRow(i+2, report.Applied)
			r.ErrorMessage = strings.Repeat("x", 5000) // long lines interleave first if writes are split
			if err := j.Record(r, idOf(r)); err != nil {
				t.Error(err)
			}
		})
	}
	wg.Wait()
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if lines := records(t, path); len(lines) != 17 {
		t.Errorf("journal has %d lines, want a header and 16 rows", len(lines))
	}
	j, o := reopen(t, path)
	if o.Done != 16 {
		t.Errorf("%d rows done, want 16", o.Done)
	}
	for i := range 16 {
		r := sampleRow(i+2, report.Applied)
		if got, ok, err := j.Row(i+2, idOf(r)); !ok || err != nil || len(got.Row.ErrorMessage) != 5000 {
			t.Errorf("line %d: %v, %v, message of %d bytes", i+2, ok, err, len(got.Row.ErrorMessage))
		}
	}
}

func TestRecordRefusesBadRows(t *testing.T) {
	path := journalPath(t)
	j, _, err := Open(path, hashA, Fresh)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []report.Row{{Line: 0, Outcome: report.Applied}, {Line: -3, Outcome: report.Applied}, {Line: 2, Outcome: "exploded"}, {Line: 2}} {
		if err := j.Record(r, 1); err == nil {
			t.Errorf("Record(%+v) = nil, want an error", r)
		}
	}
	record(t, j, sampleRow(3, report.Applied))
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(sampleRow(4, report.Applied), 1); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Record after Close = %v, want os.ErrClosed", err)
	}
	if err := j.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close = %v, want os.ErrClosed", err)
	}
	if _, o := reopen(t, path); o.Done != 1 {
		t.Errorf("journal holds %d rows, want 1", o.Done)
	}
}

// TestFailedWriteIsSticky: once a record could not be written, no later
// one is, so a journal never silently skips a row.
func TestFailedWriteIsSticky(t *testing.T) {
	j, _, err := Open(journalPath(t), hashA, Fresh)
	if err != nil {
		t.Fatal(err)
	}
	defer j.Close()
	j.mu.Lock()
	j.err = errors.New("write journal: disk full")
	j.mu.Unlock()
	r := sampleRow(2, report.Applied)
	if err := j.Record(r, idOf(r)); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("Record after a failed write = %v, want the failure again", err)
	}
	if _, ok, _ := j.Row(2, idOf(r)); ok {
		t.Error("a row that was not written is in the index")
	}
}

func BenchmarkJournalRecord(b *testing.B) {
	j, _, err := Open(journalPath(b), hashA, Fresh)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	r := sampleRow(2, report.Applied)
	id := idOf(r)
	b.ReportAllocs()
	for b.Loop() {
		if err := j.Record(r, id); err != nil {
			b.Fatal(err)
		}
	}
}

// TestVerify: before a run continues a journal, every record must match
// the row at its line, and every record's line must hold a valid row.
func TestVerify(t *testing.T) {
	path := journalPath(t)
	r2, r3 := sampleRow(2, report.Applied), sampleRow(3, report.Applied)
	write(t, path, r2, r3)
	rows := func(pairs ...uint64) iter.Seq2[int, uint64] {
		return func(yield func(int, uint64) bool) {
			for i := 0; i+1 < len(pairs); i += 2 {
				if !yield(int(pairs[i]), pairs[i+1]) {
					return
				}
			}
		}
	}
	other := RowID(resource.Key{"x", "", "y"}, nil)
	for _, tt := range []struct {
		name     string
		rows     iter.Seq2[int, uint64]
		mismatch int // the line named, 0: none
	}{
		{"matching", rows(2, idOf(r2), 3, idOf(r3), 4, other), 0},
		{"another row at a line", rows(2, idOf(r2), 3, other), 3},
		{"a record for a line with no valid row", rows(2, idOf(r2)), 3},
		{"swapped", rows(2, idOf(r3), 3, idOf(r2)), 2},
	} {
		err := Verify(path, hashA, Auto, tt.rows)
		var rm *RowMismatchError
		switch {
		case tt.mismatch == 0 && err != nil:
			t.Errorf("%s: Verify = %v, want nil", tt.name, err)
		case tt.mismatch != 0 && (!errors.As(err, &rm) || rm.Line != tt.mismatch):
			t.Errorf("%s: Verify = %v, want a *RowMismatchError for line %d", tt.name, err, tt.mismatch)
		}
	}
	// A journal the run starts afresh is not checked.
	if err := Verify(path, hashA, Fresh, rows(3, other)); err != nil {
		t.Errorf("Verify with Fresh = %v, want nil", err)
	}
}
