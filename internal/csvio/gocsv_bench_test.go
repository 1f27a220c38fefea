package csvio

import (
	"bytes"
	"encoding/csv"
	"io"
	"reflect"
	"testing"

	"github.com/gocarina/gocsv"
)

// BenchmarkGocsvRows is the middle step between BenchmarkPlainCSV and
// BenchmarkRead: encoding/csv plus gocsv's Unmarshaller filling a positional
// struct per record, without the Reader's own work (line numbers, size guard,
// UTF-8 and blank-cell checks, unneutralising). Read ÷ this is what the
// Reader adds; this ÷ PlainCSV is what gocsv's reflection costs.
func BenchmarkGocsvRows(b *testing.B) {
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFile)))
	for b.Loop() {
		r := csv.NewReader(bytes.NewReader(benchFile))
		r.ReuseRecord = true
		um, err := gocsv.NewUnmarshaller(r, reflect.New(rowType(NumColumns)).Interface())
		if err != nil {
			b.Fatal(err)
		}
		tags := make([]string, len(um.Headers))
		for i := range tags {
			tags[i] = fieldTag(i)
		}
		if err := um.RenormalizeHeaders(func([]string) []string { return tags }); err != nil {
			b.Fatal(err)
		}
		n := 0
		for {
			v, err := um.Read()
			if err == io.EOF {
				break
			}
			if err != nil {
				b.Fatal(err)
			}
			if reflect.ValueOf(v).Elem().Field(0).String() == "" {
				b.Fatal("empty mobileAppId")
			}
			n++
		}
		if n != 10000 {
			b.Fatalf("read %d rows", n)
		}
	}
}
