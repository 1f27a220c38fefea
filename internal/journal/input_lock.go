package journal

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// AcquireInput takes the lock of one input file, whatever path names it
// (a symbolic or hard link, another spelling): a second apply of the same
// input, even with another results file, gets a *LockedError naming the
// first (Input set). The lock file lives in the temporary directory,
// named after the file's identity.
func AcquireInput(input string) (*Lock, error) {
	id, err := fileID(input)
	if err != nil {
		return nil, fmt.Errorf("lock the input %s: %w", input, err)
	}
	sum := sha256.Sum256([]byte(id))
	l, err := Acquire(filepath.Join(os.TempDir(), "bulkpatch-input-"+hex.EncodeToString(sum[:8])+".lock"))
	if le, ok := err.(*LockedError); ok {
		le.Input = input
	}
	return l, err
}

// fileID names the file at path by what it is, not by how it is named:
// its device and inode where the system has them (fileKey), else its
// absolute path with symbolic links resolved, in lower case where names
// are case-insensitive.
func fileID(path string) (string, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return "", err
	}
	if k, ok := fileKey(fi); ok {
		return k, nil
	}
	p, err := filepath.EvalSymlinks(path)
	if err == nil {
		p, err = filepath.Abs(p)
	}
	if err != nil {
		return "", err
	}
	if os.PathSeparator == '\\' {
		p = strings.ToLower(p)
	}
	return p, nil
}
