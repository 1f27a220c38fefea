package csvio

import (
	"encoding/csv"
	"io"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
	"golang.org/x/text/transform"
)

// WriterOptions configures a Writer. The zero value writes plain
// comma-separated UTF-8 with LF line ends. Dialect.WriterOptions gives the
// options that write a file the way an input was written.
type WriterOptions struct {
	// Comma is the field delimiter; 0 means ','.
	Comma rune
	// UseCRLF ends lines with \r\n instead of \n. As with encoding/csv, a
	// \r inside a cell is then dropped and a \n becomes \r\n.
	UseCRLF bool
	// BOM writes a byte order mark first: Excel needs one to recognise
	// UTF-8. UTF-16 always gets one (nothing reads it reliably without);
	// Windows-1252 has none, so BOM is ignored for it.
	BOM bool
	// Encoding is the encoding written: AutoEncoding and UTF8 mean UTF-8,
	// UTF16 means UTF16LE (what Windows and Excel write). Windows1252
	// writes a character it lacks as '?': a file read as Windows-1252 can
	// only have brought characters it has, so only text from elsewhere
	// (a server's error message) can lose any.
	Encoding Encoding
	// SepLine writes Excel's "sep=X" line first (after a BOM), which makes
	// Excel split at Comma whatever the locale's list separator is.
	SepLine bool
}

// ExcelOptions are the options of a file for Excel in any locale: a
// UTF-8 byte order mark (so Excel reads UTF-8), CRLF line ends and the
// delimiter comma (0 means ','); for a delimiter that is not the locale's
// list separator, add SepLine.
func ExcelOptions(comma rune) WriterOptions {
	return WriterOptions{Comma: comma, UseCRLF: true, BOM: true}
}

// Writer writes CSV records, neutralising every cell a spreadsheet would
// run as a formula (see Neutralize). Like encoding/csv's Writer it buffers:
// call Flush, then check its error. A Writer is not safe for concurrent use.
type Writer struct {
	w      *csv.Writer
	dst    io.Writer // the encoder in front of the destination, or the destination
	start  string    // the BOM and sep= line still to be written
	ansi   bool      // Windows-1252: replace the characters it lacks
	cells  []string  // reused for the neutralised cells
	preErr error
}

// NewWriter returns a Writer writing to w.
func NewWriter(w io.Writer, opt WriterOptions) *Writer {
	dst, bom := w, opt.BOM
	switch opt.Encoding {
	case UTF16, UTF16LE:
		dst, bom = transform.NewWriter(w, unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder()), true
	case UTF16BE:
		dst, bom = transform.NewWriter(w, unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewEncoder()), true
	case Windows1252:
		dst, bom = transform.NewWriter(w, charmap.Windows1252.NewEncoder()), false
	}
	cw := csv.NewWriter(dst)
	if opt.Comma != 0 {
		cw.Comma = opt.Comma
	}
	cw.UseCRLF = opt.UseCRLF
	var start strings.Builder
	if bom {
		start.WriteString("\ufeff") // encoded like the rest: FF FE in UTF-16LE
	}
	if opt.SepLine {
		start.WriteString("sep=")
		start.WriteRune(cw.Comma)
		if opt.UseCRLF {
			start.WriteString("\r\n")
		} else {
			start.WriteString("\n")
		}
	}
	return &Writer{w: cw, dst: dst, start: start.String(), ansi: opt.Encoding == Windows1252}
}

// Write writes one record with every cell passed through Neutralize, and
// any NUL byte (which the reader refuses, and which cuts a cell short in
// many tools) shown as U+FFFD, the replacement character.
func (w *Writer) Write(record []string) error {
	if err := w.writeStart(); err != nil {
		return err
	}
	w.cells = w.cells[:0]
	for _, s := range record {
		if strings.IndexByte(s, 0) >= 0 {
			s = strings.ReplaceAll(s, "\x00", "\uFFFD")
		}
		s = Neutralize(s)
		if w.ansi {
			s = toWindows1252(s)
		}
		w.cells = append(w.cells, s)
	}
	return w.w.Write(w.cells)
}

// writeStart writes the byte order mark and the sep= line straight to the
// destination, before anything csv.Writer has buffered, the first time it
// is needed.
func (w *Writer) writeStart() error {
	if w.start != "" {
		_, w.preErr = io.WriteString(w.dst, w.start)
		w.start = ""
	}
	return w.preErr
}

// Flush writes any buffered data to the underlying writer and returns
// Error. An empty file still gets its BOM and sep= line.
func (w *Writer) Flush() error {
	if err := w.writeStart(); err != nil {
		return err
	}
	w.w.Flush()
	return w.Error()
}

// Error reports any error from a previous Write or Flush.
func (w *Writer) Error() error {
	if w.preErr != nil {
		return w.preErr
	}
	return w.w.Error()
}

// toWindows1252 replaces the characters Windows-1252 lacks with '?', so
// the encoder never fails; '?' triggers no formula.
func toWindows1252(s string) string {
	for i, r := range s {
		if _, ok := charmap.Windows1252.EncodeRune(r); !ok || r == utf8.RuneError {
			return replaceNon1252(s, i)
		}
	}
	return s
}

func replaceNon1252(s string, from int) string {
	var b strings.Builder
	b.Grow(len(s))
	b.WriteString(s[:from])
	for _, r := range s[from:] {
		if _, ok := charmap.Windows1252.EncodeRune(r); !ok || r == utf8.RuneError {
			r = '?'
		}
		b.WriteRune(r)
	}
	return b.String()
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
