package main

import (
	"context"
	"errors"
	"log/slog"

	"github.com/bulkpatch/bulkpatch/internal/auth"
	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/session"
)

// logger is the stderr logger for --log-format and --quiet;
// BULKPATCH_DEBUG=1 adds the debug events.
func (e *env) logger(p paceFlags) *slog.Logger {
	return report.NewLogger(e.stderr, report.LogOptions{JSON: p.logFormat == "json", Debug: e.getenv("BULKPATCH_DEBUG") != "", Quiet: e.quiet})
}

// connect builds the Graph client; it does not contact anything yet. Its
// errors are configuration mistakes: usage errors (exit 2).
func (e *env) connect(cmd string, c connFlags, p paceFlags, logger *slog.Logger) (*session.Session, error) {
	cfg := c.Config
	cfg.Auth.Getenv, cfg.Auth.Interactive, cfg.Auth.Prompt = e.getenv, e.stdinTTY, e.stderr
	cfg.Graph = p.graph
	cfg.Graph.MaxInFlight = p.run.Concurrency // --concurrency: requests in flight, batched or not
	cfg.Graph.HTTPClient, cfg.Graph.Logger, cfg.Graph.UserAgent = e.graphHTTP, logger, "bulkpatch/"+version
	if e.authTransport != nil {
		// Only when set: a nil *http.Client in the interface would not
		// be a nil Transport.
		cfg.Auth.Transport = e.authTransport
	}
	s, err := session.Open(cfg)
	if err != nil {
		return nil, &usageError{cmd: cmd, err: err}
	}
	return s, nil
}

// signIn signs s in (session.SignIn); a sign-in that was tried and
// failed is an *authError (exit 4).
func signIn(ctx context.Context, s *session.Session) (auth.Identity, error) {
	id, err := s.SignIn(ctx)
	if se := (*session.SignInError)(nil); errors.As(err, &se) {
		return id, &authError{err}
	}
	return id, err
}
