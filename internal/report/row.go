// Package report writes what became of each input row: the results CSV
// (one row per input row, written to a temporary file and renamed into
// place so a reader never sees half a file, in the input's dialect), the
// run summary shown to people at the end of a run, summary.json for
// scripts, and the HTML run report (WriteHTML, WriteReport) with the
// retry file of the rows to run again (WriteRetry).
package report

import (
	"time"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Outcome is what became of one input row, as written in the results
// file's outcome column.
type Outcome string

// The outcomes, spelled as in the results file.
const (
	Applied      Outcome = "applied"       // the PATCH succeeded
	Unchanged    Outcome = "unchanged"     // already in the desired state (--reconcile): nothing sent
	Failed       Outcome = "failed"        // sent, and it did not succeed
	Invalid      Outcome = "invalid"       // the row did not validate: nothing sent
	Skipped      Outcome = "skipped"       // done by an earlier run (--resume): nothing sent
	NotAttempted Outcome = "not_attempted" // the run stopped before the row's turn
)

// outcomes lists every outcome in the order the summary shows them:
// successes first, then the rows that need attention.
var outcomes = [...]Outcome{Applied, Unchanged, Skipped, Failed, Invalid, NotAttempted}

// Valid reports whether o is one of the defined outcomes.
func (o Outcome) Valid() bool {
	return o.index() >= 0
}

func (o Outcome) index() int {
	for i, v := range outcomes {
		if v == o {
			return i
		}
	}
	return -1
}

// Row is one line of the results file: what became of one input row.
// Zero numbers and times mean "does not apply" and are written as empty
// cells (a not_attempted row has no HTTP status, no attempts, no duration).
type Row struct {
	Line int          // physical line of the input row
	Key  resource.Key // the object's key cells, "" for a key left empty

	Outcome      Outcome
	HTTPStatus   int    // status of the last answer; 0 when none came
	ErrorCode    string // Graph's error code, or a short word for why no answer came
	ErrorMessage string // may span lines and be long: the writer flattens and truncates it
	Attempts     int    // requests sent for this row, retries included

	RequestID       string
	ClientRequestID string
	Duration        time.Duration // from the first attempt to the end
	FinishedAt      time.Time

	// Props holds the input's property cells as sent, aligned with the
	// Writer's property columns: "<null>" for a cleared property, "" for
	// one not sent. A shorter slice is padded with empty cells.
	Props []string
	// Comments holds the input's comment cells ('#' columns) of the row,
	// aligned with the Writer's comment columns.
	Comments []string
}

// Columns are the results file's variable columns; the fixed ones (line,
// outcome, status, …) sit around them in the order the CLI contract
// fixes: line, the key columns, outcome … finished_at, the property
// columns, the comment columns.
type Columns struct {
	Keys     []string // the resource's key columns, e.g. mobileAppId
	Props    []string // the input's property columns, in input order
	Comments []string // the input's comment columns, headers as written
}

// resultColumns are the fixed columns after the keys.
var resultColumns = [...]string{
	"outcome", "http_status", "error_code", "error_message", "attempts",
	"request_id", "client_request_id", "duration_ms", "finished_at",
}

// Header returns the results file's header row for cols.
func Header(cols Columns) []string {
	h := make([]string, 0, 1+len(cols.Keys)+len(resultColumns)+len(cols.Props)+len(cols.Comments))
	h = append(h, "line")
	h = append(h, cols.Keys...)
	h = append(h, resultColumns[:]...)
	h = append(h, cols.Props...)
	return append(h, cols.Comments...)
}
