package journal

import (
	"errors"
	"os"
	"path/filepath"
	"testing"
)

// FuzzJournalOpen feeds arbitrary bytes to Open with resume. It must never
// panic, must fail only with a typed error, and whatever it accepts it
// must leave as a journal that opens again with the same rows.
func FuzzJournalOpen(f *testing.F) {
	header := `{"header":{"format":1,"input_sha256":"` + hashA + `","started_at":"2026-11-30T04:52:10Z","pid":42}}` + "\n"
	row := `{"row":{"line":2,"mobileAppId":"app","mobileAppInstallStatusId":"s","outcome":"applied","http_status":204,"attempts":1,"duration_ns":5,"finished_at":"2026-11-30T04:52:11.5Z","props":["a","<null>",""]}}` + "\n"
	for _, s := range []string{
		"",
		header,
		header + row,
		header + row + `{"row":{"line":3,"outc`,
		header + row + `{"complete":{"at":"2026-11-30T05:00:00Z"}}` + "\n",
		header + "garbage\n" + row,
		`{"header":{"format":1,"input_sha256":"` + hashB + `"}}` + "\n" + row,
		`{"header":{"format":2}}` + "\n",
		header + `{"row":{"line":-1,"outcome":"applied"}}` + "\n" + row,
		header + `{"row":{"line":2,"outcome":"skipped"}}` + "\n",
		header + `{"row":{"line":2,"finished_at":"not a time","outcome":"applied"}}` + "\n",
		header + `{"row":{"line":9223372036854775807,"duration_ns":-9223372036854775808,"outcome":"failed"}}` + "\n",
		"null\n[]\n{}\n",
		"\n\n\n",
		"\xff\xfe\x00",
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "j")
		if err := os.WriteFile(path, data, 0o600); err != nil {
			t.Fatal(err)
		}
		j, st, err := Open(path, hashA, true)
		if err != nil {
			var ce *CorruptError
			var me *MismatchError
			if !errors.As(err, &ce) && !errors.As(err, &me) {
				t.Fatalf("Open = %v, want a *CorruptError or *MismatchError", err)
			}
			return
		}
		// Closing the file directly skips Close's fsync, which would make
		// the fuzzer disk-bound; syncing is not what is tested here.
		if err := j.f.Close(); err != nil {
			t.Fatal(err)
		}
		j2, st2, err := Open(path, hashA, true)
		if err != nil {
			t.Fatalf("reopening an accepted journal: %v", err)
		}
		defer j2.f.Close()
		wantRuns := len(st.Runs()) + 1 // ours was appended
		if st.Len() == 0 {
			wantRuns = 0 // nothing to resume: a fresh start both times
		}
		if st2.Len() != st.Len() || len(st2.Runs()) != wantRuns {
			t.Errorf("reopened: %d rows, %d runs; want %d rows, %d runs", st2.Len(), len(st2.Runs()), st.Len(), wantRuns)
		}
	})
}
