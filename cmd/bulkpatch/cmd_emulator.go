package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// emulatorFlags configure the embedded Graph emulator.
type emulatorFlags struct {
	listen  string
	seed    string
	dump    string
	certOut string
	opt     emulator.Options
}

// bind binds the emulator's flags to f.
func (f *emulatorFlags) bind(fs *pflag.FlagSet) {
	fs.StringVar(&f.listen, "listen", "127.0.0.1:8089", "loopback address to serve on")
	fs.StringVar(&f.seed, "seed", "", "state to start from (JSON: {\"mobileApps\":[...], \"resources\":{...}}); default: empty")
	fs.StringVar(&f.dump, "dump", "", "write the final state here on exit")
	o := &f.opt
	fs.IntVar(&o.WriteLimit, "write-limit", 0, "writes allowed per --window (Intune: 100 per 20s); 0: no limit")
	fs.IntVar(&o.ReadLimit, "read-limit", 0, "requests allowed per --window (Intune: 1000 per 20s); 0: no limit")
	fs.DurationVar(&o.Window, "window", 20*time.Second, "sliding window of the limits")
	fs.StringVar(&o.RetryAfter, "retry-after", "integer", "Retry-After on 429: integer, fractional, none or mixed")
	fs.BoolVar(&o.NoContent, "no-content", false, "answer successful PATCHes with 204 and no body, as Intune often does")
	fs.DurationVar(&o.Latency, "latency", 0, "added to every answer")
	fs.Float64Var(&o.Faults.ResetBeforeApply, "fault-reset-before", 0, "share of writes whose connection is reset before applying")
	fs.Float64Var(&o.Faults.ResetAfterApply, "fault-reset-after", 0, "share of writes applied, then reset")
	fs.Float64Var(&o.Faults.Hang, "fault-hang", 0, "share of writes that hang without an answer")
	fs.DurationVar(&o.Faults.HangFor, "fault-hang-for", 2*time.Minute, "how long a hanging write or read hangs")
	fs.Float64Var(&o.Faults.ServerError, "fault-5xx", 0, "share of writes answered 500/502/503/504")
	fs.Float64Var(&o.Faults.ThrottleAfterApply, "fault-429-after", 0, "share of writes applied, then answered 429")
	fs.Float64Var(&o.Faults.IgnoreWrite, "fault-ignore-write", 0, "share of writes answered 200/204 but not applied")
	fs.Float64Var(&o.ReadFaults.ResetBeforeApply, "fault-read-reset", 0, "share of reads (GETs, pages, $batch of reads) whose connection is reset")
	fs.Float64Var(&o.ReadFaults.Hang, "fault-read-hang", 0, "share of reads that hang without an answer (for --fault-hang-for)")
	fs.Float64Var(&o.ReadFaults.ServerError, "fault-read-5xx", 0, "share of reads answered 500/502/503/504")
	fs.Float64Var(&o.ReadFaults.ThrottleAfterApply, "fault-read-429", 0, "share of reads answered 429")
	fs.Int64Var(&o.Seed, "fault-seed", 1, "seed of the fault, $batch and shuffle choices (reproducible runs)")
	fs.Func("token", "accept only this bearer token (repeatable; default: any token)", func(v string) error {
		o.Tokens = append(o.Tokens, v)
		return nil
	})
	fs.IntVar(&o.TokenUses, "token-uses", 0, "a token works for this many requests, then 401 (0: forever)")
	fs.BoolVar(&o.RequireToken, "require-token", false, "with --lenient, still answer 401 when there is no bearer token")
	fs.StringVar(&o.ForbiddenToken, "forbidden-token", "", "answer 403 to this token")
	fs.StringVar(&o.ApprovalRequired, "approval-required", "", "answer writes 403 as under Intune Multi Admin Approval: code or header (the two observed wordings)")
	fs.BoolVar(&o.RemovedSegment, "removed-segment", false, "act like tenants that no longer serve deviceStatuses (400 on every status route)")
	fs.IntVar(&o.PageSize, "page-size", 50, "objects per collection page")
	fs.BoolVar(&o.TLS, "tls", false, "serve HTTPS with a freshly generated self-signed certificate")
	fs.StringVar(&f.certOut, "tls-cert-out", "", "with --tls, write the certificate (PEM) here for clients to trust")
	fs.BoolVar(&o.Lenient, "lenient", false, "accept what Graph refuses, as the emulator used to: no token, /v1.0 like /beta, no Content-Type, unknown query options, sequential $batch")
}

func (e *env) emulatorCmd() *cobra.Command {
	var f emulatorFlags
	c := &cobra.Command{Use: "emulator", Args: args(0, "no arguments")}
	f.bind(c.Flags())
	c.RunE = runE(func(ctx context.Context, _ []string) error { return e.emulator(ctx, c.CommandPath(), f) })
	return c
}

func (e *env) emulator(ctx context.Context, cmd string, f emulatorFlags) error {
	f.opt.ReadFaults.HangFor = f.opt.Faults.HangFor // --fault-hang-for bounds hanging reads too
	switch {
	case f.certOut != "" && !f.opt.TLS:
		return usagef(cmd, "--tls-cert-out needs --tls")
	case !emulator.IsLoopback(f.listen):
		return usagef(cmd, "--listen %s: the emulator serves loopback addresses only", f.listen)
	}
	st := &emulator.State{}
	if f.seed != "" {
		var err error
		if st, err = emulator.LoadStateFile(f.seed); err != nil {
			return &usageError{cmd: cmd, err: err}
		}
	}
	srv, err := emulator.New(st, f.opt)
	if err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	if f.certOut != "" {
		if err := os.WriteFile(f.certOut, srv.CertPEM(), 0o644); err != nil {
			return fmt.Errorf("writing the certificate: %w", err)
		}
	}
	url, err := srv.Start(f.listen)
	if err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	fmt.Fprintf(e.stdout, "emulator serving %s (use --graph-url %s%s); Ctrl-C stops it\n", url, url, f.opt.Hints(f.certOut))
	<-ctx.Done()
	srv.Close()
	stats, _ := json.Marshal(srv.Stats())
	fmt.Fprintf(e.stderr, "emulator stats: %s\n", stats)
	if f.dump == "" {
		return nil
	}
	return srv.Dump(f.dump)
}
