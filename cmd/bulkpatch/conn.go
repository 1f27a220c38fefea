package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/auth"
	"github.com/bulkpatch/bulkpatch/internal/graph"
)

// connFlags say where Graph is and how to sign in (plan --reconcile,
// apply, export). Defaults come from the environment.
type connFlags struct {
	graphURL      string
	cloud         string
	auth          string
	tokenCommand  string
	tenant        string
	clientID      string
	authorityHost string
}

func (c *connFlags) add(fs *flag.FlagSet, getenv func(string) string) {
	fs.StringVar(&c.graphURL, "graph-url", getenv("BULKPATCH_GRAPH_URL"), "Graph API root (default: the cloud's, e.g. https://graph.microsoft.com/beta); http:// only for loopback")
	fs.StringVar(&c.cloud, "cloud", envOr(getenv, "BULKPATCH_CLOUD", "global"), "national cloud: global, usgov, dod or china")
	fs.StringVar(&c.auth, "auth", envOr(getenv, "BULKPATCH_AUTH", "auto"), "sign-in: token, token-command, environment, azure-cli, device-code or auto")
	fs.StringVar(&c.tokenCommand, "token-command", getenv("BULKPATCH_TOKEN_COMMAND"), "command that prints a bearer token (run again when Graph rejects it)")
	fs.StringVar(&c.tenant, "tenant", "", "tenant id for azidentity sign-in (default $AZURE_TENANT_ID)")
	fs.StringVar(&c.clientID, "client-id", "", "app (client) id for azidentity sign-in (default $AZURE_CLIENT_ID)")
	fs.StringVar(&c.authorityHost, "authority-host", getenv("BULKPATCH_AUTHORITY_HOST"), "override the cloud's sign-in authority (private clouds, tests)")
}

func envOr(getenv func(string) string, key, def string) string {
	if v := getenv(key); v != "" {
		return v
	}
	return def
}

// paceFlags say how fast and how stubbornly to talk to Graph.
type paceFlags struct {
	rate           float64
	readRate       float64
	concurrency    int
	batch          int
	maxRetries     int
	requestTimeout time.Duration
	maxDuration    time.Duration
	logFormat      string
	progress       string
}

func (p *paceFlags) add(fs *flag.FlagSet) {
	fs.Float64Var(&p.rate, "rate", 5, "writes per second for the whole run (Intune allows 100 per 20 s per app registration)")
	fs.Float64Var(&p.readRate, "read-rate", 50, "reads per second (reconcile, export)")
	fs.IntVar(&p.concurrency, "concurrency", 4, "requests in flight at most")
	fs.IntVar(&p.batch, "batch", 0, "0: one request per row; 1-20: rows per JSON $batch request")
	fs.IntVar(&p.maxRetries, "max-retries", 10, "retries per row for transient failures (429, 5xx, timeouts, resets)")
	fs.DurationVar(&p.requestTimeout, "request-timeout", 60*time.Second, "timeout of each HTTP attempt")
	fs.DurationVar(&p.maxDuration, "max-duration", 0, "stop dispatching new rows after this long, finish rows in flight, exit 6 (0: no limit)")
	fs.StringVar(&p.logFormat, "log-format", "text", "stderr log format: text or json (one event per line)")
	fs.StringVar(&p.progress, "progress", "auto", "progress display: auto, always or never")
}

func (p *paceFlags) check() error {
	switch {
	case p.rate <= 0:
		return fmt.Errorf("--rate must be positive")
	case p.readRate <= 0:
		return fmt.Errorf("--read-rate must be positive")
	case p.concurrency < 1 || p.concurrency > 256:
		return fmt.Errorf("--concurrency must be 1 to 256")
	case p.batch < 0 || p.batch > 20:
		return fmt.Errorf("--batch must be 0 to 20")
	case p.maxRetries < 0:
		return fmt.Errorf("--max-retries must not be negative")
	case p.requestTimeout <= 0:
		return fmt.Errorf("--request-timeout must be positive")
	case p.maxDuration < 0:
		return fmt.Errorf("--max-duration must not be negative")
	case p.logFormat != "text" && p.logFormat != "json":
		return fmt.Errorf("--log-format must be text or json")
	case p.progress != "auto" && p.progress != "always" && p.progress != "never":
		return fmt.Errorf("--progress must be auto, always or never")
	}
	return nil
}

// newLogger returns the stderr logger for --log-format. Text logs are
// short lines for people; JSON logs are one event per line for machines.
func newLogger(w io.Writer, format string, getenv func(string) string) *slog.Logger {
	level := slog.LevelInfo
	if getenv("BULKPATCH_DEBUG") != "" {
		level = slog.LevelDebug
	}
	if format == "json" {
		return slog.New(slog.NewJSONHandler(w, &slog.HandlerOptions{Level: level}))
	}
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if len(groups) == 0 && a.Key == slog.TimeKey {
				return slog.Attr{} // people read these live; cron adds its own time
			}
			return a
		}}))
}

// connection is a signed-in Graph client.
type connection struct {
	client *graph.Client
	root   string
	cloud  auth.Cloud
	tokens *auth.Source
}

// connect builds the Graph client; it does not contact anything yet.
func (e *env) connect(c connFlags, p paceFlags, logger *slog.Logger) (*connection, error) {
	cloud, err := auth.LookupCloud(c.cloud)
	if err != nil {
		return nil, err
	}
	root := c.graphURL
	if root == "" {
		root = cloud.GraphRoot()
	}
	opts := auth.Options{
		Kind:          c.auth,
		Cloud:         cloud,
		TenantID:      c.tenant,
		ClientID:      c.clientID,
		TokenCommand:  c.tokenCommand,
		Getenv:        e.getenv,
		Interactive:   e.stdinTTY,
		Prompt:        e.stderr,
		AuthorityHost: c.authorityHost,
	}
	if e.authTransport != nil {
		// Only when set: a nil *http.Client in the interface would not
		// be a nil Transport.
		opts.Transport = e.authTransport
	}
	src, err := auth.New(opts)
	if err != nil {
		return nil, err
	}
	client, err := graph.New(graph.Config{
		BaseURL:        root,
		Tokens:         src,
		WriteRate:      p.rate,
		ReadRate:       p.readRate,
		MaxRetries:     p.maxRetries,
		RequestTimeout: p.requestTimeout,
		Logger:         logger,
		UserAgent:      "bulkpatch/" + version,
	})
	if err != nil {
		return nil, err
	}
	return &connection{client: client, root: root, cloud: cloud, tokens: src}, nil
}

// signIn fetches the first token before any row is dispatched, so that a
// device-code prompt or a broken sign-in shows up at once rather than in
// every worker. It returns an exit code to stop with, or -1 to go on.
// (connect's errors are configuration, exit 2: nothing was tried yet.
// A sign-in that was tried and failed is exit 4.)
func (e *env) signIn(ctx context.Context, c *connection) int {
	if _, err := c.tokens.Token(ctx); err != nil {
		if ctx.Err() != nil {
			return exitInterrupted
		}
		e.errorf("signing in (%s): %v", c.tokens.Kind(), err)
		return exitAuth
	}
	return -1
}
