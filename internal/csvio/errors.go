package csvio

import (
	"errors"
	"strconv"
	"strings"
)

// These are the errors a [*ParseError] wraps; test for them with errors.Is.
// Quote errors wrap encoding/csv's ErrQuote and ErrBareQuote, and I/O errors
// are wrapped as they came from the underlying reader.
var (
	// ErrFieldCount means a row has more or fewer cells than the header.
	ErrFieldCount = errors.New("wrong number of fields")
	// ErrEncoding means the text is not valid in the encoding it is read
	// in (ReaderOptions.Encoding), or cannot be read in the one asked
	// for: the error names the line and the bytes, and the --encoding
	// that would read them. It is fatal: the Reader stops, since every
	// later cell would be read wrong in the same way.
	ErrEncoding = errors.New("wrong encoding")
	// ErrInvalidUTF8 meant a cell was not valid UTF-8, a row problem.
	//
	// Deprecated: the Reader checks the text as a whole and returns one
	// fatal ErrEncoding instead; no cell it returns is invalid UTF-8.
	ErrInvalidUTF8 = errors.New("invalid UTF-8")
	// ErrRecordTooLarge means a header or row is bigger than
	// ReaderOptions.MaxRecordBytes. It is fatal: the Reader stops.
	ErrRecordTooLarge = errors.New("record too large")
	// ErrTooManyColumns means the header has more cells than
	// ReaderOptions.MaxColumns.
	ErrTooManyColumns = errors.New("too many columns")
	// ErrUnknownColumn means a header cell names no known column.
	ErrUnknownColumn = errors.New("unknown column")
	// ErrMissingColumn means a required column is absent from the header.
	ErrMissingColumn = errors.New("missing required column")
	// ErrDuplicateColumn means two header cells name the same column.
	ErrDuplicateColumn = errors.New("duplicate column")
	// ErrEmptyHeader means a header cell is empty but not trailing, or a
	// row has a value under a trailing empty header cell.
	ErrEmptyHeader = errors.New("empty header cell")
)

// maxValueBytes bounds ParseError.Value so that one bad megabyte cell does
// not become a megabyte of error output.
const maxValueBytes = 100

// ParseError is a problem in the input at a known place. Row problems leave
// the Reader usable for the next row; header problems and fatal ones
// (ErrRecordTooLarge, I/O errors) do not.
type ParseError struct {
	// Line is the physical 1-based line, counting a sep= line and the
	// header.
	Line int
	// Column is the canonical column name (e.g. "installState"), the header
	// cell as written when it names no known column, or "" when the problem
	// is not in one column.
	Column string
	// Value is the offending cell, cut to about 100 bytes; "" when there is
	// none.
	Value string
	// Err is the problem; it wraps one of the Err* sentinels, a csv quote
	// error or an I/O error.
	Err error
}

// Error reads like `line 7, column "installState": value "x": <err>`. It
// leaves out the column when Err already names it, so header messages such
// as `line 1: unknown column "instalState"; did you mean "installState"?`
// say it once.
func (e *ParseError) Error() string {
	msg := "invalid input"
	if e.Err != nil {
		msg = e.Err.Error()
	}
	var b strings.Builder
	b.WriteString("line ")
	b.WriteString(strconv.Itoa(e.Line))
	if e.Column != "" && !strings.Contains(msg, strconv.Quote(e.Column)) {
		b.WriteString(", column ")
		b.WriteString(strconv.Quote(e.Column))
	}
	if e.Value != "" {
		b.WriteString(": value ")
		b.WriteString(strconv.Quote(e.Value))
	}
	b.WriteString(": ")
	b.WriteString(msg)
	return b.String()
}

// Unwrap returns Err.
func (e *ParseError) Unwrap() error { return e.Err }

// clip cuts s to about maxValueBytes for ParseError.Value, at a rune
// boundary when s is valid UTF-8 there.
func clip(s string) string {
	if len(s) <= maxValueBytes {
		return s
	}
	n := maxValueBytes
	for i := 0; i < 3 && n > 0 && !isRuneStart(s[n]); i++ {
		n--
	}
	return s[:n] + "..."
}

func isRuneStart(b byte) bool { return b&0xC0 != 0x80 }
