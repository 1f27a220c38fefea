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

// dialects are the ways Writer can write that Reader must read back.
var dialects = func() []WriterOptions {
	var ds []WriterOptions
	for _, c := range []rune{',', ';', '\t'} {
		for _, crlf := range []bool{false, true} {
			for _, bom := range []bool{false, true} {
				ds = append(ds, WriterOptions{Comma: c, UseCRLF: crlf, BOM: bom})
			}
		}
	}
	return ds
}()

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
	r, err := NewReader(strings.NewReader(b.String()), opts(ReaderOptions{}))
	if err != nil {
		t.Fatalf("NewReader: %v\ninput %q", err, b.String())
	}
	if want := cmp.Or(opt.Comma, ','); r.Comma() != want {
		t.Errorf("detected %q, wrote %q", r.Comma(), want)
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
	for _, opt := range dialects {
		got := roundTrip(t, opt, rows)
		if diff := gocmp.Diff(rows, got); diff != "" {
			t.Errorf("%+v: read back (-written +read):\n%s", opt, diff)
		}
	}
}
