//go:build windows

package journal

import (
	"errors"
	"os"
	"syscall"
	"unsafe"
)

// The kernel32 entry points, resolved on first use. The standard library
// exposes no LockFileEx; golang.org/x/sys/windows does, but it is only an
// indirect requirement in go.mod, which a direct import would have to
// change. These are read-only after resolution.
var (
	kernel32         = syscall.NewLazyDLL("kernel32.dll")
	procLockFileEx   = kernel32.NewProc("LockFileEx")
	procUnlockFileEx = kernel32.NewProc("UnlockFileEx")
)

const (
	lockfileFailImmediately = 0x00000001
	lockfileExclusiveLock   = 0x00000002
	errorLockViolation      = syscall.Errno(33)
)

// lockOffset is where the locked byte lies: far beyond the file's content,
// because Windows locks are mandatory and a waiting run must still be able
// to read the holder's process id at the start of the file.
const lockOffset = 1 << 62

func lockRange() *syscall.Overlapped {
	return &syscall.Overlapped{Offset: uint32(lockOffset & 0xffffffff), OffsetHigh: uint32(lockOffset >> 32)}
}

// lockFile takes LockFileEx with LOCKFILE_EXCLUSIVE_LOCK|
// LOCKFILE_FAIL_IMMEDIATELY on one byte of f. Windows releases it when the
// handle is closed or the process ends.
func lockFile(f *os.File) error {
	ol := lockRange()
	r, _, err := procLockFileEx.Call(f.Fd(), lockfileExclusiveLock|lockfileFailImmediately, 0, 1, 0, uintptr(unsafe.Pointer(ol)))
	if r != 0 {
		return nil
	}
	if errors.Is(err, errorLockViolation) {
		return errWouldBlock
	}
	return err
}

// unlockFile releases the lock and closes f, then removes the file if
// nobody else has it open; a run that opened it meanwhile either locks it
// or, if the removal went through, notices in Acquire and starts over.
func unlockFile(f *os.File, path string) error {
	ol := lockRange()
	var err error
	if r, _, e := procUnlockFileEx.Call(f.Fd(), 0, 1, 0, uintptr(unsafe.Pointer(ol))); r == 0 {
		err = e
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	os.Remove(path) // best effort: another run may have it open
	return err
}

// fileKey: no inode to name the file by here; fileID falls back to its
// resolved path.
func fileKey(os.FileInfo) (string, bool) { return "", false }
