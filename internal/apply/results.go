package apply

import (
	"iter"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// Results is where a results file's rows come from.
type Results interface {
	Write(r report.Row) error
}

// WriteResults writes one results row per input row, in input order, and
// counts each in sum: what this run recorded for it; skipped for a row an
// earlier run finished; not_attempted for the rest. It reads the journal
// back (Recorder.Row) rather than anything kept in memory, so a run's
// memory does not grow with its rows.
func (r *Runner) WriteResults(w Results, rows iter.Seq2[input.Row, error], sum *report.Summary) error {
	for row, err := range rows {
		if err != nil {
			return err
		}
		out, err := r.result(row)
		if err != nil {
			return err
		}
		out.Props, out.Comments = row.Cells, row.Comments
		sum.Add(out)
		if err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}

// result says what became of one input row.
func (r *Runner) result(row input.Row) (report.Row, error) {
	r.mu.Lock()
	out, ok := r.unrecorded[row.Line]
	r.mu.Unlock()
	if ok {
		return out, nil
	}
	if r.Recorder != nil && len(row.Problems) == 0 {
		e, ok, err := r.Recorder.Row(row.Line, journal.RowID(row.Key, row.Body))
		if err != nil {
			return report.Row{}, err
		}
		switch {
		case ok && !e.Earlier:
			return e.Row, nil
		case ok && isDone(e.Row.Outcome):
			e.Row.Outcome = report.Skipped
			return e.Row, nil
		}
	}
	return NotAttempted(row), nil
}

func isDone(o report.Outcome) bool {
	return o == report.Applied || o == report.Unchanged || o == report.Skipped
}

// NotAttempted is the results row of an input row nothing was sent for.
func NotAttempted(row input.Row) report.Row {
	return report.Row{Line: row.Line, Key: row.Key, Outcome: report.NotAttempted, Props: row.Cells, Comments: row.Comments}
}

// writeInvalid writes the results of an input that did not validate
// (Files.WriteInvalid).
func writeInvalid(w Results, rows iter.Seq2[input.Row, error], sum *report.Summary) error {
	for row, err := range rows {
		if err != nil {
			return err
		}
		out := NotAttempted(row)
		if len(row.Problems) > 0 {
			out.Outcome, out.ErrorMessage = report.Invalid, strings.Join(row.Problems, "; ")
		}
		sum.Add(out)
		if err := w.Write(out); err != nil {
			return err
		}
	}
	return nil
}
