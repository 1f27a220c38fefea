package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// emulatorFlags configure the embedded Graph emulator.
type emulatorFlags struct {
	listen string
	seed   string
	dump   string
	opt    emulator.Options
}

func (e *env) emulator(ctx context.Context, args []string) error {
	fset := e.newFlagSet("emulator")
	var f emulatorFlags
	fset.StringVar(&f.listen, "listen", "127.0.0.1:8089", "loopback address to serve on")
	fset.StringVar(&f.seed, "seed", "", "state to start from (JSON: {\"mobileApps\":[...]}); default: empty")
	fset.StringVar(&f.dump, "dump", "", "write the final state here on exit")
	o := &f.opt
	fset.IntVar(&o.WriteLimit, "write-limit", 0, "writes allowed per --window (Intune: 100 per 20s); 0: no limit")
	fset.IntVar(&o.ReadLimit, "read-limit", 0, "requests allowed per --window (Intune: 1000 per 20s); 0: no limit")
	fset.DurationVar(&o.Window, "window", 20*time.Second, "sliding window of the limits")
	fset.StringVar(&o.RetryAfter, "retry-after", "integer", "Retry-After on 429: integer, fractional, none or mixed")
	fset.BoolVar(&o.NoContent, "no-content", false, "answer successful PATCHes with 204 and no body, as Intune often does")
	fset.DurationVar(&o.Latency, "latency", 0, "added to every answer")
	fset.Float64Var(&o.Faults.ResetBeforeApply, "fault-reset-before", 0, "share of writes whose connection is reset before applying")
	fset.Float64Var(&o.Faults.ResetAfterApply, "fault-reset-after", 0, "share of writes applied, then reset")
	fset.Float64Var(&o.Faults.Hang, "fault-hang", 0, "share of writes that hang without an answer")
	fset.DurationVar(&o.Faults.HangFor, "fault-hang-for", 2*time.Minute, "how long a hanging write hangs")
	fset.Float64Var(&o.Faults.ServerError, "fault-5xx", 0, "share of writes answered 500/502/503/504")
	fset.Float64Var(&o.Faults.ThrottleAfterApply, "fault-429-after", 0, "share of writes applied, then answered 429")
	fset.Int64Var(&o.Seed, "fault-seed", 1, "seed of the fault and shuffle choices (reproducible runs)")
	fset.IntVar(&o.TokenUses, "token-uses", 0, "a token works for this many requests, then 401 (0: forever)")
	fset.BoolVar(&o.RequireToken, "require-token", false, "answer 401 when there is no bearer token")
	fset.StringVar(&o.ForbiddenToken, "forbidden-token", "", "answer 403 to this token")
	fset.BoolVar(&o.RemovedSegment, "removed-segment", false, "act like tenants that no longer serve deviceStatuses (400 on every status route)")
	fset.IntVar(&o.PageSize, "page-size", 50, "objects per collection page")
	if _, err := parse(fset, args, 0); err != nil {
		return err
	}
	if !isLoopbackAddr(f.listen) {
		return usagef(fset.Name(), "--listen %s: the emulator serves loopback addresses only", f.listen)
	}
	st := &emulator.State{}
	if f.seed != "" {
		var err error
		if st, err = loadState(f.seed); err != nil {
			return &usageError{cmd: fset.Name(), err: err}
		}
	}
	srv, err := emulator.New(st, f.opt)
	if err != nil {
		return &usageError{cmd: fset.Name(), err: err}
	}
	url, err := srv.Start(f.listen)
	if err != nil {
		return &usageError{cmd: fset.Name(), err: err}
	}
	fmt.Fprintf(e.stdout, "emulator serving %s (use --graph-url %s and any BULKPATCH_TOKEN); Ctrl-C stops it\n", url, url)
	<-ctx.Done()
	srv.Close()
	stats, _ := json.Marshal(srv.Stats())
	fmt.Fprintf(e.stderr, "emulator stats: %s\n", stats)
	if f.dump != "" {
		b, err := json.MarshalIndent(srv.Snapshot(), "", "  ")
		if err == nil {
			err = os.WriteFile(f.dump, b, 0o600)
		}
		if err != nil {
			return fmt.Errorf("dumping state: %w", err)
		}
	}
	return nil
}

func loadState(path string) (*emulator.State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := emulator.LoadState(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

func isLoopbackAddr(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
