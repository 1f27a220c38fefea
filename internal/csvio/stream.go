package csvio

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"
	"unicode/utf8"

	"golang.org/x/text/encoding/charmap"
)

// Dialect is how a CSV file was written, as a reader found it: what a
// file written back for the same person (the results of an input) needs
// to open the same way. Dialect.WriterOptions turns it into the options
// that write it.
type Dialect struct {
	// Comma is the delimiter, given or detected.
	Comma rune
	// Encoding is what the text was read as: UTF8, UTF16LE, UTF16BE or
	// Windows1252, never AutoEncoding or UTF16.
	Encoding Encoding
	// BOM is set when the file started with a byte order mark.
	BOM bool
	// CRLF is set when the file's first line ended with \r\n.
	CRLF bool
	// SepLine is set when the file started with an Excel "sep=X" line.
	SepLine bool
}

// WriterOptions returns the options that write a file in d: the same
// delimiter, encoding, line ends and sep= line, and a byte order mark
// when the file had one, or is UTF-16 (which is unreadable without).
func (d Dialect) WriterOptions() WriterOptions {
	return WriterOptions{
		Comma:    d.Comma,
		UseCRLF:  d.CRLF,
		BOM:      d.BOM || d.Encoding.isUTF16(),
		Encoding: d.Encoding,
		SepLine:  d.SepLine,
	}
}

// stream is what Reader and TableReader share: the input decoded to
// UTF-8 and checked (guard), the sep= line and delimiter settled, and an
// encoding/csv Reader over it, with the bookkeeping that keeps line
// numbers physical and records within MaxRecordBytes.
type stream struct {
	g    *guard
	br   *bufio.Reader // between g and csv
	csv  *csv.Reader
	max  int64 // MaxRecordBytes, resolved
	base int64 // decoded bytes before what csv reads: a sep= line
	// lineOff is the number of lines before what csv reads (a sep= line),
	// added to csv's line numbers to make them physical.
	lineOff  int
	start    int64 // decoded offset where the next record starts
	lastLine int   // line of the last record seen, for errors that have none
	dialect  Dialect
	err      error // sticky: io.EOF or a fatal *ParseError
}

// openStream decodes r as enc asks (see decodeInput), consumes an Excel
// sep= line and settles the delimiter: comma when it is not 0, else the
// sep= line's, else detect's pick from the first line. It reads nothing
// past what it peeks at; csv is ready for the header.
func openStream(r io.Reader, enc Encoding, comma rune, maxRec int64, detect func(line []byte) rune) (*stream, error) {
	text, found, bom, err := decodeInput(r, enc)
	if err != nil {
		return nil, err
	}
	g := &guard{r: text, limit: maxRec + bufSize, enc: found, decoded: found != UTF8}
	br := bufio.NewReaderSize(g, bufSize)
	s := &stream{g: g, br: br, max: maxRec, dialect: Dialect{Comma: comma, Encoding: found, BOM: bom}}

	head := peekHead(br) // an I/O error here waits until csv reaches it
	if i := bytes.IndexByte(head, '\n'); i > 0 && head[i-1] == '\r' {
		s.dialect.CRLF = true
	}
	if c, n, ok := sepLine(head); ok {
		br.Discard(n)
		s.base += int64(n)
		s.lineOff = 1
		s.dialect.SepLine = true
		if s.dialect.Comma == 0 {
			s.dialect.Comma = c
		}
		head = head[n:]
	}
	if s.dialect.Comma == 0 {
		s.dialect.Comma = detect(firstLine(head))
	}
	s.csv = csv.NewReader(br) // reuses br: it is a big enough *bufio.Reader
	s.csv.Comma = s.dialect.Comma
	s.csv.ReuseRecord = true
	s.csv.FieldsPerRecord = 0 // the header sets it: every row has as many cells
	return s, nil
}

// advance records that csv finished a record starting on line, and fails
// when it was larger than allowed. The guard only catches records bigger
// than the limit plus the read-ahead; this catches the rest exactly.
func (s *stream) advance(line int) error {
	end := s.base + s.csv.InputOffset()
	size := end - s.start
	s.start = end
	s.g.limit = end + s.max + bufSize
	if size > s.max {
		s.err = &ParseError{Line: line, Err: fmt.Errorf("%w: %d bytes, at most %d are allowed", ErrRecordTooLarge, size, s.max)}
		return s.err
	}
	return nil
}

// cut reports whether the record csv just returned, with err, ran into
// the guard's stop, so that it must not be used. The guard may have
// stopped earlier, while the header was peeked at, with complete records
// still buffered: those are fine. Only when csv has taken every byte
// delivered does the stop matter, and then a record that ended in a line
// break was complete, anything else may have been cut.
func (s *stream) cut(err error) bool {
	if s.g.err == nil || s.br.Buffered() > 0 {
		return false
	}
	return err != nil || s.g.last != '\n'
}

// guardError turns the reason the guard cut the input short into the fatal
// error, placed on the line of the record csv was reading (csv's error, as
// gocsv passed it on, still knows where the record began). A problem with
// the text carries its own, exact line.
func (s *stream) guardError(err error) error {
	var pe *ParseError
	if errors.As(s.g.err, &pe) {
		return pe
	}
	line := s.lastLine + 1
	var ce *csv.ParseError
	switch {
	case errors.As(err, &ce):
		line = ce.StartLine + s.lineOff
	case err == nil:
		line = s.fieldLine(0)
	}
	if s.g.err == ErrRecordTooLarge {
		return &ParseError{Line: line, Err: fmt.Errorf("%w: more than %d bytes", ErrRecordTooLarge, s.max)}
	}
	return &ParseError{Line: line, Err: s.g.err}
}

// csvError converts encoding/csv's error for a record. csv's position in
// the line counts bytes of UTF-8, which are the file's bytes only when the
// file is UTF-8; for another encoding the message leaves it out rather
// than mislead.
func (s *stream) csvError(err error) *ParseError {
	var ce *csv.ParseError
	if !errors.As(err, &ce) {
		return &ParseError{Line: s.lastLine + 1, Err: err}
	}
	start, line := ce.StartLine+s.lineOff, ce.Line+s.lineOff
	if errors.Is(ce.Err, csv.ErrFieldCount) {
		return &ParseError{Line: start, Err: fmt.Errorf("%w: the header has %d cells", ErrFieldCount, s.csv.FieldsPerRecord)}
	}
	where := ""
	if !s.g.decoded {
		where = fmt.Sprintf("at byte %d: ", ce.Column)
	}
	if start != line {
		return &ParseError{Line: line, Err: fmt.Errorf("in the record that starts on line %d, %s%w", start, where, ce.Err)}
	}
	return &ParseError{Line: line, Err: fmt.Errorf("%s%w", where, ce.Err)}
}

// fieldLine is the physical line on which field i of the last record
// starts.
func (s *stream) fieldLine(i int) int {
	line, _ := s.csv.FieldPos(i)
	return line + s.lineOff
}

// guard sits between the decoded input and the buffer under csv. It
// delivers no byte at or past limit, which the stream keeps at the start
// of the current record plus MaxRecordBytes plus bufSize: encoding/csv
// buffers a whole line, so without it a 2 GB line would take 2 GB.
//
// It also checks the text: UTF-8 input must be valid UTF-8, and
// Windows-1252 input must hold no U+FFFD, which is what the decoder makes
// of the five bytes Windows-1252 leaves undefined (it has no U+FFFD of
// its own). UTF-16 is not checked: its decoder makes U+FFFD of a lone
// surrogate, which cannot be told from a U+FFFD written as such, and
// Excel writes neither. It stops before the first bad byte, with an error that
// names the physical line and shows the bytes: one message for the file,
// however many cells are wrong, since the cure (another --encoding) is
// the same for all of them.
//
// When it stops (limit hit, bad text, or an I/O error) it reports io.EOF
// and keeps the reason in err. csv then finishes the truncated record
// normally, which tells the stream on which line the record began; the
// stream checks (stream.cut) before it looks at any record, so a
// truncated one is never returned.
type guard struct {
	r     io.Reader
	n     int64 // bytes delivered
	limit int64
	err   error // ErrRecordTooLarge, a *ParseError for bad text, or the I/O error; sticky
	last  byte  // the last byte delivered

	enc     Encoding // what r was decoded from (UTF8: not decoded, only checked)
	decoded bool     // enc is not UTF8: the bytes csv sees are not the file's
	lines   int      // line ends delivered
	lineAt  int64    // offset just after the last line end delivered
	// partial is a rune begun at the end of what was delivered, checked
	// with the bytes that complete it. Delivering it early is safe: no
	// record can end inside a rune, so one holding it is still being read
	// when the check fails, and is cut.
	partial []byte
	tail    []byte // the last bytes delivered on the current line, for messages
}

// tailSize is how much of the line before a bad byte a message shows.
const tailSize = 32

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
	ok := g.check(p[:n], err != nil)
	g.deliver(p[:ok])
	if err != nil && err != io.EOF && g.err == nil {
		g.err = err
	}
	if g.err != nil || err != nil {
		return ok, io.EOF
	}
	return ok, nil
}

// check looks at data, just read, and returns how much of it may be
// delivered: all of it, or the part before a bad byte, when it sets
// g.err. atEOF says nothing follows data (or the read failed).
func (g *guard) check(data []byte, atEOF bool) int {
	skip := 0
	if len(g.partial) > 0 {
		buf := append(g.partial, data[:min(len(data), utf8.UTFMax-len(g.partial))]...)
		if !utf8.FullRune(buf) && !atEOF {
			g.partial = buf // still not complete: data is all of it
			return len(data)
		}
		if r, size := utf8.DecodeRune(buf); r == utf8.RuneError && (size == 1 || g.enc == Windows1252) {
			// The bad rune was delivered already, at the end: no record
			// can have been made of it (see partial).
			g.fail(nil, g.partial, data, true)
			return 0
		} else {
			skip = size - len(g.partial)
		}
		g.partial = nil
	}
	rest := data[skip:]
	end := len(rest)
	if !atEOF {
		end = completeRunes(rest)
	}
	if i, n := g.firstBad(rest[:end]); i >= 0 {
		g.fail(data[:skip+i], rest[i:i+n], rest[i+n:], false)
		return skip + i
	}
	if end < len(rest) {
		g.partial = append([]byte(nil), rest[end:]...)
	}
	return len(data)
}

// firstBad returns where in d the first bad rune is and its length, or -1.
func (g *guard) firstBad(d []byte) (int, int) {
	switch g.enc {
	case Windows1252:
		if i := bytes.Index(d, []byte("\uFFFD")); i >= 0 {
			return i, len("\uFFFD")
		}
		return -1, 0
	case UTF16LE, UTF16BE:
		return -1, 0 // decoded: valid UTF-8 by construction
	}
	if utf8.Valid(d) {
		return -1, 0
	}
	for i := 0; i < len(d); {
		if d[i] < utf8.RuneSelf {
			i++
			continue
		}
		r, size := utf8.DecodeRune(d[i:])
		if r == utf8.RuneError && size == 1 {
			n := 1 // the byte and the continuation bytes after it, as one sequence
			for n < utf8.UTFMax && i+n < len(d) && !utf8.RuneStart(d[i+n]) {
				n++
			}
			return i, n
		}
		i += size
	}
	return -1, 0
}

// completeRunes returns the length of d without a rune begun at its end.
func completeRunes(d []byte) int {
	for i := len(d) - 1; i >= 0 && i > len(d)-utf8.UTFMax; i-- {
		if utf8.RuneStart(d[i]) {
			if utf8.FullRune(d[i:]) {
				return len(d)
			}
			return i
		}
	}
	return len(d)
}

// deliver keeps count of what is handed on: bytes, lines, the last byte
// and the tail of the current line.
func (g *guard) deliver(d []byte) {
	if len(d) == 0 {
		return
	}
	if nl := bytes.Count(d, []byte{'\n'}); nl > 0 {
		g.lines += nl
		i := bytes.LastIndexByte(d, '\n')
		g.lineAt = g.n + int64(i) + 1
		g.tail = g.tail[:0]
		d2 := d[i+1:]
		g.tail = append(g.tail, d2[max(0, len(d2)-tailSize):]...)
	} else {
		g.tail = append(g.tail, d[max(0, len(d)-tailSize):]...)
		if len(g.tail) > tailSize {
			g.tail = append(g.tail[:0], g.tail[len(g.tail)-tailSize:]...)
		}
	}
	g.n += int64(len(d))
	g.last = d[len(d)-1]
}

// fail stops the guard at a bad rune: before are the bytes of this read
// in front of it (delivered next), bad its bytes, after what follows.
// early says bad was delivered already, at the end of the last read (a
// partial rune), before is then empty.
func (g *guard) fail(before, bad, after []byte, early bool) {
	line := g.lines + bytes.Count(before, []byte{'\n'}) + 1
	var ctx []byte // the line up to bad, or its last tailSize bytes
	var col int64  // 1-based position of bad in the line's (decoded) bytes
	switch i := bytes.LastIndexByte(before, '\n'); {
	case i >= 0:
		ctx, col = before[i+1:], int64(len(before)-i)
	case early:
		ctx, col = g.tail[:max(0, len(g.tail)-len(bad))], g.n-int64(len(bad))-g.lineAt+1
	default:
		ctx, col = append(append([]byte(nil), g.tail...), before...), g.n+int64(len(before))-g.lineAt+1
	}
	ctx = ctx[max(0, len(ctx)-tailSize):]
	for len(ctx) > 0 && !utf8.RuneStart(ctx[0]) { // checked text: cut only runes
		ctx = ctx[1:]
	}
	// The rest of the line, for the excerpt: what this read brought, and
	// more when that is short, so the message does not depend on how the
	// input happened to be read. Nothing reads r after a failure.
	after = append([]byte(nil), after...)
	for len(after) < tailSize/2 && bytes.IndexAny(after, "\r\n") < 0 {
		var more [tailSize / 2]byte
		n, err := g.r.Read(more[:tailSize/2-len(after)])
		after = append(after, more[:n]...)
		if err != nil {
			break
		}
	}
	if i := bytes.IndexAny(after, "\r\n"); i >= 0 {
		after = after[:i]
	}
	after = after[:min(len(after), tailSize/2)]
	after = after[:completeRunes(after)] // a rune cut short here is not another bad byte
	excerpt := strconv.Quote(string(ctx) + string(bad) + string(after))
	if int64(len(ctx)) < col-1 {
		excerpt = "…" + excerpt
	}

	var msg string
	switch g.enc {
	default: // UTF8
		what := "byte"
		if len(bad) > 1 {
			what = "bytes"
		}
		for _, b := range bad {
			what += fmt.Sprintf(" 0x%02X", b)
		}
		if r := charmap.Windows1252.DecodeByte(bad[0]); len(bad) == 1 && r != utf8.RuneError {
			what += fmt.Sprintf(" (%q in Windows-1252)", string(r))
		}
		msg = fmt.Sprintf("the file is not UTF-8: %s at byte %d of the line, in %s; "+
			"if Excel saved it as \"CSV (Comma delimited)\", read it with --encoding windows-1252, or save it as \"CSV UTF-8\"",
			what, col, excerpt)
	case Windows1252:
		msg = "the file is not Windows-1252: it holds a byte that Windows-1252 leaves undefined " +
			"(0x81, 0x8D, 0x8F, 0x90 or 0x9D), shown as U+FFFD in " + excerpt
	}
	g.err = encodingProblem(line, msg)
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

func validComma(r rune) bool {
	return r != 0 && r != '"' && r != '\r' && r != '\n' && utf8.ValidRune(r) && r != utf8.RuneError
}
