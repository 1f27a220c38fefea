package csvio

import (
	"errors"
	"io"
	"runtime"
	"strings"
	"testing"
	"testing/iotest"
)

// repeatReader yields n copies of b without holding them, and counts what
// was taken from it.
type repeatReader struct {
	b    byte
	n    int64
	read int64
}

func (r *repeatReader) Read(p []byte) (int, error) {
	if r.n == 0 {
		return 0, io.EOF
	}
	m := int(min(int64(len(p)), r.n))
	for i := range p[:m] {
		p[i] = r.b
	}
	r.n -= int64(m)
	r.read += int64(m)
	return m, nil
}

// TestHugeLine feeds a 2 GB single line, as a row and as the header, and
// checks the design that bounds memory: the input is read no further than
// MaxRecordBytes plus the 64 KiB read-ahead past the record's start, and the
// allocations stay a small multiple of that.
func TestHugeLine(t *testing.T) {
	const huge = 2 << 30
	tests := []struct {
		name     string
		max      int
		header   string // before the huge line
		wantLine int
	}{
		{"row, 256 KiB limit", 256 << 10, "mobileAppId,mobileAppInstallStatusId\na,s\n", 3},
		{"row, default limit", 0, "sep=,\nmobileAppId,mobileAppInstallStatusId\na,s\n", 4},
		{"header", 256 << 10, "", 1},
		{"row after a multi-line cell", 256 << 10, "appId,id\na,\"s\n\n\"\n", 5},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			limit := int64(tt.max)
			if limit == 0 {
				limit = DefaultMaxRecordBytes
			}
			big := &repeatReader{b: 'x', n: huge}
			src := io.MultiReader(strings.NewReader(tt.header), big, strings.NewReader(",s\n"))

			var before, after runtime.MemStats
			runtime.ReadMemStats(&before)
			err := func() error {
				r, err := NewReader(src, opts(ReaderOptions{MaxRecordBytes: tt.max}))
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
			if maxRead := limit + 2*bufSize; big.read > maxRead {
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
// fails on MaxColumns without a million-cell detour through gocsv: the
// column count is checked on the first 64 KiB before encoding/csv reads.
func TestPathologicalHeader(t *testing.T) {
	src := &repeatReader{b: ',', n: 1 << 20}
	_, err := NewReader(src, opts(ReaderOptions{MaxRecordBytes: 2 << 20}))
	if !errors.Is(err, ErrTooManyColumns) {
		t.Fatalf("error = %v, want ErrTooManyColumns", err)
	}
	if src.read > bufSize {
		t.Errorf("read %d bytes, want at most %d", src.read, bufSize)
	}
}

func TestInvalidComma(t *testing.T) {
	for _, c := range []rune{'"', '\n', '\r', 0xFFFD, -1} {
		if _, err := NewReader(strings.NewReader("appId,id\n"), opts(ReaderOptions{Comma: c})); err == nil {
			t.Errorf("NewReader with Comma %q: no error", c)
		}
	}
}
