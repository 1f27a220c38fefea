package main

import (
	"cmp"
	"fmt"
	"time"

	"github.com/spf13/pflag"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/bulkpatch/bulkpatch/internal/session"
)

// inputFlags say how to read the input CSV.
type inputFlags struct {
	delimiter string
	maxRows   int
	resource  string
	encoding  string
}

func (f *inputFlags) add(fs *pflag.FlagSet) {
	fs.StringVar(&f.resource, "resource", "", "what the rows describe (see bulkpatch resources; default: inferred from the header)")
	fs.StringVar(&f.delimiter, "delimiter", "", "input delimiter: , ; or tab (default: detected from the header, or an Excel sep= line)")
	fs.StringVar(&f.encoding, "encoding", "auto", "input encoding: auto (UTF-8, or UTF-16 with a BOM), utf-8, utf-16, windows-1252 (Excel's \"CSV (Comma delimited)\")")
	fs.IntVar(&f.maxRows, "max-rows", 0, "refuse an input with more data rows than this (0: no limit); guards against feeding the wrong file")
}

// options returns how to read the input, or what is wrong with the flags.
func (f *inputFlags) options() (input.Options, error) {
	o := input.Options{MaxRows: f.maxRows}
	var err error
	if o.Comma, err = csvio.ParseDelimiter(f.delimiter); err != nil {
		return o, fmt.Errorf("--delimiter %w", err)
	}
	if o.Encoding, err = csvio.ParseEncoding(f.encoding); err != nil {
		return o, fmt.Errorf("--encoding: %w", err)
	}
	if f.maxRows < 0 {
		return o, fmt.Errorf("--max-rows must not be negative")
	}
	if o.Resource, err = resource.Find(f.resource); err != nil {
		return o, fmt.Errorf("--resource %w", err)
	}
	return o, nil
}

// connFlags say where Graph is and how to sign in (plan --reconcile,
// apply, export), bound straight into the session's Config; connect adds
// what comes from the process. Defaults come from the environment.
type connFlags struct{ session.Config }

func (c *connFlags) add(fs *pflag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.GraphURL, "graph-url", getenv("BULKPATCH_GRAPH_URL"), "Graph API root (default: the cloud's, e.g. https://graph.microsoft.com/beta); http:// only for loopback")
	fs.StringVar(&c.Cloud, "cloud", cmp.Or(getenv("BULKPATCH_CLOUD"), "global"), "national cloud: global, usgov, dod or china")
	fs.StringVar(&c.Auth.Kind, "auth", cmp.Or(getenv("BULKPATCH_AUTH"), "auto"), "sign-in: token, token-command, environment, azure-cli, device-code or auto")
	fs.StringVar(&c.Auth.TokenCommand, "token-command", getenv("BULKPATCH_TOKEN_COMMAND"), "command that prints a bearer token (run again when Graph rejects it)")
	fs.StringVar(&c.Auth.TenantID, "tenant", "", "tenant id for azidentity sign-in (default $AZURE_TENANT_ID)")
	fs.StringVar(&c.Auth.ClientID, "client-id", "", "app (client) id for azidentity sign-in (default $AZURE_CLIENT_ID)")
	fs.StringVar(&c.Auth.AuthorityHost, "authority-host", getenv("BULKPATCH_AUTHORITY_HOST"), "override the cloud's sign-in authority (private clouds, tests)")
	fs.StringVar(&c.CACert, "ca-cert", getenv("BULKPATCH_CA_CERT"), "PEM file of a certificate authority to trust for the Graph root, besides the system's (the emulator's --tls)")
}

// paceFlags say how fast and how stubbornly to talk to Graph, bound
// straight into the client's Config and the run's Options.
type paceFlags struct {
	rateSet   bool          // --rate was given; otherwise the resource's default applies
	graph     graph.Config  // --rate, --read-rate, --max-retries, --request-timeout
	run       apply.Options // --concurrency, --batch, --max-duration
	logFormat string
	progress  string
}

func (p *paceFlags) add(fs *pflag.FlagSet) {
	p.addRead(fs)
	fs.Float64Var(&p.graph.WriteRate, "rate", 5, "writes per second for the whole run (default: the resource's Intune bucket, e.g. 5 for apps, 10 for devices)")
	fs.IntVar(&p.run.Concurrency, "concurrency", 4, "requests in flight at most")
	fs.IntVar(&p.run.Batch, "batch", 0, "0: one request per row; 1-20: rows per JSON $batch request")
	fs.DurationVar(&p.run.MaxDuration, "max-duration", 0, "stop dispatching new rows after this long, finish rows in flight, exit 6 (0: no limit)")
	fs.StringVar(&p.progress, "progress", "auto", "progress display: auto, always or never")
}

// addRead adds the flags of a command that only reads (export).
func (p *paceFlags) addRead(fs *pflag.FlagSet) {
	p.graph.WriteRate, p.run.Concurrency, p.progress = 5, 4, "never" // what check wants of flags it does not have
	fs.Float64Var(&p.graph.ReadRate, "read-rate", 50, "reads per second (reconcile, export)")
	fs.IntVar(&p.graph.MaxRetries, "max-retries", 10, "retries per request for transient failures (429, 5xx, timeouts, resets)")
	fs.DurationVar(&p.graph.RequestTimeout, "request-timeout", 60*time.Second, "timeout of each HTTP attempt")
	fs.StringVar(&p.logFormat, "log-format", "text", "stderr log format: text or json (one event per line)")
}

func (p *paceFlags) check() error {
	switch {
	case p.graph.WriteRate <= 0:
		return fmt.Errorf("--rate must be positive")
	case p.graph.ReadRate <= 0:
		return fmt.Errorf("--read-rate must be positive")
	case p.run.Concurrency < 1 || p.run.Concurrency > 256:
		return fmt.Errorf("--concurrency must be 1 to 256")
	case p.run.Batch < 0 || p.run.Batch > 20:
		return fmt.Errorf("--batch must be 0 to 20")
	case p.graph.MaxRetries < 0:
		return fmt.Errorf("--max-retries must not be negative")
	case p.graph.RequestTimeout <= 0:
		return fmt.Errorf("--request-timeout must be positive")
	case p.run.MaxDuration < 0:
		return fmt.Errorf("--max-duration must not be negative")
	case p.logFormat != "text" && p.logFormat != "json":
		return fmt.Errorf("--log-format must be text or json")
	case p.progress != "auto" && p.progress != "always" && p.progress != "never":
		return fmt.Errorf("--progress must be auto, always or never")
	}
	return nil
}

// runFlags are the flags of a command that reads an input and may talk
// to Graph (plan, apply).
type runFlags struct {
	in   inputFlags
	conn connFlags
	pace paceFlags
}

func (f *runFlags) add(fs *pflag.FlagSet, getenv func(string) string) {
	f.in.add(fs)
	f.conn.add(fs, getenv)
	f.pace.add(fs)
}

// options checks the input and pace flags and returns how to read the
// input.
func (f *runFlags) options(cmd string) (input.Options, error) {
	opt, err := f.in.options()
	if err == nil {
		err = f.pace.check()
	}
	if err != nil {
		return opt, &usageError{cmd: cmd, err: err}
	}
	return opt, nil
}
