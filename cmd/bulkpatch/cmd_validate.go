package main

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// validate checks every row offline and sends nothing.
func (e *env) validate(ctx context.Context, args []string) int {
	fset := e.newFlagSet("validate")
	var inf inputFlags
	inf.add(fset)
	pos, code := e.parse(fset, args, 1)
	if code >= 0 {
		return code
	}
	opt, err := inf.options()
	if err != nil {
		e.usageErr(fset.Name(), "%v", err)
		return exitUsage
	}
	in, err := walk(pos[0], opt, inf.maxRows, e.printProblems(pos[0]))
	if code := e.inputVerdict(pos[0], in, err); code != exitOK {
		return code
	}
	fmt.Fprintf(e.stdout, "%s: %d rows, all valid\n", pos[0], in.rows)
	return exitOK
}

// printProblems returns a rowFunc that prints each problem as
// "FILE: line N, column C: ...", as compilers do, so editors can jump.
func (e *env) printProblems(path string) rowFunc {
	return func(_ *csvio.Record, _ *plan.Op, problems []string) error {
		for _, p := range problems {
			fmt.Fprintf(e.stderr, "%s: %s\n", path, p)
		}
		return nil
	}
}

// inputVerdict turns the outcome of a validation pass into an exit code
// and a message: exitOK when the input is valid.
func (e *env) inputVerdict(path string, in *input, err error) int {
	var fe *fileError
	switch {
	case errors.As(err, &fe) && errors.Is(err, fs.ErrNotExist):
		e.errorf("%v", err)
		return exitUsage
	case errors.As(err, &fe):
		for _, line := range strings.Split(err.Error(), "\n") {
			fmt.Fprintf(e.stderr, "%s: %s\n", path, line)
		}
		e.errorf("%s cannot be used as input; nothing was sent", path)
		return exitInvalid
	case err != nil:
		e.errorf("%v", err)
		return exitUsage
	}
	if in.problems > 0 {
		e.errorf("%s: %d problem(s) in %d of %d rows; nothing was sent", path, in.problems, in.badRows, in.rows)
		return exitInvalid
	}
	return exitOK
}
