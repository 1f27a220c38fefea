package main

// End-to-end tests of stopping on a signal: the real binary, a real
// SIGTERM, and the emulator counting what arrives afterwards.

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// TestSignalStopsWrites sends SIGTERM to an apply while it waits (for the
// pacer, or out a 2-minute Retry-After) and expects no request after the
// signal, exit 130 within 3 s, and results that list every row once.
func TestSignalStopsWrites(t *testing.T) {
	tests := []struct {
		name   string
		opt    emulator.Options
		args   []string
		signal func(emulator.Stats) bool // when to send SIGTERM
	}{
		{
			// At 2 writes/s the next write is half a second away when
			// the second one arrives.
			name:   "waiting for the pacer",
			args:   []string{"--rate", "2", "--concurrency", "4"},
			signal: func(st emulator.Stats) bool { return st.Writes >= 2 },
		},
		{
			// One write per 2 minutes: the second is answered 429 with a
			// Retry-After of about 2 minutes, which the run then waits out.
			name:   "waiting out a Retry-After",
			opt:    emulator.Options{WriteLimit: 1, Window: 2 * time.Minute},
			args:   []string{"--rate", "50", "--concurrency", "1"},
			signal: func(st emulator.Stats) bool { return st.Throttled >= 1 },
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := generate(t, 1, 40, 0, 0, 0)
			srv, vars := emulate(t, f.state, tt.opt)
			dir := t.TempDir()
			in := f.write(t, dir)
			results := filepath.Join(dir, "results.csv")
			p := startBinary(t, dir, vars, append([]string{"apply", in, "--yes", "--progress", "never", "--results", results}, tt.args...)...)
			// Poll the emulator's counters, not a clock: the signal goes
			// out the moment the run is where the case wants it.
			if !waitUntil(t, p, func() bool { return tt.signal(srv.Stats()) }) {
				t.Fatalf("the run never got there: %+v\n%s", srv.Stats(), p.output())
			}
			sent := srv.Stats().Requests
			start := time.Now()
			if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil {
				t.Fatal(err)
			}
			code := p.wait(t)
			took := time.Since(start)
			t.Logf("exit %v after SIGTERM; %d requests before it", took.Round(time.Millisecond), sent)
			if code != exitInterrupted {
				t.Errorf("exit %d, want %d\n%s", code, exitInterrupted, p.output())
			}
			if after := srv.Stats().Requests - sent; after != 0 {
				t.Errorf("%d requests reached Graph after SIGTERM, want 0", after)
			}
			// Not a timing threshold on the code under test's speed: a
			// run that waits out its pacer or Retry-After takes 0.5 s to
			// 2 minutes here.
			if took > 3*time.Second {
				t.Errorf("exit %v after SIGTERM, want within 3 s", took.Round(time.Millisecond))
			}
			_, rows := readResults(t, results)
			if len(rows) != f.rows {
				t.Fatalf("results list %d rows, want %d", len(rows), f.rows)
			}
			c := countOutcomes(rows)
			if c["applied"] != srv.Stats().Writes-srv.Stats().Throttled || c["not_attempted"] == 0 {
				t.Errorf("outcomes %v after %d writes (%d throttled)", c, srv.Stats().Writes, srv.Stats().Throttled)
			}
			if !strings.Contains(p.stderr.String(), "interrupted") {
				t.Errorf("the message does not say the run was interrupted:\n%s", p.output())
			}
		})
	}
}

// TestInterruptedReads stops a plan --reconcile and an export with a
// read on the wire (Ctrl-C's cancellation): each exits 130 with one
// line, and nothing is saved. On the fake clock: the hung read costs no
// time.
func TestInterruptedReads(t *testing.T) {
	for _, tt := range []struct {
		name string
		args func(in, out string) []string
	}{
		{"plan --reconcile", func(in, out string) []string { return []string{"plan", in, "--reconcile", "--out", out} }},
		{"export", func(_, out string) []string { return []string{"export", "--app", "app-00", "--out", out} }},
	} {
		t.Run(tt.name, func(t *testing.T) {
			fakeClock(t, func(t *testing.T) {
				f := generate(t, 1, 5, 0, 0, 0)
				srv, ce := emulateInProcess(t, f.state, emulator.Options{ReadFaults: emulator.Faults{Hang: 1, HangFor: time.Hour}})
				dir := t.TempDir()
				in, out := f.write(t, dir), filepath.Join(dir, "out")
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan result, 1)
				go func() { done <- ce.run(t, ctx, tt.args(in, out)...) }()
				for srv.Stats().InFlight == 0 {
					time.Sleep(time.Millisecond) // the bubble's clock: no real time passes
				}
				cancel()
				r := <-done
				t.Logf("exit %d, stderr: %s", r.code, r.stderr)
				if r.code != exitInterrupted {
					t.Errorf("exit %d, want %d\n%s", r.code, exitInterrupted, r.stderr)
				}
				if lines := strings.Split(strings.TrimSpace(r.stderr), "\n"); len(lines) != 1 || !strings.Contains(lines[0], "interrupted") {
					t.Errorf("stderr has %d lines, want one saying interrupted:\n%s", len(lines), r.stderr)
				}
				if _, err := os.Stat(out); err == nil {
					t.Error("an interrupted command saved its output")
				}
			})
		})
	}
}

// TestSignalPlanOneLine interrupts the real binary's plan --reconcile
// while a read hangs: one line on stderr (main adds none of its own for
// a command that says it), exit 130.
func TestSignalPlanOneLine(t *testing.T) {
	f := generate(t, 1, 5, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{ReadFaults: emulator.Faults{Hang: 1, HangFor: time.Minute}})
	dir := t.TempDir()
	in := f.write(t, dir)
	p := startBinary(t, dir, vars, "plan", in, "--reconcile")
	if !waitUntil(t, p, func() bool { return srv.Stats().InFlight > 0 }) {
		t.Fatalf("no read ever reached the emulator\n%s", p.output())
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != exitInterrupted {
		t.Errorf("exit %d, want %d\n%s", code, exitInterrupted, p.output())
	}
	if lines := strings.Split(strings.TrimSpace(p.stderr.String()), "\n"); len(lines) != 1 {
		t.Errorf("stderr has %d lines, want one:\n%s", len(lines), p.output())
	}
}
