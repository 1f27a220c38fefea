package plan

import (
	"fmt"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
)

// benchRecords returns n typical full rows with distinct objects.
func benchRecords(n int) []csvio.Record {
	recs := make([]csvio.Record, n)
	for i := range recs {
		recs[i] = csvio.Record{Line: i + 2, Cells: []string{
			"8d0a8f0c-6f0c-4a3b-9c55-3f6a6a8a0b11",
			"",
			fmt.Sprintf("0c7f1a6e-2b1d-4f4e-8a8e-%012d_8d0a8f0c-6f0c-4a3b-9c55-3f6a6a8a0b11", i),
			"LAPTOP-0815", "c2a6e1c4-3f1e-4a8a-9d3e-6b8c1f0a2d4e", "2026-01-31T14:05:00.1234567+01:00",
			"failed", "failed", "seeInstallErrorCode", "0x87D1041C",
			"10.0.22631.3007", "Windows 11 Enterprise", "Jürgen Müller", "juergen.mueller@example.com", "24.1.0",
		}}
	}
	return recs
}

func BenchmarkCheck(b *testing.B) {
	recs := benchRecords(1 << 14)
	b.ReportAllocs()
	v := NewValidator(res)
	i := 0
	for b.Loop() {
		if i == len(recs) { // start a new "file" so that rows stay distinct
			b.StopTimer()
			v, i = NewValidator(res), 0
			b.StartTimer()
		}
		if _, probs := v.Check(&recs[i]); len(probs) != 0 {
			b.Fatal(probs)
		}
		i++
	}
}

func BenchmarkAppendBody(b *testing.B) {
	recs := benchRecords(1)
	op, probs := NewValidator(res).Check(&recs[0])
	if len(probs) != 0 {
		b.Fatal(probs)
	}
	buf := make([]byte, 0, 1024)
	b.ReportAllocs()
	for b.Loop() {
		buf = op.AppendBody(buf[:0])
	}
	b.SetBytes(int64(len(buf)))
}
