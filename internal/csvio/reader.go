package csvio

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"reflect"
	"strconv"
	"unicode/utf8"

	"github.com/gocarina/gocsv"
)

// Defaults for the zero ReaderOptions.
const (
	// DefaultMaxRecordBytes is the MaxRecordBytes of the zero options: 1 MiB.
	DefaultMaxRecordBytes = 1 << 20
	// DefaultMaxColumns is the MaxColumns of the zero options.
	DefaultMaxColumns = 256
)

// bufSize is the read buffer under encoding/csv. It is also how far the
// header is looked at for dialect detection and how much the input may run
// ahead of the record being parsed, so memory stays a small multiple of
// MaxRecordBytes plus bufSize.
const bufSize = 64 << 10

// ReaderOptions configures a Reader. The zero value detects the dialect and
// the encoding and applies the default limits.
type ReaderOptions struct {
	// Columns are the known columns; at least one is needed. Their names
	// and aliases must stay distinct after folding.
	Columns []Column
	// Suggest, when set, names the known column a header cell that names
	// none was probably meant to be ("did you mean …?"), or returns "".
	Suggest func(cell string) string
	// Comma is the field delimiter. 0 detects it: an Excel "sep=X" first
	// line wins, otherwise the header is tried with ',', ';' and tab and the
	// split that yields the most known columns is taken (ties: most cells,
	// then that order). A non-zero Comma overrides a sep= line, which is
	// skipped either way. Comma must be a valid encoding/csv delimiter.
	Comma rune
	// MaxRecordBytes bounds one record, header or row, including quoted
	// line breaks, in bytes of UTF-8 (the file's own bytes for a UTF-8
	// file); 0 (or less) means DefaultMaxRecordBytes, 1 MiB. A bigger
	// record is a fatal *ParseError wrapping ErrRecordTooLarge. The input is
	// never read more than MaxRecordBytes plus 64 KiB past the start of the
	// current record, so even a multi-gigabyte single line costs bounded
	// memory.
	MaxRecordBytes int
	// MaxColumns bounds the number of header cells; 0 (or less) means
	// DefaultMaxColumns, 256. More is a fatal *ParseError wrapping
	// ErrTooManyColumns.
	MaxColumns int
	// Encoding is the file's encoding. AutoEncoding, the zero value, reads
	// UTF-8 with or without a byte order mark and UTF-16 with one; UTF16
	// also reads UTF-16 without one. Text that is not valid in the
	// encoding read is one fatal *ParseError wrapping ErrEncoding, on the
	// line of the first bad byte, showing it and naming the --encoding
	// that reads it. Lines in errors and records stay the file's physical
	// lines whatever the encoding.
	Encoding Encoding
}

// Reader reads input records one at a time.
//
// The header is read and checked by NewReader. Header cells match the
// names and aliases of ReaderOptions.Columns case-insensitively, ignoring
// spaces, '_' and '-'. A column whose header starts with '#' is a comment
// column: its cells are handed over in Record.Comments and never checked.
// Empty header cells may only trail, and the cells under them must be
// empty too.
//
// Cells are returned as written (decoded to UTF-8), with one exception: a
// cell that [Writer] neutralised ("'" in front of a cell that starts with
// a formula trigger) is read back without that "'", so export, edit in a
// spreadsheet, plan round-trips. Rows whose known cells are all empty are
// skipped like blank lines, because spreadsheets save empty rows as ",,,".
// Every cell is valid UTF-8: text that is not stops the Reader (see
// ReaderOptions.Encoding).
//
// A Reader is not safe for concurrent use.
type Reader struct {
	*stream
	um   *gocsv.Unmarshaller
	cols *columnSet
	lay  *layout
}

// gocsv fills one struct per row. Its fields are positional: field i,
// tagged fieldTag(i), receives known column i, and a last field receives
// the cells under trailing empty header cells. parseHeader decides, once,
// which header cell is which column and hands gocsv those tags, so the
// mapping lives in one place and the struct needs no per-column code.
// rowType builds (and reflect caches) the struct type for n columns.
func rowType(n int) reflect.Type {
	fields := make([]reflect.StructField, n+1)
	for i := range n {
		fields[i] = reflect.StructField{Name: "C" + strconv.Itoa(i), Type: reflect.TypeFor[string](),
			Tag: reflect.StructTag(`csv:"` + fieldTag(i) + `"`)}
	}
	fields[n] = reflect.StructField{Name: "Blank", Type: reflect.TypeFor[blankCells](), Tag: `csv:"` + blankKey + `"`}
	return reflect.StructOf(fields)
}

// fieldTag is the gocsv tag of known column i.
func fieldTag(i int) string { return "c" + strconv.Itoa(i) }

// blankCells receives every cell under a trailing empty header cell (they
// all map to one field) and keeps the first that is not empty, so that one
// field, not one per column, is enough to notice data where none belongs.
type blankCells string

// UnmarshalCSV implements gocsv.TypeUnmarshaller.
func (b *blankCells) UnmarshalCSV(s string) error {
	if *b == "" {
		*b = blankCells(s)
	}
	return nil
}

// NewReader reads and checks the header of r. It decodes the text (see
// ReaderOptions.Encoding), strips a byte order mark, honours and skips an
// Excel "sep=X" first line and detects the delimiter (see
// ReaderOptions.Comma). All header problems are reported at once: the
// error is a *ParseError, or several joined with errors.Join. An invalid
// opt.Comma or opt.Encoding is reported as a plain error.
func NewReader(r io.Reader, opt ReaderOptions) (*Reader, error) {
	if opt.Comma != 0 && !validComma(opt.Comma) {
		return nil, fmt.Errorf("csvio: invalid delimiter %q", opt.Comma)
	}
	if !opt.Encoding.valid() {
		return nil, fmt.Errorf("csvio: unknown encoding %q", string(opt.Encoding))
	}
	if len(opt.Columns) == 0 {
		return nil, errors.New("csvio: no columns to read")
	}
	cols, err := newColumnSet(opt.Columns, opt.Suggest)
	if err != nil {
		return nil, err
	}
	maxRec := int64(opt.MaxRecordBytes)
	if maxRec <= 0 {
		maxRec = DefaultMaxRecordBytes
	}
	maxCols := opt.MaxColumns
	if maxCols <= 0 {
		maxCols = DefaultMaxColumns
	}
	s, err := openStream(r, opt.Encoding, opt.Comma, maxRec, cols.detectComma)
	if err != nil {
		return nil, err
	}
	rd := &Reader{stream: s, cols: cols}
	if err := rd.checkColumns(maxCols); err != nil {
		return nil, err
	}

	um, err := gocsv.NewUnmarshaller(rd.csv, reflect.New(rowType(len(opt.Columns))).Interface())
	line := 1 + rd.lineOff
	if err == nil {
		line = rd.fieldLine(0)
	}
	switch {
	case rd.cut(err):
		return nil, rd.guardError(err)
	case err == io.EOF:
		what := "the file is empty"
		if rd.lineOff > 0 {
			what = "the file has nothing after its sep= line"
		}
		return nil, &ParseError{Line: 1, Err: fmt.Errorf(
			"%w: %s; it needs a header naming at least %s",
			ErrMissingColumn, what, cols.requiredNames())}
	case err != nil:
		return nil, rd.csvError(err)
	}
	if err := rd.advance(line); err != nil {
		return nil, err
	}
	if n := len(um.Headers); n > maxCols {
		return nil, tooManyColumns(line, n, maxCols)
	}
	// um.Headers are the cells as written: gocsv's global name normaliser is
	// the identity, and nothing in bulkpatch changes it. They match none of
	// the positional tags, so gocsv has mapped nothing yet.
	lay, err := cols.parseHeader(append([]string(nil), um.Headers...), line)
	if err != nil {
		return nil, err
	}
	// parseHeader decided what each cell names (it needs the whole header
	// to see duplicates and trailing blanks); the normaliser hands gocsv
	// that decision as positional tags.
	err = um.RenormalizeHeaders(func(cells []string) []string {
		if len(cells) != len(lay.keys) {
			return cells // cannot happen; validate would then map nothing
		}
		return lay.keys
	})
	if err != nil {
		return nil, &ParseError{Line: line, Err: err}
	}
	rd.um, rd.lay, rd.lastLine = um, lay, line
	return rd, nil
}

// checkColumns refuses a header of more than maxCols cells before
// encoding/csv and gocsv make a string of each: a header of a million
// empty cells must not cost a million strings. The first 64 KiB usually
// settle it. A longer header with too many cells already there is counted
// on to its end (at most MaxRecordBytes) in a streaming pass that keeps
// nothing, so the message gives the true count, not the count of a
// prefix (issue 16.9). That uses up the input, which is fine: the error
// is fatal.
func (rd *Reader) checkColumns(maxCols int) error {
	line := 1 + rd.lineOff
	count := func(head []byte) (cellCounter, bool) {
		c := cellCounter{comma: rd.dialect.Comma, n: 1}
		for len(head) > 0 {
			r, size := utf8.DecodeRune(head)
			if c.add(r) {
				return c, true
			}
			head = head[size:]
		}
		return c, false
	}
	head := peekHead(rd.br)
	c, ended := count(head)
	if !ended && c.n <= maxCols && len(head) < bufSize {
		// A quoted line break ended what peekHead looked at: look further.
		head, _ = rd.br.Peek(bufSize)
		c, ended = count(head)
	}
	switch {
	case c.n <= maxCols:
		return nil
	case ended:
		return tooManyColumns(line, c.n, maxCols)
	}
	c = cellCounter{comma: rd.dialect.Comma, n: 1}
	for {
		r, _, err := rd.br.ReadRune()
		if err == io.EOF && rd.g.err == nil {
			return tooManyColumns(line, c.n, maxCols) // a header without a line end
		}
		if err != nil {
			return &ParseError{Line: line, Err: fmt.Errorf("%w: the header has at least %d cells in its first %d bytes, at most %d are allowed",
				ErrTooManyColumns, c.n, rd.g.n-rd.base, maxCols)}
		}
		if c.add(r) {
			return tooManyColumns(line, c.n, maxCols)
		}
	}
}

// cellCounter counts the cells of the first non-blank line, a rune at a
// time, with a quoted delimiter or line break part of its cell.
type cellCounter struct {
	comma   rune
	n       int // cells so far; start at 1
	quoted  bool
	started bool
}

// add takes the next rune and reports whether it ended the line.
func (c *cellCounter) add(r rune) bool {
	switch {
	case !c.started && (r == '\r' || r == '\n'):
		return false
	case r == '"':
		c.quoted = !c.quoted
	case r == c.comma && !c.quoted:
		c.n++
	case r == '\n' && !c.quoted:
		return true
	}
	c.started = true
	return false
}

func tooManyColumns(line, n, limit int) error {
	return &ParseError{Line: line, Err: fmt.Errorf("%w: the header has %d cells, at most %d are allowed", ErrTooManyColumns, n, limit)}
}

// Comma returns the delimiter in use, given or detected.
func (rd *Reader) Comma() rune { return rd.dialect.Comma }

// Dialect returns how the file is written: delimiter, encoding, byte
// order mark, line ends and sep= line. A results file written with
// Dialect().WriterOptions() opens the way the input did.
func (rd *Reader) Dialect() Dialect { return rd.dialect }

// Columns returns the known columns present in the file, in file order,
// as indexes into ReaderOptions.Columns.
func (rd *Reader) Columns() []int { return append([]int(nil), rd.lay.columns...) }

// Comments returns the comment columns' header cells as written, in file
// order; Record.Comments holds their cells in the same order.
func (rd *Reader) Comments() []string {
	h := make([]string, len(rd.lay.comments))
	for i, pos := range rd.lay.comments {
		h[i] = rd.lay.header[pos]
	}
	return h
}

// Header returns the header cells as written (after a byte order mark is
// stripped), comment and empty ones included.
func (rd *Reader) Header() []string { return append([]string(nil), rd.lay.header...) }

// Read fills rec (which must not be nil) with the next row and returns nil,
// or returns io.EOF at the end of the input. rec.Line is the physical line
// the row starts on; all of rec.Cells is overwritten, so one Record can be
// reused for every row.
//
// Row problems (ErrFieldCount, a value under an empty header, csv quote
// errors) return a *ParseError and the next Read goes on with the next
// row; rec is then left unspecified. Fatal problems (ErrEncoding,
// ErrRecordTooLarge, I/O errors) return a *ParseError that every later
// Read returns again.
func (rd *Reader) Read(rec *Record) error {
	for rd.err == nil {
		v, comments, err := rd.readRow()
		if rd.cut(err) {
			rd.err = rd.guardError(err)
			break
		}
		if err == io.EOF {
			rd.err = io.EOF
			break
		}
		var ce *csv.ParseError
		if err != nil && !errors.As(err, &ce) {
			rd.err = &ParseError{Line: rd.lastLine + 1, Err: err}
			break
		}
		line := 0
		if ce != nil {
			line = ce.StartLine + rd.lineOff
		} else {
			line = rd.fieldLine(0)
		}
		if err := rd.advance(line); err != nil {
			return err
		}
		rd.lastLine = line
		if ce != nil {
			return rd.csvError(ce)
		}
		row := reflect.ValueOf(v).Elem()
		rd.fill(rec, line, row, comments)
		blank := string(row.Field(len(rd.cols.cols)).Interface().(blankCells))
		empty := blank == ""
		for _, c := range rd.lay.columns {
			if s := rec.Cells[c]; s != "" {
				empty = false
				rec.Cells[c] = unneutralize(s)
			}
		}
		if blank != "" {
			return &ParseError{Line: line, Value: clip(blank), Err: fmt.Errorf(
				"%w: cells after column %d have no header, so they must be empty", ErrEmptyHeader, rd.lay.blank)}
		}
		if !empty {
			return nil
		}
	}
	return rd.err
}

// fill copies the row gocsv decoded, and its comment cells, into rec.
func (rd *Reader) fill(rec *Record, line int, row reflect.Value, comments map[string]string) {
	rec.Line = line
	if len(rec.Cells) != len(rd.cols.cols) {
		rec.Cells = make([]string, len(rd.cols.cols))
	}
	clear(rec.Cells)
	for _, c := range rd.lay.columns {
		rec.Cells[c] = row.Field(c).String()
	}
	rec.Comments = rec.Comments[:0]
	for i := range rd.lay.comments {
		rec.Comments = append(rec.Comments, comments[commentKey(i)])
	}
}

// readRow reads the next row through gocsv. The comment cells, which have
// no struct field, come back as gocsv's unmatched cells, keyed by
// commentKey; only a file with comment columns pays for that map.
func (rd *Reader) readRow() (any, map[string]string, error) {
	if len(rd.lay.comments) == 0 {
		v, err := rd.um.Read()
		return v, nil, err
	}
	return rd.um.ReadUnmatched()
}

// detectComma picks the delimiter that splits the header line into the
// most known columns, then into the most cells, preferring ',' then ';'
// then tab.
func (s *columnSet) detectComma(line []byte) rune {
	best, bestKnown, bestCells := ',', -1, -1
	for _, c := range []rune{',', ';', '\t'} {
		known, cells := 0, 0
		eachCell(line, c, func(cell []byte) {
			cells++
			if k, _ := s.classify(string(cell)); k == knownCell {
				known++
			}
		})
		if known > bestKnown || known == bestKnown && cells > bestCells {
			best, bestKnown, bestCells = c, known, cells
		}
	}
	return best
}

// eachCell splits one line on comma outside double quotes and hands each
// cell, unquoted, to fn (the slice is reused): just enough CSV to look at
// a header before encoding/csv reads it properly.
func eachCell(line []byte, comma rune, fn func(cell []byte)) {
	var cell []byte
	quoted := false
	for i := 0; i < len(line); {
		r, size := utf8.DecodeRune(line[i:])
		switch {
		case r == '"' && quoted && i+1 < len(line) && line[i+1] == '"':
			cell = append(cell, '"')
			size = 2
		case r == '"':
			quoted = !quoted
		case r == comma && !quoted:
			fn(cell)
			cell = cell[:0]
		default:
			cell = append(cell, line[i:i+size]...)
		}
		i += size
	}
	fn(cell)
}
