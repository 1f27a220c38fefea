package report

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// Summary tallies a run's rows for the end-of-run report. The zero value
// is ready to use. A Summary is not safe for concurrent use: the goroutine
// that writes the results file is meant to own it.
type Summary struct {
	// Writes, Reads and Throttled count requests as the Graph client sent
	// and saw them (retries included; each $batch item one write), set by
	// the caller: rows alone cannot tell them.
	Writes, Reads, Throttled int64
	// Unanswered counts the requests among them that got no HTTP answer
	// at all (refused, no such host, timeouts).
	Unanswered int64
	// Elapsed is the run's wall time, set by the caller before WriteText;
	// the achieved rate is computed from it.
	Elapsed time.Duration

	counts [len(outcomes)]int
	errors map[errorKey]int
}

type errorKey struct {
	code   string
	status int
}

// ErrorCount is one error code seen in a run, with the HTTP status it came
// with and how many rows ended with it.
type ErrorCount struct {
	Code   string `json:"code"`   // "" when the row failed without one (e.g. no answer came)
	Status int    `json:"status"` // 0 when no answer came
	Count  int    `json:"count"`
}

// Add counts one row; failed and invalid rows count under their error
// code.
func (s *Summary) Add(r Row) {
	i := r.Outcome.index()
	if i < 0 {
		// An unknown outcome is a caller bug; counting it as failed keeps
		// the exit code honest instead of hiding the row.
		i = Failed.index()
		r.Outcome = Failed
	}
	s.counts[i]++
	if r.Outcome == Failed || r.Outcome == Invalid {
		if s.errors == nil {
			s.errors = make(map[errorKey]int)
		}
		s.errors[errorKey{r.ErrorCode, r.HTTPStatus}]++
	}
}

// Count returns how many rows had outcome o.
func (s *Summary) Count(o Outcome) int {
	if i := o.index(); i >= 0 {
		return s.counts[i]
	}
	return 0
}

// Rows returns how many rows were added.
func (s *Summary) Rows() int {
	n := 0
	for _, c := range s.counts {
		n += c
	}
	return n
}

// Rate returns the achieved writes per second over Elapsed, or 0 when
// Elapsed is not set or there were fewer than two writes. It counts the
// gaps between writes (n writes paced at r per second take at least
// (n-1)/r seconds), so a paced run never shows more than its --rate.
func (s *Summary) Rate() float64 {
	if s.Elapsed <= 0 || s.Writes < 2 {
		return 0
	}
	return float64(s.Writes-1) / s.Elapsed.Seconds()
}

// TopErrors returns at most n error codes, most frequent first (ties by
// code, then status, so the order is stable); n < 0 returns all.
func (s *Summary) TopErrors(n int) []ErrorCount {
	all := make([]ErrorCount, 0, len(s.errors))
	for k, c := range s.errors {
		all = append(all, ErrorCount{Code: k.code, Status: k.status, Count: c})
	}
	slices.SortFunc(all, func(a, b ErrorCount) int {
		return cmp.Or(cmp.Compare(b.Count, a.Count), strings.Compare(a.Code, b.Code), cmp.Compare(a.Status, b.Status))
	})
	if n >= 0 && len(all) > n {
		all = all[:n]
	}
	return all
}

// ErrRowsFailed is wrapped by Err's error: the run went through, and
// some rows did not end applied, unchanged or skipped.
var ErrRowsFailed = errors.New("some rows were not applied")

// Err returns nil when every row was applied, unchanged or skipped, and
// otherwise an error wrapping ErrRowsFailed that counts the others. The
// caller replaces it when the run was stopped, since rows alone cannot
// say why.
func (s *Summary) Err() error {
	var parts []string
	for _, o := range []Outcome{Failed, Invalid, NotAttempted} {
		if n := s.Count(o); n > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", n, o))
		}
	}
	if len(parts) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrRowsFailed, strings.Join(parts, ", "))
}

// Attrs returns the counts as key-value pairs for a structured log event
// (the JSON "run finished"), under the outcome names and writes, reads,
// throttled: the same numbers WriteText shows.
func (s *Summary) Attrs() []any {
	a := make([]any, 0, 2*(len(outcomes)+3))
	for i, o := range outcomes {
		a = append(a, string(o), s.counts[i])
	}
	return append(a, "writes", s.Writes, "reads", s.Reads, "unanswered", s.Unanswered, "throttled", s.Throttled)
}

// topErrorsShown bounds the error list so the summary fits one screen.
const topErrorsShown = 5

// WriteText writes the summary for people: the count of every outcome in
// a fixed order, the most frequent error codes, the elapsed time and the
// achieved write rate. Write errors are ignored: the summary is advisory
// and the results file is the record.
func (s *Summary) WriteText(w io.Writer) {
	var b strings.Builder
	for i, o := range outcomes {
		fmt.Fprintf(&b, "%-14s %7d\n", o, s.counts[i])
	}
	fmt.Fprintf(&b, "%-14s %7d\n", "total", s.Rows())

	if len(s.errors) > 0 {
		b.WriteString("\nerrors:\n")
		for _, e := range s.TopErrors(topErrorsShown) {
			fmt.Fprintf(&b, "%7d  %s\n", e.Count, describeError(e))
		}
		if more := len(s.errors) - topErrorsShown; more > 0 {
			fmt.Fprintf(&b, "         and %d more: see the results file\n", more)
		}
	}

	b.WriteByte('\n')
	fmt.Fprintf(&b, "%d %s, %d %s", s.Writes, plural(s.Writes, "write"), s.Reads, plural(s.Reads, "read"))
	if s.Unanswered > 0 {
		fmt.Fprintf(&b, " (%d got no answer)", s.Unanswered)
	}
	if s.Elapsed > 0 {
		fmt.Fprintf(&b, " in %s", roundElapsed(s.Elapsed))
		if r := s.Rate(); r > 0 {
			fmt.Fprintf(&b, " (%.2f writes/s over the run)", r)
		}
	}
	fmt.Fprintf(&b, ", %d throttled (429)\n", s.Throttled)
	io.WriteString(w, b.String())
}

func plural(n int64, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}

func describeError(e ErrorCount) string {
	code := printable(e.Code, 80)
	if code == "" {
		code = "(no error code)"
	}
	if e.Status == 0 {
		return code + " (no HTTP answer)"
	}
	return fmt.Sprintf("%s (HTTP %d)", code, e.Status)
}

func roundElapsed(d time.Duration) time.Duration {
	if d < time.Second {
		return d.Round(time.Millisecond)
	}
	return d.Round(100 * time.Millisecond)
}

// printable makes a server-supplied string safe to show on a terminal:
// control characters (escape sequences included) become spaces and it is
// cut to max runes.
func printable(s string, max int) string {
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == max {
			b.WriteString("…")
			break
		}
		if r == utf8.RuneError || unicode.IsControl(r) {
			r = ' '
		}
		b.WriteRune(r)
		n++
	}
	return b.String()
}
