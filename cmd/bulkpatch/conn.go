package main

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/bulkpatch/bulkpatch/internal/auth"
	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// logger is the stderr logger for --log-format; BULKPATCH_DEBUG=1 adds
// the debug events.
func (e *env) logger(p paceFlags) *slog.Logger {
	l := report.NewLogger(e.stderr, p.logFormat == "json", e.getenv("BULKPATCH_DEBUG") != "")
	if e.quiet {
		l = slog.New(quietHandler{l.Handler()})
	}
	return l
}

// quietHandler passes on warnings and errors only (--quiet).
type quietHandler struct{ slog.Handler }

func (h quietHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return l >= slog.LevelWarn && h.Handler.Enabled(ctx, l)
}

// connection is a Graph client and the sign-in behind it.
type connection struct {
	client *graph.Client
	root   string
	cloud  auth.Cloud
	tokens *auth.Source
}

// connect builds the Graph client; it does not contact anything yet. Its
// errors are configuration mistakes: usage errors (exit 2).
func (e *env) connect(cmd string, c connFlags, p paceFlags, logger *slog.Logger) (*connection, error) {
	cloud, err := auth.LookupCloud(c.cloud)
	if err != nil {
		return nil, &usageError{cmd: cmd, err: err}
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
		return nil, &usageError{cmd: cmd, err: err}
	}
	client, err := graph.New(graph.Config{
		BaseURL:        root,
		HTTPClient:     e.graphHTTP,
		Tokens:         src,
		WriteRate:      p.rate,
		ReadRate:       p.readRate,
		MaxRetries:     p.maxRetries,
		RequestTimeout: p.requestTimeout,
		Logger:         logger,
		UserAgent:      "bulkpatch/" + version,
	})
	if err != nil {
		return nil, &usageError{cmd: cmd, err: err}
	}
	return &connection{client: client, root: root, cloud: cloud, tokens: src}, nil
}

// signIn fetches the first token before any row is dispatched, so that a
// device-code prompt or a broken sign-in shows up at once rather than in
// every worker, and says who the token names (for display only). A
// sign-in that was tried and failed is an *authError.
func (c *connection) signIn(ctx context.Context) (auth.Identity, error) {
	tok, err := c.tokens.Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return auth.Identity{}, ctx.Err()
		}
		return auth.Identity{}, &authError{fmt.Errorf("signing in (%s): %w", c.tokens.Kind(), err)}
	}
	return auth.IdentityOf(tok), nil
}
