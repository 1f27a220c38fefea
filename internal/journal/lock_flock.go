//go:build linux || darwin || dragonfly || freebsd || netbsd || openbsd || illumos

package journal

import (
	"errors"
	"fmt"
	"os"
	"syscall"
)

// lockFile takes flock(2) LOCK_EX|LOCK_NB on f. flock locks belong to the
// open file description, so a second open of the same file conflicts even
// within one process, and the kernel drops the lock when the holder dies.
//
// It uses the standard library's syscall.Flock rather than
// golang.org/x/sys/unix: the call is the same, and x/sys is only an
// indirect requirement in go.mod, which a direct import would have to
// change.
func lockFile(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var ferr error
	if err := rc.Control(func(fd uintptr) {
		for {
			ferr = syscall.Flock(int(fd), syscall.LOCK_EX|syscall.LOCK_NB)
			if ferr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	if errors.Is(ferr, syscall.EWOULDBLOCK) {
		return errWouldBlock
	}
	return ferr
}

// unlockFile removes the file while still holding the lock, then closes
// it (which releases the lock): whoever locks the path next locks a new
// file, and Acquire notices if it locked the removed one.
func unlockFile(f *os.File, path string) error {
	err := os.Remove(path)
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// fileKey is the device and inode of the file fi describes.
func fileKey(fi os.FileInfo) (string, bool) {
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return "", false
	}
	return fmt.Sprintf("dev %d ino %d", st.Dev, st.Ino), true
}
