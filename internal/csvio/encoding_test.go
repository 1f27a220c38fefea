package csvio

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/google/go-cmp/cmp"
	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"
)

// The tests encode their inputs with golang.org/x/text, the same package
// the Reader decodes with, but through the encoders: a mistake in how the
// Reader picks or sets up a decoder still shows.
func utf16le(s string) string {
	b, err := unicode.UTF16(unicode.LittleEndian, unicode.IgnoreBOM).NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

func utf16be(s string) string {
	b, err := unicode.UTF16(unicode.BigEndian, unicode.IgnoreBOM).NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

func cp1252(s string) string {
	b, err := charmap.Windows1252.NewEncoder().String(s)
	if err != nil {
		panic(err)
	}
	return b
}

func TestParseEncoding(t *testing.T) {
	for in, want := range map[string]Encoding{
		"auto": AutoEncoding, "": AutoEncoding, "UTF-8": UTF8, "utf8": UTF8, "utf-16": UTF16, "UTF16LE": UTF16LE,
		"utf-16be": UTF16BE, "windows-1252": Windows1252, "CP1252": Windows1252,
	} {
		got, err := ParseEncoding(in)
		if err != nil || got != want {
			t.Errorf("ParseEncoding(%q) = %q, %v; want %q", in, got, err, want)
		}
		if back, _ := ParseEncoding(got.String()); back != got {
			t.Errorf("ParseEncoding(%q.String()) = %q", got, back)
		}
	}
	for _, in := range []string{"latin1", "utf-32", "ascii"} {
		if _, err := ParseEncoding(in); err == nil {
			t.Errorf("ParseEncoding(%q): no error", in)
		}
	}
	if _, err := NewReader(strings.NewReader("appId,id\n"), opts(ReaderOptions{Encoding: "ebcdic"})); err == nil {
		t.Error("NewReader with an unknown Encoding: no error")
	}
}

func TestEncodings(t *testing.T) {
	const (
		A  = MobileAppID
		S  = MobileAppInstallStatusID
		DN = DeviceName
		UN = UserName
	)
	header := "mobileAppId,mobileAppInstallStatusId,deviceName,userName\r\n"
	body := "a1,s1,PC-1,Zoë Ångström\r\n" + "a2,s2,\"two\r\nlines\",André €\r\n" + "a3,s3,PC-3,日本\r\n"
	rows := []result{
		rec(2, A, "a1", S, "s1", DN, "PC-1", UN, "Zoë Ångström"),
		rec(3, A, "a2", S, "s2", DN, "two\nlines", UN, "André €"),
		rec(5, A, "a3", S, "s3", DN, "PC-3", UN, "日本"),
	}
	tabs := strings.ReplaceAll(header+body, ",", "\t")
	latin := strings.ReplaceAll(header+body, "日本", "Jäger")
	latinRows := append(rows[:2:2], rec(5, A, "a3", S, "s3", DN, "PC-3", UN, "Jäger"))

	tests := []struct {
		name    string
		in      string
		enc     Encoding
		dialect Dialect  // want Dialect(), when the header is read
		header  []result // want NewReader's errors
		rows    []result
		msg     []string // the error message contains each
	}{
		{name: "UTF-8", in: header + body,
			dialect: Dialect{Comma: ',', Encoding: UTF8, CRLF: true}, rows: rows},
		{name: "UTF-8 asked for", in: "\ufeff" + header + body, enc: UTF8,
			dialect: Dialect{Comma: ',', Encoding: UTF8, BOM: true, CRLF: true}, rows: rows},
		{name: "Excel CSV UTF-8 in a ; locale with sep=", in: "\ufeffsep=;\n" + strings.ReplaceAll(header+body, ",", ";"),
			dialect: Dialect{Comma: ';', Encoding: UTF8, BOM: true, SepLine: true},
			rows:    []result{rec(3, A, "a1", S, "s1", DN, "PC-1", UN, "Zoë Ångström"), rec(4, A, "a2", S, "s2", DN, "two\nlines", UN, "André €"), rec(6, A, "a3", S, "s3", DN, "PC-3", UN, "日本")}},
		{name: "Excel Unicode Text: UTF-16LE with a BOM, tabs", in: "\xff\xfe" + utf16le(tabs),
			dialect: Dialect{Comma: '\t', Encoding: UTF16LE, BOM: true, CRLF: true}, rows: rows},
		{name: "UTF-16BE with a BOM", in: "\xfe\xff" + utf16be(header+body),
			dialect: Dialect{Comma: ',', Encoding: UTF16BE, BOM: true, CRLF: true}, rows: rows},
		{name: "UTF-16LE with a BOM, utf-16 asked for", in: "\xff\xfe" + utf16le(header+body), enc: UTF16,
			dialect: Dialect{Comma: ',', Encoding: UTF16LE, BOM: true, CRLF: true}, rows: rows},
		{name: "UTF-16LE without a BOM is named, not read as 17 unknown columns", in: utf16le(header + body),
			header: []result{fail(1, "ErrEncoding", "")}, msg: []string{"UTF-16 little-endian without a byte order mark", "--encoding utf-16"}},
		{name: "UTF-16BE without a BOM, utf-8 asked for", in: utf16be(header + body), enc: UTF8,
			header: []result{fail(1, "ErrEncoding", "")}, msg: []string{"UTF-16 big-endian", "--encoding utf-16"}},
		{name: "UTF-16LE without a BOM, utf-16 asked for", in: utf16le(header + body), enc: UTF16,
			dialect: Dialect{Comma: ',', Encoding: UTF16LE, CRLF: true}, rows: rows},
		{name: "UTF-16BE without a BOM, utf-16be asked for", in: utf16be(header + body), enc: UTF16BE,
			dialect: Dialect{Comma: ',', Encoding: UTF16BE, CRLF: true}, rows: rows},
		{name: "UTF-16LE without a BOM, utf-16be asked for", in: utf16le(header + body), enc: UTF16BE,
			header: []result{fail(1, "ErrEncoding", "")}, msg: []string{"looks like UTF-16 little-endian", "--encoding utf-16"}},
		{name: "utf-16 asked for a UTF-8 file", in: header + body, enc: UTF16,
			header: []result{fail(1, "ErrEncoding", "")}, msg: []string{"it is not UTF-16"}},
		{name: "Excel CSV (Comma delimited): one message, on the first bad line", in: cp1252(latin),
			rows: []result{fail(2, "ErrEncoding", "")},
			msg:  []string{"line 2: the file is not UTF-8: byte 0xEB (\"ë\" in Windows-1252) at byte 14 of the line", `"a1,s1,PC-1,Zo\xeb \xc5ngstr\xf6m"`, "--encoding windows-1252"}},
		{name: "Windows-1252 asked for", in: cp1252(latin), enc: Windows1252,
			dialect: Dialect{Comma: ',', Encoding: Windows1252, CRLF: true}, rows: latinRows},
		{name: "Windows-1252 with an undefined byte", in: cp1252(header) + "a1,s1,PC\x81,x\r\n", enc: Windows1252,
			rows: []result{fail(2, "ErrEncoding", "")}, msg: []string{"line 2: the file is not Windows-1252", "0x81", "\"a1,s1,PC\ufffd,x\""}},
		{name: "Windows-1252 asked for a file with a UTF-8 BOM", in: "\ufeff" + header, enc: Windows1252,
			header: []result{fail(1, "ErrEncoding", "")}, msg: []string{"UTF-8 byte order mark", "--encoding windows-1252"}},
		{name: "utf-8 asked for a file with a UTF-16 BOM", in: "\xff\xfe" + utf16le(header), enc: UTF8,
			header: []result{fail(1, "ErrEncoding", "")}, msg: []string{"UTF-16 little-endian byte order mark"}},
		{name: "UTF-32 is named", in: "\xff\xfe\x00\x00m\x00\x00\x00", header: []result{fail(1, "ErrEncoding", "")}, msg: []string{"UTF-32"}},
		{name: "lines stay physical after UTF-16 decoding",
			in:   "\xff\xfe" + utf16le("sep=,\n\nappId,id,deviceName\n\na,\"s\n\n1\",x\na,s2\na3,s3,\"\"\"=y\"\n"),
			rows: []result{rec(5, A, "a", S, "s\n\n1", DN, "x"), fail(8, "ErrFieldCount", ""), rec(9, A, "a3", S, "s3", DN, `"=y`)}},
		{name: "a quote error in decoded text names the line, not a byte of UTF-8",
			in: cp1252("appId,id,deviceName\nä,\"s\"x,y\n"), enc: Windows1252,
			rows: []result{fail(2, "csv.ErrQuote", "")}, msg: []string{"line 2: extraneous or missing \" in quoted-field"}},
		{name: "the bad byte after a multi-line cell is on its own line",
			in:   "appId,id,deviceName\na,\"s\n\n1\",x\nb,s2,\"y\nz\xe9\"\n",
			rows: []result{rec(2, A, "a", S, "s\n\n1", DN, "x"), fail(6, "ErrEncoding", "")},
			msg:  []string{"line 6: the file is not UTF-8: byte 0xE9", "at byte 2 of the line", `"z\xe9\""`}},
		{name: "a bad byte at the very end", in: "appId,id\na,s\xc3",
			rows: []result{fail(2, "ErrEncoding", "")}, msg: []string{"byte 0xC3 (\"Ã\" in Windows-1252) at byte 4 of the line"}},
		{name: "a sequence cut short", in: "appId,id\na,\xe2\x82x\n",
			rows: []result{fail(2, "ErrEncoding", "")}, msg: []string{"bytes 0xE2 0x82 at byte 3"}},
	}
	for _, tt := range tests {
		for _, split := range []string{"whole", "one byte a time", "half reads"} {
			t.Run(tt.name+"/"+split, func(t *testing.T) {
				var src io.Reader = strings.NewReader(tt.in)
				switch split {
				case "one byte a time":
					src = iotest.OneByteReader(src)
				case "half reads":
					src = iotest.HalfReader(src)
				}
				var msgs []string
				r, err := NewReader(src, opts(ReaderOptions{Encoding: tt.enc}))
				var got []result
				if err != nil {
					got = describe(t, err)
					msgs = append(msgs, err.Error())
				}
				if diff := cmp.Diff(tt.header, got); diff != "" {
					t.Fatalf("NewReader errors (-want +got):\n%s\nerror: %v", diff, err)
				}
				if err == nil {
					if diff := cmp.Diff(tt.dialect, r.Dialect()); tt.dialect != (Dialect{}) && diff != "" {
						t.Errorf("Dialect (-want +got):\n%s", diff)
					}
					got := readAllMessages(t, r, &msgs)
					if diff := cmp.Diff(tt.rows, got); diff != "" {
						t.Errorf("Read (-want +got):\n%s\nerrors: %q", diff, msgs)
					}
				}
				all := strings.Join(msgs, "\n")
				for _, m := range tt.msg {
					if !strings.Contains(all, m) {
						t.Errorf("errors %q\nwant them to contain %q", all, m)
					}
				}
			})
		}
	}
}

// readAllMessages is readAll keeping the error messages too.
func readAllMessages(t *testing.T, r *Reader, msgs *[]string) []result {
	t.Helper()
	var out []result
	for i := 0; i < 100; i++ {
		var rc Record
		err := r.Read(&rc)
		if err == io.EOF {
			return out
		}
		if err != nil {
			out = append(out, describe(t, err)...)
			*msgs = append(*msgs, err.Error())
			if errors.Is(err, ErrEncoding) {
				if again := r.Read(&rc); again != err {
					t.Errorf("Read after %v = %v, want the same error", err, again)
				}
				return out
			}
			continue
		}
		got := result{Line: rc.Line, Cells: map[col]string{}}
		for c, s := range rc.Cells {
			if s != "" {
				got.Cells[col(c)] = s
			}
		}
		out = append(out, got)
	}
	t.Fatal("Read does not reach the end")
	return nil
}

// TestNotUTF8Message pins the whole message a Windows-1252 file gets:
// the line, the byte, what it is in Windows-1252, the text around it and
// what to do, once for the file.
func TestNotUTF8Message(t *testing.T) {
	in := "mobileAppId,mobileAppInstallStatusId,deviceName\n" +
		"app-1,s-1,PC-1\n" +
		"app-1,s-2,Andr\xe9-PC\n" +
		"app-1,s-3,Jos\xe9-PC\n"
	r, err := NewReader(strings.NewReader(in), opts(ReaderOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	var rec Record
	if err := r.Read(&rec); err != nil {
		t.Fatal(err)
	}
	err = r.Read(&rec)
	want := `line 3: the file is not UTF-8: byte 0xE9 ("é" in Windows-1252) at byte 15 of the line, in "app-1,s-2,Andr\xe9-PC"; ` +
		`if Excel saved it as "CSV (Comma delimited)", read it with --encoding windows-1252, or save it as "CSV UTF-8"`
	if err == nil || err.Error() != want {
		t.Errorf("error\n%v\nwant\n%s", err, want)
	}
	if !errors.Is(err, ErrEncoding) || errors.Is(err, ErrInvalidUTF8) {
		t.Errorf("error %v: want ErrEncoding and not ErrInvalidUTF8 (which callers treat as a row problem)", err)
	}
	if again := r.Read(&rec); again != err {
		t.Errorf("next Read = %v, want the same error: one message for the file", again)
	}
}

// TestLongLineExcerpt: the excerpt shows the end of a long line before
// the bad byte, marked as cut.
func TestLongLineExcerpt(t *testing.T) {
	in := "appId,id,deviceName\na,s," + strings.Repeat("x", 100) + "\xe9yz\n"
	r, err := NewReader(strings.NewReader(in), opts(ReaderOptions{}))
	if err != nil {
		t.Fatal(err)
	}
	err = r.Read(&Record{})
	if want := `at byte 105 of the line, in …"` + strings.Repeat("x", 32) + `\xe9yz"`; err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("error %v, want it to contain %s", err, want)
	}
}

// TestTableReader reads results-like files in every dialect Writer
// writes, with other columns than an input's.
func TestTableReader(t *testing.T) {
	header := []string{"line", "mobileAppId", "outcome", "error_message", "# note"}
	rows := [][]string{
		{"2", "=cmd|' /C calc'!A0", "failed", "<script>alert(1)</script>", "Zoë"},
		{"3", "a", "applied", "", "two\nlines"},
	}
	for _, opt := range writeDialects {
		var b bytes.Buffer
		w := NewWriter(&b, opt)
		for _, r := range append([][]string{header}, rows...) {
			if err := w.Write(r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Flush(); err != nil {
			t.Fatal(err)
		}
		enc := AutoEncoding
		if opt.Encoding == Windows1252 {
			enc = Windows1252
		}
		tr, err := NewTableReader(bytes.NewReader(b.Bytes()), TableOptions{Encoding: enc, Names: []string{"line", "outcome"}})
		if err != nil {
			t.Fatalf("%+v: %v", opt, err)
		}
		if diff := cmp.Diff(header, tr.Header()); diff != "" {
			t.Errorf("%+v: Header (-want +got):\n%s", opt, diff)
		}
		if got, want := tr.Dialect().WriterOptions(), normalized(opt); got != want {
			t.Errorf("Dialect().WriterOptions() = %+v, wrote %+v", got, want)
		}
		var got [][]string
		for {
			_, cells, err := tr.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				t.Fatalf("%+v: %v", opt, err)
			}
			got = append(got, append([]string(nil), cells...))
		}
		if diff := cmp.Diff(rows, got); diff != "" {
			t.Errorf("%+v: rows (-want +got):\n%s", opt, diff)
		}
	}
}

func TestTableReaderErrors(t *testing.T) {
	if _, err := NewTableReader(strings.NewReader(""), TableOptions{}); err == nil {
		t.Error("empty file: no error")
	}
	tr, err := NewTableReader(strings.NewReader("a,b\n1,2\n1\n\"x\ny\",z\n3,\xff\n5,6\n"), TableOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for i := 0; i < 10; i++ {
		line, cells, err := tr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			got = append(got, err.Error())
			if errors.Is(err, ErrEncoding) {
				break
			}
			continue
		}
		got = append(got, strings.Join(append([]string{string(rune('0' + line))}, cells...), "|"))
	}
	want := []string{"2|1|2", "line 3: wrong number of fields: the header has 2 cells", "4|x\ny|z",
		`line 6: the file is not UTF-8: byte 0xFF ("ÿ" in Windows-1252) at byte 3 of the line, in "3,\xff"; if Excel saved it as "CSV (Comma delimited)", read it with --encoding windows-1252, or save it as "CSV UTF-8"`}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("(-want +got):\n%s", diff)
	}
}

func TestParseDelimiter(t *testing.T) {
	tests := []struct {
		in      string
		want    rune
		wantErr string
	}{
		{"", 0, ""},
		{",", ',', ""},
		{";", ';', ""},
		{"tab", '\t', ""},
		{`\t`, '\t', ""},
		{"\t", '\t', ""},
		{"|", 0, `"|": want , ; or tab`},
		{"TAB", 0, `"TAB": want , ; or tab`},
		{",,", 0, `",,": want , ; or tab`},
	}
	for _, tt := range tests {
		got, err := ParseDelimiter(tt.in)
		if tt.wantErr != "" {
			if err == nil || err.Error() != tt.wantErr {
				t.Errorf("ParseDelimiter(%q) = %q, %v, want error %q", tt.in, got, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("ParseDelimiter(%q) = %q, %v, want %q", tt.in, got, err, tt.want)
		}
	}
}
