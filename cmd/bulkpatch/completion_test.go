package main

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/completion"
)

// TestCompletionScripts pins the script of every shell; bash's (and
// zsh's and fish's, where they are installed) must parse.
func TestCompletionScripts(t *testing.T) {
	dir := t.TempDir()
	for _, sh := range completion.Shells {
		t.Run(sh, func(t *testing.T) {
			r := cli(t, context.Background(), nil, "completion", sh)
			if r.code != exitOK || r.stderr != "" || len(r.stdout) < 1000 {
				t.Fatalf("exit %d, %d bytes, stderr %q", r.code, len(r.stdout), r.stderr)
			}
			golden(t, filepath.Join("testdata", "completion", sh+".golden"), r.stdout)
			check := map[string][]string{"bash": {"bash", "-n"}, "zsh": {"zsh", "-n"}, "fish": {"fish", "--no-execute"}}[sh]
			if check == nil {
				return
			}
			if _, err := exec.LookPath(check[0]); err != nil {
				if sh == "bash" {
					t.Fatalf("no bash to check the bash script with: %v", err)
				}
				t.Skipf("no %s here", check[0])
			}
			script := filepath.Join(dir, sh)
			if err := os.WriteFile(script, []byte(r.stdout), 0o600); err != nil {
				t.Fatal(err)
			}
			if out, err := exec.Command(check[0], append(check[1:], script)...).CombinedOutput(); err != nil {
				t.Errorf("%s does not parse the script: %v\n%s", check[0], err, out)
			}
		})
	}
	if r := cli(t, context.Background(), nil, "completion", "bash", "--no-descriptions"); r.code != exitOK || !strings.Contains(r.stdout, "bulkpatch") {
		t.Errorf("--no-descriptions: exit %d", r.code)
	}
}

// TestCompletionValues asks the completion back end what the shells
// would offer: commands, resource names, enum values, CSV files.
func TestCompletionValues(t *testing.T) {
	for _, tt := range []struct {
		args      []string
		want      []string
		directive string
	}{
		{[]string{""}, []string{"validate", "plan", "apply", "completion", "version"}, ":4"},
		{[]string{"apply", "--cloud", ""}, []string{"global", "usgov", "dod", "china"}, ":4"},
		{[]string{"plan", "--auth", ""}, []string{"auto", "token", "token-command", "environment", "azure-cli", "device-code"}, ":4"},
		{[]string{"apply", "--progress", ""}, []string{"auto", "always", "never"}, ":4"},
		{[]string{"validate", "--resource", ""}, []string{"mobileAppInstallStatus", "managedDevice"}, ":4"},
		{[]string{"resources", ""}, []string{"mobileAppInstallStatus", "managedDevice"}, ":4"},
		{[]string{"completion", ""}, completion.Shells, ":4"},
		{[]string{"help", ""}, []string{"apply", "exit-codes"}, ":4"},
		{[]string{"validate", ""}, []string{"csv"}, ":8"}, // files ending .csv
		{[]string{"apply", "--results", ""}, []string{"csv"}, ":8"},
	} {
		r := cli(t, context.Background(), nil, append([]string{"__complete"}, tt.args...)...)
		lines := strings.Split(strings.TrimSpace(r.stdout), "\n")
		var got []string
		for _, l := range lines[:len(lines)-1] {
			name, _, _ := strings.Cut(l, "\t")
			got = append(got, name)
		}
		for _, w := range tt.want {
			if !slices.Contains(got, w) {
				t.Errorf("complete %q: %q lacks %q", tt.args, got, w)
			}
		}
		if d := lines[len(lines)-1]; d != tt.directive {
			t.Errorf("complete %q: directive %s, want %s", tt.args, d, tt.directive)
		}
	}
}
