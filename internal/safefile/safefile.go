// Package safefile writes bulkpatch's output files (results, plans,
// exports) so that a reader sees either the old file or the whole new
// one, never a part, with mode 0600 (they hold user names), and it guards
// a user's files against being overwritten by an output: Check refuses a
// target that is one of the command's inputs, or that cannot be created,
// before anything is sent.
package safefile

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
)

// File is an output being written: a temporary file beside the target,
// renamed over it by Commit.
type File struct {
	*os.File        // the temporary file; write to it
	path     string // the target
	done     bool
}

// Create starts a file that Commit will put at path, with mode 0600 even
// under a umask that would allow more.
func Create(path string) (*File, error) {
	f, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return nil, err
	}
	// CreateTemp asks for 0600, but a umask can only narrow it; set it
	// exactly so the owner can always read and replace the file.
	if err := f.Chmod(0o600); err != nil {
		f.Close()
		os.Remove(f.Name())
		return nil, err
	}
	return &File{File: f, path: path}, nil
}

// Path returns the target path.
func (f *File) Path() string { return f.path }

// Commit syncs the file, closes it and renames it over the target, then
// syncs the directory so the rename survives a power cut. The caller
// flushes its own buffers first. After a failed Commit the target is as
// it was.
func (f *File) Commit() error {
	if f.done {
		return errors.New("safefile: already committed or aborted")
	}
	f.done = true
	err := f.Sync()
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(f.Name(), f.path)
	}
	if err != nil {
		os.Remove(f.Name())
		return err
	}
	// Windows cannot sync a directory, and its rename is already as
	// durable as it gets there.
	if runtime.GOOS != "windows" {
		return syncDir(filepath.Dir(f.path))
	}
	return nil
}

// Abort discards the file and leaves the target as it was. After Commit
// it does nothing, so it can be deferred.
func (f *File) Abort() error {
	if f.done {
		return nil
	}
	f.done = true
	err := f.Close()
	if rerr := os.Remove(f.Name()); err == nil {
		err = rerr
	}
	return err
}

func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return err
	}
	err = d.Sync()
	if cerr := d.Close(); err == nil {
		err = cerr
	}
	return err
}

// Same reports whether a and b name the same existing file, however they
// are spelled: through symbolic links, hard links, or relative paths.
func Same(a, b string) bool {
	fa, err := os.Stat(a)
	if err != nil {
		return false
	}
	fb, err := os.Stat(b)
	return err == nil && os.SameFile(fa, fb)
}

// TargetError reports an output path that cannot or must not be written:
// it is one of the inputs, a directory, or in a directory that cannot take
// new files.
type TargetError struct {
	Path  string // the output path
	What  string // what names it, e.g. "--results"
	Input string // the input it would overwrite, if that is the problem
	Err   error  // otherwise why it cannot be written
}

func (e *TargetError) Error() string {
	if e.Input != "" {
		return fmt.Sprintf("%s %s is the same file as the input %s; writing it would destroy the input: choose another path",
			e.What, e.Path, e.Input)
	}
	return fmt.Sprintf("%s %s: %v", e.What, e.Path, e.Err)
}

func (e *TargetError) Unwrap() error { return e.Err }

// Check returns a *TargetError unless an output can be written at path:
// it is none of inputs (compared as files, not as path text), it is not a
// directory, and its directory exists and takes new files. what names the
// output in messages (e.g. "--results").
func Check(path, what string, inputs ...string) error {
	for _, in := range inputs {
		if in != "" && Same(path, in) {
			return &TargetError{Path: path, What: what, Input: in}
		}
	}
	fail := func(format string, a ...any) error {
		return &TargetError{Path: path, What: what, Err: fmt.Errorf(format, a...)}
	}
	if fi, err := os.Stat(path); err == nil && fi.IsDir() {
		return fail("is a directory; name a file")
	}
	dir := filepath.Dir(path)
	fi, err := os.Stat(dir)
	switch {
	case err != nil:
		return fail("the directory %s cannot be used: %w", dir, err)
	case !fi.IsDir():
		return fail("%s is not a directory", dir)
	}
	// The only sure test of writability is to write: create and remove a
	// temporary file where the output will go.
	f, err := os.CreateTemp(dir, ".bulkpatch-check-*")
	if err != nil {
		return fail("cannot create files in %s: %w", dir, err)
	}
	f.Close()
	os.Remove(f.Name())
	return nil
}
