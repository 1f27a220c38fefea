package report

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// goldenSummary is the run TestSummaryText pins, as summary.json.
func goldenSummary() *Summary {
	var s Summary
	add := func(n int, r Row) {
		for range n {
			s.Add(r)
		}
	}
	add(240, Row{Outcome: Applied, HTTPStatus: 204, Attempts: 1})
	add(3, Row{Outcome: Unchanged, HTTPStatus: 200})
	add(3, Row{Outcome: Failed, HTTPStatus: 404, ErrorCode: "ResourceNotFound", Attempts: 1})
	add(1, Row{Outcome: Failed, HTTPStatus: 500, ErrorCode: "<b>\x1b[31m\"x\"", Attempts: 1})
	add(1, Row{Outcome: Failed, ErrorCode: "", Attempts: 11})
	add(1, Row{Outcome: Invalid, ErrorCode: ""})
	add(2, Row{Outcome: NotAttempted})
	add(1, Row{Outcome: Skipped})
	s.Throttled, s.Unanswered = 7, 1
	s.Writes, s.Reads = 249, 12
	s.Elapsed = 50*time.Second + 20*time.Millisecond
	return &s
}

// TestSummaryJSONGolden pins the shape scripts rely on: the names of the
// "run finished" event, in its order, then the error codes; an empty run
// has "errors": [], not null.
func TestSummaryJSONGolden(t *testing.T) {
	for _, tt := range []struct {
		golden string
		sum    *Summary
		info   RunInfo
	}{
		{"summary-json.golden", goldenSummary(), RunInfo{Results: "dir/in.results.csv", ExitCode: 1}},
		{"summary-json-empty.golden", &Summary{}, RunInfo{Results: "in.results.csv"}},
	} {
		var b bytes.Buffer
		if err := encodeSummary(&b, tt.sum.RunSummary(tt.info)); err != nil {
			t.Fatal(err)
		}
		golden(t, tt.golden, b.Bytes())
	}
}

// TestSummaryJSONHasAttrs: every key and number of Attrs (the JSON "run
// finished" event) is in summary.json, so the two cannot drift apart.
func TestSummaryJSONHasAttrs(t *testing.T) {
	s := goldenSummary()
	b, err := json.Marshal(s.RunSummary(RunInfo{ExitCode: 1}))
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	attrs := s.Attrs()
	for i := 0; i < len(attrs); i += 2 {
		key := attrs[i].(string)
		got, ok := m[key].(float64)
		var want float64
		switch v := attrs[i+1].(type) {
		case int:
			want = float64(v)
		case int64:
			want = float64(v)
		}
		if !ok || got != want {
			t.Errorf("summary.json %q = %v, Attrs says %v", key, m[key], attrs[i+1])
		}
	}
	for key, want := range map[string]float64{"elapsed_ms": 50020, "exit_code": 1, "rows": 252, "format": 1} {
		if m[key] != want {
			t.Errorf("summary.json %q = %v, want %v", key, m[key], want)
		}
	}
}

func TestWriteSummaryJSON(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "in.results.summary.json")
	if err := os.WriteFile(path, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	want := goldenSummary().RunSummary(RunInfo{Results: "in.results.csv", ExitCode: 1})
	if err := WriteSummaryJSON(path, want); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("directory holds %d files, want only the summary (no temporary file left)", len(entries))
	}
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got, err := ReadSummaryJSON(f)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("read back (-want +got):\n%s", diff)
	}
	if got.Elapsed() != 50020*time.Millisecond {
		t.Errorf("Elapsed() = %v", got.Elapsed())
	}

	if err := WriteSummaryJSON(filepath.Join(dir, "no", "such", "dir.json"), want); err == nil {
		t.Error("writing into a missing directory: no error")
	}
	if _, err := ReadSummaryJSON(strings.NewReader(`{"format": 2}`)); err == nil {
		t.Error("format 2: no error")
	}
	if _, err := ReadSummaryJSON(strings.NewReader(`not json`)); err == nil {
		t.Error("not JSON: no error")
	}
}
