package main

// End-to-end tests of spreadsheet-native input: the dialect and encoding
// an input was saved in come back in its results.

import (
	"bytes"
	"encoding/csv"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/text/encoding/charmap"
	"golang.org/x/text/encoding/unicode"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// excelDialectRun applies a file as a European Excel saves it (BOM, ';',
// CRLF) with a "# note" comment column, and returns the results file and
// the Graph emulator.
func excelDialectRun(t *testing.T) (string, *emulator.Server) {
	t.Helper()
	f := generate(t, 1, 4, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := filepath.Join(dir, "statuses.csv")
	body := "\ufeffmobileAppId;mobileAppInstallStatusId;installState;displayVersion;# note\r\n" +
		"app-00;ds-00-00000;installed;2.0;\"Straße 1; ticket 7\"\r\n" + // the note holds the delimiter
		"app-00;ds-00-00001;failed;2.0;\r\n" +
		"app-00;ds-00-00002;installed;2.0;\"said \"\"later\"\"\"\r\n"
	if err := os.WriteFile(in, []byte(body), 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, t.Context(), vars, "apply", in, "--yes", "--progress", "never", "--rate", "1000")
	if r.code != exitOK {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	return filepath.Join(dir, "statuses.results.csv"), srv
}

// excelNotes are the notes excelDialectRun's rows carry.
var excelNotes = []string{"Straße 1; ticket 7", "", `said "later"`}

// TestSheetsExcelDialect expects excelDialectRun's results in the input's
// dialect, the notes beside their rows.
func TestSheetsExcelDialect(t *testing.T) {
	results, srv := excelDialectRun(t)
	if got := srv.Stats().Writes; got != 3 {
		t.Errorf("%d writes, want 3", got)
	}
	b, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(b, []byte("\ufeff")) {
		t.Errorf("results lack the input's byte order mark: %q", b[:min(len(b), 40)])
	}
	if n, crlf := bytes.Count(b, []byte("\n")), bytes.Count(b, []byte("\r\n")); n != 4 || crlf != n {
		t.Errorf("results have %d lines, %d ending in CRLF; want 4 and 4:\n%q", n, crlf, b)
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	cr.Comma = ';'
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("results do not read as ';'-separated: %v\n%s", err, b)
	}
	checkNotes(t, recs)
}

// checkNotes finds the "# note" column in recs and expects excelNotes.
func checkNotes(t *testing.T, recs [][]string) {
	t.Helper()
	note := slices.Index(recs[0], "# note")
	if note < 0 || len(recs) != len(excelNotes)+1 {
		t.Fatalf("results: header %q, %d records; want a # note column and %d rows", recs[0], len(recs)-1, len(excelNotes))
	}
	for i, want := range excelNotes {
		if got := recs[i+1][note]; got != want {
			t.Errorf("row %d note %q, want %q", i+1, got, want)
		}
		if len(recs[i+1]) != len(recs[0]) {
			t.Errorf("row %d has %d cells, the header %d", i+1, len(recs[i+1]), len(recs[0]))
		}
	}
}

// TestLibreOfficeOpensExcelDialect opens excelDialectRun's results in
// LibreOffice Calc with ';' as the separator, as a European user would,
// and expects every cell in its column and the notes intact.
// scripts/libreoffice-check.sh installs LibreOffice and runs it;
// elsewhere it is skipped.
func TestLibreOfficeOpensExcelDialect(t *testing.T) {
	if os.Getenv("BULKPATCH_LIBREOFFICE") == "" {
		t.Skip("set BULKPATCH_LIBREOFFICE=1 (scripts/libreoffice-check.sh does) to open a results file in LibreOffice")
	}
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("soffice is not installed: scripts/libreoffice-check.sh installs libreoffice-calc")
	}
	results, _ := excelDialectRun(t)
	out := t.TempDir()
	// Import: ';' (59), '"' (34), UTF-8 (76), from line 1; export: ','.
	args := []string{"-env:UserInstallation=file://" + t.TempDir(), "--headless", "--norestore",
		"--infilter=CSV:59,34,76,1", "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", out, results}
	if b, err := exec.Command(soffice, args...).CombinedOutput(); err != nil {
		t.Fatalf("soffice %q: %v\n%s", args, err, b)
	}
	recs := readCSV(t, filepath.Join(out, "statuses.results.csv"))
	checkNotes(t, recs)
	if !slices.Contains(recs[0], "outcome") || !slices.Contains(recs[0], "mobileAppInstallStatusId") {
		t.Errorf("LibreOffice's header %q lacks the results columns", recs[0])
	}
}

// TestSheetsWindows1252 reads a file a Western-European Excel saves as
// "CSV": Windows-1252. Without --encoding it is refused with the hint;
// with it, é reaches Graph and the results, which are Windows-1252 too.
func TestSheetsWindows1252(t *testing.T) {
	f := generate(t, 1, 2, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := filepath.Join(dir, "ansi.csv")
	text := "mobileAppId,mobileAppInstallStatusId,displayVersion,# note\n" +
		"app-00,ds-00-00000,1.0-é,café\n" +
		"app-00,ds-00-00001,1.0,\n"
	ansi, err := charmap.Windows1252.NewEncoder().String(text)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, []byte(ansi), 0o600); err != nil {
		t.Fatal(err)
	}

	r := cli(t, t.Context(), vars, "validate", in)
	if r.code != exitInvalid || !strings.Contains(r.stderr, "--encoding windows-1252") || !strings.Contains(r.stderr, "line 2") {
		t.Errorf("validate without --encoding: exit %d, want %d with a hint naming line 2 and --encoding windows-1252\n%s", r.code, exitInvalid, r.stderr)
	}
	if r := cli(t, t.Context(), vars, "validate", in, "--encoding", "windows-1252"); r.code != exitOK {
		t.Fatalf("validate --encoding windows-1252: exit %d\n%s", r.code, r.stderr)
	}
	r = cli(t, t.Context(), vars, "apply", in, "--encoding", "windows-1252", "--yes", "--progress", "never", "--rate", "1000")
	if r.code != exitOK {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	if obj, ok := srv.Object("app-00", "", "ds-00-00000"); !ok || obj["displayVersion"] != "1.0-é" {
		t.Errorf("Graph has displayVersion %q, want 1.0-é", obj["displayVersion"])
	}
	b, err := os.ReadFile(filepath.Join(dir, "ansi.results.csv"))
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(b, []byte("caf\xe9")) || !bytes.Contains(b, []byte("1.0-\xe9")) {
		t.Errorf("results are not Windows-1252 with é kept:\n%q", b)
	}
}

// TestSheetsUTF16 validates a file saved as Excel's "Unicode Text" would
// be: UTF-16 LE with a byte order mark.
func TestSheetsUTF16(t *testing.T) {
	in := filepath.Join(t.TempDir(), "unicode.csv")
	text := "mobileAppId,mobileAppInstallStatusId,deviceName\r\napp,s1,Zoë’s PC\r\napp,s2,日本\r\n"
	b, err := unicode.UTF16(unicode.LittleEndian, unicode.UseBOM).NewEncoder().Bytes([]byte(text))
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(in, b, 0o600); err != nil {
		t.Fatal(err)
	}
	r := cli(t, t.Context(), nil, "validate", in)
	if r.code != exitOK || !strings.Contains(r.stdout, "2 rows") {
		t.Errorf("validate of UTF-16 LE: exit %d, want 0 and 2 rows\n%s%s", r.code, r.stdout, r.stderr)
	}
}
