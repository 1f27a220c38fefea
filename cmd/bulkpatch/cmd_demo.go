package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/demo"
)

func (e *env) demoCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{Use: "demo", Args: args(0, "no arguments")}
	c.Flags().StringVar(&dir, "dir", "", "where to write the demo's files (default: a new temporary directory)")
	c.RunE = runE(func(ctx context.Context, _ []string) error { return e.demo(ctx, c.CommandPath(), dir) })
	return c
}

// demo plays the demo's acts, each command run by this CLI in-process.
func (e *env) demo(ctx context.Context, cmd, dir string) error {
	dir, err := demo.Prepare(dir)
	if err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	for _, act := range demo.Script(dir, demo.ExitCodes{OK: exitOK, RowsFailed: exitRowsFailed, Invalid: exitInvalid}) {
		err := act.Play(ctx, e.stdout, e.demoRun)
		if se := (*demo.StepError)(nil); errors.As(err, &se) {
			return reported{err} // the step's output said why
		}
		if err != nil {
			return err
		}
	}
	fmt.Fprintf(e.stdout, "\nDemo files, results and journals are in %s\n", dir)
	return nil
}

// demoRun runs one of the demo's commands in a child env: vars over
// e's environment, and no one at the terminal to answer a prompt.
func (e *env) demoRun(ctx context.Context, vars map[string]string, args []string) int {
	child := *e
	child.stdinTTY = false
	child.getenv = func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return e.getenv(k)
	}
	return child.run(ctx, args)
}
