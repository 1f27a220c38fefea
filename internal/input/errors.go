package input

import (
	"errors"
	"fmt"
	"io/fs"
)

// FileError is a problem with the input as a whole: it cannot be opened
// or read, or its header (or a plan's structure) is wrong. Err is a
// csvio.ParseError (or several joined) for a bad header.
type FileError struct {
	Path string
	Err  error
}

func (e *FileError) Error() string { return e.Err.Error() }
func (e *FileError) Unwrap() error { return e.Err }

// Missing reports whether the file could not be found or opened at all,
// which is a mistake in the command line rather than in the file.
func (e *FileError) Missing() bool {
	var pe *fs.PathError
	return errors.Is(e.Err, fs.ErrNotExist) || errors.As(e.Err, &pe) && pe.Op == "open"
}

// InvalidError reports an input with row problems, each of which the
// check pass handed to its callback. Nothing may be sent for it.
type InvalidError struct {
	Path     string
	Problems int // problems found; a row may have several
	BadRows  int
	Rows     int
}

func (e *InvalidError) Error() string {
	return fmt.Sprintf("%s: %d problem(s) in %d of %d rows; nothing was sent", e.Path, e.Problems, e.BadRows, e.Rows)
}

// ChangedError reports an input that was written to while bulkpatch was
// working from it.
type ChangedError struct{ Path string }

func (e *ChangedError) Error() string {
	return fmt.Sprintf("%s was changed while bulkpatch was using it; save edits under another name, or wait for the run to end", e.Path)
}

// StalePlanError reports a saved plan whose input changed since it was
// made, or cannot be read: the plan no longer says what the file says.
type StalePlanError struct {
	Plan, Input string
	Err         error // why the input cannot be read; nil when it changed
	Want, Got   string
}

func (e *StalePlanError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("the plan %s was made from %s, which cannot be read (%v); plan again", e.Plan, e.Input, e.Err)
	}
	return fmt.Sprintf("%s changed since the plan %s was made (sha256 %.12s…, the plan says %.12s…); plan again", e.Input, e.Plan, e.Got, e.Want)
}

func (e *StalePlanError) Unwrap() error { return e.Err }
