package report

import (
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"os"
	"path/filepath"
	"strconv"
	"testing"
)

// TestCommitWritesEveryBufferedRow writes several times the write buffer
// and checks that Commit puts every row in the file, in order.
func TestCommitWritesEveryBufferedRow(t *testing.T) {
	path := filepath.Join(t.TempDir(), "r.csv")
	w, err := Create(path, testCols, csvio.WriterOptions{})
	if err != nil {
		t.Fatal(err)
	}
	r := hostileRows()[1]
	const n = 3 * bufSize / 50 // rows are longer than 50 bytes
	for i := range n {
		r.Line = i + 2
		if err := w.Write(r); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) <= 3*bufSize {
		t.Fatalf("file has %d bytes, want more than %d", len(b), 3*bufSize)
	}
	recs := readCSV(t, b)
	if len(recs) != n+1 {
		t.Fatalf("%d records, want %d rows and the header", len(recs), n)
	}
	for i, rec := range recs[1:] {
		if rec[0] != strconv.Itoa(i+2) {
			t.Fatalf("record %d has line %q, want %d", i+1, rec[0], i+2)
		}
	}
}
