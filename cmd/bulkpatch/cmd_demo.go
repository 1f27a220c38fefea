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

// demo runs the whole job against the embedded emulator: validate a bad
// file, validate and plan the sample, apply it under Intune-like
// throttling, then reconcile to show that nothing is left to do.
func (e *env) demoCmd() *cobra.Command {
	var dir string
	c := &cobra.Command{Use: "demo", Args: args(0, "no arguments")}
	c.Flags().StringVar(&dir, "dir", "", "where to write the demo's files (default: a new temporary directory)")
	c.RunE = runE(func(ctx context.Context, _ []string) error { return e.demo(ctx, c.CommandPath(), &dir) })
	return c
}

func (e *env) demo(ctx context.Context, cmd string, dir *string) error {
	if err := demoDir(dir); err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	st, err := emulator.LoadStateFile(filepath.Join(*dir, "seed.json"))
	if err != nil {
		return err
	}
	// Intune's write limit scaled down (10 writes per 2 s instead of 100
	// per 20 s) so the demo shows throttling within seconds; Retry-After
	// sometimes fractional, sometimes missing; 204 answers like Intune.
	srv, err := emulator.New(st, emulator.Options{
		WriteLimit: 10, Window: 2 * time.Second, RetryAfter: "mixed",
		NoContent: true, Latency: 20 * time.Millisecond, RequireToken: true, Seed: 1,
	})
	if err != nil {
		return err
	}
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		return err
	}
	defer srv.Close()

	// The demo's child commands see the emulator as their Graph and a
	// made-up token; nothing leaves this machine.
	child := *e
	child.stdinTTY = false
	child.getenv = func(k string) string {
		switch k {
		case "BULKPATCH_GRAPH_URL":
			return url
		case "BULKPATCH_TOKEN":
			return "demo-token-not-a-secret"
		case "BULKPATCH_AUTH":
			return "token"
		}
		return e.getenv(k)
	}
	statuses := filepath.Join(*dir, "statuses.csv")
	results := filepath.Join(*dir, "statuses.results.csv")
	steps := []struct {
		title string
		args  []string
		want  []int
	}{
		{"validate a file full of mistakes (expect exit 3)", []string{"validate", filepath.Join(*dir, "invalid.csv")}, []int{exitInvalid}},
		{"validate the sample", []string{"validate", statuses}, []int{exitOK}},
		{"plan offline: what apply would send", []string{"plan", statuses}, []int{exitOK}},
		{"plan --reconcile: what differs from the live objects", []string{"plan", statuses, "--reconcile"}, []int{exitOK, exitRowsFailed}},
		{"apply --reconcile at 8 writes/s against a limit of 5/s (expect one row to fail: its device is gone)",
			[]string{"apply", statuses, "--reconcile", "--yes", "--rate", "8", "--results", results, "--progress", "never"}, []int{exitRowsFailed}},
		{"plan --reconcile again: nothing left to change but the missing device", []string{"plan", statuses, "--reconcile", "--detailed-exitcode"}, []int{exitOK, exitRowsFailed}},
	}
	for i, s := range steps {
		fmt.Fprintf(e.stdout, "\n=== %d. bulkpatch %s\n    %s\n", i+1, s.args[0], s.title)
		code := child.run(ctx, s.args)
		fmt.Fprintf(e.stdout, "    -> exit %d\n", code)
		if !slices.Contains(s.want, code) {
			return reported{fmt.Errorf("demo step %d exited %d, expected %v", i+1, code, s.want)}
		}
	}
	stats := srv.Stats()
	fmt.Fprintf(e.stdout, "\nThe emulator answered %d requests; %d writes were throttled (429) and retried after their Retry-After.\n",
		stats.Requests, stats.Throttled)
	fmt.Fprintf(e.stdout, "Demo files, results and journal are in %s\nResults: %s\n", *dir, results)
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
