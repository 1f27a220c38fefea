package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"runtime"
	"time"
)

// Linux charges a child's peak RSS from the address space it was started
// from: at exec the kernel folds that space's high-water mark into the
// process's (exec_mmap calls setmax_mm_hiwater_rss), and Go starts
// children with vfork semantics, so a child's ru_maxrss is never below
// the peak RSS of the process that started it (golang/go#32054). The
// bench serves emulators of tens of thousands of objects from its own
// heap: started from it directly, a child reported the bench's peak
// instead of its own once the bench had grown past it. So every measured
// child is started by a fresh copy of the bench (`bench -mode spawn`),
// small when it starts the child, which reports the child's exit code,
// time and rusage back in a file.

// spawnReport is what `bench -mode spawn` reports of its child.
type spawnReport struct {
	Exit   int           `json:"exit"` // -1 when killed by a signal
	Wall   time.Duration `json:"wall"`
	CPU    time.Duration `json:"cpu"`
	MaxRSS int64         `json:"maxRSS"`
}

// spawn runs argv with env added to the environment, passing on stdin,
// stdout and stderr, and writes its spawnReport to report. It is main for
// `bench -mode spawn`.
func spawn(report string, env, argv []string) error {
	if len(argv) == 0 {
		return errors.New("-mode spawn: no command")
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, os.Stdout, os.Stderr
	cmd.Env = append(os.Environ(), env...)
	// The bench stops a child by killing this process; the child must
	// not outlive it.
	dieWithParent(cmd)
	start := time.Now()
	err := cmd.Run()
	rep := spawnReport{Wall: time.Since(start), Exit: -1}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return err
	}
	rep.Exit = cmd.ProcessState.ExitCode()
	rep.CPU, rep.MaxRSS = usage(cmd.ProcessState)
	b, err := json.Marshal(rep)
	if err != nil {
		return err
	}
	return os.WriteFile(report, b, 0o644)
}

// run runs a measured child in b.dir: name with args, with env added to
// the bench token in its environment. On Linux, when the bench knows its
// own binary, it starts the child through `bench -mode spawn` (see
// above) and takes the child's figures from its report.
func (b *bench) run(ctx context.Context, display string, env []string, name string, args ...string) (proc, error) {
	env = append([]string{"BULKPATCH_TOKEN=" + token}, env...)
	if b.self == "" || runtime.GOOS != "linux" {
		return runChildIn(ctx, b.dir, display, env, name, args...)
	}
	f, err := os.CreateTemp(b.dir, "spawn-*.json")
	if err != nil {
		return proc{Cmd: display, Exit: -1}, err
	}
	report := f.Name()
	f.Close()
	defer os.Remove(report)
	helper := []string{"-mode", "spawn", "-report", report}
	for _, e := range env {
		helper = append(helper, "-env", e)
	}
	p, err := runChildIn(ctx, b.dir, display, nil, b.self, append(append(helper, "--", name), args...)...)
	if err != nil {
		return p, err
	}
	raw, err := os.ReadFile(report)
	var rep spawnReport
	if err == nil {
		err = json.Unmarshal(raw, &rep)
	}
	if err != nil || len(raw) == 0 {
		return p, fmt.Errorf("%s: no report from bench -mode spawn (exit %d): %s", display, p.Exit, p.tail())
	}
	p.Exit, p.Wall, p.CPU, p.MaxRSS = rep.Exit, rep.Wall, rep.CPU, rep.MaxRSS
	return p, nil
}
