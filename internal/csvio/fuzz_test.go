package csvio

import (
	"bytes"
	"errors"
	"io"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"
)

// fuzzEncodings are the encodings a fuzz input is read in, picked by the
// mode's high bits; detection comes up most.
var fuzzEncodings = [...]Encoding{AutoEncoding, AutoEncoding, AutoEncoding, UTF8, UTF16, UTF16LE, UTF16BE, Windows1252}

// readerOptions picks the options a fuzz input runs with.
func readerOptions(mode uint8) ReaderOptions {
	var opt ReaderOptions
	opt.Comma = [...]rune{0, ',', ';', '\t'}[mode&3]
	if mode&4 != 0 {
		opt.MaxRecordBytes = 64
	}
	if mode&8 != 0 {
		opt.MaxColumns = 4
	}
	opt.Encoding = fuzzEncodings[mode>>4&7]
	return opts(opt)
}

// checkErr fails unless err is a *ParseError, or *ParseErrors joined, with
// a line inside the input.
func checkErr(t *testing.T, err error, lines int) {
	t.Helper()
	errs := []error{err}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	}
	for _, e := range errs {
		pe, ok := e.(*ParseError)
		if !ok {
			t.Fatalf("error %T %q is not a *ParseError", e, e)
		}
		if pe.Line < 1 || pe.Line > lines {
			t.Fatalf("error %q: line %d outside 1..%d", pe, pe.Line, lines)
		}
		if len(pe.Value) > maxValueBytes+3 {
			t.Fatalf("error %q: Value of %d bytes", pe, len(pe.Value))
		}
	}
}

func FuzzReader(f *testing.F) {
	seeds := []string{
		"mobileAppId,mobileAppInstallStatusId\na,s\n",
		"\ufeffsep=;\r\nappId;id;#c;installState;;\r\na;\"s\n1\";x;'=1;;\r\n;;;;;\r\nb;s2;;\xff;;z\r\n",
		"mobileAppId\tid\tdeviceName\n\"a\"\"\"\ts\t\"\n\"\na\"b\ts\tx\n",
		"instalState,,appId,app_id\n",
		"appId,id\n\"unterminated,x\n",
		"\xff\xfea\x00",
		"sep=|\nappId|id|errorCode\na|s|-1\n",
		"",
		// Encodings: the mode's high bits pick what the Reader is asked
		// for (see fuzzEncodings).
		"\xff\xfe" + utf16le("appId\tid\t#n\r\na\t\"s\r\n1\"\tZoë\r\n"),
		"\xfe\xff" + utf16be("appId,id\na,s\n"),
		utf16le("appId,id\na,s\n") + "\x00",
		cp1252("appId;id;deviceName\na;s;André €\n") + "b;s2;\x81\n",
		"appId,id\na,\xe2\x82\n\xc3",
		"\xff\xfe\x00\x00a",
	}
	for i, s := range seeds {
		f.Add([]byte(s), uint8(i))
	}
	f.Add([]byte(seeds[8]), uint8(0x50))           // UTF-16LE asked for
	f.Add([]byte(seeds[10]), uint8(0x40))          // UTF-16, no BOM
	f.Add([]byte(seeds[11]), uint8(0x70))          // Windows-1252
	f.Add([]byte(seeds[11]+"c;\xe9"), uint8(0x75)) // Windows-1252, small records
	f.Fuzz(func(t *testing.T, data []byte, mode uint8) {
		lines := bytes.Count(data, []byte("\n")) + 1
		r, err := NewReader(bytes.NewReader(data), readerOptions(mode))
		if err != nil {
			checkErr(t, err, lines)
			return
		}
		if c := r.Comma(); !validComma(c) {
			t.Fatalf("Comma() = %q", c)
		}
		switch d := r.Dialect(); {
		case d.Comma != r.Comma():
			t.Fatalf("Dialect().Comma %q, Comma() %q", d.Comma, r.Comma())
		case d.Encoding != UTF8 && d.Encoding != UTF16LE && d.Encoding != UTF16BE && d.Encoding != Windows1252:
			t.Fatalf("Dialect().Encoding = %q", d.Encoding)
		case readerOptions(mode).Encoding == AutoEncoding && d.Encoding.isUTF16() && !d.BOM:
			t.Fatalf("auto read UTF-16 without a byte order mark")
		}
		if len(r.Columns()) > len(r.Header()) {
			t.Fatalf("%d columns from %d header cells", len(r.Columns()), len(r.Header()))
		}
		present := map[int]bool{}
		for _, c := range r.Columns() {
			present[c] = true
		}
		lastLine, lastErr := 0, error(nil)
		for i := 0; ; i++ {
			if i > len(data)+1 {
				t.Fatalf("%d Reads without reaching the end", i)
			}
			var rec Record
			err := r.Read(&rec)
			if err == io.EOF {
				return
			}
			if err != nil {
				checkErr(t, err, lines)
				if err == lastErr { // fatal: sticky
					return
				}
				if errors.Is(err, ErrRecordTooLarge) {
					if again := r.Read(&rec); again != err {
						t.Fatalf("Read after %q = %v, want the same error", err, again)
					}
					return
				}
				lastErr = err
				continue
			}
			if rec.Line <= lastLine || rec.Line > lines {
				t.Fatalf("record line %d after %d, input has %d lines", rec.Line, lastLine, lines)
			}
			lastLine = rec.Line
			enc := r.Dialect().Encoding
			for c, s := range append(rec.Cells, rec.Comments...) {
				if c < len(rec.Cells) && s != "" && !present[c] {
					t.Fatalf("cell %q for absent column %s", s, col(c))
				}
				if !utf8.ValidString(s) {
					t.Fatalf("invalid UTF-8 cell %q", s)
				}
				if enc == Windows1252 && strings.ContainsRune(s, utf8.RuneError) {
					t.Fatalf("cell %q: an undefined Windows-1252 byte passed", s)
				}
			}
		}
	})
}

// fuzzCells turns fuzz input into cells Writer and Reader must round-trip:
// valid UTF-8 (Reader rejects the rest) without \r (encoding/csv drops or
// rewrites it, with or without UseCRLF). Cells are separated by \x1f.
func fuzzCells(s string) []string {
	s = strings.ToValidUTF8(s, "\uFFFD")
	s = strings.ReplaceAll(s, "\r", "")
	return strings.Split(s, "\x1f")
}

func FuzzRoundTrip(f *testing.F) {
	f.Add("=1+1\x1f-1\x1f\"=x\x1f'=x\x1fa,b;c\td\x1ftwo\nlines", uint8(0))
	f.Add(" @x\x1f\x1f\x1f'\x1f\"\x1f-1.5\x1f+", uint8(5))
	f.Add("sep=;\x1f#x\x1f\ufeff\x1f<null>", uint8(11))
	f.Add("", uint8(3))
	f.Fuzz(func(t *testing.T, s string, mode uint8) {
		cells := fuzzCells(s)
		var rows, want [][NumColumns]string
		for i := 0; i < 3 && i*NumColumns < len(cells)+NumColumns-1; i++ {
			var r [NumColumns]string
			for c := range r {
				r[c] = cells[(i*NumColumns+c)%len(cells)]
			}
			rows = append(rows, r)
			if r != ([NumColumns]string{}) { // Reader skips rows of empty cells
				want = append(want, r)
			}
		}
		opt := writeDialects[int(mode)%len(writeDialects)]
		for i := range want {
			for c := range want[i] {
				// NUL is written as U+FFFD (see Writer.Write).
				want[i][c] = as1252(opt, strings.ReplaceAll(want[i][c], "\x00", "\uFFFD"))
			}
		}
		got := roundTrip(t, opt, rows)
		if len(got) != len(want) {
			t.Fatalf("%+v: wrote %d rows %q, read %d %q", opt, len(want), want, len(got), got)
		}
		for i := range want {
			if got[i] != want[i] {
				t.Fatalf("%+v: row %d\nwrote %q\nread  %q", opt, i, want[i], got[i])
			}
		}
	})
}

// plainNumber is the definition Neutralize documents, written differently.
var plainNumber = regexp.MustCompile(`^[+-]?([0-9]+(\.[0-9]*)?|\.[0-9]+)$`)

func FuzzNeutralize(f *testing.F) {
	for _, s := range []string{"=1+1", " =x", "\"=x", "@SUM", "-1", "-1.5", "-1+2", "+", "\tx", "a=b", "", "'", "'-1", " '\"-"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got := Neutralize(s)
		// trigger: after leading spaces and quotes it starts like a
		// formula, and it is not entirely a plain number.
		trigger := func(v string) bool {
			t := strings.TrimLeft(v, ` '"`)
			return t != "" && strings.ContainsRune("=+-@\t\r\n", rune(t[0])) && !plainNumber.MatchString(v)
		}
		switch got {
		case s:
			if trigger(s) {
				t.Fatalf("Neutralize(%q) left a formula trigger alone", s)
			}
		case "'" + s:
			// The "'" is the marker spreadsheets show as text.
			if !trigger(s) {
				t.Fatalf("Neutralize(%q) = %q, but it triggers nothing", s, got)
			}
		default:
			t.Fatalf("Neutralize(%q) = %q: neither as is nor with a leading '", s, got)
		}
		if back := unneutralize(got); back != s {
			t.Fatalf("unneutralize(Neutralize(%q)) = %q", s, back)
		}
		// And through a file, for cells a file can carry.
		if !utf8.ValidString(s) || strings.ContainsRune(s, '\r') || strings.TrimLeft(s, "\x00") == "" {
			return
		}
		rows := roundTrip(t, WriterOptions{}, [][NumColumns]string{{MobileAppID: "a", MobileAppInstallStatusID: "s", DeviceName: s}})
		// NUL is written as U+FFFD (see Writer.Write).
		if want := strings.ReplaceAll(s, "\x00", "\uFFFD"); len(rows) != 1 || rows[0][DeviceName] != want {
			t.Fatalf("cell %q read back as %q, want %q", s, rows, want)
		}
	})
}
