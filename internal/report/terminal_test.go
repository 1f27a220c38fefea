package report

import (
	"bytes"
	"io"
	"testing"
)

func TestTerminalWriter(t *testing.T) {
	for in, want := range map[string]string{
		"plain text\n":                    "plain text\n",
		"tab\tand\r\n":                    "tab\tand\r\n",
		"\x1b]0;pwned\x07title":           "\uFFFD]0;pwned\uFFFDtitle",
		"evil\u202etxt.exe":               "evil\uFFFDtxt.exe",
		"nul\x00byte and \u2066isolate":   "nul\uFFFDbyte and \uFFFDisolate",
		"Zoë Ångström \u200dwith ZWJ 👩‍💻": "Zoë Ångström \u200dwith ZWJ 👩‍💻",
		"c1 \u009b31m":                    "c1 \uFFFD31m",
	} {
		var b bytes.Buffer
		w := NewTerminalWriter(&b)
		// Byte by byte: sequences split across writes are joined.
		for i := range len(in) {
			if _, err := w.Write([]byte{in[i]}); err != nil {
				t.Fatal(err)
			}
		}
		if got := b.String(); got != want {
			t.Errorf("%q written byte by byte = %q, want %q", in, got, want)
		}
	}
}

func TestTerminalGuardOutputs(t *testing.T) {
	for _, tty := range []bool{false, true} {
		var stdout, stderr bytes.Buffer
		out, con := GuardOutputs(&stdout, &stderr, tty)
		if out != &stdout {
			t.Errorf("stderrTTY %v: a stdout that is no terminal was wrapped: %T", tty, out)
		}
		io.WriteString(out, "out\x1b[2J\n")
		io.WriteString(con, "err\x1b[2J\n")
		want := "err\x1b[2J\n"
		if tty {
			want = "err\uFFFD[2J\n"
		}
		if stdout.String() != "out\x1b[2J\n" || stderr.String() != want {
			t.Errorf("stderrTTY %v: stdout %q, stderr %q, want %q", tty, stdout.String(), stderr.String(), want)
		}
		if out2, con2 := GuardOutputs(out, con, tty); out2 != out || con2 != con {
			t.Errorf("stderrTTY %v: guarded twice", tty)
		}
	}
	if IsTerminal(new(bytes.Buffer)) {
		t.Error("a buffer is taken for a terminal")
	}
}
