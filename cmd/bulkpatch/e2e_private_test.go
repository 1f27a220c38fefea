package main

// Private files are private: results, journals, plans and exports are
// 0600, also over a wider file left by someone else.

import (
	"context"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// TestHardeningPrivateFiles checks that results, journals, plans and
// exports are 0600, also when a wider file was there before.
func TestHardeningPrivateFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	f := generate(t, 1, 4, 1, 2, 0)
	input := f.write(t, dir)
	_, _, vars := hzServe(t, f.state, emulator.Options{}, "test-token")
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, name := range []string{"r.csv", "r.csv.journal", "p.json", "e.csv"} {
		hzWriteFile(t, p(name), "left by someone else\n")
		if err := os.Chmod(p(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"plan", input, "--out", p("p.json")},
		{"plan", input, "--reconcile", "--out", p("p2.json")},
		{"apply", input, "--yes", "--results", p("r.csv")},
		{"apply", input, "--yes", "--results", p("fresh.csv")},
		{"export", "--app", "app-00", "--out", p("e.csv")},
		{"export", "--app", "app-00", "--out", p("e2.csv"), "--excel"},
	} {
		if r := cli(t, ctx, vars, hzArgs(args, hzFast)...); r.code != exitOK {
			t.Fatalf("%q: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if r := cli(t, ctx, vars, hzArgs([]string{"apply", hzWriteFile(t, p("bad.csv"), hzInvalidInput), "--yes"}, hzFast)...); r.code != exitInvalid {
		t.Fatalf("apply bad.csv: exit %d", r.code)
	}
	for _, name := range []string{"r.csv", "r.csv.journal", "fresh.csv", "fresh.csv.journal", "p.json", "p2.json", "e.csv", "e2.csv", "bad.results.csv", "r.csv.lock", "fresh.csv.lock"} {
		fi, err := os.Stat(p(name))
		if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(name, ".lock") {
			continue // removed on release; while it exists it is 0600 too
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, got)
		}
	}
}
