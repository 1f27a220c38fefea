package csvio

import (
	"encoding/csv"
	"io"
)

// WriterOptions configures a Writer. The zero value writes plain
// comma-separated UTF-8 with LF line ends.
type WriterOptions struct {
	// Comma is the field delimiter; 0 means ','.
	Comma rune
	// UseCRLF ends lines with \r\n instead of \n. As with encoding/csv, a
	// \r inside a cell is then dropped and a \n becomes \r\n.
	UseCRLF bool
	// BOM writes a UTF-8 byte order mark first, which Excel needs to
	// recognise UTF-8.
	BOM bool
}

// Writer writes CSV records, neutralising every cell a spreadsheet would
// run as a formula (see Neutralize). Like encoding/csv's Writer it buffers:
// call Flush, then check its error. A Writer is not safe for concurrent use.
type Writer struct {
	w      *csv.Writer
	dst    io.Writer
	bom    bool     // a BOM is still to be written
	cells  []string // reused for the neutralised cells
	bomErr error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer, opt WriterOptions) *Writer {
	cw := csv.NewWriter(w)
	if opt.Comma != 0 {
		cw.Comma = opt.Comma
	}
	cw.UseCRLF = opt.UseCRLF
	return &Writer{w: cw, dst: w, bom: opt.BOM}
}

// Write writes one record with every cell passed through Neutralize.
func (w *Writer) Write(record []string) error {
	if err := w.writeBOM(); err != nil {
		return err
	}
	w.cells = w.cells[:0]
	for _, s := range record {
		w.cells = append(w.cells, Neutralize(s))
	}
	return w.w.Write(w.cells)
}

// writeBOM writes the byte order mark straight to the destination, before
// anything csv.Writer has buffered, the first time it is needed.
func (w *Writer) writeBOM() error {
	if w.bom {
		w.bom = false
		_, w.bomErr = io.WriteString(w.dst, "\ufeff")
	}
	return w.bomErr
}

// Flush writes any buffered data to the underlying writer and returns
// Error. An empty file with WriterOptions.BOM still gets its BOM.
func (w *Writer) Flush() error {
	if err := w.writeBOM(); err != nil {
		return err
	}
	w.w.Flush()
	return w.Error()
}

// Error reports any error from a previous Write or Flush.
func (w *Writer) Error() error {
	if w.bomErr != nil {
		return w.bomErr
	}
	return w.w.Error()
}

// Neutralize makes a cell safe to open in a spreadsheet: it puts "'" in
// front of a cell that, after leading spaces and quote characters (' and
// "), starts with = + - @ tab CR or LF, so the spreadsheet shows it as text
// instead of running it as a formula. A cell that is entirely a plain
// decimal number ("-2016345060", "+3", "-1.5") is left alone: a number runs
// nothing, and errorCode values must survive an export and re-import.
//
// Reader undoes it: a cell "'" + s where s would be neutralised is read as
// s, so reading back Neutralize(s) gives s for every s.
func Neutralize(s string) string {
	if needsNeutralizing(s) {
		return "'" + s
	}
	return s
}

// unneutralize undoes Neutralize. A cell starting with "'" whose rest needs
// neutralising can only have come from Neutralize: Neutralize leaves no
// such cell alone, because the leading "'" is skipped like any quote.
func unneutralize(s string) string {
	if len(s) > 1 && s[0] == '\'' && needsNeutralizing(s[1:]) {
		return s[1:]
	}
	return s
}

func needsNeutralizing(s string) bool {
	// A loop rather than strings.TrimLeft(s, ` '"`), which builds its
	// ASCII set anew on every call: this runs for every cell written.
	i := 0
	for i < len(s) && (s[i] == ' ' || s[i] == '\'' || s[i] == '"') {
		i++
	}
	if i == len(s) {
		return false
	}
	switch s[i] {
	case '=', '+', '-', '@', '\t', '\r', '\n':
		return !isPlainNumber(s)
	}
	return false
}

// isPlainNumber reports whether s is an optional sign and decimal digits
// with at most one '.', and at least one digit.
func isPlainNumber(s string) bool {
	if s != "" && (s[0] == '+' || s[0] == '-') {
		s = s[1:]
	}
	digits, dot := 0, false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c >= '0' && c <= '9':
			digits++
		case c == '.' && !dot:
			dot = true
		default:
			return false
		}
	}
	return digits > 0
}
