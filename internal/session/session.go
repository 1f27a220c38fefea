// Package session connects bulkpatch to one tenant's Microsoft Graph: a
// graph.Client whose requests an auth.Source signs, put together from
// where Graph is and how to sign in, and the first sign-in, made before
// any row is sent.
package session

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/auth"
	"github.com/bulkpatch/bulkpatch/internal/graph"
)

// Config is where Graph is, how to sign in to it and how to talk to it.
type Config struct {
	// Cloud names the national cloud (auth.LookupCloud): it decides the
	// sign-in and, unless GraphURL is set, the Graph root.
	Cloud    string
	GraphURL string
	// CACert, when set, is a PEM file of a certificate authority the
	// Graph client trusts besides the system's (--ca-cert: an emulator's
	// self-signed certificate). Verification is never turned off.
	CACert string
	// Auth says how to sign in; Open sets its Cloud.
	Auth auth.Options
	// Graph configures the client; Open sets its BaseURL and Tokens.
	Graph graph.Config
}

// ForPlan makes c send a saved plan to root, the Graph root the plan was
// made for ("": it names none; c is left as it is), unless c names a
// place of its own: a GraphURL, or a Cloud other than "global". That
// place must then be root, trailing slashes aside, or ForPlan returns a
// *RootError (or why the place cannot be resolved).
func (c *Config) ForPlan(root string) error {
	if root == "" {
		return nil
	}
	if c.GraphURL == "" && c.Cloud == "global" {
		c.GraphURL = root
		return nil
	}
	got, err := auth.GraphRoot(c.Cloud, c.GraphURL)
	if err != nil {
		return err
	}
	if want := strings.TrimRight(root, "/"); strings.TrimRight(got, "/") != want {
		return &RootError{Plan: want, Got: got}
	}
	return nil
}

// RootError reports a Graph root other than the one a saved plan was
// made for.
type RootError struct {
	Plan string // the plan's root, without a trailing slash
	Got  string // the root named instead
}

func (e *RootError) Error() string {
	return fmt.Sprintf("the plan was made for %s, not %s; plan again, or leave out --graph-url/--cloud to use the plan's", e.Plan, e.Got)
}

// Session is a Graph client and the sign-in behind it.
type Session struct {
	Client *graph.Client
	Root   string // the Graph root the client sends to
	Tokens *auth.Source
}

// Open builds the client and its sign-in from c. It contacts nothing yet,
// so its errors are all mistakes in c.
func Open(c Config) (*Session, error) {
	cloud, err := auth.LookupCloud(c.Cloud)
	if err != nil {
		return nil, err
	}
	root := cmp.Or(c.GraphURL, cloud.GraphRoot())
	c.Auth.Cloud = cloud
	tokens, err := auth.New(c.Auth)
	if err != nil {
		return nil, err
	}
	c.Graph.BaseURL, c.Graph.Tokens = root, tokens
	if c.CACert != "" {
		if c.Graph.RootCAs, err = graph.CertPool(c.CACert); err != nil {
			return nil, fmt.Errorf("--ca-cert: %w", err)
		}
	}
	client, err := graph.New(c.Graph)
	if err != nil {
		return nil, err
	}
	return &Session{Client: client, Root: root, Tokens: tokens}, nil
}

// SignInError is a sign-in that was tried and failed.
type SignInError struct {
	Kind string // the kind of sign-in (auth.KindNames)
	Err  error
}

func (e *SignInError) Error() string { return fmt.Sprintf("signing in (%s): %v", e.Kind, e.Err) }
func (e *SignInError) Unwrap() error { return e.Err }

// SignIn fetches the first token before any row is dispatched, so that a
// device-code prompt or a broken sign-in shows up at once rather than in
// every worker, and says who the token names (for display only). A
// sign-in that was tried and failed is a *SignInError; one cut short is
// ctx's error.
func (s *Session) SignIn(ctx context.Context) (auth.Identity, error) {
	tok, err := s.Tokens.Token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return auth.Identity{}, ctx.Err()
		}
		return auth.Identity{}, &SignInError{Kind: s.Tokens.Kind(), Err: err}
	}
	return auth.IdentityOf(tok), nil
}
