//go:build !(linux || darwin || dragonfly || freebsd || netbsd || openbsd || illumos || windows)

package journal

import (
	"errors"
	"os"
)

// lockFile fails: this platform has no lock that the system releases when
// a process dies, and a lock that can outlive its holder would need manual
// cleanup after every crash.
func lockFile(f *os.File) error {
	return errors.ErrUnsupported
}

func unlockFile(f *os.File, path string) error {
	return f.Close()
}

// fileKey: no inode to name the file by here; fileID falls back to its
// resolved path.
func fileKey(os.FileInfo) (string, bool) { return "", false }
