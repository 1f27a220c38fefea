package main

import (
	"bufio"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"iter"
	"log/slog"
	"path/filepath"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/schema"
)

// source is a validated input to apply: a CSV file or a saved plan.
type source struct {
	path     string // the input CSV (results are named after it)
	sha256   string
	rows     int
	propCols []int
	groups   map[apply.Group]int
	// items reads the input again from the start; each call is a new
	// pass, so nothing proportional to the rows is held in memory.
	items func() iter.Seq2[apply.Item, error]
	// fromPlan: the user already reviewed these operations.
	fromPlan bool
	// planRoot is the Graph root a reconciled plan was read from.
	planRoot string
	// invalid maps a line to its problems when the input is invalid.
	invalid map[int]string
	// file is the input (a CSV or a plan) held open for the whole run, so
	// that every pass reads what was validated.
	file *heldFile
}

func (e *env) apply(ctx context.Context, args []string) int {
	fset := e.newFlagSet("apply")
	var (
		inf       inputFlags
		conn      connFlags
		pace      paceFlags
		reconcile = fset.Bool("reconcile", false, "read each object first and skip rows already in the desired state")
		results   = fset.String("results", "", "results CSV path (default: the input's name with .results.csv)")
		resume    = fset.Bool("resume", false, "skip rows an earlier, interrupted run already applied")
		yes       = fset.Bool("yes", false, "apply without asking (needed when there is no terminal, e.g. cron)")
		planPath  = fset.String("plan", "", "apply a plan saved by `plan --out` exactly as it is")
	)
	inf.add(fset)
	conn.add(fset, e.getenv)
	pace.add(fset)
	nPos := 1
	if hasFlag(args, "plan") {
		nPos = 0
	}
	pos, opt, code := e.parseRun(fset, args, nPos, &inf, &pace)
	if code >= 0 {
		return code
	}

	var src *source
	if *planPath != "" {
		src, code = e.planSource(*planPath)
	} else {
		src, code = e.csvSource(pos[0], opt, inf.maxRows, *reconcile)
	}
	if src == nil {
		return code
	}
	defer src.file.Close()
	resultsPath := *results
	if resultsPath == "" {
		resultsPath = strings.TrimSuffix(src.path, filepath.Ext(src.path)) + ".results.csv"
	}

	// One apply per results file: cron runs overlap when a job runs long.
	// Taken before anything is written, the invalid-input results too.
	lock, err := journal.Acquire(resultsPath + ".lock")
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	defer lock.Release()

	if src.invalid != nil {
		// Nothing is sent; the results file still shows every row, so
		// the spreadsheet user sees the problems next to the data.
		if err := writeResults(resultsPath, src, invalidOrNot(src.invalid), nil); err != nil {
			e.errorf("writing %s: %v", resultsPath, err)
		} else {
			e.errorf("problems listed per row in %s", resultsPath)
		}
		return exitInvalid
	}

	logger := newLogger(e.stderr, pace.logFormat, e.getenv)
	c, err := e.connect(conn, pace, logger)
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	if src.planRoot != "" && strings.TrimRight(src.planRoot, "/") != strings.TrimRight(c.root, "/") {
		e.errorf("the plan was reconciled against %s, not %s; plan again or pass --graph-url %s", src.planRoot, c.root, src.planRoot)
		return exitUsage
	}

	// A fresh journal replaces the last run's record, so it is opened only
	// once this run is sure to start: an unconfirmed or misconfigured run
	// must not cost an interrupted one its --resume. With --resume nothing
	// is replaced, and what is done is worth showing in the confirmation.
	var (
		jr   *journal.Journal
		done *journal.State
	)
	openJournal := func() int {
		var err error
		jr, done, err = journal.Open(resultsPath+".journal", src.sha256, *resume)
		if err != nil {
			var me *journal.MismatchError
			if errors.As(err, &me) {
				e.errorf("%v; run without --resume to start over", err)
			} else {
				e.errorf("opening the journal: %v", err)
			}
			return exitUsage
		}
		return -1
	}
	if *resume {
		if code := openJournal(); code >= 0 {
			return code
		}
		defer jr.Close()
	}
	if !src.fromPlan && !*yes {
		if code := e.confirm(src, done, *reconcile); code >= 0 {
			return code
		}
	}
	if code := e.signIn(ctx, c); code >= 0 {
		return code
	}
	if !*resume {
		if code := openJournal(); code >= 0 {
			return code
		}
		defer jr.Close()
	}
	logger.Info("run starting", "input", src.path, "rows", src.rows, "results", resultsPath,
		"graph", c.root, "auth", c.tokens.Kind(), "rate", pace.rate, "concurrency", pace.concurrency,
		"batch", pace.batch, "reconcile", *reconcile, "resume", *resume, "resumed_rows", done.Len())

	var events *slog.Logger
	if pace.logFormat == "json" {
		events = logger
	}
	prog := e.newProgress(pace.progress, src.rows, c.client.Stats, events)
	runner := &apply.Runner{
		Graph:    c.client,
		Recorder: jr,
		Done:     done.Done,
		OnRow: func(r report.Row) {
			prog.row(r)
			if r.Outcome == report.Failed {
				logger.Warn("row failed", "line", r.Line, "http_status", r.HTTPStatus, "error_code", r.ErrorCode,
					"error_message", truncate(r.ErrorMessage, 300), "attempts", r.Attempts, "request_id", r.RequestID)
			}
		},
		Options: apply.Options{
			Concurrency: pace.concurrency,
			Batch:       pace.batch,
			MaxDuration: pace.maxDuration,
		},
	}
	if *reconcile {
		runner.Options.Reconcile = apply.NewLive(c.client, src.groups)
	}
	started := time.Now()
	rows, runErr := runner.Run(ctx, src.items())
	prog.finish()

	sum := &report.Summary{}
	if err := writeResults(resultsPath, src, settledOrNot(rows), sum); err != nil {
		e.errorf("writing %s: %v (the journal %s.journal still has every finished row)", resultsPath, err, resultsPath)
		return exitRowsFailed
	}
	stats := c.client.Stats()
	sum.Elapsed = time.Since(started)
	sum.Throttled = int(stats.Throttled)
	sum.WriteText(e.stdout)
	fmt.Fprintf(e.stdout, "Results: %s\n", resultsPath)
	logger.Info("run finished", "results", resultsPath, "elapsed_ms", sum.Elapsed.Milliseconds(),
		"writes", stats.Writes, "throttled", stats.Throttled)

	code = sum.ExitCode()
	var se *apply.StopError
	switch {
	case errors.As(runErr, &se):
		code = stopCode(se.Reason)
		if events != nil {
			events.Error("run stopped", "exit_code", code, "reason", se.Msg)
		} else {
			e.errorf("%s", se.Msg)
		}
	case runErr != nil:
		e.errorf("%v", runErr)
		code = exitRowsFailed
	case code == exitOK:
		if err := jr.Complete(); err != nil {
			e.errorf("marking the journal complete: %v", err)
		}
	}
	return code
}

// stopCode is the exit code of a run that stopped early. A stop is never
// a success, whatever its reason.
func stopCode(r apply.StopReason) int {
	switch r {
	case apply.Interrupted:
		return exitInterrupted
	case apply.TimeUp:
		return exitTimeUp
	case apply.AuthFailed:
		return exitAuth
	case apply.Systemic:
		return exitUnavailable
	}
	return exitRowsFailed
}

// hasFlag reports whether args set the flag name (as -name, --name,
// -name=... or --name=...).
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// csvSource validates the whole CSV before anything is sent. Unless it
// returns nil, the caller closes the source's file.
func (e *env) csvSource(path string, opt csvio.ReaderOptions, maxRows int, reconcile bool) (*source, int) {
	h, err := openHeld(path)
	if err != nil {
		return nil, e.inputVerdict(path, nil, err)
	}
	h.countGroups = reconcile
	invalid := map[int]string{}
	in, err := h.walk(opt, maxRows, func(rec *csvio.Record, op *plan.Op, msgs []string) error {
		if op == nil {
			for _, m := range msgs {
				fmt.Fprintf(e.stderr, "%s: %s\n", path, m)
			}
			invalid[rec.Line] = strings.Join(msgs, "; ")
		}
		return nil
	})
	code := e.inputVerdict(path, in, err)
	if code == exitInvalid && in != nil && err == nil {
		return &source{path: path, propCols: in.propCols, invalid: invalid, file: h,
			items: func() iter.Seq2[apply.Item, error] { return rowsOf(h, opt, in.propCols) }}, exitInvalid
	}
	if code != exitOK {
		h.Close()
		return nil, code
	}
	return &source{
		path: path, sha256: in.sha256, rows: in.rows, propCols: in.propCols, groups: in.groups, file: h,
		items: func() iter.Seq2[apply.Item, error] { return items(h, opt, in.propCols) },
	}, exitOK
}

// confirm shows what apply is about to do and asks. It returns an exit
// code to stop with, or -1 to go on.
func (e *env) confirm(src *source, done *journal.State, reconcile bool) int {
	if !e.stdinTTY {
		e.errorf("refusing to write without confirmation: there is no terminal to ask on; pass --yes (cron) or review with `bulkpatch plan` first")
		return exitUsage
	}
	what := fmt.Sprintf("%d rows", src.rows)
	if n := done.Len(); n > 0 {
		what += fmt.Sprintf(" (%d already done by an earlier run will be skipped)", n)
	}
	if reconcile {
		what += ", skipping those already in the desired state"
	}
	fmt.Fprintf(e.stderr, "About to PATCH %s from %s.\nType yes to apply: ", what, src.path)
	answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if strings.TrimSpace(strings.ToLower(answer)) != "yes" {
		e.errorf("not confirmed; nothing was sent")
		return exitUsage
	}
	return -1
}

// writeResults writes one row per input row, in input order: what row
// says became of it. sum, when set, counts every row written.
func writeResults(path string, src *source, row func(apply.Item) report.Row, sum *report.Summary) error {
	w, err := report.Create(path, propNames(src.propCols))
	if err != nil {
		return err
	}
	for it, err := range src.items() {
		if err != nil {
			w.Abort()
			return err
		}
		r := row(it)
		if sum != nil {
			sum.Add(r)
		}
		if err := w.Write(r); err != nil {
			w.Abort()
			return err
		}
	}
	return w.Commit()
}

// settledOrNot reports the rows this run settled, and the rest as
// not_attempted.
func settledOrNot(rows map[int]report.Row) func(apply.Item) report.Row {
	return func(it apply.Item) report.Row {
		if r, ok := rows[it.Op.Line]; ok {
			return r
		}
		return notAttempted(it)
	}
}

// invalidOrNot reports an invalid input: each bad row "invalid" with its
// problems, the others "not_attempted".
func invalidOrNot(invalid map[int]string) func(apply.Item) report.Row {
	return func(it apply.Item) report.Row {
		r := notAttempted(it)
		if msg, bad := invalid[it.Op.Line]; bad {
			r.Outcome, r.ErrorMessage = report.Invalid, msg
		}
		return r
	}
}

func notAttempted(it apply.Item) report.Row {
	return report.Row{
		Line: it.Op.Line, MobileAppID: it.Op.AppID, UserAppInstallStatusID: it.Op.UserStatusID,
		MobileAppInstallStatusID: it.Op.StatusID, Outcome: report.NotAttempted, Props: it.Props,
	}
}

func propNames(cols []int) []string { return (&input{propCols: cols}).propNames() }

// rowsOf yields every row of a CSV, valid or not, with whatever ids it
// has, for the results file of an invalid input.
func rowsOf(h *heldFile, opt csvio.ReaderOptions, propCols []int) iter.Seq2[apply.Item, error] {
	return func(yield func(apply.Item, error) bool) {
		stop := errors.New("stop")
		_, err := h.walk(opt, 0, func(rec *csvio.Record, op *plan.Op, _ []string) error {
			it := apply.Item{Op: plan.Op{Line: rec.Line, AppID: rec.Cells[csvio.MobileAppID],
				UserStatusID: rec.Cells[csvio.UserAppInstallStatusID], StatusID: rec.Cells[csvio.MobileAppInstallStatusID]}}
			if op != nil {
				it.Props = propCells(op, propCols)
			} else {
				it.Props = make([]string, len(propCols))
				for i, p := range propCols {
					it.Props[i] = rec.Cells[csvio.FirstProperty+csvio.Column(p)]
				}
			}
			if !yield(it, nil) {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			yield(apply.Item{}, err)
		}
	}
}

// planSource opens a saved plan: it checks that the input it was made from
// is unchanged and that every operation in it is still valid.
func (e *env) planSource(path string) (*source, int) {
	pf, err := openHeld(path)
	if err != nil {
		e.errorf("%v", err)
		return nil, exitUsage
	}
	src, code := e.planSourceFrom(pf)
	if src == nil {
		pf.Close()
	}
	return src, code
}

func (e *env) planSourceFrom(pf *heldFile) (*source, int) {
	path := pf.path
	fr, err := plan.NewFileReader(pf.reader())
	if err != nil {
		e.errorf("%s: %v", path, err)
		return nil, exitInvalid
	}
	h := fr.Header()
	sum, err := fileSHA256(h.InputPath)
	switch {
	case err != nil:
		e.errorf("the plan was made from %s, which cannot be read (%v); plan again", h.InputPath, err)
		return nil, exitUsage
	case sum != h.InputSHA256:
		e.errorf("%s changed since the plan was made (sha256 %s, plan says %s); plan again", h.InputPath, short(sum), short(h.InputSHA256))
		return nil, exitUsage
	}
	src := &source{path: h.InputPath, sha256: h.InputSHA256, fromPlan: true, planRoot: h.GraphRoot, groups: map[apply.Group]int{}, file: pf}
	for _, name := range h.Columns {
		if i := schema.PropertyIndex(name); i >= 0 {
			src.propCols = append(src.propCols, i)
		}
	}
	src.items = func() iter.Seq2[apply.Item, error] { return planItems(pf, src.propCols) }
	// Validate every operation before sending any.
	bad := 0
	for it, err := range src.items() {
		var ie *invalidOpError
		if errors.As(err, &ie) {
			bad++
			fmt.Fprintf(e.stderr, "%s: %v\n", path, ie)
			continue
		}
		if err != nil {
			e.errorf("%s: %v", path, err)
			return nil, exitInvalid
		}
		src.rows++
		countGroup(src.groups, &it.Op)
	}
	if bad > 0 {
		e.errorf("%s: %d invalid operation(s); nothing was sent", path, bad)
		return nil, exitInvalid
	}
	return src, exitOK
}

func short(s string) string { return truncate(s, 12) }

// invalidOpError is an operation in a plan file that does not validate.
type invalidOpError struct{ problems []plan.Problem }

func (e *invalidOpError) Error() string {
	msgs := make([]string, len(e.problems))
	for i, p := range e.problems {
		msgs[i] = p.Error()
	}
	return strings.Join(msgs, "; ")
}

// planItems yields a saved plan's operations. An invalid one is yielded
// as an *invalidOpError and the sequence goes on.
func planItems(pf *heldFile, propCols []int) iter.Seq2[apply.Item, error] {
	return func(yield func(apply.Item, error) bool) {
		// The first pass's hash is what every later pass must read.
		sum := sha256.New()
		br := bufio.NewReader(io.TeeReader(pf.reader(), sum))
		fr, err := plan.NewFileReader(br)
		if err != nil {
			yield(apply.Item{}, err)
			return
		}
		// CheckBody, unlike OpFromBody, remembers earlier rows and so
		// catches the same object twice in a tampered plan.
		v := plan.NewValidator()
		for {
			en, err := fr.Next()
			if errors.Is(err, io.EOF) {
				if _, err = io.Copy(io.Discard, br); err == nil {
					err = pf.same(hexSum(sum))
				}
				if err != nil {
					yield(apply.Item{}, err)
				}
				return
			}
			if err != nil {
				yield(apply.Item{}, err)
				return
			}
			op, problems := v.CheckBody(en.Line, en.MobileAppID, en.UserAppInstallStatusID, en.MobileAppInstallStatusID, en.Body)
			if len(problems) > 0 {
				if !yield(apply.Item{}, &invalidOpError{problems}) {
					return
				}
				continue
			}
			action := ""
			if en.Action == plan.ActionUnchanged {
				action = plan.ActionUnchanged
			}
			it := apply.Item{Op: op, Body: op.AppendBody(nil), Props: propCells(&op, propCols), Action: action}
			if !yield(it, nil) {
				return
			}
		}
	}
}
