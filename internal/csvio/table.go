package csvio

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
)

// TableOptions configures a TableReader. The zero value detects the
// encoding and the delimiter and applies the default record limit.
type TableOptions struct {
	// Encoding, Comma and MaxRecordBytes are as in ReaderOptions.
	Encoding       Encoding
	Comma          rune
	MaxRecordBytes int
	// Names are header cells the file is expected to have. Detecting the
	// delimiter, the split of the first line that finds most of them wins
	// (then the one with most cells); without Names, most cells wins.
	Names []string
}

// TableReader reads a CSV file of any columns (a header, then rows of as
// many cells) the way Reader reads an input: decoded, with byte order mark
// and sep= line handled, physical lines, bounded records and
// neutralisation undone, but without Reader's column rules. bulkpatch
// reads its own results files with it, whatever dialect they were
// written in.
//
// A TableReader is not safe for concurrent use.
type TableReader struct {
	*stream
	header []string
}

// NewTableReader reads the header of r. Errors are *ParseError values,
// but for an invalid opt.Comma or opt.Encoding.
func NewTableReader(r io.Reader, opt TableOptions) (*TableReader, error) {
	if opt.Comma != 0 && !validComma(opt.Comma) {
		return nil, fmt.Errorf("csvio: invalid delimiter %q", opt.Comma)
	}
	if !opt.Encoding.valid() {
		return nil, fmt.Errorf("csvio: unknown encoding %q", string(opt.Encoding))
	}
	maxRec := int64(opt.MaxRecordBytes)
	if maxRec <= 0 {
		maxRec = DefaultMaxRecordBytes
	}
	cols := make([]Column, 0, len(opt.Names))
	for _, n := range opt.Names {
		cols = append(cols, Column{Name: n})
	}
	names, err := newColumnSet(cols, nil)
	if err != nil {
		return nil, err
	}
	s, err := openStream(r, opt.Encoding, opt.Comma, maxRec, names.detectComma)
	if err != nil {
		return nil, err
	}
	t := &TableReader{stream: s}
	line, header, err := t.Read()
	switch {
	case err == io.EOF:
		return nil, &ParseError{Line: 1, Err: errors.New("the file is empty: it has no header")}
	case err != nil:
		return nil, err
	}
	t.header = append([]string(nil), header...)
	t.lastLine = line
	return t, nil
}

// Header returns the header cells as written.
func (t *TableReader) Header() []string { return append([]string(nil), t.header...) }

// Dialect returns how the file is written.
func (t *TableReader) Dialect() Dialect { return t.dialect }

// Read returns the next row: the physical line it starts on and its
// cells, with Writer's neutralisation undone. The slice is reused by the
// next Read. A row with another number of cells than the header, or a
// quote error, is a *ParseError and the next Read goes on; ErrEncoding,
// ErrRecordTooLarge and I/O errors are fatal and returned again by every
// later Read. At the end Read returns io.EOF.
func (t *TableReader) Read() (int, []string, error) {
	if t.err != nil {
		return 0, nil, t.err
	}
	rec, err := t.csv.Read()
	if t.cut(err) {
		t.err = t.guardError(err)
		return 0, nil, t.err
	}
	if err == io.EOF {
		t.err = io.EOF
		return 0, nil, io.EOF
	}
	var ce *csv.ParseError
	if err != nil && !errors.As(err, &ce) {
		t.err = &ParseError{Line: t.lastLine + 1, Err: err}
		return 0, nil, t.err
	}
	line := 0
	if ce != nil {
		line = ce.StartLine + t.lineOff
	} else {
		line = t.fieldLine(0)
	}
	if err := t.advance(line); err != nil {
		return 0, nil, err
	}
	t.lastLine = line
	if ce != nil {
		return line, nil, t.csvError(ce)
	}
	for i, c := range rec {
		rec[i] = unneutralize(c)
	}
	return line, rec, nil
}
