package main

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"hash"
	"io"
	"iter"
	"math"
	"os"
	"strings"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/schema"
)

// inputFlags are the flags that say how to read the input CSV.
type inputFlags struct {
	delimiter string
	maxRows   int
}

func (f *inputFlags) add(fs *flag.FlagSet) {
	fs.StringVar(&f.delimiter, "delimiter", "", "input delimiter: , ; or tab (default: detected from the header, or an Excel sep= line)")
	fs.IntVar(&f.maxRows, "max-rows", 0, "refuse an input with more data rows than this (0: no limit); guards against feeding the wrong file")
}

func (f *inputFlags) options() (csvio.ReaderOptions, error) {
	var o csvio.ReaderOptions
	switch f.delimiter {
	case "":
	case ",", ";":
		o.Comma = rune(f.delimiter[0])
	case "tab", `\t`, "\t":
		o.Comma = '\t'
	default:
		return o, fmt.Errorf("--delimiter %q: want , ; or tab", f.delimiter)
	}
	return o, nil
}

// input is one validated pass over the input CSV.
type input struct {
	path     string
	sha256   string
	rows     int // data rows read
	problems int // problems found (rows may have several)
	badRows  int
	// propCols are the property columns present in the file, in file
	// order, as indexes into schema.Properties: the results file repeats
	// them.
	propCols []int
	// groups counts rows per collection, so reconciliation can choose
	// between listing a collection and reading objects one by one.
	groups map[apply.Group]int
}

func (in *input) propNames() []string {
	names := make([]string, len(in.propCols))
	for i, p := range in.propCols {
		names[i] = schema.Properties[p].Name
	}
	return names
}

// rowFunc sees each data row with its validated op, or with problems.
type rowFunc func(rec *csvio.Record, op *plan.Op, problems []string) error

// walk reads path once, validating every row, and calls fn for each.
// Structural problems of the file itself (unreadable, bad header) come
// back as a *fileError; per-row problems go to fn.
func walk(path string, opt csvio.ReaderOptions, maxRows int, fn rowFunc) (*input, error) {
	h, err := openHeld(path)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	return h.walk(opt, maxRows, fn)
}

// heldFile is an input opened once and read from its start by every pass
// of a command (validation, sending, the results file). Spreadsheets and
// editors save by writing a new file and renaming it over the old one, so
// an open file keeps the bytes that were validated and that the journal's
// hash names; a file changed in place shows up as a different hash at the
// end of a pass.
type heldFile struct {
	path  string
	f     *os.File
	spool bool // f is a private copy of a pipe, removed on Close
	// sha256 is the hex SHA-256 the first complete pass saw; later passes
	// must see the same.
	sha256 string
	// countGroups makes walk count rows per collection, which only
	// reconciliation needs (one map entry per collection).
	countGroups bool
}

func openHeld(path string) (*heldFile, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, &fileError{err}
	}
	fi, err := f.Stat()
	if err != nil {
		f.Close()
		return nil, &fileError{err}
	}
	if fi.Mode().IsRegular() {
		return &heldFile{path: path, f: f}, nil
	}
	// A pipe (validate /dev/stdin, <(...)) can be read only once, and
	// every pass reads from the start: keep a private copy on disk.
	defer f.Close()
	tmp, err := os.CreateTemp("", "bulkpatch-input-*")
	if err != nil {
		return nil, &fileError{err}
	}
	if err = tmp.Chmod(0o600); err == nil {
		_, err = io.Copy(tmp, f)
	}
	if err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, &fileError{err}
	}
	return &heldFile{path: path, f: tmp, spool: true}, nil
}

// Close closes the file, and removes the copy of a pipe.
func (h *heldFile) Close() error {
	err := h.f.Close()
	if h.spool {
		os.Remove(h.f.Name())
	}
	return err
}

// reader reads the whole file from its start; readers are independent of
// each other and of the file's offset.
func (h *heldFile) reader() io.Reader { return io.NewSectionReader(h.f, 0, math.MaxInt64) }

// walk reads the file once, validating every row, and calls fn for each.
// Structural problems of the file itself come back as a *fileError, a
// file that changed since the first pass as a *changedError; per-row
// problems go to fn.
func (h *heldFile) walk(opt csvio.ReaderOptions, maxRows int, fn rowFunc) (*input, error) {
	sum := sha256.New()
	r := h.reader()
	in := &input{path: h.path}
	if h.countGroups {
		in.groups = make(map[apply.Group]int)
	}
	if err := walkReader(io.TeeReader(r, sum), opt, maxRows, in, fn); err != nil {
		return in, err
	}
	// Hash what is left too (trailing bytes after the last record).
	if _, err := io.Copy(sum, r); err != nil {
		return in, &fileError{err}
	}
	in.sha256 = hexSum(sum)
	return in, h.same(in.sha256)
}

// same records the first pass's hash and checks later ones against it.
func (h *heldFile) same(sha string) error {
	if h.sha256 == "" {
		h.sha256 = sha
		return nil
	}
	if sha != h.sha256 {
		return &changedError{h.path}
	}
	return nil
}

// changedError reports an input that was written to while bulkpatch was
// working from it.
type changedError struct{ path string }

func (e *changedError) Error() string {
	return fmt.Sprintf("%s was changed while bulkpatch was using it; save edits under another name, or wait for the run to end", e.path)
}

func hexSum(h hash.Hash) string { return hex.EncodeToString(h.Sum(nil)) }

// fileError is a problem with the input as a whole: it cannot be read,
// or its header is wrong. It means exit 3, like row problems, unless the
// file could not be opened at all.
type fileError struct{ err error }

func (e *fileError) Error() string { return e.err.Error() }
func (e *fileError) Unwrap() error { return e.err }

func walkReader(r io.Reader, opt csvio.ReaderOptions, maxRows int, in *input, fn rowFunc) error {
	cr, err := csvio.NewReader(r, opt)
	if err != nil {
		return &fileError{err}
	}
	in.propCols = propColumns(cr)
	v := plan.NewValidator()
	var rec csvio.Record
	var msgs []string
	for {
		err := cr.Read(&rec)
		if err == io.EOF {
			return nil
		}
		msgs = msgs[:0]
		var pe *csvio.ParseError
		switch {
		case err == nil:
		case errors.As(err, &pe) && isRowError(pe):
			msgs = append(msgs, pe.Error())
		default:
			return &fileError{err}
		}
		in.rows++
		if maxRows > 0 && in.rows > maxRows {
			return &fileError{fmt.Errorf("the input has more than --max-rows %d data rows: is it the right file?", maxRows)}
		}
		var op plan.Op
		if err == nil {
			var problems []plan.Problem
			op, problems = v.Check(&rec)
			for _, p := range problems {
				msgs = append(msgs, p.Error())
			}
		}
		if len(msgs) > 0 {
			in.badRows++
			in.problems += len(msgs)
			if err := fn(&rec, nil, msgs); err != nil {
				return err
			}
			continue
		}
		countGroup(in.groups, &op)
		if err := fn(&rec, &op, nil); err != nil {
			return err
		}
	}
}

// isRowError reports whether a csvio error concerns one row only, so
// reading can go on and report the rest.
func isRowError(pe *csvio.ParseError) bool {
	return errors.Is(pe, csvio.ErrFieldCount) || errors.Is(pe, csvio.ErrInvalidUTF8) || errors.Is(pe, csvio.ErrEmptyHeader)
}

// items reads the input again and yields the validated rows as apply
// items. It is used after a full validation pass found no problem; a row
// that is invalid now, or a different hash at the end (the file was
// changed in place meanwhile), ends the sequence with an error.
func items(h *heldFile, opt csvio.ReaderOptions, propCols []int) iter.Seq2[apply.Item, error] {
	return func(yield func(apply.Item, error) bool) {
		stop := errors.New("stop")
		var body []byte
		_, err := h.walk(opt, 0, func(rec *csvio.Record, op *plan.Op, problems []string) error {
			if op == nil {
				return fmt.Errorf("%w: %s", &changedError{h.path}, problems[0])
			}
			body = op.AppendBody(body[:0])
			it := apply.Item{Op: *op, Body: append([]byte(nil), body...), Props: propCells(op, propCols)}
			if !yield(it, nil) {
				return stop
			}
			return nil
		})
		if err != nil && !errors.Is(err, stop) {
			yield(apply.Item{}, err)
		}
	}
}

// propCells renders an op's properties as the results file shows them:
// the value sent, "<null>" for a cleared property, "" for one left alone.
func propCells(op *plan.Op, propCols []int) []string {
	cells := make([]string, len(propCols))
	for i, p := range propCols {
		v := op.Props[p]
		switch v.Intent {
		case plan.Set:
			if schema.Properties[p].Kind == schema.Int32 {
				cells[i] = fmt.Sprint(v.Int)
			} else {
				cells[i] = v.Str
			}
		case plan.Clear:
			cells[i] = "<null>"
		}
	}
	return cells
}

// truncate shortens s for messages.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}

// fileSHA256 returns the hex SHA-256 of a file's bytes.
func fileSHA256(path string) (string, error) {
	f, err := os.Open(path)
	if err != nil {
		return "", err
	}
	defer f.Close()
	h := sha256.New()
	if _, err := io.Copy(h, f); err != nil {
		return "", err
	}
	return hexSum(h), nil
}

// propColumns lists the property columns present in the file, in file
// order, as indexes into schema.Properties.
func propColumns(cr *csvio.Reader) []int {
	var cols []int
	for _, c := range cr.Columns() {
		if c >= csvio.FirstProperty {
			cols = append(cols, int(c-csvio.FirstProperty))
		}
	}
	return cols
}

// countGroup counts op in its collection, when groups is not nil. A new
// key gets its own copy of the ids: the op's strings share the memory of
// the whole input row, which a map key would otherwise keep alive.
func countGroup(groups map[apply.Group]int, op *plan.Op) {
	if groups == nil {
		return
	}
	g := apply.GroupOf(op)
	if n, ok := groups[g]; ok {
		groups[g] = n + 1
		return
	}
	groups[apply.Group{AppID: strings.Clone(g.AppID), UserStatusID: strings.Clone(g.UserStatusID)}] = 1
}
