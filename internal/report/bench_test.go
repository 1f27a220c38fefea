package report

import (
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
	"path/filepath"
	"testing"
	"time"
)

// BenchmarkWriteTypicalRow encodes the results row an ordinary applied
// row produces, with the eight property columns of a typical input: what
// apply pays per row for the results file.
func BenchmarkWriteTypicalRow(b *testing.B) {
	props := []string{"deviceName", "installState", "installStateDetail", "errorCode",
		"lastSyncDateTime", "osVersion", "displayVersion", "userPrincipalName"}
	w, err := Create(filepath.Join(b.TempDir(), "r.csv"), Columns{Keys: testCols.Keys, Props: props}, csvio.WriterOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Abort()
	r := Row{
		Line: 123457, Key: resource.Key{"5f0c3a1e-7d2b-4c8e-9a61-000000000002", "", "9e3779b1-7c1e-4b2a-9f3d-00000001e241"},
		Outcome: Applied, HTTPStatus: 204, Attempts: 1,
		RequestID:       "0b6f2f1e-3c4d-4e5f-8a9b-0c1d2e3f4a5b",
		ClientRequestID: "7a8b9c0d-1e2f-4a3b-8c4d-5e6f7a8b9c0d",
		Duration:        84 * time.Millisecond,
		FinishedAt:      time.Date(2026, 11, 30, 6, 1, 2, 345_000_000, time.UTC),
		Props: []string{"LAPTOP-01e241", "failed", "seeInstallErrorCode", "-2016345060",
			"2026-03-01T08:15:41Z", "10.0.22631.3007", "24.1.41", "user15432@contoso.example"},
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := w.Write(r); err != nil {
			b.Fatal(err)
		}
	}
}
