package apply

import (
	"context"
	"fmt"
	"iter"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// NotApplied is the error code of a row Graph accepted (200 or 204) whose
// values, read back, did not change: Graph answers 204 to some writes
// that change nothing (managedDevice's ownerType from unknown, say).
const NotApplied = "notApplied"

// verify reads back, after waiting delay, every row this run applied, and
// records the rows whose live object still differs as failed
// (NotApplied), naming the properties. It returns how many it marked.
func (j *Job) verify(ctx context.Context, jr *journal.Journal, delay time.Duration) (int, error) {
	if err := sleepCtx(ctx, delay); err != nil {
		return 0, err
	}
	applied := func(yield func(input.Row, error) bool) {
		for row, err := range j.Source.Rows() {
			if err == nil {
				e, ok, rerr := jr.Row(row.Line, journal.RowID(row.Key, row.Body))
				if rerr != nil {
					err = rerr
				} else if !ok || e.Earlier || e.Row.Outcome != report.Applied {
					continue
				}
			}
			if !yield(row, err) {
				return
			}
		}
	}
	live := NewLive(j.Graph, j.Collections.Collections)
	marked := 0
	err := Reconcile(ctx, live, iter.Seq2[input.Row, error](applied), j.Options.Concurrency,
		func(row input.Row, changes []plan.Change, res graph.Result) error {
			if res.Err != nil || len(changes) == 0 {
				return nil // unreadable now, or as written: the write's own outcome stands
			}
			id := journal.RowID(row.Key, row.Body)
			e, _, err := jr.Row(row.Line, id)
			if err != nil {
				return err
			}
			out := e.Row
			out.Outcome, out.ErrorCode, out.ErrorMessage = report.Failed, NotApplied, notAppliedMsg(changes)
			marked++
			j.logFailed(out)
			return jr.Record(out, id)
		})
	return marked, err
}

func notAppliedMsg(changes []plan.Change) string {
	var parts []string
	for _, c := range changes {
		parts = append(parts, fmt.Sprintf("%s is %s, not %s", c.Property, orNull(c.Old), orNull(c.New)))
	}
	return "Graph accepted the write, but reading the object back shows it did not apply: " + strings.Join(parts, "; ")
}

func orNull(b []byte) string {
	if len(b) == 0 {
		return "null"
	}
	return string(b)
}

// sleepCtx waits d, or until ctx ends.
func sleepCtx(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
