package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// applyOpts are apply's flags.
type applyOpts struct {
	runFlags
	reconcile, noReconcile, resume, fresh, yes, verify, report bool
	verifyDelay                                                time.Duration
	results, planPath, resultsDialect                          string
}

func (e *env) applyCmd() *cobra.Command {
	var o applyOpts
	c := &cobra.Command{Use: "apply FILE.csv | apply --plan PLAN.json"}
	fs := c.Flags()
	o.add(fs, e.getenv)
	fs.BoolVar(&o.reconcile, "reconcile", false, "read each object first and write only the rows that differ (the default; with --plan: re-check an offline plan)")
	fs.BoolVar(&o.noReconcile, "no-reconcile", false, "write every row without reading first (reads refused, or a forced rewrite)")
	fs.StringVar(&o.results, "results", "", "results CSV path (default: the input's name with .results.csv)")
	fs.BoolVar(&o.resume, "resume", false, "continue an earlier, interrupted run; refuse to start afresh")
	fs.BoolVar(&o.fresh, "fresh", false, "start afresh even if an earlier run of this input was interrupted")
	fs.BoolVar(&o.yes, "yes", false, "apply without asking (needed when there is no terminal, e.g. cron)")
	fs.StringVar(&o.planPath, "plan", "", "apply a plan saved by plan --out exactly as it is")
	fs.BoolVar(&o.verify, "verify", false, "after writing, read every written object back and fail the rows whose values did not stick (notApplied)")
	fs.StringVar(&o.resultsDialect, "results-dialect", "input", "how the results file is written: input (the input's delimiter, encoding, BOM and line ends), excel (BOM and CRLF) or plain (UTF-8, comma, LF)")
	fs.BoolVar(&o.report, "report", false, "also write the HTML run report beside the results (see bulkpatch report)")
	fs.DurationVar(&o.verifyDelay, "verify-delay", 0, "wait this long before --verify reads back (Graph can show the old value for a moment)")
	c.MarkFlagsMutuallyExclusive("resume", "fresh")
	c.MarkFlagsMutuallyExclusive("reconcile", "no-reconcile")
	c.Args = func(c *cobra.Command, pos []string) error {
		if o.planPath != "" {
			return args(0, "no FILE.csv with --plan (the plan names its input)")(c, pos)
		}
		return args(1, "one FILE.csv (- for standard input)")(c, pos)
	}
	c.RunE = runE(func(ctx context.Context, pos []string) error {
		o.pace.rateSet = c.Flags().Changed("rate")
		return e.apply(ctx, c.CommandPath(), pos, o)
	})
	return c
}

func (e *env) apply(ctx context.Context, cmd string, pos []string, o applyOpts) error {
	e.setInterrupting("no new request leaves; the requests on the wire finish and the results are written")
	opt, err := o.options(cmd)
	if err != nil {
		return err
	}
	if _, err := apply.ResultsDialect(o.resultsDialect, csvio.Dialect{}); err != nil {
		return usagef(cmd, "--results-dialect %w", err)
	}
	opt.SkipCollections = o.noReconcile && !o.verify // a CSV input is read live unless told not to
	src, err := e.applySource(o, pos, opt)
	if err != nil {
		return err
	}
	defer src.Close()
	results := o.results
	if results == "" {
		if results = apply.ResultsFor(src.Path); results == "" {
			return usagef(cmd, "the input %s is not a regular file, so there is no default results path: pass --results", src.Path)
		}
	}
	// The results lock is taken before the input is read: a second apply
	// of a huge file stops at once, not after validating it.
	files, err := apply.OpenFiles(results, src.Path, src.PlanPath)
	if err != nil {
		return err
	}
	defer files.Close()
	st, err := e.check(src)
	var ie *input.InvalidError
	switch {
	case errors.As(err, &ie) && src.Plan == nil:
		return e.writeInvalid(files, src, ie, o.resultsDialect)
	case err != nil:
		return err
	}
	return e.applyRun(ctx, o, src, st, files)
}

// applySource opens what apply sends: a CSV, or a saved plan.
func (e *env) applySource(o applyOpts, pos []string, opt input.Options) (*input.Source, error) {
	path, open := o.planPath, input.OpenPlan
	if path == "" {
		opt.Stdin = e.stdin
		path, open = pos[0], func(p string) (*input.Source, error) { return input.Open(p, opt) }
	}
	src, err := open(path)
	if err != nil {
		return nil, told(input.Explain(e.stderr, path, err))
	}
	return src, nil
}

// writeInvalid writes the results file of an input that did not
// validate: nothing is sent, and the spreadsheet user sees the problems
// next to the data.
func (e *env) writeInvalid(files *apply.Files, src *input.Source, ie *input.InvalidError, dialect string) error {
	d, _ := apply.ResultsDialect(dialect, src.Dialect) // the name was checked before the input was opened
	if err := files.WriteInvalid(src, d); err != nil {
		fmt.Fprintf(e.stderr, "bulkpatch: writing %s: %v\n", files.Results, err)
	} else {
		fmt.Fprintf(e.stderr, "bulkpatch: problems listed per row in %s\n", files.Results)
	}
	return ie
}

// applyRun confirms, signs in, runs and reports.
func (e *env) applyRun(ctx context.Context, o applyOpts, src *input.Source, st input.Stats, files *apply.Files) error {
	logger := e.logger(o.pace)
	if !o.pace.rateSet {
		o.pace.graph.WriteRate = src.Res.DefaultRate // the resource's Intune throttling bucket
	}
	if src.Plan != nil {
		// A saved plan goes to the root it was made for; another one
		// named is refused.
		if err := o.conn.ForPlan(src.Plan.GraphRoot); err != nil {
			return usagef("bulkpatch apply", "%w", err)
		}
	}
	conn, err := e.connect("bulkpatch apply", o.conn, o.pace, logger)
	if err != nil {
		return err
	}
	var events *slog.Logger
	if o.pace.logFormat == "json" {
		events = logger
	}
	prog := report.NewProgress(e.barOut, report.ChooseProgress(o.pace.progress, e.quiet, e.stderrTTY), st.Rows, func() report.Live {
		s := conn.Client.Stats()
		return report.Live{Throttled: s.Throttled, WriteRate: s.WriteRate}
	}, events)
	ask := src.Plan == nil && !o.yes
	if ask && !e.stdinTTY {
		return usagef("bulkpatch apply", "refusing to write without confirmation: there is no terminal to ask on; pass --yes (cron) or review with `bulkpatch plan` first")
	}
	dialect, _ := apply.ResultsDialect(o.resultsDialect, src.Dialect) // the name was checked before the input was opened
	job := &apply.Job{
		Source: src, Rows: st.Rows, Files: files, Graph: conn.Client, Mode: journalMode(o), Dialect: dialect,
		Reconcile: !o.noReconcile && (o.reconcile || src.Reconciles()), Collections: st, Logger: logger,
		Options: o.pace.run, OnRow: prog.Row, Verify: o.verify, VerifyDelay: o.verifyDelay,
	}
	var who string
	job.Ready = func(ctx context.Context) error {
		id, err := signIn(ctx, conn)
		who = id.String()
		job.LogAttrs = []any{"graph", conn.Root, "identity", who, "auth", conn.Tokens.Kind(), "version", version, "rate", o.pace.graph.WriteRate}
		return err
	}
	if ask {
		job.Confirm = func(_ context.Context, a apply.Ahead) error { return e.confirm(src, a, conn.Root, who) }
	}
	sum, err := job.Run(ctx)
	prog.Finish()
	if sum == nil {
		return err
	}
	end := report.RunEnd{Results: files.Results, Quiet: e.quiet, Stdout: e.stdout, Stderr: e.stderr, Logger: logger, Events: events}
	if o.report {
		end.Report = &report.HTMLOptions{InputPath: src.Path, Resource: src.Res.Name, Encoding: src.Dialect.Encoding, Rate: o.pace.graph.WriteRate}
	}
	return e.finishRun(sum, err, end)
}

// finishRun tells how the run ended (report.RunEnd) and returns its
// error, marked reported when the summary or the "run stopped" event
// said it.
func (e *env) finishRun(sum *report.Summary, err error, end report.RunEnd) error {
	if errors.Is(err, report.ErrRowsFailed) {
		err = reported{err} // the summary said which rows and why
	}
	end.ExitCode = exitCode(err)
	se, stopped := err.(*apply.StopError)
	if stopped {
		end.Stopped = se
	}
	end.Tell(sum)
	if stopped && end.Events != nil {
		return reported{se}
	}
	return err
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

// confirm shows what apply is about to do, where and as whom, and asks.
func (e *env) confirm(src *input.Source, a apply.Ahead, root, who string) error {
	fmt.Fprintf(e.stderr, "About to write %s from %s\nto %s as %s.\nType yes to apply: ", a, src.Path, root, who)
	answer, _ := bufio.NewReader(e.stdin).ReadString('\n')
	if strings.TrimSpace(strings.ToLower(answer)) != "yes" {
		return usagef("bulkpatch apply", "not confirmed; nothing was written")
	}
	return nil
}
