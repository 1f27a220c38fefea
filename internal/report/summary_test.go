package report

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

var update = flag.Bool("update", false, "rewrite testdata/*.golden from the current output")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if diff := cmp.Diff(string(want), string(got)); diff != "" {
		t.Errorf("%s differs (-want +got):\n%s", path, diff)
	}
}

func TestSummaryErr(t *testing.T) {
	tests := []struct {
		name     string
		outcomes []Outcome
		want     string // "" for no error
	}{
		{"empty run", nil, ""},
		{"all applied", []Outcome{Applied, Applied}, ""},
		{"successes of every kind", []Outcome{Applied, Unchanged, Skipped}, ""},
		{"one failed", []Outcome{Applied, Failed, Unchanged}, "some rows were not applied: 1 failed"},
		{"invalid", []Outcome{Applied, Invalid}, "some rows were not applied: 1 invalid"},
		{"not attempted", []Outcome{Skipped, NotAttempted, NotAttempted}, "some rows were not applied: 2 not_attempted"},
		{"unknown outcome counts as failed", []Outcome{Applied, "exploded"}, "some rows were not applied: 1 failed"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var s Summary
			for _, o := range tt.outcomes {
				s.Add(Row{Outcome: o})
			}
			err := s.Err()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Err() = %v, want nil", err)
			case tt.want != "" && (err == nil || err.Error() != tt.want || !errors.Is(err, ErrRowsFailed)):
				t.Errorf("Err() = %v, want %q wrapping ErrRowsFailed", err, tt.want)
			}
			if got := s.Rows(); got != len(tt.outcomes) {
				t.Errorf("Rows() = %d, want %d", got, len(tt.outcomes))
			}
		})
	}
}

func TestSummaryCounts(t *testing.T) {
	var s Summary
	rows := []Row{
		{Outcome: Applied, HTTPStatus: 204, Attempts: 1},
		{Outcome: Applied, HTTPStatus: 204, Attempts: 3},
		{Outcome: Failed, HTTPStatus: 404, ErrorCode: "ResourceNotFound", Attempts: 1},
		{Outcome: Failed, HTTPStatus: 403, ErrorCode: "Forbidden", Attempts: 1},
		{Outcome: Failed, HTTPStatus: 404, ErrorCode: "ResourceNotFound", Attempts: 1},
		{Outcome: Failed, ErrorCode: "timeout", Attempts: 11},
		{Outcome: Invalid, ErrorCode: "invalid_value"},
		{Outcome: Unchanged, HTTPStatus: 200, Attempts: 1},
		{Outcome: Skipped, HTTPStatus: 204, Attempts: 2},
		{Outcome: NotAttempted},
	}
	for _, r := range rows {
		s.Add(r)
	}
	for o, want := range map[Outcome]int{Applied: 2, Failed: 4, Invalid: 1, Unchanged: 1, Skipped: 1, NotAttempted: 1, "bogus": 0} {
		if got := s.Count(o); got != want {
			t.Errorf("Count(%q) = %d, want %d", o, got, want)
		}
	}
	wantErrors := []ErrorCount{
		{Code: "ResourceNotFound", Status: 404, Count: 2},
		{Code: "Forbidden", Status: 403, Count: 1},
		{Code: "invalid_value", Status: 0, Count: 1},
		{Code: "timeout", Status: 0, Count: 1},
	}
	if diff := cmp.Diff(wantErrors, s.TopErrors(-1)); diff != "" {
		t.Errorf("TopErrors(-1) (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantErrors[:2], s.TopErrors(2)); diff != "" {
		t.Errorf("TopErrors(2) (-want +got):\n%s", diff)
	}
	if got := s.Rate(); got != 0 {
		t.Errorf("Rate() without Elapsed = %v, want 0", got)
	}
	s.Elapsed = 4 * time.Second
	s.Writes = 18
	if got, want := s.Rate(), 17.0/4; got != want {
		t.Errorf("Rate() = %v, want %v", got, want)
	}
}

// TestSummaryText pins the text summary. The golden file must show every
// outcome in the fixed order (applied, unchanged, skipped, failed,
// invalid, not_attempted) even when zero, at most five error codes most
// frequent first, and the rate as the gaps between writes over elapsed: 248 gaps in
// 50.0s is 4.96 writes/s.
func TestSummaryText(t *testing.T) {
	var s Summary
	add := func(n int, r Row) {
		for range n {
			s.Add(r)
		}
	}
	add(240, Row{Outcome: Applied, HTTPStatus: 204, Attempts: 1})
	add(3, Row{Outcome: Unchanged, HTTPStatus: 200})
	add(3, Row{Outcome: Failed, HTTPStatus: 404, ErrorCode: "ResourceNotFound", Attempts: 1})
	add(2, Row{Outcome: Failed, HTTPStatus: 403, ErrorCode: "Forbidden", Attempts: 1})
	add(1, Row{Outcome: Failed, HTTPStatus: 400, ErrorCode: "BadRequest", Attempts: 1})
	add(1, Row{Outcome: Failed, HTTPStatus: 500, ErrorCode: "\x1b[31mInternal\nServerError", Attempts: 1})
	add(1, Row{Outcome: Failed, ErrorCode: "", Attempts: 1})
	add(1, Row{Outcome: Failed, HTTPStatus: 409, ErrorCode: "Conflict", Attempts: 1})
	add(2, Row{Outcome: NotAttempted})
	s.Throttled = 7
	s.Writes, s.Reads = 249, 12
	s.Elapsed = 50*time.Second + 20*time.Millisecond

	var buf bytes.Buffer
	s.WriteText(&buf)
	golden(t, "summary.golden", buf.Bytes())

	var empty Summary
	buf.Reset()
	empty.WriteText(&buf)
	golden(t, "summary-empty.golden", buf.Bytes())
}

func TestSummaryAttrs(t *testing.T) {
	var s Summary
	s.Add(Row{Outcome: Applied})
	s.Add(Row{Outcome: Failed})
	s.Add(Row{Outcome: Failed})
	s.Writes, s.Reads, s.Throttled = 5, 2, 1
	want := []any{"applied", 1, "unchanged", 0, "skipped", 0, "failed", 2, "invalid", 0, "not_attempted", 0,
		"writes", int64(5), "reads", int64(2), "unanswered", int64(0), "throttled", int64(1)}
	if diff := cmp.Diff(want, s.Attrs()); diff != "" {
		t.Errorf("Attrs() (-want +got):\n%s", diff)
	}
}
