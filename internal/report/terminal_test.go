package report

import (
	"bytes"
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
