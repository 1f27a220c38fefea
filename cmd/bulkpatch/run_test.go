package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// TestCommandLine: flags go before or after the arguments, as the
// contract's examples are written; what cobra refuses is a usage error.
func TestCommandLine(t *testing.T) {
	dir := t.TempDir()
	in := writeFile(t, dir, "in.csv", "mobileAppId,mobileAppInstallStatusId,installState\na,s,installed\n")
	bad := writeFile(t, dir, "bad.csv", "mobileAppId,mobileAppInstallStatusId,installState\na,s,nope\n")
	for _, tt := range []struct {
		args []string
		want int
	}{
		{[]string{"validate", in, "--max-rows", "5"}, exitOK},
		{[]string{"validate", "--max-rows", "5", in}, exitOK},
		{[]string{"validate", "--max-rows=5", in}, exitOK},
		{[]string{"validate", in, "--nope"}, exitUsage},
		{[]string{"validate"}, exitUsage},
		{[]string{"validate", in, in}, exitUsage},
		{[]string{"frobnicate"}, exitUsage},
		{[]string{}, exitUsage},
		{[]string{"apply", "--plan", "p.json", in}, exitUsage},
		{[]string{"apply", in, "--resume", "--fresh"}, exitUsage},
		{[]string{"validate", "-h"}, exitOK},
		{[]string{"help", "apply"}, exitOK},
		{[]string{"--version"}, exitOK},
		{[]string{"version"}, exitOK},
		{[]string{"resources", "managedDevice"}, exitOK},
		{[]string{"resources", "nosuch"}, exitUsage},
		{[]string{"resources", ""}, exitUsage},
		// an unknown dialect is refused before the input is read, valid or not
		{[]string{"apply", bad, "--results-dialect", "nope", "--results", filepath.Join(dir, "r.csv")}, exitUsage},
	} {
		if r := cli(t, context.Background(), nil, tt.args...); r.code != tt.want {
			t.Errorf("%q: exit %d, want %d\n%s%s", tt.args, r.code, tt.want, r.stdout, r.stderr)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, "r.csv")); !os.IsNotExist(err) {
		t.Errorf("a refused --results-dialect still wrote a results file (stat: %v)", err)
	}
}

// TestExitCodes pins the one table from errors to exit codes.
func TestExitCodes(t *testing.T) {
	for _, tt := range []struct {
		err  error
		want int
	}{
		{nil, exitOK},
		{ranError{fmt.Errorf("x: %w", report.ErrRowsFailed)}, exitRowsFailed},
		{ranError{usagef("bulkpatch apply", "bad")}, exitUsage},
		{ranError{&input.InvalidError{}}, exitInvalid},
		{ranError{&authError{errors.New("no")}}, exitAuth},
		{ranError{&apply.StopError{Reason: apply.Systemic}}, exitUnavailable},
		{ranError{&apply.StopError{Reason: apply.ApprovalRequired}}, exitAuth},
		{ranError{&apply.StopError{Reason: apply.TimeUp}}, exitTimeUp},
		{ranError{&apply.StopError{Reason: apply.JournalFailed}}, exitJournal},
		{ranError{&apply.StopError{Reason: apply.Interrupted}}, exitInterrupted},
		{ranError{fmt.Errorf("interrupted: %w", context.Canceled)}, exitInterrupted},
		{ranError{errChangesPending}, exitChanges},
		{errors.New(`unknown command "x" for "bulkpatch"`), exitUsage}, // cobra's own
		{ranError{errors.New("writing results: disk full")}, exitRowsFailed},
	} {
		if got := exitCode(tt.err); got != tt.want {
			t.Errorf("exitCode(%v) = %d, want %d", tt.err, got, tt.want)
		}
	}
}

func writeFile(t *testing.T, dir, name, content string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}
