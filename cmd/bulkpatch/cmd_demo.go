package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"time"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/samples"
)

func (e *env) demoCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{Use: "demo", Args: args(0, "no arguments")}
	c.Flags().StringVar(&dir, "dir", "", "where to write the demo's files (default: a new temporary directory)")
	c.RunE = runE(func(ctx context.Context, _ []string) error { return e.demo(ctx, c.CommandPath(), &dir) })
	return c
}

// demoStep is one command of the demo and the exit codes it may end with.
type demoStep struct {
	title string
	args  []string
	want  []int
}

// demo runs the whole job against the embedded emulator, in two acts:
// app install statuses (validate a bad file, plan, apply under Intune-like
// throttling, reconcile again), then managed devices (a second resource
// on the same engine, where --verify catches writes Graph accepts but
// does not apply).
func (e *env) demo(ctx context.Context, cmd string, dir *string) error {
	if err := demoDir(dir); err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	d := func(name string) string { return filepath.Join(*dir, name) }
	// Intune's write limit scaled down (10 writes per 2 s instead of 100
	// per 20 s) so the demo shows throttling within seconds; Retry-After
	// sometimes fractional, sometimes missing; 204 answers like Intune.
	act1 := emulator.Options{WriteLimit: 10, Window: 2 * time.Second, RetryAfter: "mixed", NoContent: true, Latency: 20 * time.Millisecond, Seed: 1}
	err := e.demoAct(ctx, "Act 1: app install statuses", d("seed.json"), act1, []demoStep{
		{"validate a file full of mistakes (expect exit 3)", []string{"validate", d("invalid.csv")}, []int{exitInvalid}},
		{"validate the sample", []string{"validate", d("statuses.csv")}, []int{exitOK}},
		{"plan offline: what apply would send", []string{"plan", d("statuses.csv")}, []int{exitOK}},
		{"plan --reconcile: what differs from the live objects", []string{"plan", d("statuses.csv"), "--reconcile"}, []int{exitOK, exitRowsFailed}},
		{"apply (reads first, writes what differs) at 8 writes/s against a limit of 5/s (expect one row to fail: its device is gone)",
			[]string{"apply", d("statuses.csv"), "--yes", "--rate", "8", "--progress", "never"}, []int{exitRowsFailed}},
		{"plan --reconcile again: nothing left to change but the missing device", []string{"plan", d("statuses.csv"), "--reconcile", "--detailed-exitcode"}, []int{exitOK, exitRowsFailed}},
	})
	if err != nil {
		return err
	}
	// A Graph that answers some writes 204 and changes nothing, as Intune
	// does for some managedDevice properties.
	act2 := emulator.Options{NoContent: true, Latency: 10 * time.Millisecond, Seed: 1, Faults: emulator.Faults{IgnoreWrite: 0.3}}
	err = e.demoAct(ctx, "Act 2: managed devices, on the same engine", d("seed.json"), act2, []demoStep{
		{"what bulkpatch knows of managedDevice", []string{"resources", "managedDevice"}, []int{exitOK}},
		{"plan --reconcile (the resource comes from the header)", []string{"plan", d("devices.csv"), "--reconcile"}, []int{exitOK}},
		{"apply --verify: read every write back (expect rows Graph accepted but did not apply)",
			[]string{"apply", d("devices.csv"), "--yes", "--verify", "--progress", "never"}, []int{exitRowsFailed}},
		{"the same command again, as cron would: it continues, skips what is done and sends the failed row again",
			[]string{"apply", d("devices.csv"), "--yes", "--verify", "--progress", "never"}, []int{exitOK, exitRowsFailed}},
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(e.stdout, "\nDemo files, results and journals are in %s\n", *dir)
	return nil
}

// demoAct serves seed with opt and runs steps against it: the children
// see the emulator as their Graph and a made-up token; nothing leaves
// this machine.
func (e *env) demoAct(ctx context.Context, title, seed string, opt emulator.Options, steps []demoStep) error {
	st, err := emulator.LoadStateFile(seed)
	if err != nil {
		return err
	}
	srv, err := emulator.New(st, opt)
	if err != nil {
		return err
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.Close()
	child := *e
	child.stdinTTY = false
	vars := map[string]string{"BULKPATCH_GRAPH_URL": url, "BULKPATCH_TOKEN": "demo-token-not-a-secret", "BULKPATCH_AUTH": "token"}
	child.getenv = func(k string) string {
		if v, ok := vars[k]; ok {
			return v
		}
		return e.getenv(k)
	}
	fmt.Fprintf(e.stdout, "\n##### %s\n", title)
	for i, s := range steps {
		fmt.Fprintf(e.stdout, "\n=== %d. bulkpatch %s\n    %s\n", i+1, s.args[0], s.title)
		code := child.run(ctx, s.args)
		fmt.Fprintf(e.stdout, "    -> exit %d\n", code)
		if !slices.Contains(s.want, code) {
			return reported{fmt.Errorf("%s, step %d exited %d, expected %v", title, i+1, code, s.want)}
		}
	}
	stats := srv.Stats()
	fmt.Fprintf(e.stdout, "\nThe emulator answered %d requests; %d writes were throttled (429) and retried after their Retry-After.\n",
		stats.Requests, stats.Throttled)
	return nil
}

// demoDir makes *dir (a new temporary directory when empty) and copies
// the samples into it.
func demoDir(dir *string) error {
	if *dir == "" {
		d, err := os.MkdirTemp("", "bulkpatch-demo-")
		if err != nil {
			return err
		}
		*dir = d
	}
	return samples.WriteTo(*dir)
}
