package csvio

import (
	"encoding/csv"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// sentinels are the errors a test may expect, by name, so that test tables
// can compare errors with cmp.Diff.
var sentinels = []struct {
	name string
	err  error
}{
	{"ErrFieldCount", ErrFieldCount},
	{"ErrEncoding", ErrEncoding},
	{"ErrRecordTooLarge", ErrRecordTooLarge},
	{"ErrTooManyColumns", ErrTooManyColumns},
	{"ErrUnknownColumn", ErrUnknownColumn},
	{"ErrMissingColumn", ErrMissingColumn},
	{"ErrDuplicateColumn", ErrDuplicateColumn},
	{"ErrEmptyHeader", ErrEmptyHeader},
	{"csv.ErrQuote", csv.ErrQuote},
	{"csv.ErrBareQuote", csv.ErrBareQuote},
	{"iotest", errBoom},
}

var errBoom = errors.New("boom")

// result is one outcome of NewReader or Read in comparable form: a record
// (Cells holds only its non-empty cells) or an error.
type result struct {
	Line   int
	Cells  map[col]string `cmp:",omitempty"`
	Err    string
	Column string
}

// describe turns an error from this package into results, one per joined
// *ParseError, and fails the test for anything else.
func describe(t *testing.T, err error) []result {
	t.Helper()
	var errs []error
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		errs = j.Unwrap()
	} else {
		errs = []error{err}
	}
	var out []result
	for _, e := range errs {
		pe, ok := e.(*ParseError)
		if !ok {
			t.Fatalf("error %T %q is not a *ParseError", e, e)
		}
		name := "?"
		for _, s := range sentinels {
			if errors.Is(pe, s.err) {
				name = s.name
				break
			}
		}
		out = append(out, result{Line: pe.Line, Err: name, Column: pe.Column})
	}
	return out
}

func rec(line int, kv ...any) result {
	r := result{Line: line, Cells: map[col]string{}}
	for i := 0; i < len(kv); i += 2 {
		r.Cells[kv[i].(col)] = kv[i+1].(string)
	}
	return r
}

func fail(line int, err, column string) result {
	return result{Line: line, Err: err, Column: column}
}

// readAll reads to io.EOF or to a fatal error (which it checks is sticky),
// collecting every outcome.
func readAll(t *testing.T, r *Reader) []result {
	t.Helper()
	var out []result
	for i := 0; ; i++ {
		if i > 1000 {
			t.Fatal("Read does not reach the end")
		}
		var rc Record
		err := r.Read(&rc)
		if err == io.EOF {
			if again := r.Read(&rc); again != io.EOF {
				t.Errorf("Read after io.EOF = %v, want io.EOF", again)
			}
			return out
		}
		if err != nil {
			out = append(out, describe(t, err)...)
			if errors.Is(err, ErrRecordTooLarge) || errors.Is(err, ErrEncoding) || errors.Is(err, errBoom) {
				if again := r.Read(&rc); again != err {
					t.Errorf("Read after fatal %v = %v, want the same error", err, again)
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
}

func TestReader(t *testing.T) {
	const (
		A  = MobileAppID
		U  = UserAppInstallStatusID
		S  = MobileAppInstallStatusID
		IS = InstallState
		EC = ErrorCode
		DN = DeviceName
	)
	tests := []struct {
		name    string
		in      string
		opt     ReaderOptions
		comma   rune     // want Comma(); 0: skip the check
		columns []col    // want Columns(); nil: skip the check
		header  []result // want NewReader's errors
		rows    []result // want Read's outcomes
	}{
		{
			name:    "plain comma",
			in:      "mobileAppId,mobileAppInstallStatusId,installState\na1,s1,installed\na2,s2,\n",
			comma:   ',',
			columns: []col{A, S, IS},
			rows:    []result{rec(2, A, "a1", S, "s1", IS, "installed"), rec(3, A, "a2", S, "s2")},
		},
		{
			name: "no newline at the end",
			in:   "mobileAppId,mobileAppInstallStatusId\na1,s1",
			rows: []result{rec(2, A, "a1", S, "s1")},
		},
		{
			name:  "BOM is stripped",
			in:    "\ufeffmobileAppId,mobileAppInstallStatusId\na1,s1\n",
			comma: ',',
			rows:  []result{rec(2, A, "a1", S, "s1")},
		},
		{
			name:  "sep= line counts as a line and sets the delimiter",
			in:    "sep=;\nmobileAppId;mobileAppInstallStatusId;deviceName\na1;s1;x,y\n",
			comma: ';',
			rows:  []result{rec(3, A, "a1", S, "s1", DN, "x,y")},
		},
		{
			name:  "BOM then SEP=| with CRLF",
			in:    "\ufeffSEP=|\r\nmobileAppId|mobileAppInstallStatusId\r\na1|s1\r\n",
			comma: '|',
			rows:  []result{rec(3, A, "a1", S, "s1")},
		},
		{
			name:  "sep= padded with delimiters",
			in:    "sep=;;;\nmobileAppId;mobileAppInstallStatusId\na1;s1\n",
			comma: ';',
			rows:  []result{rec(3, A, "a1", S, "s1")},
		},
		{
			name:  "explicit Comma wins over sep=, which is still skipped",
			in:    "sep=,\nmobileAppId;mobileAppInstallStatusId\na1;s,1\n",
			opt:   opts(ReaderOptions{Comma: ';'}),
			comma: ';',
			rows:  []result{rec(3, A, "a1", S, "s,1")},
		},
		{
			name:   "not a sep= line: sep=ab",
			in:     "sep=ab\nmobileAppId,mobileAppInstallStatusId\n",
			header: []result{fail(1, "ErrUnknownColumn", "sep=ab"), fail(1, "ErrMissingColumn", "mobileAppId"), fail(1, "ErrMissingColumn", "mobileAppInstallStatusId")},
		},
		{
			name:  "semicolon detected",
			in:    "mobileAppId;mobileAppInstallStatusId;errorCode\na1;s1;-2016345060\n",
			comma: ';',
			rows:  []result{rec(2, A, "a1", S, "s1", EC, "-2016345060")},
		},
		{
			name:   "tab detected",
			in:     "mobileAppId\tmobileAppInstallStatusId\ta1,a2;x\na1\ts1\tz\n",
			comma:  '\t',
			header: []result{fail(1, "ErrUnknownColumn", "a1,a2;x")},
		},
		{
			name:    "comma detected although a comment header holds semicolons",
			in:      "# a; b; c; d,mobileAppId,mobileAppInstallStatusId\nx;y,a1,s1\n",
			comma:   ',',
			columns: []col{A, S},
			rows:    []result{rec(2, A, "a1", S, "s1")},
		},
		{
			name:  "quoted header cells are detected",
			in:    "\"mobileAppId\";\"mobileAppInstallStatusId\"\n\"a;1\";s1\n",
			comma: ';',
			rows:  []result{rec(2, A, "a;1", S, "s1")},
		},
		{
			name: "CRLF",
			in:   "mobileAppId,mobileAppInstallStatusId\r\na1,s1\r\n\r\na2,s2\r\n",
			rows: []result{rec(2, A, "a1", S, "s1"), rec(4, A, "a2", S, "s2")},
		},
		{
			name: "blank lines before the header and between rows",
			in:   "\n\r\nmobileAppId,mobileAppInstallStatusId\n\na1,s1\n\n\na2,s2\n",
			rows: []result{rec(5, A, "a1", S, "s1"), rec(8, A, "a2", S, "s2")},
		},
		{
			name: "quoted multi-line cells: lines of later rows and errors",
			in: "mobileAppId,mobileAppInstallStatusId,deviceName\n" + // 1
				"a1,s1,\"two\nlines\"\n" + // 2-3
				"a2,s2,\"three\r\n\r\nlines\"\r\n" + // 4-6
				"a3,s3\n" + // 7: field count
				"a4,\"s\n4\",\"x\"y\"\n" + // 8-9: a bare quote on line 9
				"a5,s5,\"\"\"=x\"\"\"\n", // 10
			rows: []result{
				rec(2, A, "a1", S, "s1", DN, "two\nlines"),
				rec(4, A, "a2", S, "s2", DN, "three\n\nlines"),
				fail(7, "ErrFieldCount", ""),
				fail(9, "csv.ErrQuote", ""),
				rec(10, A, "a5", S, "s5", DN, `"=x"`),
			},
		},
		{
			name:    "header aliases, case, spaces, underscores, dashes",
			in:      "APP ID,user_status_id,Device-Status_Id, install state ,ERRORCODE\na,u,s,i,e\n",
			columns: []col{A, U, S, IS, EC},
			rows:    []result{rec(2, A, "a", U, "u", S, "s", IS, "i", EC, "e")},
		},
		{
			name:    "alias id and statusId",
			in:      "appId,id\na,s\n",
			columns: []col{A, S},
			rows:    []result{rec(2, A, "a", S, "s")},
		},
		{
			name:   "two aliases of one column are a duplicate",
			in:     "appId,id,statusId\n",
			header: []result{fail(1, "ErrDuplicateColumn", "mobileAppInstallStatusId")},
		},
		{
			name:    "comment columns are ignored, whatever they hold",
			in:      "#note,mobileAppId, # other,mobileAppInstallStatusId,#\n\u202e,a1,\"x\ny\",s1,=1\n",
			columns: []col{A, S},
			rows:    []result{rec(2, A, "a1", S, "s1")},
		},
		{
			name: "unknown column, missing, duplicate and empty header: all at once",
			in:   "instalState,,mobile_app_id,MobileAppID,frobnicate\n",
			header: []result{
				fail(1, "ErrUnknownColumn", "instalState"),
				fail(1, "ErrEmptyHeader", ""),
				fail(1, "ErrDuplicateColumn", "mobileAppId"),
				fail(1, "ErrUnknownColumn", "frobnicate"),
				fail(1, "ErrMissingColumn", "mobileAppInstallStatusId"),
			},
		},
		{
			name:   "header error line counts the sep= line",
			in:     "sep=,\nmobileAppId,statusIdd\n",
			header: []result{fail(2, "ErrUnknownColumn", "statusIdd"), fail(2, "ErrMissingColumn", "mobileAppInstallStatusId")},
		},
		{
			name:   "invalid UTF-8 in the header: one error, not one per cell",
			in:     "mobileAppId,mobileAppInstallStatusId,Ger\xe4tename,Bemerkung f\xfcr\n",
			header: []result{fail(1, "ErrEncoding", "")},
		},
		{
			name:   "UTF-16 without a byte order mark is named, not read as columns",
			in:     "m\x00o\x00b\x00i\x00l\x00e\x00A\x00p\x00p\x00I\x00d\x00,\x00i\x00d\x00\n\x00",
			header: []result{fail(1, "ErrEncoding", "")},
		},
		{
			name:   "empty file",
			in:     "",
			header: []result{fail(1, "ErrMissingColumn", "")},
		},
		{
			name:   "only a BOM and a sep= line",
			in:     "\ufeffsep=;\n",
			header: []result{fail(1, "ErrMissingColumn", "")},
		},
		{
			name:   "quote error in the header is fatal",
			in:     "mobileAppId,\"mobileAppInstallStatusId\nx\n",
			header: []result{fail(2, "csv.ErrQuote", "")}, // where csv gave up: the end of the input
		},
		{
			name:    "trailing empty header cells: empty cells pass, a value is a row error",
			in:      "mobileAppId,mobileAppInstallStatusId,,\na1,s1,,\na2,s2,,oops\na3,s3,,\n",
			columns: []col{A, S},
			rows:    []result{rec(2, A, "a1", S, "s1"), fail(3, "ErrEmptyHeader", ""), rec(4, A, "a3", S, "s3")},
		},
		{
			name: "field count error, then the next row is read",
			in:   "mobileAppId,mobileAppInstallStatusId\na1\na2,s2,x\na3,s3\n",
			rows: []result{fail(2, "ErrFieldCount", ""), fail(3, "ErrFieldCount", ""), rec(4, A, "a3", S, "s3")},
		},
		{
			name: "invalid UTF-8 stops the Reader on its line, after the rows before it",
			in:   "mobileAppId,mobileAppInstallStatusId,installState\n\"a\n1\",s1,ok\na2,s2,inst\xc3\na3,s3,x\xff\n",
			rows: []result{rec(2, A, "a\n1", S, "s1", IS, "ok"), fail(4, "ErrEncoding", "")},
		},
		{
			name: "quote errors, then reading goes on",
			in:   "mobileAppId,mobileAppInstallStatusId\na\"1,s1\n\"a2\"x,s2\n\"a\n3\"\"\",s3\n\"a4,s4\n",
			rows: []result{
				fail(2, "csv.ErrBareQuote", ""),
				fail(3, "csv.ErrQuote", ""),
				rec(4, A, "a\n3\"", S, "s3"),
				fail(6, "csv.ErrQuote", ""), // unterminated: csv gives up at the end of the input
			},
		},
		{
			name: "cells are neither trimmed nor converted",
			in:   "mobileAppId,mobileAppInstallStatusId,errorCode,installState\n a1 ,\ts1\t,0x87D1041C,INSTALLED\n",
			rows: []result{rec(2, A, " a1 ", S, "\ts1\t", EC, "0x87D1041C", IS, "INSTALLED")},
		},
		{
			name: "neutralised cells are read back; other quotes stay",
			in:   "mobileAppId,mobileAppInstallStatusId,deviceName,errorCode\n'=1+1,' -x,'abc,'-1\n\"'\"\"@x\",'\tt,'',-1\n",
			rows: []result{
				rec(2, A, "=1+1", S, " -x", DN, "'abc", EC, "'-1"),
				rec(3, A, "\"@x", S, "\tt", DN, "''", EC, "-1"),
			},
		},
		{
			name: "rows with only empty known cells are skipped",
			in:   "#c,mobileAppId,mobileAppInstallStatusId\n,,\n;,,\nx,a1,s1\n",
			rows: []result{rec(4, A, "a1", S, "s1")},
		},
		{
			name:    "absent columns read as empty",
			in:      "mobileAppInstallStatusId,mobileAppId\ns1,a1\n",
			columns: []col{S, A},
			rows:    []result{rec(2, A, "a1", S, "s1")},
		},
		{
			name: "MaxColumns: at the limit",
			in:   "mobileAppId,mobileAppInstallStatusId,#1\na,s,\n",
			opt:  opts(ReaderOptions{MaxColumns: 3}),
			rows: []result{rec(2, A, "a", S, "s")},
		},
		{
			name:   "MaxColumns: over the limit",
			in:     "mobileAppId,mobileAppInstallStatusId,#1,#2\na,s,,\n",
			opt:    opts(ReaderOptions{MaxColumns: 3}),
			header: []result{fail(1, "ErrTooManyColumns", "")},
		},
		{
			name:   "MaxColumns: over the limit after a long quoted cell",
			in:     "mobileAppId,mobileAppInstallStatusId,\"#" + strings.Repeat("\n", 600) + "\",#2\n",
			opt:    opts(ReaderOptions{MaxColumns: 3}),
			header: []result{fail(1, "ErrTooManyColumns", "")},
		},
		{
			name: "MaxRecordBytes: a row of exactly the limit, then one byte over, fatal",
			in:   "appId,id\n" + "a,0123456789\n" + "a,01234567890\n" + "a,s\n",
			opt:  opts(ReaderOptions{MaxRecordBytes: 13}),
			rows: []result{rec(2, A, "a", S, "0123456789"), fail(3, "ErrRecordTooLarge", "")},
		},
		{
			name: "MaxRecordBytes: a multi-line row over the limit",
			in:   "appId,id\n" + "a,\"0\n1\n2\n3\n4\n5\n6\n7\"\n" + "a,s\n",
			opt:  opts(ReaderOptions{MaxRecordBytes: 13}),
			rows: []result{fail(2, "ErrRecordTooLarge", "")},
		},
		{
			name:   "MaxRecordBytes: the header",
			in:     "mobileAppId,mobileAppInstallStatusId\n",
			opt:    opts(ReaderOptions{MaxRecordBytes: 20}),
			header: []result{fail(1, "ErrRecordTooLarge", "")},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r, err := NewReader(strings.NewReader(tt.in), opts(tt.opt))
			if err != nil || tt.header != nil {
				var got []result
				if err != nil {
					got = describe(t, err)
				}
				if diff := cmp.Diff(tt.header, got); diff != "" {
					t.Fatalf("NewReader errors (-want +got):\n%s\nerror: %v", diff, err)
				}
				return
			}
			if tt.comma != 0 && r.Comma() != tt.comma {
				t.Errorf("Comma() = %q, want %q", r.Comma(), tt.comma)
			}
			if tt.columns != nil {
				if diff := cmp.Diff(ints(tt.columns), r.Columns()); diff != "" {
					t.Errorf("Columns() (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.rows, readAll(t, r)); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
}

func cmpDiff(want, got []result) string { return cmp.Diff(want, got) }
