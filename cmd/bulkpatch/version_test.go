package main

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// TestVersionFromLdflags builds bulkpatch as make build does (but with
// the flags of the other tests' build, to share its cache) and checks
// that version and --version print what was injected.
func TestVersionFromLdflags(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	const (
		ver    = "v9.8.7"
		commit = "fedcba9876543210fedcba9876543210fedcba98"
		date   = "2026-05-01T10:00:00Z"
	)
	bin := filepath.Join(t.TempDir(), "bulkpatch")
	ldflags := "-X main.version=" + ver + " -X main.commit=" + commit + " -X main.date=" + date
	if out, err := exec.Command("go", "build", "-ldflags", ldflags, "-o", bin, ".").CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	want := "bulkpatch v9.8.7 (commit fedcba987654, built 2026-05-01T10:00:00Z, "
	for _, arg := range []string{"version", "--version", "-v"} {
		out, err := exec.Command(bin, arg).Output()
		if err != nil {
			t.Fatalf("%s: %v", arg, err)
		}
		if got := string(out); !strings.HasPrefix(got, want) || strings.Count(got, "\n") != 1 {
			t.Errorf("bulkpatch %s = %q, want one line starting %q", arg, got, want)
		}
	}
}

// TestVersionInRunStarting: the "run starting" event names the version
// as bulkpatch version prints it.
func TestVersionInRunStarting(t *testing.T) {
	ctx := context.Background()
	printed := cli(t, ctx, nil, "version")
	want := strings.TrimSuffix(strings.TrimPrefix(printed.stdout, "bulkpatch "), "\n")
	if want == "" || want != version {
		t.Fatalf("version prints %q; the version is %q", printed.stdout, version)
	}
	f := generate(t, 1, 2, 0, 0, 0)
	_, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	r := cli(t, ctx, vars, "apply", f.write(t, dir), "--yes", "--log-format", "json", "--progress", "never")
	if r.code != exitOK {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	for _, line := range strings.Split(r.stderr, "\n") {
		var ev map[string]any
		if json.Unmarshal([]byte(line), &ev) == nil && ev["msg"] == "run starting" {
			if ev["version"] != want {
				t.Errorf("run starting: version %q, want %q", ev["version"], want)
			}
			return
		}
	}
	t.Errorf("no run starting event in:\n%s", r.stderr)
}
