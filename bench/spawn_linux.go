package main

import (
	"os/exec"
	"syscall"
)

// dieWithParent has the kernel kill cmd when the process that started it
// exits (strictly, the OS thread that started it: the Go runtime does not
// end its threads while the program runs).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
