package main

import (
	"bufio"
	"context"
	"os"
	"os/exec"
	"runtime"
	"strconv"
	"strings"
)

// Machine describes where the figures were measured.
type Machine struct {
	NProc     int    // from nproc
	CPU       string // model name from /proc/cpuinfo
	Go        string // the toolchain that built bulkpatch
	OS        string // kernel release
	MemTotal  string // from /proc/meminfo
	LoadStart string // /proc/loadavg when the bench started
	LoadEnd   string // and when it ended
}

func machine(ctx context.Context, goCmd string) Machine {
	m := Machine{NProc: runtime.NumCPU(), CPU: "unknown", Go: runtime.Version(), OS: runtime.GOOS}
	if out, err := exec.CommandContext(ctx, "nproc").Output(); err == nil {
		if n, err := strconv.Atoi(strings.TrimSpace(string(out))); err == nil {
			m.NProc = n
		}
	}
	if v := procField("/proc/cpuinfo", "model name"); v != "" {
		m.CPU = v
	}
	if out, err := exec.CommandContext(ctx, goCmd, "version").Output(); err == nil {
		m.Go = strings.TrimSpace(string(out))
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.OS = runtime.GOOS + " " + strings.TrimSpace(string(b))
	}
	m.MemTotal = procField("/proc/meminfo", "MemTotal")
	m.LoadStart = loadavg()
	return m
}

// procField returns the value of the first "key: value" line of a /proc
// file with that key, or "".
func procField(path, key string) string {
	f, err := os.Open(path)
	if err != nil {
		return ""
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if ok && strings.TrimSpace(k) == key {
			return strings.TrimSpace(v)
		}
	}
	return ""
}

// loadavg returns the 1, 5 and 15 minute load averages, or "unknown".
func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "unknown"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "unknown"
	}
	return strings.Join(f[:3], " ")
}
