package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// applyOpts are apply's flags.
type applyOpts struct {
	runFlags
	reconcile, resume, fresh, yes bool
	results, planPath             string
}

func (e *env) apply(ctx context.Context, args []string) error {
	fset := e.newFlagSet("apply")
	var o applyOpts
	o.add(fset, e.getenv)
	fset.BoolVar(&o.reconcile, "reconcile", false, "read each object first and skip rows already in the desired state")
	fset.StringVar(&o.results, "results", "", "results CSV path (default: the input's name with .results.csv)")
	fset.BoolVar(&o.resume, "resume", false, "continue an earlier, interrupted run; refuse to start afresh")
	fset.BoolVar(&o.fresh, "fresh", false, "start afresh even if an earlier run of this input was interrupted")
	fset.BoolVar(&o.yes, "yes", false, "apply without asking (needed when there is no terminal, e.g. cron)")
	fset.StringVar(&o.planPath, "plan", "", "apply a plan saved by `plan --out` exactly as it is")
	nPos := 1
	if hasFlag(args, "plan") {
		nPos = 0
	}
	pos, opt, err := o.parse(fset, args, nPos)
	if err != nil {
		return err
	}
	if o.resume && o.fresh {
		return usagef(fset.Name(), "--resume and --fresh contradict each other")
	}
	src, st, invalid, err := e.applySource(o, pos, opt)
	if err != nil {
		return err
	}
	defer src.Close()
	results, err := resultsPath(fset.Name(), o, src)
	if err != nil {
		return err
	}
	files, err := apply.OpenFiles(results, src.Path, src.PlanPath)
	if err != nil {
		return err
	}
	defer files.Close()
	if invalid != nil {
		return e.writeInvalid(files, src, invalid)
	}
	return e.applyRun(ctx, o, src, st, files)
}

// applySource opens and checks what apply sends: a CSV, or a saved plan.
// An invalid CSV comes back open, with its *input.InvalidError, so that
// its results file can show the problems.
func (e *env) applySource(o applyOpts, pos []string, opt input.Options) (*input.Source, input.Stats, *input.InvalidError, error) {
	if o.planPath == "" {
		src, st, err := e.openChecked(pos[0], opt)
		if ie, ok := err.(*input.InvalidError); ok {
			return src, st, ie, nil
		}
		return src, st, nil, err
	}
	src, err := input.OpenPlan(o.planPath)
	if err != nil {
		return nil, input.Stats{}, nil, e.inputError(o.planPath, err)
	}
	st, err := src.Check(func(msg string) { fmt.Fprintf(e.stderr, "%s: %s\n", o.planPath, msg) })
	if err != nil {
		src.Close()
		return nil, st, nil, e.inputError(o.planPath, err)
	}
	return src, st, nil, nil
}

// resultsPath is where the results go: --results, or the input's name
// with .results.csv.
func resultsPath(cmd string, o applyOpts, src *input.Source) (string, error) {
	if o.results != "" {
		return o.results, nil
	}
	if fi, err := os.Stat(src.Path); err == nil && !fi.Mode().IsRegular() {
		return "", usagef(cmd, "the input %s is not a regular file, so there is no default results path: pass --results", src.Path)
	}
	return strings.TrimSuffix(src.Path, filepath.Ext(src.Path)) + ".results.csv", nil
}

// writeInvalid writes the results file of an input that did not
// validate: nothing is sent, and the spreadsheet user sees the problems
// next to the data.
func (e *env) writeInvalid(files *apply.Files, src *input.Source, ie *input.InvalidError) error {
	err := files.WriteResults(src, csvio.WriterOptions{}, func(w apply.Results) error {
		return apply.WriteInvalid(w, src.Rows(), &report.Summary{})
	})
	if err != nil {
		fmt.Fprintf(e.stderr, "bulkpatch: writing %s: %v\n", files.Results, err)
	} else {
		fmt.Fprintf(e.stderr, "bulkpatch: problems listed per row in %s\n", files.Results)
	}
	return ie
}

// applyRun confirms, signs in, runs and reports.
func (e *env) applyRun(ctx context.Context, o applyOpts, src *input.Source, st input.Stats, files *apply.Files) error {
	logger := newLogger(e.stderr, o.pace.logFormat, e.getenv)
	if err := planTarget(&o.conn, src); err != nil {
		return err
	}
	conn, err := e.connect("bulkpatch apply", o.conn, o.pace, logger)
	if err != nil {
		return err
	}
	mode := journalMode(o)
	peek, err := journal.Peek(files.Journal(), src.SHA256, mode)
	if err != nil {
		return journalError(err)
	}
	if src.Plan == nil && !o.yes {
		if err := e.confirm(src, st.Rows, peek.Done, conn.root); err != nil {
			return err
		}
	}
	if err := conn.signIn(ctx); err != nil {
		return err
	}
	jr, opened, err := journal.Open(files.Journal(), src.SHA256, mode)
	if err != nil {
		return journalError(err)
	}
	defer jr.Close()
	e.logJournal(logger, files, opened)
	logger.Info("run starting", "input", src.Path, "rows", st.Rows, "results", files.Results,
		"graph", conn.root, "auth", conn.tokens.Kind(), "version", version, "rate", o.pace.rate,
		"concurrency", o.pace.concurrency, "batch", o.pace.batch, "reconcile", o.reconcile,
		"resume", opened.Resumed, "resumed_rows", opened.Done)
	var events *slog.Logger
	if o.pace.logFormat == "json" {
		events = logger
	}
	prog := report.NewProgress(e.stderr, e.progressMode(o.pace.progress), st.Rows, func() report.Live {
		s := conn.client.Stats()
		return report.Live{Throttled: s.Throttled, WriteRate: s.WriteRate}
	}, events)
	runner := newRunner(o, conn, jr, st, prog, logger)
	started := time.Now()
	runErr := runner.Run(ctx, src.Rows())
	prog.Finish()
	return e.finishRun(runErr, runner, src, files, jr, conn, started, logger, events)
}

// progressMode is how --progress shows a run here.
func (e *env) progressMode(flag string) report.ProgressMode {
	switch {
	case flag == "never":
		return report.NoProgress
	case flag == "always" || e.stderrTTY:
		return report.ProgressBar
	}
	return report.ProgressLines
}

// journalMode is what apply does with an earlier run's journal.
func journalMode(o applyOpts) journal.Mode {
	switch {
	case o.resume:
		return journal.Resume
	case o.fresh:
		return journal.Fresh
	}
	return journal.Auto
}

// journalError explains a journal that cannot be used, and the way out.
func journalError(err error) error {
	switch err.(type) {
	case *journal.MismatchError:
		return fmt.Errorf("%w; run without --resume (or with --fresh) to start over", err)
	case *journal.CorruptError, *journal.RowMismatchError:
		return fmt.Errorf("%w; the journal was damaged or edited, not torn by a crash: keep it for inspection, "+
			"then run with --fresh to start over (with --reconcile, rows already applied are read and left alone)", err)
	}
	return err
}

// logJournal says whether this run continues an earlier one, and keeps
// the earlier run's results file before it is replaced.
func (e *env) logJournal(logger *slog.Logger, files *apply.Files, o journal.Opened) {
	if o.Resumed {
		logger.Info("continuing an interrupted run of this input", "journal", files.Journal(), "rows_done", o.Done)
		return
	}
	if o.Why != "no journal" { // a first run has nothing to say about earlier ones
		logger.Info("starting afresh", "journal", files.Journal(), "why", o.Why)
	}
	kept, err := files.KeepPrevious()
	switch {
	case err != nil:
		logger.Warn("could not keep the previous results file", "results", files.Results, "error", err)
	case kept != "":
		logger.Info("kept the previous run's results", "kept", kept)
	}
}

// planTarget makes a saved plan go to the Graph root it was made for,
// unless the user names one explicitly: a different one is refused.
func planTarget(c *connFlags, src *input.Source) error {
	if src.Plan == nil || src.Plan.GraphRoot == "" {
		return nil
	}
	want := strings.TrimRight(src.Plan.GraphRoot, "/")
	explicit := c.graphURL != "" || c.cloud != "global"
	if !explicit {
		c.graphURL = src.Plan.GraphRoot
		return nil
	}
	root, err := graphRoot(*c)
	if err != nil {
		return usagef("bulkpatch apply", "%v", err)
	}
	if strings.TrimRight(root, "/") != want {
		return usagef("bulkpatch apply", "the plan was made for %s, not %s; plan again, or leave out --graph-url/--cloud to use the plan's", want, root)
	}
	return nil
}

// newRunner sets up the engine for one apply.
func newRunner(o applyOpts, conn *connection, jr *journal.Journal, st input.Stats, prog *report.Progress, logger *slog.Logger) *apply.Runner {
	r := &apply.Runner{
		Graph:    conn.client,
		Recorder: jr,
		OnRow: func(r report.Row) {
			prog.Row(r)
			if r.Outcome == report.Failed {
				logger.Warn("row failed", "line", r.Line, "http_status", r.HTTPStatus, "error_code", r.ErrorCode,
					"error_message", truncate(r.ErrorMessage, 300), "attempts", r.Attempts, "request_id", r.RequestID)
			}
		},
		Options: apply.Options{Concurrency: o.pace.concurrency, Batch: o.pace.batch, MaxDuration: o.pace.maxDuration},
	}
	if o.reconcile {
		r.Options.Reconcile = apply.NewLive(conn.client, st.Collections)
	}
	return r
}

// finishRun writes the results from the journal, shows the summary and
// says how the run ended.
func (e *env) finishRun(runErr error, runner *apply.Runner, src *input.Source, files *apply.Files, jr *journal.Journal,
	conn *connection, started time.Time, logger, events *slog.Logger) error {
	sum := &report.Summary{}
	err := files.WriteResults(src, csvio.WriterOptions{}, func(w apply.Results) error {
		return runner.WriteResults(w, src.Rows(), sum)
	})
	if err != nil {
		if verr := src.Verify(); verr != nil {
			return verr // the input changed in place: that is why its rows no longer match
		}
		return fmt.Errorf("writing %s: %w (the journal %s keeps what was recorded; run the same command again to write the results)",
			files.Results, err, files.Journal())
	}
	stats := conn.client.Stats()
	sum.Writes, sum.Reads, sum.Throttled = stats.Writes, stats.Reads, stats.Throttled
	sum.Elapsed = time.Since(started)
	sum.WriteText(e.stdout)
	fmt.Fprintf(e.stdout, "Results: %s\n", files.Results)
	final := runErr
	if final == nil {
		if final = sum.Err(); final != nil {
			final = errRowsFailed
		} else if err := jr.Complete(); err != nil {
			final = fmt.Errorf("marking the journal complete: %w", err)
		}
	}
	logger.Info("run finished", append(append([]any{"results", files.Results, "elapsed_ms", sum.Elapsed.Milliseconds()},
		sum.Attrs()...), "exit_code", exitCode(final))...)
	if se, ok := final.(*apply.StopError); ok && events != nil {
		events.Error("run stopped", "exit_code", exitCode(se), "reason", se.Msg)
		return reported{se}
	}
	return final
}

// confirm shows what apply is about to do and asks.
func (e *env) confirm(src *input.Source, rows, done int, root string) error {
	if !e.stdinTTY {
		return usagef("bulkpatch apply", "refusing to write without confirmation: there is no terminal to ask on; pass --yes (cron) or review with `bulkpatch plan` first")
	}
	what := fmt.Sprintf("%d rows", rows)
	if done > 0 {
		what += fmt.Sprintf(" (%d already done by an earlier run will be skipped)", done)
	}
	fmt.Fprintf(e.stderr, "About to write %s from %s to %s.\nType yes to apply: ", what, src.Path, root)
	answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if strings.TrimSpace(strings.ToLower(answer)) != "yes" {
		return usagef("bulkpatch apply", "not confirmed; nothing was sent")
	}
	return nil
}

