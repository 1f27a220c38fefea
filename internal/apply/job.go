package apply

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// Job is one apply of a checked input, from the journal's first look to
// the results file: what the apply command does once its flags are read
// and Graph is set up.
type Job struct {
	Source *input.Source
	Rows   int // the input's data rows, from its check pass
	Files  *Files
	Graph  Graph
	Mode   journal.Mode
	// Reconcile makes the run read each object first and write only the
	// rows that differ; Collections (from the check pass) lets it list
	// collections that many rows share.
	Reconcile   bool
	Collections input.Stats
	Options     Options
	// Verify reads every row this run applied back, after VerifyDelay, and
	// marks a row whose values did not stick failed (NotApplied).
	Verify      bool
	VerifyDelay time.Duration
	Dialect     csvio.WriterOptions // of the results file
	Logger      *slog.Logger
	// LogAttrs are added to the "run starting" event (the Graph root, the
	// kind of sign-in, the rate…).
	LogAttrs []any
	// Ready is called once the journal has been looked at, before
	// anything is read or written: it signs in. Its error ends the job.
	// nil: go ahead.
	Ready func(ctx context.Context) error
	// Confirm is called once the live objects have been read (when
	// reconciling) and before anything is written, with what the run is
	// about to do: it asks on a terminal. Its error ends the job. nil: go
	// ahead.
	Confirm func(ctx context.Context, a Ahead) error
	// OnRow is called as each row settles, from any goroutine; a failed
	// row is also logged ("row failed").
	OnRow func(report.Row)
}

// Ahead is what a run is about to do, for its confirmation and its "run
// starting" event.
type Ahead struct {
	Rows int // the input's rows
	Done int // rows an earlier run finished, skipped
	// Reads, when the run reconciles, counts the rows to update, already
	// unchanged and unreadable (those fail, unwritten); nil otherwise.
	Reads *Reads
}

// String says what the run is about to write, as its confirmation asks:
// the rows, or, when it reconciles, the rows that differ, and the rows an
// earlier run finished, skipped.
func (a Ahead) String() string {
	what := fmt.Sprintf("%d rows", a.Rows)
	if r := a.Reads; r != nil {
		what = fmt.Sprintf("%d rows that differ (%d already as asked; %d could not be read and will fail unwritten)", r.Update, r.Unchanged, r.Failed)
	}
	if a.Done > 0 {
		what += fmt.Sprintf(", skipping %d an earlier run finished", a.Done)
	}
	return what
}

// attrs are the counts as log attributes.
func (a Ahead) attrs() []any {
	at := []any{"rows", a.Rows, "resumed_rows", a.Done}
	if a.Reads != nil {
		at = append(at, "to_update", a.Reads.Update, "unchanged", a.Reads.Unchanged, "unreadable", a.Reads.Failed)
	}
	return at
}

// Run runs the job and returns the results' summary (with the request
// counts of a Graph that is a Counter) and how the run ended: nil when every row was applied,
// unchanged or skipped, a *StopError when it stopped early, an error
// wrapping report.ErrRowsFailed when some rows failed, or what kept it
// from starting or from writing its results.
func (j *Job) Run(ctx context.Context) (*report.Summary, error) {
	peek, err := j.look(ctx)
	if err != nil {
		return nil, err
	}
	ahead := Ahead{Rows: j.Rows, Done: peek.Done}
	started := time.Now()
	var runErr error
	ahead.Reads, runErr = j.readFirst(ctx)
	var se *StopError
	if runErr != nil && !errors.As(runErr, &se) {
		return nil, runErr
	}
	if j.Confirm != nil && runErr == nil {
		if err := j.Confirm(ctx, ahead); err != nil {
			return nil, err
		}
	}
	jr, opened, err := journal.Open(j.Files.Journal(), j.Source.SHA256, j.Mode)
	if err != nil {
		return nil, JournalError(err)
	}
	defer jr.Close()
	j.logJournal(opened)
	r := &Runner{Graph: j.Graph, Recorder: jr, OnRow: j.onRow, Options: j.Options}
	if runErr == nil {
		ahead.Done = opened.Done
		runErr = j.send(ctx, r, jr, ahead, opened.Resumed)
	}
	return j.finish(r, jr, started, runErr)
}

// look looks at the journal first, checking the one a resumed run will
// continue against the input, and then signs in (Ready): before anything
// is read or written.
func (j *Job) look(ctx context.Context) (journal.Opened, error) {
	path := j.Files.Journal()
	peek, err := journal.Peek(path, j.Source.SHA256, j.Mode)
	if err == nil && peek.Resumed {
		err = j.verifyJournal(path)
	}
	if err != nil {
		return peek, JournalError(err)
	}
	if j.Ready != nil {
		if err := j.Ready(ctx); err != nil {
			return peek, err
		}
	}
	return peek, nil
}

// readFirst makes the reads before any write: every row's object when
// reconciling (what it found, for the run and its confirmation), else
// the preflight read. A run-fatal answer is a *StopError.
func (j *Job) readFirst(ctx context.Context) (*Reads, error) {
	var reads *Reads
	var err error
	// The reads before any write are watched like the run: a Graph that
	// answers nothing stops the job within Options.NoAnswer.
	readCtx, stopReads := context.WithCancelCause(ctx)
	defer stopReads(nil)
	endWatch := watchAnswers(readCtx, j.Graph, j.Options.NoAnswer, time.Now, func(e *StopError) { stopReads(e) })
	if j.Reconcile {
		// Every row is read before any is written: a run-fatal read
		// answer stops the job with nothing written (its results still
		// list every row), and the confirmation and the log can say how
		// much really differs.
		live := NewLive(j.Graph, j.Collections.Collections)
		reads, err = ReadAll(readCtx, live, j.Source.Rows(), j.Options.Concurrency, nil)
	} else {
		err = j.preflight(readCtx)
	}
	endWatch()
	if cause := context.Cause(readCtx); cause != nil && ctx.Err() == nil {
		err = cause // the watch stopped the reads
	}
	return reads, err
}

// send logs the start of the run and sends every row; with Verify, it
// then reads back what it applied.
func (j *Job) send(ctx context.Context, r *Runner, jr *journal.Journal, ahead Ahead, resumed bool) error {
	j.Logger.Info("run starting", append(append([]any{"input", j.Source.Path, "results", j.Files.Results,
		"concurrency", j.Options.Concurrency, "batch", j.Options.Batch, "reconcile", j.Reconcile, "resume", resumed},
		ahead.attrs()...), j.LogAttrs...)...)
	r.Options.Reads = ahead.Reads
	if err := r.Run(ctx, j.Source.Rows()); err != nil || !j.Verify {
		return err
	}
	n, err := j.verify(ctx, jr, j.VerifyDelay)
	if err == nil && n > 0 {
		j.Logger.Warn("writes accepted but not applied", "rows", n)
	}
	return err
}

// finish writes the results file and says how the run ended (see Run);
// a run that ended well marks its journal complete.
func (j *Job) finish(r *Runner, jr *journal.Journal, started time.Time, runErr error) (*report.Summary, error) {
	sum, err := j.results(r, started)
	if err != nil {
		// Both are true, and the stop (a failed journal, say) is what
		// the exit code must tell.
		return sum, errors.Join(runErr, err)
	}
	if runErr != nil {
		return sum, runErr
	}
	if err := sum.Err(); err != nil {
		return sum, err
	}
	if err := jr.Complete(); err != nil {
		return sum, fmt.Errorf("marking the journal complete: %w", err)
	}
	return sum, nil
}

// verifyJournal checks that each record of the journal the run will
// continue is for the row the input has at its line.
func (j *Job) verifyJournal(path string) error {
	var rowsErr error
	err := journal.Verify(path, j.Source.SHA256, j.Mode, func(yield func(int, uint64) bool) {
		for row, err := range j.Source.Rows() {
			if err != nil {
				rowsErr = err
				return
			}
			if len(row.Problems) == 0 && !yield(row.Line, journal.RowID(row.Key, row.Body)) {
				return
			}
		}
	})
	if rowsErr != nil {
		return rowsErr
	}
	return err
}

// preflight reads the first valid row's object once before anything is
// written, when the run does not reconcile (which reads every row first):
// a removed route, a refused sign-in or a missing permission then stops
// the run before its first write, with the right exit code. (Multi Admin
// Approval lets reads through; the first write meets it.)
func (j *Job) preflight(ctx context.Context) error {
	for row, err := range j.Source.Rows() {
		if err != nil {
			return err
		}
		if len(row.Problems) > 0 {
			continue
		}
		_, res := NewLive(j.Graph, nil).Fetch(ctx, &row.Op)
		if stop := RunFatal(row.Op.Res, res.Err); stop != nil {
			return stop
		}
		return nil
	}
	return nil
}

// results writes the results file from the journal, and returns its
// summary.
func (j *Job) results(r *Runner, started time.Time) (*report.Summary, error) {
	sum := &report.Summary{}
	err := j.Files.WriteResults(j.Source, j.Dialect, func(w Results) error {
		return r.WriteResults(w, j.Source.Rows(), sum)
	})
	sum.Elapsed = time.Since(started)
	if c, ok := j.Graph.(Counter); ok {
		st := c.Stats()
		sum.Writes, sum.Reads, sum.Throttled, sum.Unanswered = st.Writes, st.Reads, st.Throttled, st.Unanswered
	}
	if err != nil {
		if verr := j.Source.Verify(); verr != nil {
			return sum, verr // the input changed in place: that is why its rows no longer match
		}
		return sum, fmt.Errorf("writing %s: %w (the journal %s keeps what was recorded; run the same command again to write the results)",
			j.Files.Results, err, j.Files.Journal())
	}
	return sum, nil
}

// onRow logs a failed row and passes every row on to OnRow.
func (j *Job) onRow(r report.Row) {
	if r.Outcome == report.Failed {
		j.logFailed(r)
	}
	if j.OnRow != nil {
		j.OnRow(r)
	}
}

func (j *Job) logFailed(r report.Row) {
	j.Logger.Warn("row failed", "line", r.Line, "http_status", r.HTTPStatus, "error_code", r.ErrorCode,
		"error_message", report.OneLine(r.ErrorMessage, report.MaxErrorMessage), "attempts", r.Attempts, "request_id", r.RequestID)
}

// logJournal says whether this run continues an earlier, unfinished one
// (interrupted, or with failed rows left to retry), and keeps
// the earlier run's results file before it is replaced.
func (j *Job) logJournal(o journal.Opened) {
	if o.Resumed {
		j.Logger.Info("continuing an unfinished run of this input", "journal", j.Files.Journal(), "rows_done", o.Done)
		return
	}
	if o.Why != "no journal" { // a first run has nothing to say about earlier ones
		j.Logger.Info("starting afresh", "journal", j.Files.Journal(), "why", o.Why)
	}
	kept, err := j.Files.KeepPrevious()
	switch {
	case err != nil:
		j.Logger.Warn("could not keep the previous results file", "results", j.Files.Results, "error", err)
	case kept != "":
		j.Logger.Info("kept the previous run's results", "kept", kept)
	}
}

// JournalError explains a journal that cannot be used, and the way out.
func JournalError(err error) error {
	var (
		me *journal.MismatchError
		ce *journal.CorruptError
		re *journal.RowMismatchError
	)
	switch {
	case errors.As(err, &me):
		return fmt.Errorf("%w; run without --resume (or with --fresh) to start over", err)
	case errors.As(err, &ce), errors.As(err, &re):
		return fmt.Errorf("%w; the journal was damaged or edited, not torn by a crash: keep it for inspection, "+
			"then run with --fresh to start over (apply reads every object first unless told --no-reconcile, so rows already applied are left alone)", err)
	}
	return err
}
