package main

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/input"
)

// validate checks every row offline and sends nothing.
func (e *env) validate(ctx context.Context, args []string) error {
	fset := e.newFlagSet("validate")
	var inf inputFlags
	inf.add(fset)
	pos, err := parse(fset, args, 1)
	if err != nil {
		return err
	}
	opt, err := inf.options()
	if err != nil {
		return &usageError{cmd: fset.Name(), err: err}
	}
	src, st, err := e.openChecked(pos[0], opt)
	if err != nil {
		return err
	}
	defer src.Close()
	fmt.Fprintf(e.stdout, "%s: %d rows, all valid\n", pos[0], st.Rows)
	return nil
}

// openChecked opens a CSV input and checks every row, printing each
// problem as "FILE: line N, column C: ...", as compilers do, so editors
// can jump. On success the caller closes the source; an invalid input
// comes back open too, with an *input.InvalidError, for apply's results.
func (e *env) openChecked(path string, opt input.Options) (*input.Source, input.Stats, error) {
	src, err := input.Open(path, opt)
	if err != nil {
		return nil, input.Stats{}, e.inputError(path, err)
	}
	st, err := src.Check(func(msg string) { fmt.Fprintf(e.stderr, "%s: %s\n", path, msg) })
	var ie *input.InvalidError
	switch {
	case errors.As(err, &ie):
		return src, st, err
	case err != nil:
		src.Close()
		return nil, st, e.inputError(path, err)
	}
	return src, st, nil
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
