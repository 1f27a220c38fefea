package journal

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkpatch/bulkpatch/internal/report"
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
		Line:                     line,
		MobileAppID:              "app-1",
		UserAppInstallStatusID:   "user-1",
		MobileAppInstallStatusID: fmt.Sprintf("status-%d", line),
		Outcome:                  o,
		HTTPStatus:               204,
		Attempts:                 2,
		RequestID:                "req-" + fmt.Sprint(line),
		ClientRequestID:          "client-" + fmt.Sprint(line),
		Duration:                 1234567 * time.Microsecond,
		FinishedAt:               time.Date(2026, 11, 30, 4, 52, 10, 123456789, time.UTC),
		Props:                    []string{"PC-ÄÖ-01", "<null>", "", "-2016345060"},
	}
}

// write creates a journal at path with one run over hashA holding rows.
func write(t *testing.T, path string, rows ...report.Row) {
	t.Helper()
	j, _, err := Open(path, hashA, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := j.Record(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
}

func reopen(t *testing.T, path string) *State {
	t.Helper()
	j, st, err := Open(path, hashA, true)
	if err != nil {
		t.Fatalf("Open(resume) = %v", err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	return st
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
	st := reopen(t, path)

	if got := st.Len(); got != len(rows) {
		t.Errorf("Len() = %d, want %d", got, len(rows))
	}
	for _, want := range rows {
		got, ok := st.Row(want.Line)
		if !ok {
			t.Errorf("Row(%d) missing", want.Line)
			continue
		}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("Row(%d) (-want +got):\n%s", want.Line, diff)
		}
	}
	if _, ok := st.Row(99); ok {
		t.Error("Row(99) found, want none")
	}
	runs := st.Runs()
	if len(runs) != 1 {
		t.Fatalf("Runs() = %v, want one", runs)
	}
	h := runs[0]
	if h.Format != Format || h.InputSHA256 != hashA || h.PID != os.Getpid() || h.StartedAt.Before(before.Add(-time.Second)) {
		t.Errorf("run header = %+v, want format %d, hash %s, pid %d, started after %v", h, Format, hashA, os.Getpid(), before)
	}
	// After the resume the file holds both runs' headers.
	if got := reopen(t, path).Runs(); len(got) != 2 {
		t.Errorf("after a second resume Runs() has %d headers, want 2", len(got))
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
		wantID string // RequestID of the row Done returns
	}{
		{"applied", [][]report.Row{{withID(report.Applied, "a")}}, true, "a"},
		{"unchanged", [][]report.Row{{withID(report.Unchanged, "u")}}, true, "u"},
		{"failed", [][]report.Row{{withID(report.Failed, "f")}}, false, ""},
		{"invalid", [][]report.Row{{withID(report.Invalid, "i")}}, false, ""},
		{"not attempted", [][]report.Row{{withID(report.NotAttempted, "n")}}, false, ""},
		{"never recorded", [][]report.Row{{}}, false, ""},
		{"failed then applied", [][]report.Row{{withID(report.Failed, "f"), withID(report.Applied, "a")}}, true, "a"},
		{"failed, applied by a later run", [][]report.Row{{withID(report.Failed, "f")}, {withID(report.Applied, "a")}}, true, "a"},
		{"applied then failed: latest wins", [][]report.Row{{withID(report.Applied, "a"), withID(report.Failed, "f")}}, false, ""},
		{"skipped keeps the earlier success", [][]report.Row{{withID(report.Applied, "a")}, {withID(report.Skipped, "s")}}, true, "a"},
		{"skipped twice keeps it", [][]report.Row{{withID(report.Unchanged, "u")}, {withID(report.Skipped, "s")}, {withID(report.Skipped, "s2")}}, true, "u"},
		{"skipped alone still done", [][]report.Row{{withID(report.Skipped, "s")}}, true, "s"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := journalPath(t)
			write(t, path)
			for _, run := range tt.runs {
				j, _, err := Open(path, hashA, true)
				if err != nil {
					t.Fatal(err)
				}
				for _, r := range run {
					if r.Line == 0 {
						continue
					}
					if err := j.Record(r); err != nil {
						t.Fatal(err)
					}
				}
				if err := j.Close(); err != nil {
					t.Fatal(err)
				}
			}
			st := reopen(t, path)
			got, ok := st.Done(7)
			if ok != tt.wantOK || got.RequestID != tt.wantID {
				t.Errorf("Done(7) = (request %q, %v), want (request %q, %v)", got.RequestID, ok, tt.wantID, tt.wantOK)
			}
		})
	}
}

func TestNilState(t *testing.T) {
	var st *State
	if _, ok := st.Done(1); ok {
		t.Error("nil State: Done(1) = true")
	}
	if st.Len() != 0 || st.Runs() != nil {
		t.Error("nil State is not empty")
	}
}

// TestFreshStart covers the journals that leave nothing to resume: each
// must start a new journal holding only this run's header.
func TestFreshStart(t *testing.T) {
	completed := func(t *testing.T, path string) {
		j, _, err := Open(path, hashB, false) // another input: must not matter
		if err != nil {
			t.Fatal(err)
		}
		if err := j.Record(sampleRow(2, report.Applied)); err != nil {
			t.Fatal(err)
		}
		if err := j.Complete(); err != nil {
			t.Fatal(err)
		}
		if err := j.Close(); err != nil {
			t.Fatal(err)
		}
	}
	tests := []struct {
		name  string
		setup func(t *testing.T, path string)
	}{
		{"no file", func(t *testing.T, path string) {}},
		{"empty file", func(t *testing.T, path string) { mustWrite(t, path, "") }},
		{"torn first header", func(t *testing.T, path string) { mustWrite(t, path, `{"header":{"format":1,"inpu`) }},
		{"garbled only line", func(t *testing.T, path string) { mustWrite(t, path, "\x00\x00\x00\n") }},
		{"header only", func(t *testing.T, path string) { write(t, path) }},
		{"header only, for another input", func(t *testing.T, path string) {
			j, _, err := Open(path, hashB, false)
			if err != nil {
				t.Fatal(err)
			}
			j.Close()
		}},
		{"clean finish", completed},
		{"clean finish then torn line", func(t *testing.T, path string) {
			completed(t, path)
			mustAppend(t, path, `{"row":{"li`)
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := journalPath(t)
			tt.setup(t, path)
			j, st, err := Open(path, hashA, true)
			if err != nil {
				t.Fatalf("Open(resume) = %v", err)
			}
			if st.Len() != 0 || len(st.Runs()) != 0 {
				t.Errorf("state = %d rows, %d runs; want empty", st.Len(), len(st.Runs()))
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			lines := records(t, path)
			if len(lines) != 1 || !strings.HasPrefix(lines[0], `{"header":`) || !strings.Contains(lines[0], hashA) {
				t.Errorf("journal after a fresh start = %q, want only a header for %s", lines, hashA)
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
		"half a line":            `{"row":{"line":5,"mobileAppId":"app-1","outc`,
		"garbled with newline":   "{\"row\":{\"line\":5,\x00\x00}\n",
		"zeros from a power cut": "\x00\x00\x00\x00\x00\x00",
		"blank line":             "\n",
		"unknown outcome last":   `{"row":{"line":5,"outcome":"exploded"}}` + "\n",
	} {
		t.Run(name, func(t *testing.T) {
			path := journalPath(t)
			write(t, path, sampleRow(2, report.Applied), sampleRow(3, report.Failed), sampleRow(4, report.Applied))
			mustAppend(t, path, tail)

			j, st, err := Open(path, hashA, true)
			if err != nil {
				t.Fatalf("Open(resume) = %v", err)
			}
			if got := st.Len(); got != 3 {
				t.Errorf("Len() = %d, want 3", got)
			}
			if _, ok := st.Row(5); ok {
				t.Error("the damaged line's row was kept")
			}
			if err := j.Record(sampleRow(5, report.Applied)); err != nil {
				t.Fatal(err)
			}
			if err := j.Close(); err != nil {
				t.Fatal(err)
			}
			if lines := records(t, path); len(lines) != 1+3+1+1 {
				t.Errorf("journal has %d lines, want 6 (header, 3 rows, header, row):\n%s", len(lines), strings.Join(lines, "\n"))
			}
			st = reopen(t, path)
			if _, ok := st.Done(5); !ok || st.Len() != 4 {
				t.Errorf("after appending: Done(5) = %v, Len() = %d; want true, 4", ok, st.Len())
			}
		})
	}
}

func TestCorrupt(t *testing.T) {
	good := func(t *testing.T, path string) {
		write(t, path, sampleRow(2, report.Applied), sampleRow(3, report.Applied))
	}
	tests := []struct {
		name     string
		content  func(t *testing.T, path string)
		wantLine int
	}{
		{"garbage in the middle", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, "garbage\n")
			mustAppend(t, path, `{"row":{"line":9,"outcome":"applied"}}`+"\n")
		}, 4},
		{"garbage before a torn last line", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, "{\"row\":\n{\"row\":{\"li")
		}, 4},
		{"not a journal", func(t *testing.T, path string) {
			mustWrite(t, path, "line,mobileAppId\n2,app\n")
		}, 1},
		{"rows before a header", func(t *testing.T, path string) {
			mustWrite(t, path, `{"row":{"line":2,"outcome":"applied"}}`+"\n"+`{"row":{"line":3,"outcome":"applied"}}`+"\n")
		}, 1},
		{"newer format", func(t *testing.T, path string) {
			mustWrite(t, path, `{"header":{"format":2,"input_sha256":"`+hashA+`"}}`+"\n"+`{"row":{"line":2,"outcome":"applied"}}`+"\n")
		}, 1},
		{"two records in one line", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, `{"header":{"format":1,"input_sha256":"`+hashA+`"},"row":{"line":2,"outcome":"applied"}}`+"\n\n")
		}, 4},
		{"line zero", func(t *testing.T, path string) {
			good(t, path)
			mustAppend(t, path, `{"row":{"line":0,"outcome":"applied"}}`+"\n"+`{"row":{"line":3,"outcome":"applied"}}`+"\n")
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
			j, _, err := Open(path, hashA, true)
			var ce *CorruptError
			if !errors.As(err, &ce) {
				if j != nil {
					j.Close()
				}
				t.Fatalf("Open(resume) = %v, want *CorruptError", err)
			}
			if ce.Line != tt.wantLine || ce.Path != path {
				t.Errorf("CorruptError = %+v, want line %d of %s", ce, tt.wantLine, path)
			}
			if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
				t.Error("a rejected journal was modified")
			}
		})
	}
}

func TestMismatch(t *testing.T) {
	path := journalPath(t)
	write(t, path, sampleRow(2, report.Applied))
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	_, _, err = Open(path, hashB, true)
	var me *MismatchError
	if !errors.As(err, &me) {
		t.Fatalf("Open(resume) with another input = %v, want *MismatchError", err)
	}
	if want := (MismatchError{Path: path, Want: hashB, Got: hashA}); *me != want {
		t.Errorf("MismatchError = %+v, want %+v", *me, want)
	}
	if !strings.Contains(me.Error(), "another input") {
		t.Errorf("message %q does not say the journal is for another input", me.Error())
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Error("the other input's journal was modified")
	}
	// Without resume the journal is simply replaced.
	j, st, err := Open(path, hashB, false)
	if err != nil {
		t.Fatal(err)
	}
	j.Close()
	if st.Len() != 0 {
		t.Errorf("Open(resume=false) state has %d rows, want 0", st.Len())
	}
}

func TestNoResumeTruncates(t *testing.T) {
	path := journalPath(t)
	write(t, path, sampleRow(2, report.Applied), sampleRow(3, report.Applied))
	j, st, err := Open(path, hashA, false)
	if err != nil {
		t.Fatal(err)
	}
	if st.Len() != 0 {
		t.Errorf("Open(resume=false) state has %d rows, want 0", st.Len())
	}
	j.Close()
	if lines := records(t, path); len(lines) != 1 {
		t.Errorf("journal has %d lines after a fresh start, want 1: %q", len(lines), lines)
	}
	if st := reopen(t, path); st.Len() != 0 {
		t.Errorf("resume after a fresh start found %d rows, want 0", st.Len())
	}
}

func TestMode0600(t *testing.T) {
	if runtime.GOOS == "windows" {
		t.Skip("no Unix permissions")
	}
	for _, resume := range []bool{false, true} {
		t.Run(fmt.Sprint("resume=", resume), func(t *testing.T) {
			path := journalPath(t)
			write(t, path, sampleRow(2, report.Failed))
			if err := os.Chmod(path, 0o644); err != nil {
				t.Fatal(err)
			}
			j, _, err := Open(path, hashA, resume)
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
	j, _, err := Open(path, hashA, false)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Go(func() {
			r := sampleRow(i+2, report.Applied)
			r.ErrorMessage = strings.Repeat("x", 5000) // long lines interleave first if writes are split
			if err := j.Record(r); err != nil {
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
	st := reopen(t, path)
	for i := range 16 {
		if _, ok := st.Done(i + 2); !ok {
			t.Errorf("line %d not done", i+2)
		}
	}
}

func TestRecordRefusesBadRows(t *testing.T) {
	path := journalPath(t)
	j, _, err := Open(path, hashA, false)
	if err != nil {
		t.Fatal(err)
	}
	for _, r := range []report.Row{{Line: 0, Outcome: report.Applied}, {Line: -3, Outcome: report.Applied}, {Line: 2, Outcome: "exploded"}, {Line: 2}} {
		if err := j.Record(r); err == nil {
			t.Errorf("Record(%+v) = nil, want an error", r)
		}
	}
	if err := j.Record(sampleRow(3, report.Applied)); err != nil {
		t.Fatal(err)
	}
	if err := j.Close(); err != nil {
		t.Fatal(err)
	}
	if err := j.Record(sampleRow(4, report.Applied)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("Record after Close = %v, want os.ErrClosed", err)
	}
	if err := j.Close(); !errors.Is(err, os.ErrClosed) {
		t.Errorf("second Close = %v, want os.ErrClosed", err)
	}
	if st := reopen(t, path); st.Len() != 1 {
		t.Errorf("journal holds %d rows, want 1", st.Len())
	}
}

func BenchmarkJournalRecord(b *testing.B) {
	j, _, err := Open(journalPath(b), hashA, false)
	if err != nil {
		b.Fatal(err)
	}
	defer j.Close()
	r := sampleRow(2, report.Applied)
	b.ReportAllocs()
	for b.Loop() {
		if err := j.Record(r); err != nil {
			b.Fatal(err)
		}
	}
}
