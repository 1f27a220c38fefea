package report

import (
	"fmt"
	"io"
	"log/slog"
	"math"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/schollz/progressbar/v3"
)

const (
	// statsInterval is how often the non-terminal progress prints a line.
	statsInterval = 10 * time.Second
	// drawInterval is how often the bar is drawn: often enough to look
	// live, seldom enough to cost nothing on a slow terminal. Each draw
	// reads the terminal's width again, so a resize shows at the next.
	drawInterval = 200 * time.Millisecond
	// rateWindow is how far back the observed rate looks: long enough to
	// span Intune's 20 s throttling window, short enough to follow a
	// change of pace.
	rateWindow = 30 * time.Second
	// defaultWidth is the width of a Console whose terminal does not say.
	defaultWidth = 80
)

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

// ChooseProgress is how a run shows its progress when asked for when
// (auto, always or never): quiet shows none unless always; auto shows a
// bar on a terminal (stderr is one), lines otherwise.
func ChooseProgress(when string, quiet, terminal bool) ProgressMode {
	switch {
	case when == "never", quiet && when != "always":
		return NoProgress
	case when == "always" || terminal:
		return ProgressBar
	}
	return ProgressLines
}

// Progress shows how a run goes: a bar on a terminal, a stats line every
// statsInterval otherwise, or nothing. Row may be called from any
// goroutine.
//
// The bar, its counts and the end-of-run summary agree: every number on
// the bar comes from one snapshot of the rows settled so far, the same
// rows the results file lists, and done is their sum. Its ETA comes from
// the rows settled per second over the last rateWindow, once there are
// some, not from the configured rate.
type Progress struct {
	total  int
	stats  func() Live
	now    func() time.Time
	status *Console // ProgressBar: the line the bar is drawn on
	w      io.Writer
	// events, when set, receives the periodic line as a "progress" event
	// instead of plain text (--log-format json keeps stderr pure JSON).
	events *slog.Logger

	// mu guards what follows; it is a leaf: nothing is called while it is
	// held, so the Console may take it while drawing.
	mu     sync.Mutex
	counts Counts
	meter  rateMeter

	stop    chan struct{}
	stopped chan struct{}
}

// Counts are the rows settled so far, by outcome. Done is their sum.
type Counts struct {
	Done, Total                         int
	Applied, Unchanged, Failed, Skipped int
}

// NewProgress starts showing the progress of a run of total rows on w.
// With ProgressBar the bar is the status line of w when w is a *Console
// (so that log lines written to the Console appear above it); any other w
// gets a Console of its own, 80 columns wide. stats reports the client's
// counters; events, when set, receives the periodic lines as "progress"
// events instead (--log-format json).
func NewProgress(w io.Writer, mode ProgressMode, total int, stats func() Live, events *slog.Logger) *Progress {
	p := &Progress{w: w, total: total, stats: stats, now: time.Now, events: events}
	p.counts.Total = total
	switch mode {
	case NoProgress:
		return p
	case ProgressBar:
		c, ok := w.(*Console)
		if !ok {
			c = NewConsole(w, w, nil)
		}
		p.status = c
		c.SetStatus(p.render)
	}
	p.stop, p.stopped = make(chan struct{}), make(chan struct{})
	go p.loop(mode)
	return p
}

// Row counts a settled row.
func (p *Progress) Row(r Row) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c := &p.counts
	c.Done++
	switch r.Outcome {
	case Applied:
		c.Applied++
	case Unchanged:
		c.Unchanged++
	case Failed:
		c.Failed++
	case Skipped:
		c.Skipped++ // an earlier run's work: not this run's pace
		return
	}
	p.meter.add(p.now(), c.Done-c.Skipped)
}

// snapshot returns the counts and the estimated time left (ok false
// while there is nothing to estimate from).
func (p *Progress) snapshot() (c Counts, eta time.Duration, ok bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	c = p.counts
	eta, ok = p.meter.eta(p.now(), c.Done-c.Skipped, c.Total-c.Done)
	return c, eta, ok
}

// render is the bar for a terminal width columns wide; "" until the
// first row settles.
func (p *Progress) render(width int) string {
	c, eta, ok := p.snapshot()
	if c.Done == 0 {
		return ""
	}
	var e string
	if ok {
		e = FormatETA(eta)
	}
	return StatusLine(c, e, p.stats(), width)
}

// loop draws the bar, or prints the stats lines, until Finish.
func (p *Progress) loop(mode ProgressMode) {
	defer close(p.stopped)
	every := statsInterval
	if mode == ProgressBar {
		every = drawInterval
	}
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-p.stop:
			return
		case <-t.C:
		}
		if mode == ProgressBar {
			p.status.Redraw()
			continue
		}
		// Formatted under p.mu, written after: the writer may be the
		// Console, which takes p.mu itself while drawing.
		c, eta, ok := p.snapshot()
		st := p.stats()
		if p.events != nil {
			attrs := []any{"done", c.Done, "total", c.Total, "applied", c.Applied, "unchanged", c.Unchanged,
				"failed", c.Failed, "skipped", c.Skipped, "throttled", st.Throttled, "write_rate", roundRate(st.WriteRate)}
			if ok {
				attrs = append(attrs, "eta_s", int(eta.Round(time.Second).Seconds()))
			}
			p.events.Info("progress", attrs...)
			continue
		}
		line := fmt.Sprintf("progress: %d/%d rows: applied %d, unchanged %d, failed %d, skipped %d, throttled %d, %.1f writes/s",
			c.Done, c.Total, c.Applied, c.Unchanged, c.Failed, c.Skipped, st.Throttled, st.WriteRate)
		if ok {
			line += ", ETA " + FormatETA(eta)
		}
		fmt.Fprintln(p.w, line)
	}
}

// Finish ends the display: the bar's line is cleared, for the summary.
func (p *Progress) Finish() {
	if p.stop == nil {
		return
	}
	close(p.stop)
	<-p.stopped
	p.stop = nil
	if p.status != nil {
		p.status.SetStatus(nil)
	}
}

func roundRate(r float64) float64 { return math.Round(r*100) / 100 }

// rateMeter measures the rows settled per second over the last
// rateWindow, from samples taken at most once a second.
type rateMeter struct {
	samples []rateSample // oldest first
}

type rateSample struct {
	t time.Time
	n int // rows settled by this run at t
}

// add notes that n rows had settled by t.
func (m *rateMeter) add(t time.Time, n int) {
	if k := len(m.samples); k > 0 && t.Sub(m.samples[k-1].t) < time.Second {
		return // a sample a second is plenty: eta counts rows up to its now
	}
	m.samples = append(m.samples, rateSample{t, n})
	// Keep one sample at least rateWindow old to measure from.
	for len(m.samples) > 2 && t.Sub(m.samples[1].t) >= rateWindow {
		m.samples = m.samples[1:]
	}
}

// eta is the time the left rows take at the rate observed up to now, n
// rows settled by this run in all. It needs a second of observation and
// a row settled since the first sample; until then ok is false.
func (m *rateMeter) eta(now time.Time, n, left int) (time.Duration, bool) {
	if left <= 0 {
		return 0, true
	}
	if len(m.samples) == 0 {
		return 0, false
	}
	from := m.samples[0]
	for _, s := range m.samples[1:] {
		if now.Sub(s.t) < rateWindow {
			break
		}
		from = s
	}
	span := now.Sub(from.t).Seconds()
	if span < 1 || n <= from.n {
		return 0, false
	}
	rate := float64(n-from.n) / span
	return time.Duration(float64(left) / rate * float64(time.Second)), true
}

// FormatETA writes d the way the bar shows it: 45s, 3m20s, 2h05m.
func FormatETA(d time.Duration) string {
	d = d.Round(time.Second)
	switch {
	case d < time.Minute:
		return fmt.Sprintf("%ds", int(d.Seconds()))
	case d < time.Hour:
		return fmt.Sprintf("%dm%02ds", int(d.Minutes()), int(d.Seconds())%60)
	}
	return fmt.Sprintf("%dh%02dm", int(d.Hours()), int(d.Minutes())%60)
}

// StatusLine lays out the bar of counts c for a terminal width columns
// wide: at most width-1 columns (the last column stays free: some
// terminals wrap as soon as it is written). What does not fit goes, least
// useful first: the write rate, the throttled count, the bar, the
// applied and unchanged counts. eta is "" when unknown.
func StatusLine(c Counts, eta string, live Live, width int) string {
	limit := width - 1
	head := fmt.Sprintf("%d/%d", c.Done, c.Total)
	outcomes := fmt.Sprintf("applied %d, unchanged %d, failed %d", c.Applied, c.Unchanged, c.Failed)
	if c.Skipped > 0 {
		outcomes += fmt.Sprintf(", skipped %d", c.Skipped)
	}
	var pace []string
	if live.Throttled > 0 {
		pace = append(pace, fmt.Sprintf("throttled %d", live.Throttled))
	}
	if live.WriteRate > 0 {
		pace = append(pace, fmt.Sprintf("%.1f writes/s", live.WriteRate))
	}
	if eta != "" {
		eta = "ETA " + eta
	}
	// What follows the bar, richest first. The first two levels come
	// with the bar or not at all; from the third on, the counts matter
	// more than the bar.
	levels := [][]string{
		{outcomes, eta, strings.Join(pace, ", ")},
		{outcomes, eta, firstOf(pace)},
		{outcomes, eta},
		{fmt.Sprintf("failed %d", c.Failed), eta},
		{eta},
	}
	for i, parts := range levels {
		tail := joinParts(parts)
		if room := limit - columns(head) - columns(tail) - 2; room >= minBar {
			return strings.TrimRight(head+" "+bar(c.Done, c.Total, min(room, maxBar))+" "+tail, " ")
		}
		if text := strings.TrimRight(head+" "+tail, " "); i >= 2 && columns(text) <= limit {
			return text
		}
	}
	return truncate(head, limit)
}

// The bar's width, brackets included, when it is shown.
const minBar, maxBar = 12, 42

// bar draws done/total in width columns, [====>     ], with
// schollz/progressbar: the bar alone, rendered to no writer, for the
// status line Console keeps (which owns the line, its width and the log
// lines above it).
func bar(done, total, width int) string {
	if total <= 0 {
		done, total = 1, 1 // nothing to do is all done
	}
	pb := progressbar.NewOptions(total,
		progressbar.OptionSetWriter(io.Discard),
		progressbar.OptionSetWidth(width-2),
		progressbar.OptionSetTheme(progressbar.Theme{Saucer: "=", SaucerHead: ">", SaucerPadding: " ", BarStart: "[", BarEnd: "]"}),
		progressbar.OptionSetElapsedTime(false),
		progressbar.OptionSetPredictTime(false),
		progressbar.OptionEnableColorCodes(false),
		progressbar.OptionThrottle(0),
	)
	pb.RenderBlank()
	pb.Set(min(done, total))
	// Rendered as "\r NN% [bar] ": the bar is from its first bracket to
	// its last.
	r := pb.String()
	if i, j := strings.IndexByte(r, '['), strings.LastIndexByte(r, ']'); i >= 0 && j > i {
		return r[i : j+1]
	}
	return r
}

func firstOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

// joinParts joins the non-empty parts with " | ".
func joinParts(parts []string) string {
	var keep []string
	for _, p := range parts {
		if p != "" {
			keep = append(keep, p)
		}
	}
	return strings.Join(keep, " | ")
}

// columns is how many columns s takes: one a rune (the status is ours,
// and ASCII).
func columns(s string) int { return utf8.RuneCountInString(s) }

// truncate cuts s to at most limit columns.
func truncate(s string, limit int) string {
	if limit <= 0 {
		return ""
	}
	if columns(s) <= limit {
		return s
	}
	return string([]rune(s)[:limit])
}

// Console is a terminal's stderr, shared by text (logs and messages) and
// one status line below it (the progress bar): writing text first clears
// the status line, then writes the text, then draws the status again
// below it, so that a log line is never written onto the bar and the bar
// never splits a log line. The status waits while the text written last
// did not end its line (a prompt). All of it goes through one lock;
// Console is safe for concurrent use.
//
// It draws with carriage returns and spaces only: no escape sequences,
// which Windows consoles do not interpret unless told to. It never
// writes a line's last column, where some terminals wrap at once; so
// after the terminal narrows, a character of the old status may stay in
// that column until the line is written over.
type Console struct {
	mu    sync.Mutex
	raw   io.Writer // the terminal: the status is drawn here
	text  io.Writer // text goes through here: raw, or a NewTerminalWriter of raw
	width func() int
	// status returns the line to show for a width; nil or "": none.
	status  func(width int) string
	shown   int  // columns of the status drawn now; 0: none
	midLine bool // the text written last did not end its line
}

// NewConsole returns a Console that draws on raw and writes text through
// text (raw itself when nil). width, called at every draw, says how wide
// the terminal is now; nil, or a result of 0 or less, means 80 columns.
func NewConsole(raw, text io.Writer, width func() int) *Console {
	if text == nil {
		text = raw
	}
	return &Console{raw: raw, text: text, width: width}
}

// Write writes text above the status line.
func (c *Console) Write(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clear()
	n, err := c.text.Write(p)
	if len(p) > 0 {
		c.midLine = p[len(p)-1] != '\n'
	}
	c.draw()
	return n, err
}

// SetStatus sets what the status line shows and draws it; nil removes
// the status line and clears it.
func (c *Console) SetStatus(status func(width int) string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.status = status
	c.clear()
	c.draw()
}

// Redraw draws the status line again, at the terminal's width now.
func (c *Console) Redraw() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.draw()
}

// cols is the terminal's width now.
func (c *Console) cols() int {
	if c.width != nil {
		if w := c.width(); w > 0 {
			return w
		}
	}
	return defaultWidth
}

// clear blanks the status line drawn, if any, and leaves the cursor at
// its start; c.mu must be held.
func (c *Console) clear() {
	if c.shown == 0 {
		return
	}
	// Never more spaces than fit: after a shrink they would wrap.
	n := min(c.shown, c.cols()-1)
	io.WriteString(c.raw, "\r"+strings.Repeat(" ", n)+"\r")
	c.shown = 0
}

// draw draws the status line over the current one; c.mu must be held.
func (c *Console) draw() {
	if c.status == nil || c.midLine {
		return
	}
	w := c.cols()
	s := truncate(c.status(w), w-1)
	n := columns(s)
	if n == 0 {
		c.clear()
		return
	}
	pad := ""
	if c.shown > n {
		pad = strings.Repeat(" ", min(c.shown, w-1)-n)
	}
	io.WriteString(c.raw, "\r"+s+pad)
	c.shown = n + len(pad)
}
