package resource

import "testing"

// TestIDFastPathAgrees: CheckID's byte table accepts exactly the ASCII
// characters the full check accepts, and no byte above ASCII.
func TestIDFastPathAgrees(t *testing.T) {
	for c := 0; c < 256; c++ {
		id := "a" + string([]byte{byte(c)}) + "b"
		full := checkIDRunes(id) == ""
		switch {
		case idASCII[c] && !full:
			t.Errorf("byte %#x: fast path accepts what the full check refuses (%q)", c, checkIDRunes(id))
		case c < 0x80 && !idASCII[c] && full:
			t.Errorf("byte %#x: fast path refuses what the full check accepts", c)
		case c >= 0x80 && idASCII[c]:
			t.Errorf("byte %#x: fast path accepts a non-ASCII byte", c)
		}
		if got, want := CheckID(id), checkIDRunes(id); got != want {
			t.Errorf("byte %#x: CheckID = %q, full check %q", c, got, want)
		}
	}
}
