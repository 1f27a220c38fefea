package main

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"sync"
	"time"

	"github.com/schollz/progressbar/v3"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// statsInterval is how often the non-terminal progress prints a line.
const statsInterval = 10 * time.Second

// progress shows how a run goes: a bar on a terminal, a stats line every
// statsInterval otherwise (cron logs), nothing with --progress never.
// row may be called from any goroutine.
type progress struct {
	w       io.Writer
	total   int
	stats   func() graph.Stats
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

func (e *env) newProgress(mode string, total int, stats func() graph.Stats, events *slog.Logger) *progress {
	p := &progress{w: e.stderr, total: total, stats: stats, started: time.Now(), events: events}
	switch {
	case mode == "never":
	case mode == "always" || e.stderrTTY:
		p.bar = progressbar.NewOptions(total,
			progressbar.OptionSetWriter(e.stderr),
			progressbar.OptionSetDescription("applying"),
			progressbar.OptionShowCount(),
			progressbar.OptionSetWidth(30),
			progressbar.OptionThrottle(200*time.Millisecond),
			// Its own ETA extrapolates wall-clock time; ours comes from
			// the paced write rate, which is what bounds the run.
			progressbar.OptionSetPredictTime(false),
			progressbar.OptionClearOnFinish(),
		)
	default:
		p.stop, p.stopped = make(chan struct{}), make(chan struct{})
		go p.lines()
	}
	return p
}

func (p *progress) row(r report.Row) {
	p.mu.Lock()
	p.done++
	switch r.Outcome {
	case report.Applied:
		p.applied++
	case report.Unchanged:
		p.unchanged++
	case report.Failed:
		p.failed++
	case report.Skipped:
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
func (p *progress) line() string {
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
func (p *progress) eta(st graph.Stats) (time.Duration, bool) {
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
func (p *progress) event() {
	st := p.stats()
	attrs := []any{"done", p.done, "total", p.total, "applied", p.applied, "unchanged", p.unchanged,
		"failed", p.failed, "skipped", p.skipped, "throttled", st.Throttled, "write_rate", roundRate(st.WriteRate)}
	if eta, ok := p.eta(st); ok {
		attrs = append(attrs, "eta_s", int(eta.Seconds()))
	}
	p.events.Info("progress", attrs...)
}

func roundRate(r float64) float64 { return math.Round(r*100) / 100 }

func (p *progress) lines() {
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

func (p *progress) finish() {
	if p.bar != nil {
		p.bar.Finish()
	}
	if p.stop != nil {
		close(p.stop)
		<-p.stopped
	}
}
