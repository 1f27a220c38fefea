package input

import (
	"errors"
	"fmt"
	"io"
	"strings"
)

// The functions here tell the user about an input's problems as every
// command does: each on its own line, "FILE: line N, column C: ...", as
// compilers do, so that editors can jump; FILE is the file the user
// named (the saved plan, for a plan).

// ExplainedError is an error already written out where the problems go
// (Explain): the caller need not say it again.
type ExplainedError struct{ Err error }

func (e *ExplainedError) Error() string { return e.Err.Error() }
func (e *ExplainedError) Unwrap() error { return e.Err }

// Explain writes err to w when it is a *FileError for an input that
// exists but cannot be used: line by line, each "PATH: ...", then what it
// means; and returns it as an *ExplainedError. Other errors, a missing
// file among them (a mistake in the command line), come back as they are
// for the caller to report.
func Explain(w io.Writer, path string, err error) error {
	var fe *FileError
	if !errors.As(err, &fe) || fe.Missing() {
		return err
	}
	for _, line := range strings.Split(err.Error(), "\n") {
		fmt.Fprintf(w, "%s: %s\n", path, line)
	}
	fmt.Fprintf(w, "bulkpatch: %s cannot be used as input; nothing was sent\n", path)
	return &ExplainedError{Err: err}
}

// CheckTo is Check with each problem written to w, and an input that
// cannot be used at all explained there (Explain).
func (s *Source) CheckTo(w io.Writer) (Stats, error) {
	path := s.shownPath()
	st, err := s.Check(func(msg string) { fmt.Fprintf(w, "%s: %s\n", path, msg) })
	if err != nil && !errors.As(err, new(*InvalidError)) {
		return st, Explain(w, path, err)
	}
	return st, err
}

// OpenChecked opens the CSV input at path (Open) and checks every row
// (CheckTo), telling w its problems. On success the caller closes the
// source; an invalid input comes back open too, with its *InvalidError.
func OpenChecked(path string, opt Options, w io.Writer) (*Source, Stats, error) {
	src, err := Open(path, opt)
	if err != nil {
		return nil, Stats{}, Explain(w, path, err)
	}
	st, err := src.CheckTo(w)
	if err != nil && !errors.As(err, new(*InvalidError)) {
		src.Close()
		return nil, st, err
	}
	return src, st, err
}
