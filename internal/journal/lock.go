package journal

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"
	"time"
)

// LockedError reports that another live process holds the lock: another
// run is writing the same results file.
type LockedError struct {
	Path  string    // the lock file
	Input string    // for AcquireInput: the input another process applies
	PID   int       // the holder's process id; 0 when it could not be read
	Since time.Time // when the holder took the lock; zero when unknown
}

func (e *LockedError) Error() string {
	if e.Input != "" {
		who := "another process"
		if e.PID != 0 {
			who = fmt.Sprintf("process %d", e.PID)
		}
		return fmt.Sprintf("the input %s is being applied by %s (lock file %s); one apply per input at a time, whatever its results file", e.Input, who, e.Path)
	}
	if e.PID == 0 {
		return fmt.Sprintf("results file is being written by another process (lock file %s)", e.Path)
	}
	since := ""
	if !e.Since.IsZero() {
		since = ", started " + e.Since.Format("2006-01-02 15:04:05 MST")
	}
	return fmt.Sprintf("results file is being written by process %d (lock file %s%s)", e.PID, e.Path, since)
}

// Lock is a held lock file. The operating system releases it when the
// process dies, however it dies, so a crashed run never blocks the next.
type Lock struct {
	path string
	f    *os.File // nil once released
}

// errWouldBlock is returned by lockFile when another open file holds the
// lock.
var errWouldBlock = errors.New("lock is held")

// Acquire takes an exclusive lock on the file at path (created 0600 if
// needed) without waiting, and writes this process's id into it. When
// another process, or another Acquire in this one, holds it, it returns a
// *LockedError naming the holder.
func Acquire(path string) (*Lock, error) {
	// A holder releasing the lock removes the file; if we opened it just
	// before, we may lock an orphan nobody else can see. Then start over
	// on the new file. More than a few rounds means something else keeps
	// replacing the file.
	for range 8 {
		f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
		if err != nil {
			return nil, fmt.Errorf("lock: %w", err)
		}
		if err := lockFile(f); err != nil {
			var lerr error = fmt.Errorf("lock %s: %w", path, err)
			if errors.Is(err, errWouldBlock) {
				lerr = holder(path, f)
			}
			f.Close()
			return nil, lerr
		}
		if !samePath(f, path) {
			f.Close()
			continue
		}
		// Only now, holding the lock, may we overwrite the holder's id.
		if err := writePID(f); err != nil {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", path, err)
		}
		return &Lock{path: path, f: f}, nil
	}
	return nil, fmt.Errorf("lock %s: the lock file keeps being replaced", path)
}

func samePath(f *os.File, path string) bool {
	a, err := f.Stat()
	if err != nil {
		return false
	}
	b, err := os.Stat(path)
	return err == nil && os.SameFile(a, b)
}

func writePID(f *os.File) error {
	if err := f.Truncate(0); err != nil {
		return err
	}
	_, err := f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	return err
}

// holder describes who holds the lock on f, as far as its contents say.
func holder(path string, f *os.File) *LockedError {
	e := &LockedError{Path: path}
	b := make([]byte, 32)
	n, err := f.ReadAt(b, 0)
	if err != nil && err != io.EOF {
		return e
	}
	s, ok := strings.CutSuffix(string(b[:n]), "\n")
	if !ok {
		return e // not written yet, or not ours
	}
	if pid, err := strconv.Atoi(s); err == nil && pid > 0 {
		e.PID = pid
		if fi, err := f.Stat(); err == nil {
			e.Since = fi.ModTime()
		}
	}
	return e
}

// Release removes the lock file and releases the lock. Calling it again
// does nothing.
func (l *Lock) Release() error {
	if l == nil || l.f == nil {
		return nil
	}
	f := l.f
	l.f = nil
	if err := unlockFile(f, l.path); err != nil {
		return fmt.Errorf("release lock %s: %w", l.path, err)
	}
	return nil
}
