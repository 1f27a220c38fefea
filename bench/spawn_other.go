//go:build !linux

package main

import "os/exec"

// dieWithParent does nothing: only Linux starts children through
// `bench -mode spawn` (see spawn.go).
func dieWithParent(*exec.Cmd) {}
