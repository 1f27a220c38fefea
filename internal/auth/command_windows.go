//go:build windows

package auth

import (
	"context"
	"os"
	"os/exec"
	"syscall"
)

// shellCommand runs command through cmd.exe /S /C. The command line is
// built by hand because Go's argument quoting does not match cmd.exe's
// rules; with /S, cmd.exe strips exactly the outer quotes and runs the rest
// as typed.
func shellCommand(ctx context.Context, command string) *exec.Cmd {
	shell := os.Getenv("ComSpec")
	if shell == "" {
		shell = "cmd.exe"
	}
	cmd := exec.CommandContext(ctx, shell)
	cmd.SysProcAttr = &syscall.SysProcAttr{CmdLine: `"` + shell + `" /S /C "` + command + `"`}
	return cmd
}
