package apply

import (
	"encoding/json"
	"io"
	"log/slog"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

func TestAheadString(t *testing.T) {
	tests := []struct {
		a    Ahead
		want string
	}{
		{Ahead{Rows: 12}, "12 rows"},
		{Ahead{Rows: 12, Done: 5}, "12 rows, skipping 5 an earlier run finished"},
		{Ahead{Rows: 12, Reads: &Reads{Update: 4, Unchanged: 7, Failed: 1}},
			"4 rows that differ (7 already as asked; 1 could not be read and will fail unwritten)"},
		{Ahead{Rows: 12, Done: 2, Reads: &Reads{Update: 3, Unchanged: 7}},
			"3 rows that differ (7 already as asked; 0 could not be read and will fail unwritten), skipping 2 an earlier run finished"},
	}
	for _, tt := range tests {
		if got := tt.a.String(); got != tt.want {
			t.Errorf("%+v: %q, want %q", tt.a, got, tt.want)
		}
	}
}

// countingGraph is a fakeGraph that is a Counter.
type countingGraph struct {
	*fakeGraph
	stats graph.Stats
}

func (c countingGraph) Stats() graph.Stats { return c.stats }

func TestJobRunCounts(t *testing.T) {
	src, st := checkedSource(t, planCSV)
	f, err := OpenFiles(ResultsFor(src.Path), src.Path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	g := countingGraph{&fakeGraph{objects: map[string]json.RawMessage{"s1": json.RawMessage(`{"id":"s1"}`)}},
		graph.Stats{Writes: 3, Reads: 1, Throttled: 2, Unanswered: 4}}
	job := &Job{Source: src, Rows: st.Rows, Files: f, Graph: g, Mode: journal.Auto, Collections: st,
		Logger: slog.New(slog.NewTextHandler(io.Discard, nil)), Options: Options{Concurrency: 1}}
	sum, err := job.Run(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if sum.Count(report.Applied) != 3 || sum.Writes != 3 || sum.Reads != 1 || sum.Throttled != 2 || sum.Unanswered != 4 {
		t.Errorf("summary %+v: want 3 applied and the Graph's counts", sum)
	}
}
