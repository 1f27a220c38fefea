package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/auth"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// planOpts are plan's flags.
type planOpts struct {
	runFlags
	reconcile, detailed bool
	out                 string
}

func (e *env) planCmd() *cobra.Command {
	var o planOpts
	c := &cobra.Command{Use: "plan FILE.csv", Args: args(1, "one FILE.csv (- for standard input)")}
	fs := c.Flags()
	o.add(fs, e.getenv)
	fs.BoolVar(&o.reconcile, "reconcile", false, "read the live objects and plan only what differs (needs sign-in)")
	fs.StringVar(&o.out, "out", "", "save the plan as JSON for apply --plan")
	fs.BoolVar(&o.detailed, "detailed-exitcode", false, "exit 8 when changes are pending, 0 when none")
	c.RunE = runE(func(ctx context.Context, pos []string) error { return e.plan(ctx, c.CommandPath(), pos[0], o) })
	return c
}

func (e *env) plan(ctx context.Context, cmd, path string, o planOpts) error {
	opt, err := o.options(cmd)
	if err != nil {
		return err
	}
	root, err := auth.GraphRoot(o.conn.Cloud, o.conn.GraphURL) // recorded even when the plan is made offline
	if err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	out := &plan.Output{W: e.stdout}
	if e.quiet {
		out.W = io.Discard
	}
	if o.out != "" {
		if err := safefile.Check(o.out, "--out", path); err != nil {
			return err
		}
		if out.File, err = plan.CreateFile(o.out); err != nil {
			return &usageError{cmd: cmd, err: err}
		}
		defer out.File.Abort()
	}
	opt.SkipCollections = !o.reconcile // an offline plan reads nothing
	src, st, err := e.openChecked(path, opt)
	if src != nil { // an invalid input comes back open
		defer src.Close()
	}
	if err != nil {
		return err
	}
	if o.reconcile {
		err = e.planReconcile(ctx, src, st, o, out)
	} else {
		err = src.WritePlan(out, "bulkpatch "+version, root)
	}
	if err != nil {
		return err
	}
	if err := out.Finish(st.BadRows); err != nil {
		return err
	}
	switch {
	case out.Unread > 0:
		return reported{errors.New("some rows could not be read")}
	case o.detailed && out.Counts.Patch+out.Counts.Update > 0:
		return errChangesPending
	}
	return nil
}

// planReconcile reads the live objects of a valid input and plans only
// what differs.
func (e *env) planReconcile(ctx context.Context, src *input.Source, st input.Stats, o planOpts, out *plan.Output) error {
	logger := e.logger(o.pace)
	conn, err := e.connect("bulkpatch plan", o.conn, o.pace, logger)
	if err != nil {
		return err
	}
	if _, err := signIn(ctx, conn); err != nil {
		return err
	}
	if err := out.Start(src.PlanHeader("bulkpatch "+version, conn.Root, true)); err != nil {
		return err
	}
	return apply.ReconcilePlan(ctx, conn.Client, src, st, o.pace.run.Concurrency, out, func(r input.Row, err error) {
		fmt.Fprintf(e.stderr, "%s: line %d: reading the live object: %v\n", src.Path, r.Line, err)
	})
}
