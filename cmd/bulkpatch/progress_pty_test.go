//go:build unix

package main

import (
	"bytes"
	"io"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/creack/pty"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/termtest"
)

// TestProgressOnTerminal runs apply with stderr on a pseudo-terminal 80
// columns wide, the bar on, while every fifth row fails: the bar never
// takes more than 79 columns (so it never wraps and its redraw works),
// and every WARN line stands on its own line of the screen, with no bar
// before or after it.
func TestProgressOnTerminal(t *testing.T) {
	ptmx, tty, err := pty.Open()
	if err != nil {
		t.Skipf("no pseudo-terminal here: %v", err)
	}
	defer ptmx.Close()
	if err := pty.Setsize(tty, &pty.Winsize{Rows: 24, Cols: 80}); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	read := make(chan struct{})
	go func() {
		io.Copy(&out, ptmx) // ends with EIO once tty is closed
		close(read)
	}()

	f := generate(t, 1, 40, 0, 0, 0)
	missing := 0
	var kept []emulator.Status
	for i, s := range f.state.MobileApps[0].DeviceStatuses {
		if i%5 == 2 {
			missing++ // its write is answered 404: a WARN line
			continue
		}
		kept = append(kept, s)
	}
	f.state.MobileApps[0].DeviceStatuses = kept
	_, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)

	var stdout bytes.Buffer
	e := newEnv(strings.NewReader(""), &stdout, tty)
	e.getenv = func(k string) string { return vars[k] }
	if !e.stderrTTY {
		t.Fatal("the pseudo-terminal is not taken for a terminal")
	}
	code := e.run(t.Context(), []string{"apply", in, "--yes", "--no-reconcile", "--rate", "25", "--concurrency", "2",
		"--results", filepath.Join(dir, "r.csv")})
	tty.Close()
	<-read
	if code != exitRowsFailed {
		t.Fatalf("exit %d, want %d\nstdout:\n%s\nterminal:\n%q", code, exitRowsFailed, stdout.String(), out.String())
	}
	raw := out.String()

	// Every status drawn, and every blank that clears one, fits in 79
	// columns.
	status := regexp.MustCompile(`^\d+/40 `)
	draws := 0
	for _, line := range strings.Split(raw, "\n") {
		for _, piece := range strings.Split(line, "\r") {
			if status.MatchString(piece) {
				draws++
			} else if strings.Trim(piece, " ") != "" {
				continue // text: a long log line may wrap, as it would anywhere
			}
			if n := utf8.RuneCountInString(piece); n > 79 {
				t.Errorf("%d columns drawn on an 80-column terminal: %q", n, piece)
			}
		}
	}
	if draws == 0 {
		t.Fatalf("the bar was never drawn:\n%q", raw)
	}

	scr := termtest.New(80)
	scr.Write([]byte(raw))
	warns := 0
	bar := regexp.MustCompile(`\d+/40 (\[|applied|failed)`)
	for _, l := range scr.Lines() {
		if strings.Contains(l, "level=WARN") {
			warns++
			if !strings.HasPrefix(l, "level=WARN") || bar.MatchString(l) || strings.Count(l, "level=") > 1 {
				t.Errorf("a WARN line does not stand alone: %q", l)
			}
		}
	}
	if warns != missing {
		t.Errorf("%d WARN lines on the screen, want %d:\n%s", warns, missing, strings.Join(scr.Lines(), "\n"))
	}
	if last := scr.Lines(); len(last) > 0 && bar.MatchString(last[len(last)-1]) {
		t.Errorf("the bar is still on the screen after the run: %q", last[len(last)-1])
	}
}
