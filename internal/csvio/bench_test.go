package csvio

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"io"
	"testing"
)

// benchFile is a 10,000-row input with every column, the shape an export
// produces.
var benchFile = func() []byte {
	var b bytes.Buffer
	w := NewWriter(&b, WriterOptions{})
	w.Write(opts(ReaderOptions{}).names())
	for i := range 10000 {
		w.Write([]string{
			"0b2c1a3e-5d4f-4e6a-9b8c-7d6e5f4a3b2c", fmt.Sprintf("user-%05d", i), fmt.Sprintf("status-%05d", i),
			fmt.Sprintf("DESKTOP-%05d", i), fmt.Sprintf("%08x-0000-0000-0000-000000000000", i),
			"2026-01-02T03:04:05Z", "installed", "failed", "seeInstallErrorCode", "-2016345060",
			"10.0.22631.3007", "Windows 11 Enterprise", fmt.Sprintf("User %d", i),
			fmt.Sprintf("user%d@contoso.example", i), "1.2.3",
		})
	}
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return b.Bytes()
}()

func BenchmarkRead(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFile)))
	for b.Loop() {
		r, err := NewReader(bytes.NewReader(benchFile), opts(ReaderOptions{}))
		if err != nil {
			b.Fatal(err)
		}
		var rec Record
		n := 0
		for {
			err := r.Read(&rec)
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 10000 {
			b.Fatalf("read %d rows", n)
		}
	}
}

// BenchmarkPlainCSV is the floor BenchmarkRead is measured against:
// encoding/csv alone over the same bytes, reusing its record.
func BenchmarkPlainCSV(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFile)))
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(benchFile))
		r.ReuseRecord = true
		n := 0
		for {
			_, err := r.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			n++
		}
		if n != 10001 {
			b.Fatalf("read %d records", n)
		}
	}
}
