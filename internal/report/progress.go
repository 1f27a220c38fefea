package report

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"
)

// statsInterval is how often the non-terminal progress prints a line.
const statsInterval = 10 * time.Second

// Live is what Progress shows of the client: what Graph throttled and
// the write rate the client paces at now.
type Live struct {
	Throttled int64
	WriteRate float64 // writes/s; 0 when unlimited
}

// ProgressMode says how progress is shown.
type ProgressMode int

const (
	NoProgress    ProgressMode = iota // nothing
	ProgressBar                       // a bar, for a terminal
	ProgressLines                     // a stats line every statsInterval (cron logs)
)

// Progress shows how a run goes: a bar on a terminal, a stats line every
// statsInterval otherwise, or nothing. Row may be called from any
// goroutine.
type Progress struct {
	w       io.Writer
	total   int
	stats   func() Live
	bar     *progressbar.ProgressBar
	started time.Time
	// events, when set, receives the periodic line as a "progress" event
	// instead of plain text (--log-format json keeps stderr pure JSON).
	events *slog.Logger

	mu                                        sync.Mutex
	done, applied, unchanged, failed, skipped int
	stop                                      chan struct{}
	stopped                                   chan struct{}
}

// NewProgress starts showing the progress of a run of total rows on w.
// stats reports the client's counters; events, when set, receives the
// periodic lines as "progress" events instead (--log-format json).
func NewProgress(w io.Writer, mode ProgressMode, total int, stats func() Live, events *slog.Logger) *Progress {
	p := &Progress{w: w, total: total, stats: stats, started: time.Now(), events: events}
	switch mode {
	case NoProgress:
	case ProgressBar:
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(w),
			progressbar.OptionSetDescription("applying"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			// Its own ETA extrapolates wall-clock time; ours comes from
			// the paced write rate, which is what bounds the run.
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionClearOnFinish(),
		)
	case ProgressLines:
		p.stop, p.stopped = make(chan struct{}), make(chan struct{})
		go p.lines()
	}
	return p
}

// Row counts a settled row.
func (p *Progress) Row(r Row) {
	p.mu.Lock()
	p.done++
	switch r.Outcome {
	case Applied:
		p.applied++
	case Unchanged:
		p.unchanged++
	case Failed:
		p.failed++
	case Skipped:
		p.skipped++
	}
	line := p.line()
	p.mu.Unlock()
	if p.bar != nil {
		p.bar.Describe(line)
		p.bar.Add(1)
	}
}

// line summarises the counts; p.mu must be held.
func (p *Progress) line() string {
	st := p.stats()
	s := fmt.Sprintf("applied %d, unchanged %d, failed %d, skipped %d, throttled %d, %.1f writes/s",
		p.applied, p.unchanged, p.failed, p.skipped, st.Throttled, st.WriteRate)
	if eta, ok := p.eta(st); ok {
		s += ", ETA " + eta.Round(time.Second).String()
	}
	return s
}

// eta estimates the time left from the rows left and the write rate the
// client paces at now (which already reflects throttling), not from
// wall-clock averages that include start-up and pauses.
func (p *Progress) eta(st Live) (time.Duration, bool) {
	left := p.total - p.done
	rate := st.WriteRate
	if elapsed := time.Since(p.started).Seconds(); rate <= 0 && elapsed > 0 && p.done > 0 {
		rate = float64(p.done) / elapsed // unpaced: what we achieved
	}
	if rate <= 0 || left <= 0 {
		return 0, left <= 0
	}
	return time.Duration(float64(left) / rate * float64(time.Second)), true
}

// event logs the counts as one structured event; p.mu must be held.
func (p *Progress) event() {
	st := p.stats()
	attrs := []any{"done", p.done, "total", p.total, "applied", p.applied, "unchanged", p.unchanged,
		"failed", p.failed, "skipped", p.skipped, "throttled", st.Throttled, "write_rate", roundRate(st.WriteRate)}
	if eta, ok := p.eta(st); ok {
		attrs = append(attrs, "eta_s", int(eta.Seconds()))
	}
	p.events.Info("progress", attrs...)
}

func roundRate(r float64) float64 { return math.Round(r*100) / 100 }

func (p *Progress) lines() {
	defer close(p.stopped)
	t := time.NewTicker(statsInterval)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
			p.mu.Lock()
			if p.events != nil {
				p.event()
			} else {
				fmt.Fprintf(p.w, "progress: %d/%d rows: %s\n", p.done, p.total, p.line())
			}
			p.mu.Unlock()
		}
	}
}

// Finish ends the display.
func (p *Progress) Finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
	}
}
