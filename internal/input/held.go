package input

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"hash"
	"io"
	"math"
	"os"
)

// held is a file opened once and read from its start by every pass of a
// command (validation, sending, the results file). Spreadsheets and
// editors save by writing a new file and renaming it over the old one, so
// an open file keeps the bytes that were validated and that the journal's
// hash names; a file changed in place shows up as a different hash at the
// end of a pass.
type held struct {
	path  string
	f     *os.File
	spool bool // f is a private copy of a pipe, removed on Close
	// sha256 is the hex SHA-256 the first complete pass saw; later passes
	// must see the same.
	sha256 string
}

func openHeld(path string) (*held, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &FileError{Path: path, Err: err}
	}
	switch {
	case fi.IsDir():
		f.Close()
		return nil, &FileError{Path: path, Err: fmt.Errorf("%s is a directory, not a CSV file", path)}
	case fi.Mode().IsRegular():
		return &held{path: path, f: f}, nil
	}
	// A pipe (validate /dev/stdin, <(...)) can be read only once, and
	// every pass reads from the start: keep a private copy on disk.
	defer f.Close()
	return spool(path, f)
}

// spool copies r into a private temporary file held in its place.
func spool(path string, r io.Reader) (*held, error) {
	tmp, err := os.CreateTemp("", "bulkpatch-input-*")
	if err != nil {
		return nil, &FileError{Path: path, Err: err}
	}
	if err = tmp.Chmod(0o600); err == nil {
		_, err = io.Copy(tmp, r)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, &FileError{Path: path, Err: err}
	}
	return &held{path: path, f: tmp, spool: true}, nil
}

// Close closes the file, and removes the copy of a pipe.
func (h *held) Close() error {
	err := h.f.Close()
	if h.spool {
		os.Remove(h.f.Name())
	}
	return err
}

// reader reads the whole file from its start; readers are independent of
// each other and of the file's offset.
func (h *held) reader() io.Reader { return io.NewSectionReader(h.f, 0, math.MaxInt64) }

// pass is one reading of the file from its start, hashing what is read.
type pass struct {
	h   *held
	r   io.Reader
	sum hash.Hash
}

func (h *held) pass() *pass {
	p := &pass{h: h, sum: sha256.New()}
	p.r = io.TeeReader(h.reader(), p.sum)
	return p
}

// end reads what is left of the pass through rest (a reader over p.r,
// or p.r itself), which hashes it, and checks the hash against the first
// pass's: a file changed in place since is a *ChangedError.
func (p *pass) end(rest io.Reader) error {
	if _, err := io.Copy(io.Discard, rest); err != nil {
		return &FileError{Path: p.h.path, Err: err}
	}
	sha := hex.EncodeToString(p.sum.Sum(nil))
	if p.h.sha256 == "" {
		p.h.sha256 = sha
		return nil
	}
	if sha != p.h.sha256 {
		return &ChangedError{Path: p.h.path}
	}
	return nil
}

// FileSHA256 returns the hex SHA-256 of a file's bytes.
func FileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hex.EncodeToString(h.Sum(nil)), nil
}
