package csvio

import (
	"bufio"
	"bytes"
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

var utf8BOM = []byte("\ufeff")

// ReaderOptions configures a Reader. The zero value detects the dialect and
// applies the default limits.
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
	// line breaks; 0 (or less) means DefaultMaxRecordBytes, 1 MiB. A bigger
	// record is a fatal *ParseError wrapping ErrRecordTooLarge. The input is
	// never read more than MaxRecordBytes plus 64 KiB past the start of the
	// current record, so even a multi-gigabyte single line costs bounded
	// memory.
	MaxRecordBytes int
	// MaxColumns bounds the number of header cells; 0 (or less) means
	// DefaultMaxColumns, 256. More is a fatal *ParseError wrapping
	// ErrTooManyColumns.
	MaxColumns int
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
// Cells are returned as written, with one exception: a cell that [Writer]
// neutralised ("'" in front of a cell that starts with a formula trigger)
// is read back without that "'", so export, edit in a spreadsheet, plan
// round-trips. Rows whose known cells are all empty are skipped like blank
// lines, because spreadsheets save empty rows as ",,,".
//
// A Reader is not safe for concurrent use.
type Reader struct {
	g    *guard
	br   *bufio.Reader // between g and csv
	csv  *csv.Reader
	um   *gocsv.Unmarshaller
	cols *columnSet
	lay  *layout
	max  int64 // MaxRecordBytes, resolved
	base int64 // input bytes before what csv reads: BOM and sep= line
	// lineOff is the number of lines before what csv reads (a sep= line),
	// added to csv's line numbers to make them physical.
	lineOff  int
	start    int64 // input offset where the next record starts
	lastLine int   // line of the last record seen, for errors that have none
	comma    rune
	err      error // sticky: io.EOF or a fatal *ParseError
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

// NewReader reads and checks the header of r. It strips a UTF-8 byte order
// mark, honours and skips an Excel "sep=X" first line and detects the
// delimiter (see ReaderOptions.Comma). All header problems are reported at
// once: the error is a *ParseError, or several joined with errors.Join.
// An invalid opt.Comma is reported as a plain error.
func NewReader(r io.Reader, opt ReaderOptions) (*Reader, error) {
	if opt.Comma != 0 && !validComma(opt.Comma) {
		return nil, fmt.Errorf("csvio: invalid delimiter %q", opt.Comma)
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
	g := &guard{r: r, limit: maxRec + bufSize}
	br := bufio.NewReaderSize(g, bufSize)
	rd := &Reader{g: g, br: br, max: maxRec, comma: opt.Comma, cols: cols}

	if err := rd.prelude(br); err != nil {
		return nil, err
	}
	if n := len(splitHeader(firstLine(peekHead(br)), rd.comma)); n > maxCols {
		return nil, tooManyColumns(1+rd.lineOff, n, maxCols)
	}

	rd.csv = csv.NewReader(br) // reuses br: it is a big enough *bufio.Reader
	rd.csv.Comma = rd.comma
	rd.csv.ReuseRecord = true
	rd.csv.FieldsPerRecord = 0 // the header sets it: every row has as many cells
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

// prelude consumes a byte order mark and a sep= line and settles the
// delimiter.
func (rd *Reader) prelude(br *bufio.Reader) error {
	if b, _ := br.Peek(len(utf8BOM)); bytes.HasPrefix(b, utf8BOM) {
		br.Discard(len(utf8BOM))
		rd.base += int64(len(utf8BOM))
	} else if len(b) >= 2 && (b[0] == 0xFF && b[1] == 0xFE || b[0] == 0xFE && b[1] == 0xFF) {
		return &ParseError{Line: 1, Err: fmt.Errorf(
			"%w: the file is UTF-16 encoded; save it as UTF-8 (in Excel: CSV UTF-8)", ErrInvalidUTF8)}
	}
	head := peekHead(br) // an I/O error here waits until csv reaches it
	if c, n, ok := sepLine(head); ok {
		br.Discard(n)
		rd.base += int64(n)
		rd.lineOff = 1
		if rd.comma == 0 {
			rd.comma = c
		}
		head = head[n:]
	}
	if rd.comma == 0 {
		rd.comma = rd.cols.detectComma(firstLine(head))
	}
	return nil
}

// Comma returns the delimiter in use, given or detected.
func (rd *Reader) Comma() rune { return rd.comma }

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
// Row problems (ErrFieldCount, ErrInvalidUTF8, a value under an empty
// header, csv quote errors) return a *ParseError and the next Read goes on
// with the next row; rec is then left unspecified. Fatal problems
// (ErrRecordTooLarge, I/O errors) return a *ParseError that every later
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
			s := rec.Cells[c]
			if s == "" {
				continue
			}
			empty = false
			if !utf8.ValidString(s) {
				return &ParseError{Line: rd.fieldLine(rd.lay.index[c]), Column: rd.cols.cols[c].Name, Value: clip(s), Err: ErrInvalidUTF8}
			}
			rec.Cells[c] = unneutralize(s)
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

// advance records that csv finished a record starting on line, and fails
// when it was larger than allowed. The guard only catches records bigger
// than the limit plus the read-ahead; this catches the rest exactly.
func (rd *Reader) advance(line int) error {
	end := rd.base + rd.csv.InputOffset()
	size := end - rd.start
	rd.start = end
	rd.g.limit = end + rd.max + bufSize
	if size > rd.max {
		rd.err = &ParseError{Line: line, Err: fmt.Errorf("%w: %d bytes, at most %d are allowed", ErrRecordTooLarge, size, rd.max)}
		return rd.err
	}
	return nil
}

// cut reports whether the record csv just returned, with err, ran into
// the guard's stop, so that it must not be used. The guard may have
// stopped earlier, while the header was peeked at, with complete records
// still buffered: those are fine. Only when csv has taken every byte
// delivered does the stop matter, and then a record that ended in a line
// break was complete, anything else may have been cut.
func (rd *Reader) cut(err error) bool {
	if rd.g.err == nil || rd.br.Buffered() > 0 {
		return false
	}
	return err != nil || rd.g.last != '\n'
}

// guardError turns the reason the guard cut the input short into the fatal
// error, placed on the line of the record csv was reading (csv's error, as
// gocsv passed it on, still knows where the record began).
func (rd *Reader) guardError(err error) error {
	line := rd.lastLine + 1
	var ce *csv.ParseError
	switch {
	case errors.As(err, &ce):
		line = ce.StartLine + rd.lineOff
	case err == nil:
		line = rd.fieldLine(0)
	}
	if rd.g.err == ErrRecordTooLarge {
		return &ParseError{Line: line, Err: fmt.Errorf("%w: more than %d bytes", ErrRecordTooLarge, rd.max)}
	}
	return &ParseError{Line: line, Err: rd.g.err}
}

// csvError converts encoding/csv's error for a record.
func (rd *Reader) csvError(err error) *ParseError {
	var ce *csv.ParseError
	if !errors.As(err, &ce) {
		return &ParseError{Line: rd.lastLine + 1, Err: err}
	}
	start, line := ce.StartLine+rd.lineOff, ce.Line+rd.lineOff
	if errors.Is(ce.Err, csv.ErrFieldCount) {
		return &ParseError{Line: start, Err: fmt.Errorf("%w: the header has %d cells", ErrFieldCount, rd.csv.FieldsPerRecord)}
	}
	if start != line {
		return &ParseError{Line: line, Err: fmt.Errorf("in the record that starts on line %d, at byte %d: %w", start, ce.Column, ce.Err)}
	}
	return &ParseError{Line: line, Err: fmt.Errorf("at byte %d: %w", ce.Column, ce.Err)}
}

// fieldLine is the physical line on which field i of the last record
// starts.
func (rd *Reader) fieldLine(i int) int {
	line, _ := rd.csv.FieldPos(i)
	return line + rd.lineOff
}

func tooManyColumns(line, n, limit int) error {
	return &ParseError{Line: line, Err: fmt.Errorf("%w: the header has %d cells, at most %d are allowed", ErrTooManyColumns, n, limit)}
}

// guard sits between the caller's reader and the buffer under csv. It
// delivers no byte at or past limit, which the Reader keeps at the start of
// the current record plus MaxRecordBytes plus bufSize: encoding/csv
// buffers a whole line, so without it a 2 GB line would take 2 GB.
//
// When it stops (limit hit, or an I/O error) it reports io.EOF and keeps
// the reason in err. csv then finishes the truncated record normally,
// which tells the Reader on which line the record began; the Reader checks
// (Reader.cut) before it looks at any record, so a truncated one is never
// returned.
type guard struct {
	r     io.Reader
	n     int64 // bytes delivered
	limit int64
	err   error // ErrRecordTooLarge or the I/O error; sticky
	last  byte  // the last byte delivered
}

func (g *guard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, io.EOF
	}
	if g.n >= g.limit {
		g.err = ErrRecordTooLarge
		return 0, io.EOF
	}
	if rest := g.limit - g.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := g.r.Read(p)
	g.n += int64(n)
	if n > 0 {
		g.last = p[n-1]
	}
	if err != nil && err != io.EOF {
		g.err = err
		err = io.EOF
	}
	return n, err
}

func validComma(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}

// peekHead returns the start of the input without consuming it: enough to
// hold the first non-blank line, or all of bufSize, or all there is. It
// peeks in growing steps so a short input on a pipe is not waited on.
func peekHead(br *bufio.Reader) []byte {
	for n := 512; ; n = min(2*n, bufSize) {
		b, err := br.Peek(n)
		if err != nil || n == bufSize || bytes.IndexByte(bytes.TrimLeft(b, "\r\n"), '\n') >= 0 {
			return b
		}
	}
}

// firstLine returns the first non-blank line of head, without its line end.
func firstLine(head []byte) []byte {
	head = bytes.TrimLeft(head, "\r\n")
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	return bytes.TrimSuffix(head, []byte("\r"))
}

// sepLine recognises Excel's "sep=X" first line (any case, X possibly
// repeated as padding) and returns X and the length of the line with its
// line end.
func sepLine(head []byte) (comma rune, n int, ok bool) {
	line := head
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		line, n = head[:i], i+1
	} else {
		n = len(head)
	}
	line = bytes.TrimSuffix(line, []byte("\r"))
	if len(line) < 5 || !bytes.EqualFold(line[:4], []byte("sep=")) {
		return 0, 0, false
	}
	c, size := utf8.DecodeRune(line[4:])
	if !validComma(c) {
		return 0, 0, false
	}
	for rest := line[4+size:]; len(rest) > 0; rest = rest[size:] {
		if !bytes.HasPrefix(rest, line[4:4+size]) {
			return 0, 0, false
		}
	}
	return c, n, true
}

// detectComma picks the delimiter that splits the header line into the
// most known columns, then into the most cells, preferring ',' then ';'
// then tab.
func (s *columnSet) detectComma(line []byte) rune {
	best, bestKnown, bestCells := ',', -1, -1
	for _, c := range []rune{',', ';', '\t'} {
		cells := splitHeader(line, c)
		known := 0
		for _, cell := range cells {
			if k, _ := s.classify(cell); k == knownCell {
				known++
			}
		}
		if known > bestKnown || known == bestKnown && len(cells) > bestCells {
			best, bestKnown, bestCells = c, known, len(cells)
		}
	}
	return best
}

// splitHeader splits one line on comma outside double quotes and unquotes
// the cells: just enough CSV to look at a header before encoding/csv reads
// it properly.
func splitHeader(line []byte, comma rune) []string {
	var cells []string
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
			cells = append(cells, string(cell))
			cell = cell[:0]
		default:
			cell = append(cell, line[i:i+size]...)
		}
		i += size
	}
	return append(cells, string(cell))
}
