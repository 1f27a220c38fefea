package apply

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

func TestOpenFiles(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("x"), 0o600)
	results := filepath.Join(dir, "in.results.csv")
	f, err := OpenFiles(results, in)
	if err != nil {
		t.Fatal(err)
	}
	var le *journal.LockedError
	// The same results file: refused.
	if _, err := OpenFiles(results, filepath.Join(dir, "other.csv")); !errors.As(err, &le) {
		t.Errorf("a second apply on the same results = %v, want a LockedError", err)
	}
	// The same input with other results: refused too, naming the input.
	if _, err := OpenFiles(filepath.Join(dir, "elsewhere.csv"), in); !errors.As(err, &le) || le.Input != in {
		t.Errorf("a second apply of the same input = %v, want a LockedError naming it", err)
	}
	// The results through a symbolic link: the target's lock.
	link := filepath.Join(dir, "link.csv")
	if err := os.WriteFile(results, []byte("r"), 0o600); err == nil && os.Symlink(results, link) == nil {
		if _, err := OpenFiles(link, filepath.Join(dir, "third.csv")); !errors.As(err, &le) {
			t.Errorf("results through a link = %v, want the target's lock", err)
		}
	}
	// Results onto the input: refused before any lock.
	var te *safefile.TargetError
	if _, err := OpenFiles(in, in); !errors.As(err, &te) {
		t.Errorf("results onto the input = %v, want a TargetError", err)
	}
	f.Close()
	g, err := OpenFiles(results, in)
	if err != nil {
		t.Fatalf("after Close: %v", err)
	}
	g.Close()
}

func TestResultsFor(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "statuses.csv")
	os.WriteFile(in, nil, 0o600)
	if got := ResultsFor(in); got != filepath.Join(dir, "statuses.results.csv") {
		t.Errorf("ResultsFor = %s", got)
	}
	if got := ResultsFor(dir); got != "" {
		t.Errorf("ResultsFor(a directory) = %q, want none", got)
	}
}

func TestResultsDialect(t *testing.T) {
	semi := csvio.Dialect{Comma: ';', Encoding: csvio.Windows1252, CRLF: true, SepLine: true}
	tab := csvio.Dialect{Comma: '\t', Encoding: csvio.UTF16LE, BOM: true}
	tests := []struct {
		name string
		in   csvio.Dialect
		want csvio.WriterOptions
	}{
		{"input", semi, semi.WriterOptions()},
		{"", tab, tab.WriterOptions()},
		{"excel", semi, csvio.ExcelOptions(';')},
		{"excel", tab, csvio.ExcelOptions(',')},
		{"plain", semi, csvio.WriterOptions{}},
	}
	for _, tt := range tests {
		got, err := ResultsDialect(tt.name, tt.in)
		if err != nil || got != tt.want {
			t.Errorf("ResultsDialect(%q, %+v) = %+v, %v, want %+v", tt.name, tt.in, got, err, tt.want)
		}
	}
	if _, err := ResultsDialect("Excel", semi); err == nil || err.Error() != `"Excel": want input, excel or plain` {
		t.Errorf("unknown name: %v", err)
	}
}

func TestWriteInvalid(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	os.WriteFile(in, []byte("mobileAppId,mobileAppInstallStatusId,installState\na,s1,installed\na,s2,sideways\n"), 0o600)
	src, err := input.Open(in, input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer src.Close()
	var ie *input.InvalidError
	if _, err := src.Check(func(string) {}); !errors.As(err, &ie) {
		t.Fatalf("Check = %v, want the input invalid", err)
	}
	f, err := OpenFiles(ResultsFor(in), in)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := f.WriteInvalid(src, csvio.WriterOptions{}); err != nil {
		t.Fatal(err)
	}
	b, err := os.ReadFile(f.Results)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(b), "\n")
	if len(lines) < 3 || !strings.Contains(lines[1], "not_attempted") || !strings.Contains(lines[2], "invalid") || !strings.Contains(lines[2], "sideways") {
		t.Errorf("results:\n%s", b)
	}
}
