package report

import (
	"bytes"
	"fmt"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/termtest"
)

func TestProgressStatusLineFits(t *testing.T) {
	counts := []Counts{
		{Done: 1, Total: 38, Applied: 1},
		{Done: 17, Total: 38, Applied: 10, Unchanged: 5, Failed: 2},
		{Done: 123456, Total: 250000, Applied: 100000, Unchanged: 20000, Failed: 3456},
		{Done: 250000, Total: 250000, Applied: 100000, Unchanged: 20000, Failed: 3456, Skipped: 126544},
	}
	lives := []Live{{}, {Throttled: 12345, WriteRate: 4.9}}
	done := regexp.MustCompile(`^(\d+)/(\d+)`)
	for _, c := range counts {
		for _, live := range lives {
			for _, eta := range []string{"", "59m59s"} {
				for width := 1; width <= 200; width++ {
					got := StatusLine(c, eta, live, width)
					if n := columns(got); n > max(width-1, 0) {
						t.Fatalf("width %d: %d columns: %q", width, n, got)
					}
					if width >= 20 && !strings.HasPrefix(got, fmt.Sprintf("%d/%d", c.Done, c.Total)) {
						t.Errorf("width %d: %q does not start with done/total", width, got)
					}
					if m := done.FindStringSubmatch(got); width >= 20 && m == nil {
						t.Errorf("width %d: no count in %q", width, got)
					}
				}
			}
		}
	}
	// At 80 columns a run shows its bar, every count and its ETA; the
	// counts add up to done.
	c := Counts{Done: 17, Total: 38, Applied: 10, Unchanged: 5, Failed: 2}
	got := StatusLine(c, "1m05s", Live{Throttled: 3, WriteRate: 4.9}, 80)
	for _, want := range []string{"17/38 [", "applied 10, unchanged 5, failed 2", "ETA 1m05s"} {
		if !strings.Contains(got, want) {
			t.Errorf("80 columns: %q lacks %q", got, want)
		}
	}
	got = StatusLine(c, "", Live{}, 200)
	if b := regexp.MustCompile(`\[[=> ]*\]`).FindString(got); len(b) != maxBar {
		t.Errorf("200 columns: %q: want a bar %d wide", got, maxBar)
	}
	if got, want := StatusLine(c, "5s", Live{}, 30), "17/38 failed 2 | ETA 5s"; got != want {
		t.Errorf("30 columns: %q, want %q", got, want)
	}
}

func TestProgressBarDrawing(t *testing.T) {
	for _, tt := range []struct {
		done, total, width int
		want               string
	}{
		{0, 10, 12, "[          ]"},
		{1, 10, 12, "[>         ]"},
		{5, 10, 12, "[====>     ]"},
		{10, 10, 12, "[==========]"},
		{11, 10, 12, "[==========]"},
		{0, 0, 12, "[==========]"},
	} {
		if got := bar(tt.done, tt.total, tt.width); got != tt.want {
			t.Errorf("bar(%d, %d, %d) = %q, want %q", tt.done, tt.total, tt.width, got, tt.want)
		}
	}
}

func TestProgressETA(t *testing.T) {
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }
	var m rateMeter
	if _, ok := m.eta(t0, 0, 100); ok {
		t.Error("an ETA before any row settled")
	}
	m.add(at(0), 1)
	if _, ok := m.eta(at(0.5), 1, 99); ok {
		t.Error("an ETA from half a second and one row")
	}
	// 5 rows a second for 10 s.
	for i := 1; i <= 50; i++ {
		m.add(at(float64(i)/5), 1+i)
	}
	eta, ok := m.eta(at(10), 51, 49)
	if !ok || eta < 9*time.Second || eta > 11*time.Second {
		t.Errorf("49 rows left at 5 rows/s: ETA %v, %v; want about 10s", eta, ok)
	}
	// A pause (throttled): nothing settles for 20 s; the ETA grows.
	later, ok := m.eta(at(30), 51, 49)
	if !ok || later <= eta {
		t.Errorf("after a 20 s pause: ETA %v, want more than %v", later, eta)
	}
	// The window forgets the old pace: 1 row a second for a minute.
	for i := 1; i <= 60; i++ {
		m.add(at(30+float64(i)), 51+i)
	}
	eta, ok = m.eta(at(90), 111, 60)
	if !ok || eta < 55*time.Second || eta > 65*time.Second {
		t.Errorf("60 rows left at 1 row/s: ETA %v, %v; want about 60s", eta, ok)
	}
	if len(m.samples) > int(rateWindow/time.Second)+2 {
		t.Errorf("%d samples kept, want at most a window's", len(m.samples))
	}
	if eta, ok := m.eta(at(90), 111, 0); !ok || eta != 0 {
		t.Errorf("nothing left: ETA %v, %v", eta, ok)
	}
}

func TestProgressFormatETA(t *testing.T) {
	for d, want := range map[time.Duration]string{
		0: "0s", 1400 * time.Millisecond: "1s", 59 * time.Second: "59s", time.Minute: "1m00s",
		200 * time.Second: "3m20s", 2*time.Hour + 5*time.Minute + 40*time.Second: "2h05m",
	} {
		if got := FormatETA(d); got != want {
			t.Errorf("FormatETA(%v) = %q, want %q", d, got, want)
		}
	}
}

// TestProgressConsoleKeepsLinesApart: text written while the status is
// shown lands above it, whole; the status comes back below.
func TestProgressConsoleKeepsLinesApart(t *testing.T) {
	scr := termtest.New(40)
	width := 40
	c := NewConsole(scr, nil, func() int { return width })
	fmt.Fprint(c, "level=INFO msg=\"run starting\"\n")
	status := "1/9 [==>       ] applied 1"
	c.SetStatus(func(w int) string { return status })
	fmt.Fprint(c, "level=WARN msg=\"row failed\" line=3\n")
	status = "2/9 [====>     ] applied 1, failed 1"
	c.Redraw()
	fmt.Fprint(c, "level=WARN msg=\"row failed\" line=4\n")
	want := []string{
		`level=INFO msg="run starting"`,
		`level=WARN msg="row failed" line=3`,
		`level=WARN msg="row failed" line=4`,
		"2/9 [====>     ] applied 1, failed 1",
	}
	if got := scr.Lines(); strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("screen:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	// A prompt holds the status back until its line ends.
	fmt.Fprint(c, "Type yes: ")
	c.Redraw()
	if got := scr.Lines(); got[len(got)-1] != "Type yes:" {
		t.Errorf("the status was drawn onto a prompt: %q", got[len(got)-1])
	}
	fmt.Fprint(c, "\n")
	// Narrower (the terminal cuts its lines, as xterm does): the status
	// is cut to the width, minus the last column, which the Console never
	// writes (a character the old line left there may stay, so the
	// screen is cut one column narrower first).
	width = 20
	scr.Resize(width - 1)
	scr.Width = width
	c.Redraw()
	if got := scr.Lines(); got[len(got)-1] != "2/9 [====>     ] ap" {
		t.Errorf("at 20 columns: %q", got[len(got)-1])
	}
	c.SetStatus(nil)
	if got := scr.Lines(); got[len(got)-1] != "Type yes:" {
		t.Errorf("the status was not cleared: %q", got[len(got)-1])
	}
	if scr.Wraps != 0 {
		t.Errorf("%d wraps", scr.Wraps)
	}
}

// TestProgressRowsAgree: the bar's done count is the sum of the counts
// it shows, and a skipped row is not this run's pace.
func TestProgressRowsAgree(t *testing.T) {
	var out bytes.Buffer
	t0 := time.Date(2026, 5, 1, 10, 0, 0, 0, time.UTC)
	now := t0
	p := NewProgress(&out, NoProgress, 10, func() Live { return Live{} }, nil)
	p.now = func() time.Time { return now }
	if got := p.render(80); got != "" {
		t.Errorf("before any row: %q, want nothing", got)
	}
	for i, o := range []Outcome{Skipped, Skipped, Applied, Unchanged, Failed, Applied} {
		now = t0.Add(time.Duration(i) * time.Second)
		p.Row(Row{Outcome: o})
	}
	got := p.render(100)
	for _, want := range []string{"6/10 [", "applied 2, unchanged 1, failed 1, skipped 2", "ETA 4s"} {
		if !strings.Contains(got, want) {
			t.Errorf("%q lacks %q", got, want)
		}
	}
}

// TestProgressFinishClears: Finish stops the drawing and clears the bar,
// so that the summary after it stands alone.
func TestProgressFinishClears(t *testing.T) {
	scr := termtest.New(80)
	c := NewConsole(scr, nil, nil)
	p := NewProgress(c, ProgressBar, 3, func() Live { return Live{WriteRate: 5} }, nil)
	p.Row(Row{Outcome: Applied})
	c.Redraw()
	if got := scr.Lines(); len(got) != 1 || !strings.HasPrefix(got[0], "1/3 [") {
		t.Errorf("screen %q, want the bar", got)
	}
	p.Finish()
	p.Finish() // twice is fine
	if got := scr.Lines(); len(got) != 0 {
		t.Errorf("screen after Finish %q, want it clear", got)
	}
}

func TestProgressChoose(t *testing.T) {
	for _, tt := range []struct {
		when            string
		quiet, terminal bool
		want            ProgressMode
	}{
		{"auto", false, true, ProgressBar},
		{"auto", false, false, ProgressLines},
		{"auto", true, true, NoProgress},
		{"always", true, false, ProgressBar},
		{"never", false, true, NoProgress},
	} {
		if got := ChooseProgress(tt.when, tt.quiet, tt.terminal); got != tt.want {
			t.Errorf("ChooseProgress(%q, quiet %v, terminal %v) = %v, want %v", tt.when, tt.quiet, tt.terminal, got, tt.want)
		}
	}
}
