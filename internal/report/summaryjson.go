package report

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// SummaryFormat is the version of summary.json this package writes. A
// script should check it: fields may be added within a format, never
// renamed or given another meaning.
const SummaryFormat = 1

// RunSummary is summary.json: the counts of the JSON "run finished" event
// (the names and numbers of Summary.Attrs, with results, elapsed_ms and
// exit_code), the total, and every error code with its count, for
// scripts that would otherwise scrape the text summary or the log.
type RunSummary struct {
	Format       int    `json:"format"`
	Results      string `json:"results"`
	ElapsedMS    int64  `json:"elapsed_ms"`
	Rows         int    `json:"rows"`
	Applied      int    `json:"applied"`
	Unchanged    int    `json:"unchanged"`
	Skipped      int    `json:"skipped"`
	Failed       int    `json:"failed"`
	Invalid      int    `json:"invalid"`
	NotAttempted int    `json:"not_attempted"`
	Writes       int64  `json:"writes"`
	Reads        int64  `json:"reads"`
	Unanswered   int64  `json:"unanswered"`
	Throttled    int64  `json:"throttled"`
	ExitCode     int    `json:"exit_code"`
	// Errors are the failed and invalid rows' error codes, most frequent
	// first (see Summary.TopErrors).
	Errors []ErrorCount `json:"errors"`
}

// RunInfo is what a run's summary.json says beside the counts.
type RunInfo struct {
	Results  string // the results file, as the user named it
	ExitCode int    // the code the command exits with
}

// RunSummary returns the summary.json of a run whose rows s counted. The
// caller sets s's Writes, Reads, Unanswered, Throttled and Elapsed first,
// as for WriteText.
func (s *Summary) RunSummary(info RunInfo) RunSummary {
	errs := s.TopErrors(-1)
	if errs == nil {
		errs = []ErrorCount{} // [] rather than null: one less case for a script
	}
	return RunSummary{
		Format:       SummaryFormat,
		Results:      info.Results,
		ElapsedMS:    s.Elapsed.Milliseconds(),
		Rows:         s.Rows(),
		Applied:      s.Count(Applied),
		Unchanged:    s.Count(Unchanged),
		Skipped:      s.Count(Skipped),
		Failed:       s.Count(Failed),
		Invalid:      s.Count(Invalid),
		NotAttempted: s.Count(NotAttempted),
		Writes:       s.Writes,
		Reads:        s.Reads,
		Unanswered:   s.Unanswered,
		Throttled:    s.Throttled,
		ExitCode:     info.ExitCode,
		Errors:       errs,
	}
}

// Elapsed returns ElapsedMS as a duration.
func (r RunSummary) Elapsed() time.Duration { return time.Duration(r.ElapsedMS) * time.Millisecond }

// SummaryPath returns where the summary.json of the results file at
// results goes: beside it, named after it (in.results.csv →
// in.results.summary.json), so that two runs writing results into one
// directory do not share one summary.
func SummaryPath(results string) string { return stem(results) + ".summary.json" }

// stem is path without a .csv (or .txt, .tsv) extension.
func stem(path string) string {
	for _, ext := range []string{".csv", ".CSV", ".txt", ".TXT", ".tsv", ".TSV"} {
		if s, ok := strings.CutSuffix(path, ext); ok && s != "" && !strings.HasSuffix(s, "/") {
			return s
		}
	}
	return path
}

// WriteSummaryJSON writes r to path as indented JSON, atomically (a
// reader sees the old file or the whole new one) and with mode 0600.
func WriteSummaryJSON(path string, r RunSummary) error {
	f, err := safefile.Create(path)
	if err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	defer f.Abort()
	bw := bufio.NewWriter(f)
	if err := encodeSummary(bw, r); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := bw.Flush(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	if err := f.Commit(); err != nil {
		return fmt.Errorf("write summary: %w", err)
	}
	return nil
}

func encodeSummary(w io.Writer, r RunSummary) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	enc.SetEscapeHTML(false)
	return enc.Encode(r)
}

// ReadSummaryJSON reads a summary.json. A newer format is an error: its
// numbers may mean something else.
func ReadSummaryJSON(r io.Reader) (RunSummary, error) {
	var s RunSummary
	dec := json.NewDecoder(io.LimitReader(r, 1<<20))
	if err := dec.Decode(&s); err != nil {
		return RunSummary{}, fmt.Errorf("read summary: %w", err)
	}
	if s.Format < 1 || s.Format > SummaryFormat {
		return RunSummary{}, fmt.Errorf("read summary: format %d is not one this bulkpatch reads (%d)", s.Format, SummaryFormat)
	}
	return s, nil
}
