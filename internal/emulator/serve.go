package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/pflag"
)

// Config is a standalone emulator, as `bulkpatch emulator` runs it: the
// Options of its Server and what Serve does around it.
type Config struct {
	Listen  string // loopback host:port to serve on
	Seed    string // seed file to start from (see LoadStateFile); "": empty
	Dump    string // where Serve writes the final state; "": nowhere
	CertOut string // with Options.TLS, where Serve writes the certificate (PEM)
	Options Options
}

// Bind binds c to the emulator command's flags in fs, with their
// defaults. Main calls it: the flags stay beside the Options they set,
// so that a new knob and its flag are one change.
func (c *Config) Bind(fs *pflag.FlagSet) {
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
	fs.StringVar(&o.ApprovalRequired, "approval-required", "", "answer writes 403 as under Intune Multi Admin Approval: code or header (the two observed wordings)")
	fs.BoolVar(&o.RemovedSegment, "removed-segment", false, "act like tenants that no longer serve deviceStatuses (400 on every status route)")
	fs.IntVar(&o.PageSize, "page-size", 50, "objects per collection page")
	fs.BoolVar(&o.TLS, "tls", false, "serve HTTPS with a freshly generated self-signed certificate")
	fs.StringVar(&c.CertOut, "tls-cert-out", "", "with --tls, write the certificate (PEM) here for clients to trust")
	fs.BoolVar(&o.Lenient, "lenient", false, "accept what Graph refuses, as the emulator used to: no token, /v1.0 like /beta, no Content-Type, unknown query options, sequential $batch")
}

// ConfigError is a Config Serve cannot start with: a mistake in what the
// user asked for (a non-loopback address, a missing seed, bad Options),
// as against a failure while serving.
type ConfigError struct{ Err error }

func (e *ConfigError) Error() string { return e.Err.Error() }
func (e *ConfigError) Unwrap() error { return e.Err }

// Serve runs the emulator c describes until ctx is done: it announces its
// URL (and which token and certificate to use) on stdout, then, once
// stopped, writes its Stats as JSON to stderr and dumps the final state
// to c.Dump. A Config it cannot start with is a *ConfigError.
func (c Config) Serve(ctx context.Context, stdout, stderr io.Writer) error {
	c.Options.ReadFaults.HangFor = c.Options.Faults.HangFor // --fault-hang-for bounds hanging reads too
	switch {
	case c.CertOut != "" && !c.Options.TLS:
		return &ConfigError{fmt.Errorf("--tls-cert-out needs --tls")}
	case !IsLoopback(c.Listen):
		return &ConfigError{fmt.Errorf("--listen %s: the emulator serves loopback addresses only", c.Listen)}
	}
	st := &State{}
	if c.Seed != "" {
		var err error
		if st, err = LoadStateFile(c.Seed); err != nil {
			return &ConfigError{err}
		}
	}
	srv, err := New(st, c.Options)
	if err != nil {
		return &ConfigError{err}
	}
	if c.CertOut != "" {
		if err := os.WriteFile(c.CertOut, srv.CertPEM(), 0o644); err != nil {
			return fmt.Errorf("writing the certificate: %w", err)
		}
	}
	url, err := srv.Start(c.Listen)
	if err != nil {
		return &ConfigError{err}
	}
	fmt.Fprintf(stdout, "emulator serving %s (use --graph-url %s%s); Ctrl-C stops it\n", url, url, c.Options.Hints(c.CertOut))
	<-ctx.Done()
	srv.Close()
	stats, _ := json.Marshal(srv.Stats())
	fmt.Fprintf(stderr, "emulator stats: %s\n", stats)
	if c.Dump == "" {
		return nil
	}
	return srv.Dump(c.Dump)
}
