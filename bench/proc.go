package main

import (
	"bytes"
	"context"
	"errors"
	"os"
	"os/exec"
	"time"
)

// proc is one finished child process and what it cost.
type proc struct {
	Cmd    string        // as a user would type it (paths and ports shortened)
	Exit   int           // exit code; -1 when it did not start or was killed
	Wall   time.Duration // from start to exit
	CPU    time.Duration // user + system time of the child
	MaxRSS int64         // peak resident set in bytes; 0 when the OS does not say
	Stdout []byte
	Stderr []byte
}

// tail returns the end of the child's stderr, for error messages.
func (p *proc) tail() string {
	b := bytes.TrimSpace(p.Stderr)
	if len(b) > 600 {
		b = append([]byte("…"), b[len(b)-600:]...)
	}
	return string(b)
}

// runChildIn runs name with args in dir, with env added to the bench's
// own environment, and measures it. display is the command shown in the
// report. A non-zero exit is not an error: callers judge it.
func runChildIn(ctx context.Context, dir, display string, env []string, name string, args ...string) (proc, error) {
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), env...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	p := proc{Cmd: display, Exit: -1}
	start := time.Now()
	err := cmd.Run()
	p.Wall = time.Since(start)
	p.Stdout, p.Stderr = stdout.Bytes(), stderr.Bytes()
	if cmd.ProcessState != nil {
		p.Exit = cmd.ProcessState.ExitCode()
		p.CPU, p.MaxRSS = usage(cmd.ProcessState)
	}
	var ee *exec.ExitError
	if err != nil && !errors.As(err, &ee) {
		return p, err
	}
	if ctx.Err() != nil {
		return p, ctx.Err()
	}
	return p, nil
}
