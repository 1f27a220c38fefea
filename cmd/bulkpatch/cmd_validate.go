package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

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

// open opens the CSV input at path, or standard input for "-".
func (e *env) open(path string, opt input.Options) (*input.Source, error) {
	if path == "-" {
		return input.OpenReader("-", e.stdin, opt)
	}
	return input.Open(path, opt)
}

// openChecked opens a CSV input and checks every row (see check). On
// success the caller closes the source; an invalid input comes back open
// too, with its *input.InvalidError.
func (e *env) openChecked(path string, opt input.Options) (*input.Source, input.Stats, error) {
	src, err := e.open(path, opt)
	if err != nil {
		return nil, input.Stats{}, e.inputError(path, err)
	}
	st, err := e.check(src)
	var ie *input.InvalidError
	if err != nil && !errors.As(err, &ie) {
		src.Close()
		return nil, st, err
	}
	return src, st, err
}

// check reads the whole input once, printing each problem as "FILE: line
// N, column C: ...", as compilers do, so editors can jump.
func (e *env) check(src *input.Source) (input.Stats, error) {
	path := src.Path
	if src.PlanPath != "" {
		path = src.PlanPath
	}
	st, err := src.Check(func(msg string) { fmt.Fprintf(e.stderr, "%s: %s\n", path, msg) })
	var ie *input.InvalidError
	if err != nil && !errors.As(err, &ie) {
		return st, e.inputError(path, err)
	}
	return st, err
}

// inputError reports an input that cannot be used at all: a file error
// line by line, as the problems of rows are.
func (e *env) inputError(path string, err error) error {
	var fe *input.FileError
	if !errors.As(err, &fe) || fe.Missing() {
		return err
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(e.stderr, "%s: %s\n", path, line)
	}
	fmt.Fprintf(e.stderr, "bulkpatch: %s cannot be used as input; nothing was sent\n", path)
	return reported{err}
}
