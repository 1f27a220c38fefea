package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
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
