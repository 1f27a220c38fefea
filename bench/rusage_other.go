//go:build !linux

package main

import (
	"os"
	"time"
)

// usage returns a finished child's CPU time; peak RSS is measured on
// Linux only, where rusage's unit is known.
func usage(ps *os.ProcessState) (time.Duration, int64) {
	return ps.UserTime() + ps.SystemTime(), 0
}
