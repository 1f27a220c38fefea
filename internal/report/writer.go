package report

import (
	"bufio"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// MaxErrorMessage is the most characters (runes) of an error message the
// results file keeps; a longer one is cut and ends in "…".
const MaxErrorMessage = 1000

// finishedAtLayout is RFC 3339 with milliseconds; times are written in UTC
// so the column sorts as text.
const finishedAtLayout = "2006-01-02T15:04:05.000Z07:00"

// Writer writes a results file. Rows go to a temporary file in the target's
// directory; Commit renames it over the target, so the target holds either
// its old content or the whole new file, never part of one. A Writer is
// safe for concurrent use.
type Writer struct {
	path string
	cols Columns

	mu  sync.Mutex
	f   *safefile.File // nil after Commit or Abort
	buf *bufio.Writer
	cw  *csvio.Writer
	rec []string // reused for each row
}

// bufSize is the write buffer under the CSV writer: encoding/csv's own
// 4 KiB made a write system call every dozen rows, a quarter of the time
// spent per row (BenchmarkWriteTypicalRow).
const bufSize = 64 << 10

// ErrFinished is returned by Write and Commit after Commit or Abort.
var ErrFinished = errors.New("results file already committed or aborted")

// Create starts a results file that Commit will put at path, with the
// columns of Header(cols), and writes the header in the given dialect
// (the zero WriterOptions: plain UTF-8, ',' and LF). For results in the
// input's dialect (delimiter, BOM, CRLF, encoding, sep= line), pass the
// input Reader's Dialect().WriterOptions(). The file is created
// with mode 0600, since it holds user names; after Commit the file at
// path has that mode even if an earlier one there was wider.
func Create(path string, cols Columns, dialect csvio.WriterOptions) (*Writer, error) {
	f, err := safefile.Create(path)
	if err != nil {
		return nil, fmt.Errorf("create results file: %w", err)
	}
	buf := bufio.NewWriterSize(f, bufSize)
	header := Header(cols)
	w := &Writer{
		path: path,
		cols: cols,
		f:    f,
		buf:  buf,
		// The neutralising writer keeps spreadsheets from running cells.
		cw:  csvio.NewWriter(buf, dialect),
		rec: make([]string, len(header)),
	}
	if err := w.cw.Write(header); err != nil {
		w.Abort()
		return nil, fmt.Errorf("create results file: %w", err)
	}
	return w, nil
}

// Write adds one row. Numbers that do not apply (no HTTP status, no
// attempts, no duration: a not_attempted row) are written as empty cells,
// finished_at as RFC 3339 UTC with milliseconds, and error_message on one
// line, cut to MaxErrorMessage characters. Every cell is neutralised
// against formula injection by csvio.
func (w *Writer) Write(r Row) error {
	if len(r.Props) > len(w.cols.Props) || len(r.Comments) > len(w.cols.Comments) {
		return fmt.Errorf("write results line %d: %d property and %d comment cells for %d and %d columns",
			r.Line, len(r.Props), len(r.Comments), len(w.cols.Props), len(w.cols.Comments))
	}
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("write results: %w", ErrFinished)
	}
	rec := w.rec[:0]
	rec = append(rec, number(r.Line))
	for i := range w.cols.Keys {
		rec = append(rec, text(r.Key[i]))
	}
	rec = append(rec,
		text(string(r.Outcome)),
		number(r.HTTPStatus),
		text(r.ErrorCode),
		OneLine(r.ErrorMessage, MaxErrorMessage),
		number(r.Attempts),
		text(r.RequestID),
		text(r.ClientRequestID),
		millis(r.Duration),
		timestamp(r.FinishedAt))
	rec = appendPadded(rec, r.Props, len(w.cols.Props))
	rec = appendPadded(rec, r.Comments, len(w.cols.Comments))
	if err := w.cw.Write(rec); err != nil {
		return fmt.Errorf("write results: %w", err)
	}
	return nil
}

// Commit writes out the rows, syncs the file and renames it over the
// target path. After a failed Commit the target is as it was.
func (w *Writer) Commit() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return fmt.Errorf("commit results: %w", ErrFinished)
	}
	f := w.f
	w.f = nil
	err := w.cw.Flush()
	if err == nil {
		err = w.buf.Flush()
	}
	if err != nil {
		f.Abort()
		return fmt.Errorf("commit results: %w", err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("commit results: %w", err)
	}
	return nil
}

// Abort discards the rows written and leaves the target as it was. After
// Commit it does nothing, so it can be deferred.
func (w *Writer) Abort() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	f := w.f
	w.f = nil
	if err := f.Abort(); err != nil {
		return fmt.Errorf("abort results: %w", err)
	}
	return nil
}

// number formats n, or "" for zero: a zero line, status or attempt count
// means there is none.
func number(n int) string {
	if n == 0 {
		return ""
	}
	return strconv.Itoa(n)
}

func millis(d time.Duration) string {
	if d <= 0 {
		return ""
	}
	return strconv.FormatInt(d.Milliseconds(), 10)
}

func timestamp(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(finishedAtLayout)
}

// text makes s valid UTF-8, so the results file is too.
func text(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	return strings.ToValidUTF8(s, "\uFFFD")
}

// OneLine turns s into one line of at most max runes: line breaks and other
// control characters become spaces (CRLF one space), and a cut is marked
// with a final "…".
func OneLine(s string, max int) string {
	if len(s) <= max && !strings.ContainsFunc(s, needsCleaning) {
		return s // the common case: nothing to do, nothing to allocate
	}
	var b strings.Builder
	n := 0
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if n == max-1 && i+size < len(s) {
			// Another rune follows this one: keep the last place for
			// the mark.
			b.WriteString("…")
			break
		}
		switch {
		case r == '\n' && i > 0 && s[i-1] == '\r':
			i += size
			continue // the \r already became the space
		case unicode.IsControl(r):
			r = ' '
		}
		b.WriteRune(r) // an invalid byte, decoded as RuneError, becomes U+FFFD
		n++
		i += size
	}
	return b.String()
}

func needsCleaning(r rune) bool {
	return r == utf8.RuneError || unicode.IsControl(r)
}

// appendPadded appends cells, made valid UTF-8, and empty cells up to n.
func appendPadded(rec, cells []string, n int) []string {
	for i := range n {
		c := ""
		if i < len(cells) {
			c = text(cells[i])
		}
		rec = append(rec, c)
	}
	return rec
}
