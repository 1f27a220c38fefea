package main

import (
	"context"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

var update = flag.Bool("update", false, "rewrite the golden files (testdata/help, testdata/completion) and docs/ from the current output")

// golden compares got with the file at path, or with -update writes it.
func golden(t *testing.T, path, got string) {
	t.Helper()
	if *update {
		if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (go test -run %s -update writes it)", err, t.Name())
	}
	if diff := cmp.Diff(string(want), got); diff != "" {
		t.Errorf("%s is stale (-want +got); go test -run %s -update rewrites it:\n%s", path, t.Name(), diff)
	}
}

// testRoot is the command tree as a user without any BULKPATCH_* or
// AZURE_* variable sees it.
func testRoot() *cobra.Command {
	e := &env{getenv: func(string) string { return "" }, stdout: new(strings.Builder), stderr: new(strings.Builder)}
	return e.newRoot()
}

// helpPaths are the commands and help topics whose help users read.
func helpPaths(t *testing.T) [][]string {
	t.Helper()
	paths := [][]string{nil}
	for _, c := range testRoot().Commands() {
		if c.IsAvailableCommand() || c.IsAdditionalHelpTopicCommand() || c.Name() == "help" {
			paths = append(paths, []string{c.Name()})
		}
	}
	if len(paths) < 13 { // with help and exit-codes
		t.Fatalf("only %d commands and topics: %q", len(paths), paths)
	}
	return paths
}

// TestHelpGolden pins every command's help: summary, usage, examples,
// flags in groups with defaults, exit codes. `help CMD` says the same as
// CMD --help, on stdout, with exit 0.
func TestHelpGolden(t *testing.T) {
	ctx := context.Background()
	for _, path := range helpPaths(t) {
		name := "bulkpatch"
		if len(path) > 0 {
			name = path[0]
		}
		t.Run(name, func(t *testing.T) {
			var r result
			if name == "exit-codes" {
				r = cli(t, ctx, nil, "help", "exit-codes") // a topic: it has no --help of its own
			} else {
				r = cli(t, ctx, nil, append(path, "--help")...)
			}
			if r.code != exitOK || r.stderr != "" {
				t.Fatalf("exit %d, stderr %q", r.code, r.stderr)
			}
			golden(t, filepath.Join("testdata", "help", name+".golden"), r.stdout)
			if h := cli(t, ctx, nil, append([]string{"help"}, path...)...); h.stdout != r.stdout || h.code != exitOK {
				t.Errorf("help %s (exit %d) differs from --help:\n%s", name, h.code, cmp.Diff(r.stdout, h.stdout))
			}
			checkHelpLayout(t, r.stdout)
		})
	}
}

// checkHelpLayout: help fits 80 columns (but for examples, which are
// command lines to copy whole), and a runnable command's help names its
// exit codes or where they are.
func checkHelpLayout(t *testing.T, help string) {
	t.Helper()
	inExamples := false
	for _, line := range strings.Split(help, "\n") {
		switch {
		case line == "Examples:":
			inExamples = true
		case line == "" || !strings.HasPrefix(line, " "):
			inExamples = false
		}
		if !inExamples && len([]rune(line)) > helpWidth {
			t.Errorf("%d columns: %q", len([]rune(line)), line)
		}
	}
	if strings.Contains(help, "\nUsage:\n") && !strings.Contains(help, "exit-codes") && !strings.Contains(help, "Exit codes:") {
		t.Error("no word of the exit codes")
	}
}

// TestHelpFlagGroups: every flag of every command is shown once, with a
// value name when it takes one, and only the flags a command has.
func TestHelpFlagGroups(t *testing.T) {
	root := testRoot()
	for _, c := range append(root.Commands(), root) {
		if !c.IsAvailableCommand() && c != root {
			continue
		}
		var b strings.Builder
		helpLayout.Write(&b, c, false)
		help := b.String()
		seen := 0
		check := func(f *pflag.Flag) {
			if f.Hidden {
				return // accepted for old command lines, not shown
			}
			seen++
			name := helpLayout.FlagName(c.Name(), f)
			if n := strings.Count(help, "  "+name+" "); n != 1 {
				t.Errorf("%s: %q shown %d times", c.Name(), name, n)
			}
			if f.Value.Type() != "bool" && !strings.Contains(name, "--"+f.Name+" ") {
				t.Errorf("%s: %q has no value name", c.Name(), name)
			}
		}
		c.LocalFlags().VisitAll(check)
		c.InheritedFlags().VisitAll(check)
		if got := strings.Count(help, "\n  -") + strings.Count(help, "\n      --"); got != seen {
			t.Errorf("%s: %d flags shown, the command has %d", c.Name(), got, seen)
		}
	}
	// The groups of the commands that share them.
	for _, tt := range []struct{ cmd, flag, group string }{
		{"apply", "rate", groupPace}, {"apply", "graph-url", groupConnection}, {"apply", "delimiter", groupInput},
		{"export", "delimiter", groupOutput}, {"apply", "results", groupOutput}, {"plan", "out", groupOutput},
		{"emulator", "fault-5xx", groupFaults}, {"validate", "quiet", groupGlobal}, {"apply", "yes", ""},
	} {
		c, _, err := root.Find([]string{tt.cmd})
		if err != nil {
			t.Fatal(err)
		}
		f := c.Flags().Lookup(tt.flag)
		if f == nil {
			f = c.InheritedFlags().Lookup(tt.flag)
		}
		if f == nil {
			t.Errorf("%s has no --%s", tt.cmd, tt.flag)
			continue
		}
		if got := infoOf(tt.cmd, f).Group; got != tt.group {
			t.Errorf("%s --%s in group %q, want %q", tt.cmd, tt.flag, got, tt.group)
		}
	}
}

// TestHelpUsageErrors: a wrong command line says what is wrong and
// where the help is, exits 2, and prints no help on stdout.
func TestHelpUsageErrors(t *testing.T) {
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"validate"}, "bulkpatch: validate: want one FILE.csv (- for standard input)\nRun 'bulkpatch validate --help' for usage.\n"},
		{[]string{"plan", "a.csv", "b.csv"}, "bulkpatch: plan: want one FILE.csv (- for standard input), got 2: a.csv b.csv\nRun 'bulkpatch plan --help' for usage.\n"},
		{[]string{"apply", "--nope"}, "bulkpatch: apply: unknown flag: --nope\nRun 'bulkpatch apply --help' for usage.\n"},
		{[]string{"completion", "tcsh"}, "bulkpatch: completion: no completion for \"tcsh\": want bash, zsh, fish or powershell\nRun 'bulkpatch completion --help' for usage.\n"},
		{[]string{"valdate"}, "bulkpatch: unknown command \"valdate\" for \"bulkpatch\"\n\nDid you mean this?\n\tvalidate\n\n"},
	} {
		r := cli(t, context.Background(), nil, tt.args...)
		if r.code != exitUsage || r.stdout != "" || r.stderr != tt.want {
			t.Errorf("%q: exit %d, stdout %q, stderr:\n%s\nwant:\n%s", tt.args, r.code, r.stdout, r.stderr, tt.want)
		}
	}
	// No command at all: the top-level help, on stderr.
	r := cli(t, context.Background(), nil)
	if r.code != exitUsage || r.stdout != "" || !strings.Contains(r.stderr, "Usage:\n  bulkpatch COMMAND [flags]") {
		t.Errorf("no command: exit %d, stdout %q, stderr:\n%s", r.code, r.stdout, r.stderr)
	}
}
