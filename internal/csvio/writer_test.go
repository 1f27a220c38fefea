package csvio

import (
	"cmp"
	"errors"
	"io"
	"strings"
	"testing"

	gocmp "github.com/google/go-cmp/cmp"
)

func TestNeutralize(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"=1+1", "'=1+1"},
		{" =x", "' =x"},
		{"\"=x", "'\"=x"},
		{"'=x", "''=x"},
		{` '"@x`, `' '"@x`},
		{"@SUM(A1)", "'@SUM(A1)"},
		{"+", "'+"},
		{"-", "'-"},
		{"-1+2", "'-1+2"},
		{"+1-", "'+1-"},
		{"-1e5", "'-1e5"}, // only plain decimals pass
		{"--1", "'--1"},
		{"-1.2.3", "'-1.2.3"},
		{" -1", "' -1"}, // a number, but not entirely
		{"\tx", "'\tx"},
		{"\rx", "'\rx"},
		{"\nx", "'\nx"},
		{"-1", "-1"},
		{"-1.5", "-1.5"},
		{"+3", "+3"},
		{"-2016345060", "-2016345060"},
		{"-.5", "-.5"},
		{"1.", "1."},
		{"a=b", "a=b"},
		{"x-1", "x-1"},
		{"0x87D1041C", "0x87D1041C"},
		{"'", "'"},
		{"''", "''"},
		{"'abc", "'abc"},
		{" ", " "},
		{"", ""},
		{"é=", "é="},
	}
	for _, tt := range tests {
		got := Neutralize(tt.in)
		if got != tt.want {
			t.Errorf("Neutralize(%q) = %q, want %q", tt.in, got, tt.want)
		}
		if back := unneutralize(got); back != tt.in {
			t.Errorf("unneutralize(%q) = %q, want %q", got, back, tt.in)
		}
	}
}

func TestWriter(t *testing.T) {
	records := [][]string{
		{"line", "mobileAppId", "error_message"},
		{"2", "=HYPERLINK(\"x\")", "a,b;c\td"},
		{"3", "-2016345060", "two\nlines"},
		{"4", " lead", ""},
	}
	tests := []struct {
		name string
		opt  WriterOptions
		want string
	}{
		{"zero value", WriterOptions{},
			"line,mobileAppId,error_message\n" +
				"2,\"'=HYPERLINK(\"\"x\"\")\",\"a,b;c\td\"\n" +
				"3,-2016345060,\"two\nlines\"\n" +
				"4,\" lead\",\n"},
		{"semicolon, CRLF, BOM", WriterOptions{Comma: ';', UseCRLF: true, BOM: true},
			"\ufeffline;mobileAppId;error_message\r\n" +
				"2;\"'=HYPERLINK(\"\"x\"\")\";\"a,b;c\td\"\r\n" +
				"3;-2016345060;\"two\r\nlines\"\r\n" +
				"4;\" lead\";\r\n"},
		{"UTF-16LE: always a BOM", WriterOptions{Encoding: UTF16, UseCRLF: true},
			utf16le("\ufeffline,mobileAppId,error_message\r\n" +
				"2,\"'=HYPERLINK(\"\"x\"\")\",\"a,b;c\td\"\r\n" +
				"3,-2016345060,\"two\r\nlines\"\r\n" +
				"4,\" lead\",\r\n")},
		{"UTF-16BE, sep= line", WriterOptions{Encoding: UTF16BE, Comma: '\t', SepLine: true},
			utf16be("\ufeffsep=\t\nline\tmobileAppId\terror_message\n" +
				"2\t\"'=HYPERLINK(\"\"x\"\")\"\t\"a,b;c\td\"\n" +
				"3\t-2016345060\t\"two\nlines\"\n" +
				"4\t\" lead\"\t\n")},
		{"Windows-1252: no BOM", WriterOptions{Encoding: Windows1252, BOM: true, Comma: ';', SepLine: true},
			"sep=;\nline;mobileAppId;error_message\n" +
				"2;\"'=HYPERLINK(\"\"x\"\")\";\"a,b;c\td\"\n" +
				"3;-2016345060;\"two\nlines\"\n" +
				"4;\" lead\";\n"},
		{"tab", WriterOptions{Comma: '\t'},
			"line\tmobileAppId\terror_message\n" +
				"2\t\"'=HYPERLINK(\"\"x\"\")\"\t\"a,b;c\td\"\n" +
				"3\t-2016345060\t\"two\nlines\"\n" +
				"4\t\" lead\"\t\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var b strings.Builder
			w := NewWriter(&b, tt.opt)
			for _, r := range records {
				if err := w.Write(r); err != nil {
					t.Fatal(err)
				}
			}
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
			if diff := gocmp.Diff(tt.want, b.String()); diff != "" {
				t.Errorf("output (-want +got):\n%s", diff)
			}
		})
	}
	if records[1][1] != "=HYPERLINK(\"x\")" {
		t.Errorf("Write changed the caller's record: %q", records[1][1])
	}
}

// TestWriterWindows1252 checks that a character Windows-1252 lacks
// becomes '?' and the rest is encoded byte for byte.
func TestWriterWindows1252(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b, WriterOptions{Encoding: Windows1252})
	w.Write([]string{"Zoë €5", "日本 \ufffd", "=x"})
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "Zo\xeb \x805,?? ?,'=x\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}

func TestWriterBOMOnEmptyFile(t *testing.T) {
	var b strings.Builder
	if err := NewWriter(&b, WriterOptions{BOM: true}).Flush(); err != nil {
		t.Fatal(err)
	}
	if got := b.String(); got != "\ufeff" {
		t.Errorf("output %q, want just a BOM", got)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errBoom }

func TestWriterErrors(t *testing.T) {
	for _, opt := range []WriterOptions{{}, {BOM: true}} {
		w := NewWriter(failWriter{}, opt)
		_ = w.Write([]string{"a"})
		if err := w.Flush(); !errors.Is(err, errBoom) {
			t.Errorf("%+v: Flush = %v, want the writer's error", opt, err)
		}
		if err := w.Error(); !errors.Is(err, errBoom) {
			t.Errorf("%+v: Error = %v, want the writer's error", opt, err)
		}
	}
	w := NewWriter(io.Discard, WriterOptions{Comma: '"'})
	if err := w.Write([]string{"a"}); err == nil {
		t.Error("Write with Comma '\"': no error")
	}
}

// writeDialects are the ways Writer can write that Reader must read back:
// every delimiter, line end and byte order mark choice, in every
// encoding, with and without a sep= line.
var writeDialects = func() []WriterOptions {
	var ds []WriterOptions
	for _, enc := range []Encoding{AutoEncoding, UTF16LE, UTF16BE, Windows1252} {
		for _, c := range []rune{',', ';', '\t'} {
			for _, crlf := range []bool{false, true} {
				for _, bom := range []bool{false, true} {
					for _, sep := range []bool{false, true} {
						if sep && (c == ',' || enc != AutoEncoding && crlf) {
							continue // enough sep= cases, fewer dialects
						}
						ds = append(ds, WriterOptions{Comma: c, UseCRLF: crlf, BOM: bom, Encoding: enc, SepLine: sep})
					}
				}
			}
		}
	}
	return ds
}()

// normalized is what Dialect().WriterOptions() gives for a file written
// with opt: the defaults spelled out, a BOM in UTF-16, none in
// Windows-1252.
func normalized(opt WriterOptions) WriterOptions {
	opt.Comma = cmp.Or(opt.Comma, ',')
	switch opt.Encoding {
	case AutoEncoding, UTF8:
		opt.Encoding = UTF8
	case UTF16:
		opt.Encoding = UTF16LE
	}
	if opt.Encoding.isUTF16() {
		opt.BOM = true
	}
	if opt.Encoding == Windows1252 {
		opt.BOM = false
	}
	return opt
}

// readEncoding is the ReaderOptions.Encoding that reads a file written
// with opt: detection, except for Windows-1252, which has to be asked for.
func readEncoding(opt WriterOptions) Encoding {
	if opt.Encoding == Windows1252 {
		return Windows1252
	}
	return AutoEncoding
}

// roundTrip writes a header of all columns and rows with Writer and reads
// them back with a detecting Reader, returning the cells per row.
func roundTrip(t *testing.T, opt WriterOptions, rows [][NumColumns]string) [][NumColumns]string {
	t.Helper()
	var b strings.Builder
	w := NewWriter(&b, opt)
	if err := w.Write(opts(ReaderOptions{}).names()); err != nil {
		t.Fatal(err)
	}
	for _, r := range rows {
		if err := w.Write(r[:]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	r, err := NewReader(strings.NewReader(b.String()), opts(ReaderOptions{Encoding: readEncoding(opt)}))
	if err != nil {
		t.Fatalf("NewReader: %v\ninput %q", err, b.String())
	}
	if got, want := r.Dialect().WriterOptions(), normalized(opt); got != want {
		t.Errorf("read the dialect of a file written with %+v as %+v", want, got)
	}
	var got [][NumColumns]string
	for {
		var rec Record
		err := r.Read(&rec)
		if err == io.EOF {
			return got
		}
		if err != nil {
			t.Fatalf("Read: %v\ninput %q", err, b.String())
		}
		got = append(got, [NumColumns]string(rec.Cells))
	}
}

// as1252 is what a cell becomes written in Windows-1252 and read back.
func as1252(opt WriterOptions, s string) string {
	if opt.Encoding == Windows1252 {
		return toWindows1252(s)
	}
	return s
}

func TestRoundTrip(t *testing.T) {
	cells := []string{
		"=1+1", " =x", "\"=x", "'=x", "''=x", "@SUM(A1)", "-1", "-1.5", "-1+2", "+", "\tx", "\nx",
		"a=b", "", " ", "'", "\"", "a,b", "a;b", "a\tb", "two\nlines", "\"quoted\"", "sep=;", "#x",
		"é€😀", "\ufeffbom", "-2016345060", "0x87D1041C", "<null>", " trailing ",
	}
	var rows [][NumColumns]string
	for i := range cells {
		var r [NumColumns]string
		for c := range r {
			r[c] = cells[(i+c)%len(cells)]
		}
		rows = append(rows, r)
	}
	for _, opt := range writeDialects {
		want := rows
		if opt.Encoding == Windows1252 {
			want = nil
			for _, r := range rows {
				for c := range r {
					r[c] = as1252(opt, r[c])
				}
				want = append(want, r)
			}
		}
		got := roundTrip(t, opt, rows)
		if diff := gocmp.Diff(want, got); diff != "" {
			t.Errorf("%+v: read back (-written +read):\n%s", opt, diff)
		}
	}
}

// TestWriterNUL: a NUL byte (an invalid input row's cell, echoed into its
// results) is written as U+FFFD, never raw.
func TestWriterNUL(t *testing.T) {
	var b strings.Builder
	w := NewWriter(&b, WriterOptions{})
	if err := w.Write([]string{"a\x00b", "=\x00"}); err != nil {
		t.Fatal(err)
	}
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if got, want := b.String(), "a\uFFFDb,'=\uFFFD\n"; got != want {
		t.Errorf("wrote %q, want %q", got, want)
	}
}
