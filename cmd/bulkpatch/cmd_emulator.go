package main

import (
	"context"
	"errors"
	"time"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

func (e *env) emulatorCmd() *cobra.Command {
	var cfg emulator.Config
	c := &cobra.Command{Use: "emulator", Args: args(0, "no arguments")}
	bindEmulator(c.Flags(), &cfg)
	c.RunE = runE(func(ctx context.Context, _ []string) error {
		err := cfg.Serve(ctx, e.stdout, e.stderr)
		if ce := (*emulator.ConfigError)(nil); errors.As(err, &ce) {
			return &usageError{cmd: c.CommandPath(), err: ce.Err}
		}
		return err
	})
	return c
}

// bindEmulator binds the emulator's flags in fs to cfg, with their
// defaults.
func bindEmulator(fs *pflag.FlagSet, c *emulator.Config) {
	fs.StringVar(&c.Listen, "listen", "127.0.0.1:8089", "loopback address to serve on")
	fs.StringVar(&c.Seed, "seed", "", "state to start from (JSON: {\"mobileApps\":[...], \"resources\":{...}}); default: empty")
	fs.StringVar(&c.Dump, "dump", "", "write the final state here on exit")
	o := &c.Options
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
	fs.StringVar(&o.ApprovalRequired, "approval-required", "", "answer writes 403 as under Intune Multi Admin Approval: code or header (the two observed wordings; alone: code)")
	fs.Lookup("approval-required").NoOptDefVal = "code"
	fs.BoolVar(&o.RemovedSegment, "removed-segment", false, "act like tenants that no longer serve deviceStatuses (400 on every status route)")
	fs.IntVar(&o.PageSize, "page-size", 50, "objects per collection page")
	fs.BoolVar(&o.TLS, "tls", false, "serve HTTPS with a freshly generated self-signed certificate")
	fs.StringVar(&c.CertOut, "tls-cert-out", "", "with --tls, write the certificate (PEM) here for clients to trust")
	fs.BoolVar(&o.Lenient, "lenient", false, "accept what Graph refuses, as the emulator used to: no token, /v1.0 like /beta, no Content-Type, unknown query options, sequential $batch")
}
