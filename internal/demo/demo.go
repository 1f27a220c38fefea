// Package demo is the script of `bulkpatch demo`: the whole job against
// the embedded emulator, in two acts. Act 1: app install statuses
// (validate a bad file, plan, apply under Intune-like throttling,
// reconcile again). Act 2: managed devices, a second resource on the
// same engine, where --verify catches writes Graph accepts but does not
// apply. The commands themselves run through a Runner the caller
// supplies, the in-process CLI.
package demo

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/samples"
)

// ExitCodes are the CLI's exit codes the script expects of its steps.
type ExitCodes struct {
	OK, RowsFailed, Invalid int
}

// Runner runs one bulkpatch command line with the environment variables
// vars set over the process's, and returns its exit code. Its output is
// the demo's.
type Runner func(ctx context.Context, vars map[string]string, args []string) int

// Act is a part of the demo: steps run against one emulator.
type Act struct {
	Title    string
	Seed     string // the emulator's seed file
	Emulator emulator.Options
	Steps    []Step
}

// Step is one command of the demo and the exit codes it may end with.
type Step struct {
	Title string
	Args  []string // the command line, without "bulkpatch"
	Want  []int
}

// StepError reports a step that ended with an exit code the script did
// not expect. The step's own output has said why.
type StepError struct {
	Act  string
	Step int // from 1
	Code int
	Want []int
}

func (e *StepError) Error() string {
	return fmt.Sprintf("%s, step %d exited %d, expected %v", e.Act, e.Step, e.Code, e.Want)
}

// Prepare makes dir, a new temporary directory when dir is "", copies
// the samples into it and returns it.
func Prepare(dir string) (string, error) {
	if dir == "" {
		d, err := os.MkdirTemp("", "bulkpatch-demo-")
		if err != nil {
			return "", err
		}
		dir = d
	}
	return dir, samples.WriteTo(dir)
}

// Script returns the demo's acts on the samples in dir.
func Script(dir string, code ExitCodes) []Act {
	d := func(name string) string { return filepath.Join(dir, name) }
	return []Act{{
		Title: "Act 1: app install statuses",
		Seed:  d("seed.json"),
		// Intune's write limit scaled down (10 writes per 2 s instead of
		// 100 per 20 s) so the demo shows throttling within seconds;
		// Retry-After sometimes fractional, sometimes missing; 204
		// answers like Intune.
		Emulator: emulator.Options{WriteLimit: 10, Window: 2 * time.Second, RetryAfter: "mixed", NoContent: true, Latency: 20 * time.Millisecond, Seed: 1},
		Steps: []Step{
			{"validate a file full of mistakes (expect exit 3)", []string{"validate", d("invalid.csv")}, []int{code.Invalid}},
			{"validate the sample", []string{"validate", d("statuses.csv")}, []int{code.OK}},
			{"plan offline: what apply would send", []string{"plan", d("statuses.csv")}, []int{code.OK}},
			{"plan --reconcile: what differs from the live objects", []string{"plan", d("statuses.csv"), "--reconcile"}, []int{code.OK, code.RowsFailed}},
			{"apply (reads first, writes what differs) at 8 writes/s against a limit of 5/s (expect one row to fail: its device is gone)",
				[]string{"apply", d("statuses.csv"), "--yes", "--rate", "8", "--progress", "never"}, []int{code.RowsFailed}},
			{"plan --reconcile again: nothing left to change but the missing device", []string{"plan", d("statuses.csv"), "--reconcile", "--detailed-exitcode"}, []int{code.OK, code.RowsFailed}},
		},
	}, {
		Title: "Act 2: managed devices, on the same engine",
		Seed:  d("seed.json"),
		// A Graph that answers some writes 204 and changes nothing, as
		// Intune does for some managedDevice properties.
		Emulator: emulator.Options{NoContent: true, Latency: 10 * time.Millisecond, Seed: 1, Faults: emulator.Faults{IgnoreWrite: 0.3}},
		Steps: []Step{
			{"what bulkpatch knows of managedDevice", []string{"resources", "managedDevice"}, []int{code.OK}},
			{"plan --reconcile (the resource comes from the header)", []string{"plan", d("devices.csv"), "--reconcile"}, []int{code.OK}},
			{"apply --verify: read every write back (expect rows Graph accepted but did not apply)",
				[]string{"apply", d("devices.csv"), "--yes", "--verify", "--progress", "never"}, []int{code.RowsFailed}},
			{"the same command again, as cron would: it continues, skips what is done and sends the failed row again",
				[]string{"apply", d("devices.csv"), "--yes", "--verify", "--progress", "never"}, []int{code.OK, code.RowsFailed}},
		},
	}}
}

// Play serves the act's seed and runs its steps against it, telling the
// story on out. The commands see the emulator as their Graph and a
// made-up token: nothing leaves this machine. A step that exits with a
// code it should not is a *StepError.
func (a Act) Play(ctx context.Context, out io.Writer, run Runner) error {
	st, err := emulator.LoadStateFile(a.Seed)
	if err != nil {
		return err
	}
	srv, err := emulator.New(st, a.Emulator)
	if err != nil {
		return err
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.Close()
	vars := map[string]string{"BULKPATCH_GRAPH_URL": url, "BULKPATCH_TOKEN": "demo-token-not-a-secret", "BULKPATCH_AUTH": "token"}
	fmt.Fprintf(out, "\n##### %s\n", a.Title)
	for i, s := range a.Steps {
		fmt.Fprintf(out, "\n=== %d. bulkpatch %s\n    %s\n", i+1, s.Args[0], s.Title)
		code := run(ctx, vars, s.Args)
		fmt.Fprintf(out, "    -> exit %d\n", code)
		if !slices.Contains(s.Want, code) {
			return &StepError{Act: a.Title, Step: i + 1, Code: code, Want: s.Want}
		}
	}
	stats := srv.Stats()
	fmt.Fprintf(out, "\nThe emulator answered %d requests; %d writes were throttled (429) and retried after their Retry-After.\n",
		stats.Requests, stats.Throttled)
	return nil
}
