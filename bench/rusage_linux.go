package main

import (
	"os"
	"syscall"
	"time"
)

// usage returns a finished child's CPU time (user + system) and peak
// resident set size, from its rusage (Linux reports Maxrss in KiB).
func usage(ps *os.ProcessState) (time.Duration, int64) {
	ru, ok := ps.SysUsage().(*syscall.Rusage)
	if !ok {
		return ps.UserTime() + ps.SystemTime(), 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss * 1024
}
