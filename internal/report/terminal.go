package report

import (
	"io"
	"os"
	"unicode/utf8"

	"golang.org/x/term"
)

// GuardOutputs returns a process's stdout and stderr made safe to write
// to. On a terminal nothing a server or a file supplied may reach it as
// a control or bidirectional-text character (NewTerminalWriter: stdout
// when it is a terminal, stderr when stderrTTY). Logs, the progress bar
// and messages, written to stderr from several goroutines, go through
// the Console returned, which keeps their lines whole and writes text
// above the bar, never onto it. A stderr that is a Console already is
// guarded: both come back as they are.
func GuardOutputs(stdout, stderr io.Writer, stderrTTY bool) (io.Writer, *Console) {
	if con, done := stderr.(*Console); done {
		return stdout, con
	}
	text := stderr
	if stderrTTY {
		text = NewTerminalWriter(stderr)
	}
	con := NewConsole(stderr, text, terminalWidth(stderr))
	if IsTerminal(stdout) {
		stdout = NewTerminalWriter(stdout)
	}
	return stdout, con
}

// terminalWidth returns what reads w's width now, when w is a terminal;
// nil otherwise (the Console then takes defaultWidth).
func terminalWidth(w io.Writer) func() int {
	f, ok := w.(*os.File)
	if !ok || !term.IsTerminal(int(f.Fd())) {
		return nil
	}
	return func() int {
		cols, _, err := term.GetSize(int(f.Fd()))
		if err != nil {
			return 0
		}
		return cols
	}
}

// IsTerminal says whether f is an *os.File open on a terminal.
func IsTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

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
