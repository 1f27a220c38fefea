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
	header := `{"header":{"format":2,"input_sha256":"` + hashA + `","started_at":"2026-11-30T04:52:10Z","pid":42}}` + "\n"
	row := `{"row":{"line":2,"key":["app","","s"],"id":"0123456789abcdef","outcome":"applied","http_status":204,"attempts":1,"duration_ns":5,"finished_at":"2026-11-30T04:52:11.5Z"}}` + "\n"
	for _, s := range []string{
		"",
		header,
		header + row,
		header + row + `{"row":{"line":3,"outc`,
		header + row + `{"complete":{"at":"2026-11-30T05:00:00Z"}}` + "\n",
		header + "garbage\n" + row,
		`{"header":{"format":2,"input_sha256":"` + hashB + `"}}` + "\n" + row,
		`{"header":{"format":1}}` + "\n",
		header + `{"row":{"line":-1,"id":"0123456789abcdef","outcome":"applied"}}` + "\n" + row,
		header + `{"row":{"line":2,"id":"0123456789abcdef","outcome":"skipped"}}` + "\n",
		header + `{"row":{"line":2,"id":"0123456789abcdef","finished_at":"not a time","outcome":"applied"}}` + "\n",
		header + `{"row":{"line":9223372036854775807,"id":"0123456789abcdef","duration_ns":-9223372036854775808,"outcome":"failed"}}` + "\n",
		header + `{"row":{"line":3,"key":["a","b","c","d"],"id":"0123456789abcdef","outcome":"applied"}}` + "\n",
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
		j, o, err := Open(path, hashA, Resume)
		if err != nil {
			var ce *CorruptError
			var me *MismatchError
			if !errors.As(err, &ce) && !errors.As(err, &me) {
				t.Fatalf("Open = %v, want a *CorruptError or *MismatchError", err)
			}
			return
		}
		// Every record the index points at reads back.
		for line, e := range j.index {
			if e.n == 0 {
				continue
			}
			if _, ok, err := j.Row(line, e.id); !ok || err != nil {
				t.Fatalf("Row(%d) of an accepted journal: %v, %v", line, ok, err)
			}
		}
		rows := j.count(func(entry) bool { return true })
		// Closing the file directly skips Close's fsync, which would make
		// the fuzzer disk-bound; syncing is not what is tested here.
		if err := j.f.Close(); err != nil {
			t.Fatal(err)
		}
		j2, o2, err := Open(path, hashA, Resume)
		if err != nil {
			t.Fatalf("reopening an accepted journal: %v", err)
		}
		defer j2.f.Close()
		if o2.Done != o.Done || j2.count(func(entry) bool { return true }) != rows {
			t.Errorf("reopened: %+v with %d rows; first %+v with %d", o2, j2.count(func(entry) bool { return true }), o, rows)
		}
	})
}
