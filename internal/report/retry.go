package report

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// RetryPath returns where the rows of the results file at results that
// need another run are written: in.results.csv → in.results.retry.csv.
func RetryPath(results string) string { return stem(results) + ".retry.csv" }

// HTMLPath returns the default path of the run report of the results
// file at results: in.results.csv → in.results.report.html.
func HTMLPath(results string) string { return stem(results) + ".report.html" }

// JournalPath returns the journal of the results file at results, as
// apply names it.
func JournalPath(results string) string { return results + ".journal" }

// RetryLineColumn is the comment column of a retry file that names each
// row's line in the input the results came from.
const RetryLineColumn = "# input line"

// WriteRetry writes to w, as an input file, the rows of the results file
// read from results that need another run: failed and not_attempted
// (invalid rows need fixing first, and are left out). Each keeps its key
// cells, its property cells as they were to be sent (so they validate as
// they did), its comment cells, and its line in the original input in a
// RetryLineColumn comment column. The file is written in the results
// file's dialect, which is the input's. enc is the results file's
// encoding (AutoEncoding detects all but Windows-1252). It returns how
// many rows it wrote.
func WriteRetry(w io.Writer, results io.Reader, enc csvio.Encoding) (int, error) {
	tr, err := csvio.NewTableReader(results, csvio.TableOptions{Encoding: enc, Names: fixedColumns})
	if err != nil {
		return 0, fmt.Errorf("read results: %w", err)
	}
	lay, err := layoutOf(tr.Header())
	if err != nil {
		return 0, fmt.Errorf("read results: %w", err)
	}
	cw := csvio.NewWriter(w, tr.Dialect().WriterOptions())
	cols := append(append(append([]int(nil), lay.keys...), lay.props...), lay.comments...)
	header := append(lay.names(cols), RetryLineColumn)
	if err := cw.Write(header); err != nil {
		return 0, err
	}
	rec := make([]string, len(header))
	n := 0
	for {
		_, cells, err := tr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			// A row that cannot be read cannot be retried either: leaving
			// it out silently would lose it.
			return n, fmt.Errorf("read results: %w", err)
		}
		switch Outcome(cells[lay.fixed["outcome"]]) {
		case Failed, NotAttempted:
		default:
			continue
		}
		for i, c := range cols {
			rec[i] = cells[c]
		}
		rec[len(cols)] = cells[lay.fixed["line"]]
		if err := cw.Write(rec); err != nil {
			return n, err
		}
		n++
	}
	return n, cw.Flush()
}

// ReportFiles says what WriteReport wrote.
type ReportFiles struct {
	HTML      string
	Retry     string // "" when no row needs another run
	RetryRows int
}

// WriteReport writes the run report of the results file at results to
// htmlPath ("" means HTMLPath(results)). It reads the journal
// (JournalPath) and summary.json (SummaryPath) beside the results when
// they are there, and, when rows failed or were not attempted, writes them
// to RetryPath(results) first, so the page can name it. Both files are
// written atomically with mode 0600 (they hold user names). Neither may
// be the results file, its journal or opt.InputPath: that is a
// *safefile.TargetError, before anything is written.
//
// opt.ResultsPath defaults to results, and opt.Summary to the summary.json
// found; opt.RetryPath is set by WriteReport.
func WriteReport(results, htmlPath string, opt HTMLOptions) (ReportFiles, error) {
	if htmlPath == "" {
		htmlPath = HTMLPath(results)
	}
	if opt.ResultsPath == "" {
		opt.ResultsPath = results
	}
	guarded := []string{results, JournalPath(results)}
	if opt.InputPath != "" {
		guarded = append(guarded, opt.InputPath)
	}
	retry := RetryPath(results)
	if err := safefile.Check(htmlPath, "the report", guarded...); err != nil {
		return ReportFiles{}, err
	}
	if err := safefile.Check(retry, "the retry file", append(guarded, htmlPath)...); err != nil {
		return ReportFiles{}, err
	}
	if opt.Summary == nil {
		if s, err := readSummaryFile(SummaryPath(results)); err == nil {
			opt.Summary = &s
		} else if !errors.Is(err, fs.ErrNotExist) {
			return ReportFiles{}, err
		}
	}

	var out ReportFiles
	n, err := writeAtomic(retry, func(w io.Writer) (int, error) {
		f, err := os.Open(results)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		return WriteRetry(w, bufio.NewReader(f), opt.Encoding)
	})
	if err != nil {
		return out, fmt.Errorf("write %s: %w", retry, err)
	}
	if n > 0 {
		out.Retry, out.RetryRows, opt.RetryPath = retry, n, retry
	}

	_, err = writeAtomic(htmlPath, func(w io.Writer) (int, error) {
		f, err := os.Open(results)
		if err != nil {
			return 0, err
		}
		defer f.Close()
		var journal io.Reader
		if j, err := os.Open(JournalPath(results)); err == nil {
			defer j.Close()
			journal = bufio.NewReader(j)
		}
		return 1, WriteHTML(w, bufio.NewReader(f), journal, opt)
	})
	if err != nil {
		return out, fmt.Errorf("write %s: %w", htmlPath, err)
	}
	out.HTML = htmlPath
	return out, nil
}

// writeFile writes path atomically with fill, keeping it only when fill
// reports something written (n > 0) and no error.
func writeAtomic(path string, fill func(io.Writer) (int, error)) (int, error) {
	f, err := safefile.Create(path)
	if err != nil {
		return 0, err
	}
	defer f.Abort()
	bw := bufio.NewWriterSize(f, 64<<10)
	n, err := fill(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err != nil || n == 0 {
		return n, err
	}
	return n, f.Commit()
}

func readSummaryFile(path string) (RunSummary, error) {
	f, err := os.Open(path)
	if err != nil {
		return RunSummary{}, err
	}
	defer f.Close()
	s, err := ReadSummaryJSON(f)
	if err != nil {
		return RunSummary{}, fmt.Errorf("%s: %w", path, err)
	}
	return s, nil
}

// rerun is the page's "run again" section.
type rerun struct {
	Failed, NotAttempted, Invalid int
	Rows                          int // failed + not attempted
	RetryPath                     string
	Validate, Apply               string // commands on the retry file
	Write                         string // the command that writes it, when it was not
	Resume                        string // the resume command, when the input is known
	Windows1252                   bool
}

func makeRerun(opt HTMLOptions, failed, notAttempted, invalid int, d csvio.Dialect) rerun {
	r := rerun{Failed: failed, NotAttempted: notAttempted, Invalid: invalid, Rows: failed + notAttempted}
	var flags []string
	if opt.Resource != "" {
		flags = append(flags, "--resource", shellQuote(opt.Resource))
	}
	if d.Encoding == csvio.Windows1252 {
		r.Windows1252 = true
		flags = append(flags, "--encoding", "windows-1252")
	}
	cmd := func(args ...string) string { return display(strings.Join(append(args, flags...), " ")) }
	results := opt.ResultsPath
	if results == "" {
		results = "RESULTS.csv"
	}
	if opt.RetryPath != "" {
		r.RetryPath = display(opt.RetryPath)
		r.Validate = cmd("bulkpatch", "validate", shellQuote(opt.RetryPath))
		r.Apply = cmd("bulkpatch", "apply", shellQuote(opt.RetryPath))
	} else {
		r.Write = display("bulkpatch report " + shellQuote(results))
	}
	input := opt.InputPath
	if input != "" {
		r.Resume = cmd("bulkpatch", "apply", shellQuote(input), "--results", shellQuote(results), "--resume")
	}
	return r
}

// shellQuote quotes s for a POSIX shell when it needs it.
func shellQuote(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool {
		return !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("_-./:@%+=,", r))
	}) < 0 {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}
