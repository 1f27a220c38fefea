package main

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// microPackages are the packages whose Go benchmarks cover the hot paths:
// CSV row decode (csvio), row validation and PATCH body encoding (plan),
// results row encoding (report), and the journal, Graph client and
// emulator costs around them.
var microPackages = []string{"csvio", "plan", "report", "journal", "graph", "emulator"}

// Micro is one Go benchmark result line.
type Micro struct {
	Package string
	Name    string // without the -GOMAXPROCS suffix
	N       int64
	NsOp    float64
	MBs     float64 // 0 when the benchmark sets no bytes
	BOp     float64
	Allocs  float64
	Extra   []string // other metrics, as "value unit"
}

// MicroRuns are the Go benchmarks of every package in microPackages.
type MicroRuns struct {
	Cmds    []string
	Results []Micro
	Errs    []string // packages whose benchmarks did not run
}

func (b *bench) micro(ctx context.Context, goCmd, root string) MicroRuns {
	var m MicroRuns
	// One go test for every package: the test binaries build in parallel,
	// and a package that does not build only loses its own figures.
	args := []string{"test", "-run=^$", "-bench=.", "-benchmem", "-count=3", "-benchtime=500ms"}
	for _, pkg := range microPackages {
		args = append(args, "./internal/"+pkg)
	}
	display := "go " + strings.Join(args, " ")
	m.Cmds = append(m.Cmds, display)
	start := time.Now()
	p, err := runChildIn(ctx, root, display, nil, goCmd, args...)
	if err != nil {
		m.Errs = append(m.Errs, err.Error())
		return m
	}
	m.Results, m.Errs = parseBenchOutput(p.Stdout)
	if p.Exit != 0 && len(m.Errs) == 0 {
		m.Errs = append(m.Errs, fmt.Sprintf("go test exit %d: %s", p.Exit, lastLines(p.Stdout, 5)))
	}
	b.logf("micro-benchmarks: %d in %v", len(m.Results), time.Since(start).Round(time.Second))
	return m
}

// parseBenchOutput splits the output of one go test over several
// packages: results by package (the fastest of each benchmark's runs),
// and the packages that failed.
func parseBenchOutput(out []byte) ([]Micro, []string) {
	var res, pkgRes []Micro
	var errs []string
	pkg := ""
	flush := func() {
		res = append(res, bestOf(pkgRes)...)
		pkgRes = nil
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		switch {
		case strings.HasPrefix(line, "pkg: "):
			flush()
			pkg = shortPkg(strings.TrimPrefix(line, "pkg: "))
		case strings.HasPrefix(line, "FAIL\t") || strings.HasPrefix(line, "--- FAIL"):
			errs = append(errs, strings.TrimSpace(strings.ReplaceAll(line, "\t", " ")))
		default:
			pkgRes = append(pkgRes, parseBench(pkg, []byte(line))...)
		}
	}
	flush()
	return res, errs
}

// shortPkg turns an import path into internal/x.
func shortPkg(path string) string {
	if i := strings.Index(path, "/internal/"); i >= 0 {
		return path[i+1:]
	}
	return path
}

func lastLines(b []byte, n int) string {
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, " | ")
}

// parseBench reads `go test -bench` output lines such as
//
//	BenchmarkRead-2   57   30028437 ns/op   86.85 MB/s   7681092 B/op   180179 allocs/op
func parseBench(pkg string, out []byte) []Micro {
	var res []Micro
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") {
			continue
		}
		n, err := strconv.ParseInt(f[1], 10, 64)
		if err != nil {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i]
			}
		}
		r := Micro{Package: pkg, Name: name, N: n}
		for i := 2; i+1 < len(f); i += 2 {
			v, err := strconv.ParseFloat(f[i], 64)
			if err != nil {
				continue
			}
			switch unit := f[i+1]; unit {
			case "ns/op":
				r.NsOp = v
			case "MB/s":
				r.MBs = v
			case "B/op":
				r.BOp = v
			case "allocs/op":
				r.Allocs = v
			default:
				r.Extra = append(r.Extra, f[i]+" "+unit)
			}
		}
		res = append(res, r)
	}
	return res
}

// bestOf keeps, for each benchmark, the run with the least ns/op (runs
// disturbed by other work on the machine are only ever slower), in the
// order the benchmarks first appear.
func bestOf(rs []Micro) []Micro {
	var out []Micro
	at := map[string]int{}
	for _, r := range rs {
		i, ok := at[r.Name]
		switch {
		case !ok:
			at[r.Name] = len(out)
			out = append(out, r)
		case r.NsOp < out[i].NsOp:
			out[i] = r
		}
	}
	return out
}

// find returns the result of benchmark name in pkg.
func (m *MicroRuns) find(pkg, name string) (Micro, bool) {
	for _, r := range m.Results {
		if r.Package == pkg && r.Name == name {
			return r, true
		}
	}
	return Micro{}, false
}
