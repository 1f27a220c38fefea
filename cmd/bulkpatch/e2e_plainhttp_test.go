package main

// Plain http stays on this machine: an http:// Graph root is refused
// unless it names loopback.

import (
	"context"
	"net/url"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// TestHardeningPlainHTTP checks that an http:// Graph root is refused
// (exit 2, before anything is sent or signed in) unless it names this
// machine.
func TestHardeningPlainHTTP(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	f := generate(t, 1, 3, 0, 0, 0)
	input := f.write(t, dir)
	rec, _, vars := hzServe(t, f.state, emulator.Options{}, "test-token")
	loopback := vars["BULKPATCH_GRAPH_URL"]
	u, err := url.Parse(loopback)
	if err != nil {
		t.Fatal(err)
	}
	commands := [][]string{
		hzArgs([]string{"plan", input, "--reconcile"}, hzFast),
		hzArgs([]string{"apply", input, "--yes", "--results", filepath.Join(dir, "r.csv")}, hzFast),
		hzArgs([]string{"export", "--app", "app-00"}, hzFast),
	}
	// Names under .invalid never resolve, so even a regression would send
	// nothing anywhere.
	for _, root := range []string{
		"http://graph.example.invalid/beta",
		"http://localhost.example.invalid/beta",
		"http://127.0.0.1.example.invalid/beta",
		"HTTP://graph.example.invalid/beta",
	} {
		for _, args := range commands {
			for _, how := range []string{"flag", "env"} {
				v, a := vars, append(slices.Clone(args), "--graph-url", root)
				if how == "env" {
					v, a = hzWith(vars, "BULKPATCH_GRAPH_URL", root), args
				}
				r := cli(t, ctx, v, a...)
				if r.code != exitUsage || !strings.Contains(r.stderr, "loopback") {
					t.Errorf("%s %s via %s: exit %d, want %d explaining loopback\n%s", args[0], root, how, r.code, exitUsage, hzTail(r.stderr))
				}
			}
		}
	}
	if reqs, _ := rec.take(); len(reqs) > 0 {
		t.Errorf("requests reached the loopback server: %q", reqs)
	}
	// Loopback by name and by address is fine.
	for _, root := range []string{loopback, "http://localhost:" + u.Port() + "/beta"} {
		for _, args := range commands {
			if r := cli(t, ctx, hzWith(vars, "BULKPATCH_GRAPH_URL", root), args...); r.code != exitOK {
				t.Errorf("%s via %s: exit %d\n%s", args[0], root, r.code, hzTail(r.stderr))
			}
		}
	}
	if reqs, _ := rec.take(); len(reqs) == 0 {
		t.Error("nothing reached the loopback server")
	}
}
