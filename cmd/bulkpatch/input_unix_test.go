//go:build unix

package main

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// An input that can be read only once (a pipe, validate /dev/stdin) is
// still read by every pass: it is copied first, not re-read.
func TestInputFromPipe(t *testing.T) {
	dir := t.TempDir()
	fifo := filepath.Join(dir, "in.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skipf("no FIFOs here: %v", err)
	}
	data, err := os.ReadFile("../../samples/statuses.csv")
	if err != nil {
		t.Fatal(err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err != nil {
			return
		}
		f.Write(data)
		f.Close()
	}()
	// A private TMPDIR: other tests and other runs on this machine make
	// and remove their own copies meanwhile.
	t.Setenv("TMPDIR", t.TempDir())
	out := filepath.Join(dir, "p.json")
	r := cli(t, context.Background(), nil, "plan", fifo, "--out", out)
	if r.code != exitOK {
		t.Fatalf("plan of a pipe: exit %d\n%s", r.code, r.stderr)
	}
	plan, err := os.ReadFile(out)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(plan), `"action":"patch"`); n != 38 {
		t.Errorf("the plan of a pipe holds %d operations, want the sample's 38", n)
	}
	if left, _ := filepath.Glob(filepath.Join(os.TempDir(), "bulkpatch-input-*")); len(left) > 0 {
		t.Errorf("the private copy of the pipe was left behind: %v", left)
	}
}
