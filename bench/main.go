// Command bench measures bulkpatch end to end and writes BENCHMARKS.md:
// it builds the real bulkpatch binary, serves the embedded Graph emulator
// on 127.0.0.1 from this process, runs the binary against it, and reports
// every figure as a ratio against a baseline measured in the same run.
// `make bench` runs it from the module root:
//
//	go run ./bench -out BENCHMARKS.md
//
// -quick makes a small smoke run; -only limits, latency, batch, overhead,
// cpu, peers, badday, share, reapply, devices or micro (comma-separated)
// runs some figures only. The same
// binary also serves as the baselines (see child.go), and starts every
// measured child (see spawn.go).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		out    = fs.String("out", "BENCHMARKS.md", "where to write the report")
		quick  = fs.Bool("quick", false, "small sizes: a smoke run, not figures to publish")
		only   = fs.String("only", "", "comma-separated figures to run (limits, latency, batch, overhead, cpu, peers, badday, share, reapply, devices, micro); default all")
		newman = fs.Bool("newman", true, "install Newman and the Graph JS SDK with npm and run them as peers")
		keep   = fs.Bool("keep", false, "keep the temporary directory (inputs, results files)")
		goCmd  = fs.String("go", envOr("GO", "go"), "the go command")
		bin    = fs.String("bin", "", "measure this bulkpatch binary instead of building ./cmd/bulkpatch")
		mode   = fs.String("mode", "", "internal: run as a baseline child (plaincsv or sequential)")
		rawURL = fs.String("url", "", "internal: the emulator for -mode sequential")
		conc   = fs.Int("concurrency", 1, "internal: requests in flight for -mode sequential")
		report = fs.String("report", "", "internal: where -mode spawn writes its child's exit code, time and rusage")
		env    []string
	)
	fs.Func("env", "internal: with -mode spawn, add KEY=VALUE to the child's environment (repeatable)", func(s string) error {
		env = append(env, s)
		return nil
	})
	if err := fs.Parse(args); err != nil {
		return 2
	}
	if *mode == "spawn" {
		if err := spawn(*report, env, fs.Args()); err != nil {
			fmt.Fprintf(stderr, "bench -mode spawn: %v\n", err)
			return 1
		}
		return 0
	}
	if *mode != "" {
		if err := runChildMode(ctx, *mode, *rawURL, *conc, fs.Args(), stdout); err != nil {
			fmt.Fprintf(stderr, "bench -mode %s: %v\n", *mode, err)
			return 1
		}
		return 0
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "bench: unexpected arguments %q\n", fs.Args())
		return 2
	}
	cfg := fullConfig()
	if *quick {
		cfg = quickConfig()
	}
	cfg.newman = *newman
	want, err := parseOnly(*only)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 2
	}
	rep, err := measure(ctx, cfg, want, *goCmd, *bin, *keep, stderr)
	if err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	rep.Quick = *quick
	if err := os.WriteFile(*out, []byte(rep.Render()), 0o644); err != nil {
		fmt.Fprintf(stderr, "bench: %v\n", err)
		return 1
	}
	fmt.Fprintf(stderr, "bench: wrote %s in %v\n", *out, rep.Elapsed.Round(time.Second))
	return 0
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}

var figures = []string{"limits", "latency", "batch", "overhead", "cpu", "peers", "badday", "share", "reapply", "devices", "micro"}

func parseOnly(s string) (map[string]bool, error) {
	want := map[string]bool{}
	if s == "" {
		for _, f := range figures {
			want[f] = true
		}
		return want, nil
	}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if !contains(figures, f) {
			return nil, fmt.Errorf("-only: unknown figure %q (want %s)", f, strings.Join(figures, ", "))
		}
		want[f] = true
	}
	if want["peers"] {
		want["limits"] = true // peers reuse figure 1's run
	}
	return want, nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// measure builds bulkpatch and runs the wanted figures.
func measure(ctx context.Context, cfg config, want map[string]bool, goCmd, bin string, keep bool, log io.Writer) (*Report, error) {
	start := time.Now()
	root, err := moduleRoot()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "bulkpatch-bench-")
	if err != nil {
		return nil, err
	}
	if keep {
		fmt.Fprintf(log, "bench: keeping %s\n", dir)
	} else {
		defer os.RemoveAll(dir)
	}
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	b := &bench{cfg: cfg, bin: filepath.Join(dir, "bulkpatch"), self: self, dir: dir, log: log, gen: map[string]bool{}}
	rep := &Report{Started: start, Config: cfg, Machine: machine(ctx, goCmd)}

	if bin != "" {
		if b.bin, err = filepath.Abs(bin); err != nil {
			return nil, err
		}
		rep.Build = "(not built: -bin " + bin + ")"
	} else {
		rep.Build = "go build -o $TMP/bulkpatch ./cmd/bulkpatch"
		p, err := runChildIn(ctx, root, rep.Build, nil, goCmd, "build", "-o", b.bin, "./cmd/bulkpatch")
		if err == nil && p.Exit != 0 {
			err = fmt.Errorf("exit %d: %s", p.Exit, p.tail())
		}
		if err != nil {
			return nil, fmt.Errorf("building bulkpatch: %w", err)
		}
		b.logf("built bulkpatch in %v", p.Wall.Round(time.Millisecond))
	}

	steps := []struct {
		name string
		run  func()
	}{
		{"overhead", func() { rep.Overhead = b.overhead(ctx) }},
		{"limits", func() { lr := b.limits(ctx); rep.Limits = &lr }},
		{"latency", func() { rep.Latency = b.latencyRuns(ctx) }},
		{"batch", func() { br := b.batchRuns(ctx); rep.Batch = &br }},
		{"cpu", func() { cr := b.cpuRuns(ctx); rep.CPU = &cr }},
		{"peers", func() { pr := b.peers(ctx, *rep.Limits); rep.Peers = &pr }},
		{"badday", func() { bd := b.badDay(ctx); rep.BadDay = &bd }},
		{"share", func() { sr := b.share(ctx); rep.Share = &sr }},
		{"reapply", func() { ra := b.reapply(ctx); rep.Reapply = &ra }},
		{"devices", func() { dr := b.devices(ctx); rep.Devices = &dr }},
		{"micro", func() { mr := b.micro(ctx, goCmd, root); rep.Micro = &mr }},
	}
	for _, s := range steps {
		if !want[s.name] {
			continue
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		b.logf("figure %s", s.name)
		s.run()
	}
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rep.Machine.LoadEnd = loadavg()
	rep.Elapsed = time.Since(start)
	return rep, nil
}

// moduleRoot finds the directory holding go.mod, from the working
// directory up.
func moduleRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", err
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("no go.mod here or above: run from inside the bulkpatch module")
		}
		dir = parent
	}
}
