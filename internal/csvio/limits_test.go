package csvio

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// repeatReader yields n bytes repeating pat without holding them, and
// counts what was taken from it.
type repeatReader struct {
	pat  string
	n    int64
	read int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	m := int(min(int64(len(p)), r.n))
	for i := range p[:m] {
		p[i] = r.pat[(r.read+int64(i))%int64(len(r.pat))]
	}
	r.n -= int64(m)
	r.read += int64(m)
	return m, nil
}

// TestHugeLine feeds a 2 GB single line, as a row and as the header, and
// checks the design that bounds memory: the input is read no further than
// MaxRecordBytes plus the 64 KiB read-ahead past the record's start, and the
// allocations stay a small multiple of that. The limit counts decoded
// bytes, which is what encoding/csv holds: a decoded file is read twice as
// far in UTF-16 (two bytes a letter), half as far in Windows-1252 ("é" is
// one byte there, two in UTF-8).
func TestHugeLine(t *testing.T) {
	const huge = 2 << 30
	same := func(s string) string { return s }
	tests := []struct {
		name     string
		max      int
		header   string // before the huge line
		wantLine int
		enc      Encoding
		encode   func(string) string // the header and the end
		pat      string              // the huge line repeats it
		perByte  float64             // raw bytes per decoded byte of the huge line
	}{
		{"row, 256 KiB limit", 256 << 10, "mobileAppId,mobileAppInstallStatusId\na,s\n", 3, AutoEncoding, same, "x", 1},
		{"row, default limit", 0, "sep=,\nmobileAppId,mobileAppInstallStatusId\na,s\n", 4, AutoEncoding, same, "x", 1},
		{"header", 256 << 10, "", 1, AutoEncoding, same, "x", 1},
		{"row after a multi-line cell", 256 << 10, "appId,id\na,\"s\n\n\"\n", 5, AutoEncoding, same, "x", 1},
		{"UTF-16 row", 256 << 10, "appId,id\na,s\n", 3, AutoEncoding, func(s string) string { return "\xff\xfe" + utf16le(s) }, "x\x00", 2},
		{"Windows-1252 row", 256 << 10, "appId,id\na,s\n", 3, Windows1252, same, "\xe9", 0.5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := int64(tt.max)
			if limit == 0 {
				limit = DefaultMaxRecordBytes
			}
			big := &repeatReader{pat: tt.pat, n: huge}
			head := tt.encode(tt.header)
			if tt.header == "" {
				head = tt.encode("x")[:len(tt.encode("x"))-len(tt.pat)] // just the BOM, if any
			}
			end := ",s\n"
			if tt.perByte == 2 {
				end = utf16le(end)
			}
			src := io.MultiReader(strings.NewReader(head), big, strings.NewReader(end))

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := func() error {
				r, err := NewReader(src, opts(ReaderOptions{MaxRecordBytes: tt.max, Encoding: tt.enc}))
				if err != nil {
					return err
				}
				var rec Record
				if err := r.Read(&rec); err != nil {
					t.Fatalf("first row: %v", err)
				}
				err = r.Read(&rec)
				if again := r.Read(&rec); again != err {
					t.Errorf("Read after the fatal error = %v, want the same %v", again, err)
				}
				return err
			}()
			runtime.ReadMemStats(&after)

			var pe *ParseError
			if !errors.As(err, &pe) || !errors.Is(err, ErrRecordTooLarge) {
				t.Fatalf("error = %v, want a *ParseError wrapping ErrRecordTooLarge", err)
			}
			if pe.Line != tt.wantLine {
				t.Errorf("error line = %d, want %d (%v)", pe.Line, tt.wantLine, err)
			}
			// The decoders hold a few KiB of their own.
			if maxRead := int64(float64(limit+2*bufSize)*tt.perByte) + 16<<10; big.read > maxRead {
				t.Errorf("read %d bytes of the huge line, want at most %d", big.read, maxRead)
			}
			// encoding/csv keeps the line, the unquoted record and its
			// string, each grown by doubling, and the header's first 64 KiB
			// are split for detection: a constant times limit+bufSize.
			if alloc, maxAlloc := after.TotalAlloc-before.TotalAlloc, uint64(16*(limit+bufSize)); alloc > maxAlloc {
				t.Errorf("allocated %d bytes, want at most %d", alloc, maxAlloc)
			}
		})
	}
}

func TestIOError(t *testing.T) {
	const header = "mobileAppId,mobileAppInstallStatusId\n"
	tests := []struct {
		name   string
		before string // what the reader yields before failing
		header []result
		rows   []result
	}{
		{name: "at once", before: "", header: []result{fail(1, "iotest", "")}},
		{name: "in the header", before: "mobileAppId,mobi", header: []result{fail(1, "iotest", "")}},
		{name: "between rows", before: header + "a1,s1\n", rows: []result{rec(2, MobileAppID, "a1", MobileAppInstallStatusID, "s1"), fail(3, "iotest", "")}},
		{name: "a last row without line end may be cut", before: header + "a1,s1", rows: []result{fail(2, "iotest", "")}},
		{name: "after blank lines", before: header + "a1,s1\n\n\n", rows: []result{rec(2, MobileAppID, "a1", MobileAppInstallStatusID, "s1"), fail(3, "iotest", "")}},
		{name: "inside a row", before: header + "a1,s1\n\"a2\n", rows: []result{rec(2, MobileAppID, "a1", MobileAppInstallStatusID, "s1"), fail(3, "iotest", "")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src := io.MultiReader(strings.NewReader(tt.before), iotest.ErrReader(errBoom))
			r, err := NewReader(src, opts(ReaderOptions{}))
			if err != nil || tt.header != nil {
				var got []result
				if err != nil {
					got = describe(t, err)
				}
				if diff := cmpDiff(tt.header, got); diff != "" {
					t.Fatalf("NewReader errors (-want +got):\n%s\nerror: %v", diff, err)
				}
				return
			}
			if diff := cmpDiff(tt.rows, readAll(t, r)); diff != "" {
				t.Errorf("Read (-want +got):\n%s", diff)
			}
		})
	}
}

// TestPathologicalHeader checks that a header of a million empty cells
// fails on MaxColumns without a million-cell detour through gocsv (the
// cells are counted in a pass that keeps nothing), and that the message
// gives the true count, not the count of the first 64 KiB (issue 16.9).
func TestPathologicalHeader(t *testing.T) {
	tests := []struct {
		name   string
		header string
		max    int
		want   string
	}{
		{"a million commas", strings.Repeat(",", 1<<20), 2 << 20, "the header has 1048577 cells, at most 256 are allowed"},
		{"100,002 cells, then rows", "mobileAppId,mobileAppInstallStatusId" + strings.Repeat(",#c", 100_000) + "\na,s" + strings.Repeat(",", 100_000) + "\n",
			0, "the header has 100002 cells, at most 256 are allowed"},
		{"quoted delimiters and line breaks are part of a cell", strings.Repeat("\"a,\n\",", 30_000) + "x\n", 0, "the header has 30001 cells"},
		{"longer than MaxRecordBytes", strings.Repeat("a,", 1<<20), 256 << 10, "the header has at least 163841 cells in its first 327680 bytes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			_, err := NewReader(strings.NewReader(tt.header), opts(ReaderOptions{MaxRecordBytes: tt.max}))
			runtime.ReadMemStats(&after)
			if !errors.Is(err, ErrTooManyColumns) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("error = %v, want ErrTooManyColumns saying %q", err, tt.want)
			}
			if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
				t.Errorf("allocated %d bytes, want a few hundred KiB at most", alloc)
			}
		})
	}
}

func TestInvalidComma(t *testing.T) {
	for _, c := range []rune{'"', '\n', '\r', 0xFFFD, -1} {
		if _, err := NewReader(strings.NewReader("appId,id\n"), opts(ReaderOptions{Comma: c})); err == nil {
			t.Errorf("NewReader with Comma %q: no error", c)
		}
	}
}
