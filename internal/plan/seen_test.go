package plan

import (
	"runtime"
	"slices"
	"strconv"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
)

// TestRememberKeyCollisions drives the duplicate table with chosen
// hashes: rows that share the 64-bit map key but not the 32-bit tag are
// different objects, and each is still caught when it comes back.
func TestRememberKeyCollisions(t *testing.T) {
	v := NewValidator(res)
	steps := []struct {
		line      int
		key       uint64
		tag       uint32
		wantOther int // 0: no problem
	}{
		{2, 7, 1, 0},
		{3, 7, 2, 0},  // same key, other tag: another object
		{4, 7, 3, 0},  // and a third
		{5, 8, 1, 0},  // another key, a tag seen before: another object
		{6, 7, 2, 3},  // the second object again
		{7, 7, 1, 2},  // the first again
		{8, 7, 3, 4},  // the third again
		{9, 8, 1, 5},  // the fourth again
		{10, 9, 2, 0}, // new
	}
	for _, s := range steps {
		op := Op{Line: s.line}
		probs := v.rememberKey(nil, &op, s.key, s.tag)
		switch {
		case s.wantOther == 0 && len(probs) != 0:
			t.Errorf("line %d: unexpected problems %v", s.line, probs)
		case s.wantOther != 0 && (len(probs) != 1 || probs[0].OtherLine != s.wantOther || probs[0].Column != v.keyColumns):
			t.Errorf("line %d: problems %v, want one naming line %d", s.line, probs, s.wantOther)
		}
	}
	if len(v.seen) != 3 || len(v.more) != 2 {
		t.Errorf("seen %d, more %d entries; want 3 and 2", len(v.seen), len(v.more))
	}
}

// TestCheckDuplicatesAcrossRoutes: the same status id directly under the
// app and under a user status are two objects; each repeated is caught.
func TestCheckDuplicatesAcrossRoutes(t *testing.T) {
	v := NewValidator(res)
	direct := benchRecords(1)[0]
	nested := direct
	nested.Cells = slices.Clone(direct.Cells)
	nested.Cells[cell(t, "userAppInstallStatusId")] = "user-1"
	for i, tc := range []struct {
		rec       csvio.Record
		wantOther int
	}{{direct, 0}, {nested, 0}, {direct, 2}, {nested, 3}} {
		tc.rec.Line = i + 2
		_, probs := v.Check(&tc.rec)
		got := 0
		for _, p := range probs {
			got = p.OtherLine
		}
		if got != tc.wantOther {
			t.Errorf("line %d: duplicate of %d, want %d (%v)", tc.rec.Line, got, tc.wantOther, probs)
		}
	}
}

// BenchmarkValidatorMemory measures what duplicate detection keeps: the
// live heap a Validator holds after a million distinct rows, per row
// (heapB/row). It is what `bulkpatch validate` cannot avoid holding.
func BenchmarkValidatorMemory(b *testing.B) {
	const n = 1_000_000
	rec := benchRecords(1)[0]
	status := cell(b, "mobileAppInstallStatusId")
	ids := make([]string, 0, n)
	for i := range n {
		ids = append(ids, "st-"+strconv.Itoa(i))
	}
	var perRow float64
	b.ReportAllocs()
	for b.Loop() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		v := NewValidator(res)
		for i, id := range ids {
			rec.Line = i + 2
			rec.Cells[status] = id
			if _, probs := v.Check(&rec); len(probs) != 0 {
				b.Fatal(probs)
			}
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		perRow = float64(after.HeapAlloc-before.HeapAlloc) / n
		runtime.KeepAlive(v)
	}
	b.ReportMetric(perRow, "heapB/row")
}
