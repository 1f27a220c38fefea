package report

import (
	"io"
	"unicode/utf8"
)

// NewTerminalWriter returns a writer for a terminal: what passes through
// has its control characters (but tab, line feed and carriage return) and
// its bidirectional-text controls replaced by U+FFFD, so that nothing a
// server or a file supplied can move the cursor, retitle the window, hide
// text or make "evil\u202etxt.exe" display reversed. UTF-8 sequences
// split across writes are joined first. It is not safe for concurrent
// use.
func NewTerminalWriter(w io.Writer) io.Writer { return &terminalWriter{w: w} }

type terminalWriter struct {
	w    io.Writer
	rest []byte // an incomplete UTF-8 sequence at the end of the last write
	buf  []byte
}

func (t *terminalWriter) Write(p []byte) (int, error) {
	in := append(t.rest, p...)
	t.rest = nil
	// Keep a trailing incomplete sequence for the next write.
	if i := lastRuneStart(in); i >= 0 && !utf8.FullRune(in[i:]) {
		t.rest = append([]byte(nil), in[i:]...)
		in = in[:i]
	}
	t.buf = t.buf[:0]
	for len(in) > 0 {
		r, size := utf8.DecodeRune(in)
		if unsafeRune(r) {
			t.buf = utf8.AppendRune(t.buf, utf8.RuneError)
		} else {
			t.buf = append(t.buf, in[:size]...)
		}
		in = in[size:]
	}
	if _, err := t.w.Write(t.buf); err != nil {
		return 0, err
	}
	return len(p), nil
}

// lastRuneStart is the index of the last byte of b that starts a rune,
// looking back at most utf8.UTFMax bytes; -1 when there is none.
func lastRuneStart(b []byte) int {
	for i := len(b) - 1; i >= 0 && i >= len(b)-utf8.UTFMax; i-- {
		if utf8.RuneStart(b[i]) {
			return i
		}
	}
	return -1
}

// unsafeRune reports whether r may not reach a terminal as it is.
func unsafeRune(r rune) bool {
	switch {
	case r == '\t' || r == '\n' || r == '\r':
		return false
	case r < 0x20 || r == 0x7f || 0x80 <= r && r <= 0x9f:
		return true
	case r == 0x061C || r == 0x200E || r == 0x200F, 0x202A <= r && r <= 0x202E, 0x2066 <= r && r <= 0x2069:
		return true // bidirectional-text controls
	}
	return false
}
