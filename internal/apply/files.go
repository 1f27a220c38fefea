package apply

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// Files are the files of one apply: the results file, its journal beside
// it (RESULTS.journal) and its lock (RESULTS.lock).
type Files struct {
	Results string
	locks   []*journal.Lock
}

// OpenFiles checks, before anything is sent, that the results, journal
// and lock can be written and are none of inputs (a *safefile.TargetError
// otherwise), and takes the locks: one apply per results file and one
// per input file (the first of inputs), since cron runs overlap when a
// job runs long (a *journal.LockedError naming the other process). A
// results path that is a symbolic link names its target: the link's
// target is locked and replaced, not the link.
func OpenFiles(results string, inputs ...string) (*Files, error) {
	if fi, err := os.Lstat(results); err == nil && fi.Mode()&os.ModeSymlink != 0 {
		if target, err := filepath.EvalSymlinks(results); err == nil {
			results = target
		}
	}
	for _, out := range []struct{ path, what string }{
		{results, "--results"}, {results + ".journal", "the journal"}, {results + ".lock", "the lock"},
	} {
		if err := safefile.Check(out.path, out.what, inputs...); err != nil {
			return nil, err
		}
	}
	f := &Files{Results: results}
	lock, err := journal.Acquire(results + ".lock")
	if err != nil {
		return nil, err
	}
	f.locks = append(f.locks, lock)
	if len(inputs) > 0 && inputs[0] != "" {
		if fi, err := os.Stat(inputs[0]); err == nil && fi.Mode().IsRegular() {
			lock, err := journal.AcquireInput(inputs[0])
			if err != nil {
				f.Close()
				return nil, err
			}
			f.locks = append(f.locks, lock)
		}
	}
	return f, nil
}

// ResultsFor returns the default results path of an input: its name
// with .results.csv (in.csv -> in.results.csv). An input that is not a
// regular file (standard input, a pipe) has none: "".
func ResultsFor(input string) string {
	if fi, err := os.Stat(input); err != nil || !fi.Mode().IsRegular() {
		return ""
	}
	return strings.TrimSuffix(input, filepath.Ext(input)) + ".results.csv"
}

// Journal returns the journal's path.
func (f *Files) Journal() string { return f.Results + ".journal" }

// Close releases the locks.
func (f *Files) Close() error {
	var err error
	for _, l := range f.locks {
		if rerr := l.Release(); err == nil {
			err = rerr
		}
	}
	return err
}

// KeepPrevious keeps an earlier run's results file before a fresh start
// replaces it: it is renamed beside itself with the time it was written
// (in.results.csv -> in.results.20261202T053000Z.csv). It returns the new
// name, "" when there was no file.
func (f *Files) KeepPrevious() (string, error) {
	fi, err := os.Stat(f.Results)
	if err != nil || !fi.Mode().IsRegular() {
		return "", nil
	}
	ext := filepath.Ext(f.Results)
	kept := strings.TrimSuffix(f.Results, ext) + "." + fi.ModTime().UTC().Format("20060102T150405Z") + ext
	if err := os.Rename(f.Results, kept); err != nil {
		return "", err
	}
	return kept, nil
}

// ResultsDialect returns how a results file is written, by name: "input"
// (or "") as the input was written (in: its delimiter, encoding, BOM and
// line ends), "excel" with a UTF-8 BOM and CRLF line ends (and in's
// delimiter, but a comma for a tab: max(in.Comma, ',')), "plain" as UTF-8
// with commas and LF. An unknown name's error starts with the quoted name,
// for the caller to say where it came from.
func ResultsDialect(name string, in csvio.Dialect) (csvio.WriterOptions, error) {
	switch name {
	case "input", "":
		return in.WriterOptions(), nil
	case "excel":
		return csvio.ExcelOptions(max(in.Comma, ',')), nil
	case "plain":
		return csvio.WriterOptions{}, nil
	}
	return csvio.WriterOptions{}, fmt.Errorf("%q: want input, excel or plain", name)
}

// WriteInvalid writes the results file of src, an input that did not
// validate, in dialect: nothing was sent, each bad row is invalid with its
// problems and the others not_attempted, so a spreadsheet user sees the
// problems next to the data.
func (f *Files) WriteInvalid(src *input.Source, dialect csvio.WriterOptions) error {
	return f.WriteResults(src, dialect, func(w Results) error {
		return writeInvalid(w, src.Rows(), &report.Summary{})
	})
}

// WriteResults writes the results file for src, in dialect, with the
// rows fill writes (Runner.WriteResults, say).
func (f *Files) WriteResults(src *input.Source, dialect csvio.WriterOptions, fill func(Results) error) error {
	cols := report.Columns{Keys: src.Res.KeyNames(), Props: src.PropNames(), Comments: src.Comments}
	w, err := report.Create(f.Results, cols, dialect)
	if err != nil {
		return err
	}
	defer w.Abort()
	if err := fill(w); err != nil {
		return err
	}
	return w.Commit()
}
