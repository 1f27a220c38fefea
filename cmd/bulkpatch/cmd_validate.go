package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/input"
)

func (e *env) validateCmd() *cobra.Command {
	var inf inputFlags
	c := &cobra.Command{Use: "validate FILE.csv", Args: args(1, "one FILE.csv (- for standard input)")}
	inf.add(c.Flags())
	c.RunE = runE(func(ctx context.Context, pos []string) error {
		opt, err := inf.options()
		if err != nil {
			return &usageError{cmd: c.CommandPath(), err: err}
		}
		return e.validate(pos[0], opt)
	})
	return c
}

// validate checks every row offline and sends nothing.
func (e *env) validate(path string, opt input.Options) error {
	opt.SkipCollections = true // nothing is read
	src, st, err := e.openChecked(path, opt)
	if err != nil {
		return err
	}
	defer src.Close()
	if !e.quiet {
		fmt.Fprintf(e.stdout, "%s: %d rows, all valid\n", path, st.Rows)
	}
	return nil
}

// openChecked opens a CSV input, "-" being stdin, and checks every row,
// printing each problem on stderr (input.OpenChecked). An invalid input
// comes back open, with its *input.InvalidError.
func (e *env) openChecked(path string, opt input.Options) (*input.Source, input.Stats, error) {
	opt.Stdin = e.stdin
	src, st, err := input.OpenChecked(path, opt, e.stderr)
	return src, st, told(err)
}

// check reads the whole input once, printing each problem on stderr
// (input.Source.CheckTo).
func (e *env) check(src *input.Source) (input.Stats, error) {
	st, err := src.CheckTo(e.stderr)
	return st, told(err)
}

// told marks an error the input package has told the user about (an
// *input.ExplainedError) as reported.
func told(err error) error {
	if errors.As(err, new(*input.ExplainedError)) {
		return reported{err}
	}
	return err
}
