package session

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/auth"
)

func env(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestOpen(t *testing.T) {
	tests := []struct {
		name     string
		c        Config
		wantRoot string
		wantErr  bool
	}{
		{"cloud's root", Config{Cloud: "usgov", Auth: auth.Options{Kind: "token", Getenv: env(map[string]string{"BULKPATCH_TOKEN": "t"})}},
			"https://graph.microsoft.us/beta", false},
		{"explicit root", Config{Cloud: "global", GraphURL: "http://127.0.0.1:1/beta", Auth: auth.Options{Kind: "token", Getenv: env(map[string]string{"BULKPATCH_TOKEN": "t"})}},
			"http://127.0.0.1:1/beta", false},
		{"unknown cloud", Config{Cloud: "moon"}, "", true},
		{"no token", Config{Cloud: "global", Auth: auth.Options{Kind: "token", Getenv: env(nil)}}, "", true},
		{"http to a remote host", Config{Cloud: "global", GraphURL: "http://example.com/beta", Auth: auth.Options{Kind: "token", Getenv: env(map[string]string{"BULKPATCH_TOKEN": "t"})}}, "", true},
	}
	for _, tt := range tests {
		s, err := Open(tt.c)
		switch {
		case tt.wantErr && err == nil:
			t.Errorf("%s: Open succeeded, want an error", tt.name)
		case !tt.wantErr && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case !tt.wantErr && (s.Root != tt.wantRoot || s.Client == nil || s.Tokens.Kind() != "token"):
			t.Errorf("%s: root %q, kind %q; want %q, token", tt.name, s.Root, s.Tokens.Kind(), tt.wantRoot)
		}
	}
}

func TestSignIn(t *testing.T) {
	s, err := Open(Config{Cloud: "global", Auth: auth.Options{Kind: "token", Getenv: env(map[string]string{"BULKPATCH_TOKEN": "not-a-jwt"})}})
	if err != nil {
		t.Fatal(err)
	}
	if id, err := s.SignIn(t.Context()); err != nil || id != (auth.Identity{}) {
		t.Errorf("SignIn = %v, %v; want the empty identity of a token that is not a JWT", id, err)
	}

	if runtime.GOOS == "windows" {
		t.Skip("the failing token command is a POSIX shell's")
	}
	s, err = Open(Config{Cloud: "global", Auth: auth.Options{Kind: "token-command", TokenCommand: "exit 3", Getenv: env(nil)}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = s.SignIn(t.Context())
	var se *SignInError
	if !errors.As(err, &se) || se.Kind != "token-command" {
		t.Fatalf("SignIn = %v, want a *SignInError", err)
	}
	if got, want := err.Error(), "signing in (token-command): "+se.Err.Error(); got != want {
		t.Errorf("message %q, want %q", got, want)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if _, err := s.SignIn(ctx); !errors.Is(err, context.Canceled) || errors.As(err, &se) {
		t.Errorf("SignIn after cancel = %v, want context.Canceled alone", err)
	}
}

func TestForPlan(t *testing.T) {
	const plan = "https://graph.microsoft.com/beta/"
	tests := []struct {
		name    string
		c       Config
		root    string
		wantURL string // c.GraphURL after
		wantErr string
	}{
		{"plan names none", Config{Cloud: "usgov"}, "", "", ""},
		{"none named: the plan's", Config{Cloud: "global"}, plan, plan, ""},
		{"the same, named", Config{Cloud: "global", GraphURL: "https://graph.microsoft.com/beta"}, plan, "https://graph.microsoft.com/beta", ""},
		{"the same cloud", Config{Cloud: "china"}, "https://microsoftgraph.chinacloudapi.cn/beta", "", ""},
		{"another URL", Config{Cloud: "global", GraphURL: "http://127.0.0.1:1/beta"}, plan,
			"http://127.0.0.1:1/beta", "the plan was made for https://graph.microsoft.com/beta, not http://127.0.0.1:1/beta"},
		{"another cloud", Config{Cloud: "usgov"}, plan, "", "the plan was made for https://graph.microsoft.com/beta, not https://graph.microsoft.us/beta; plan again, or leave out --graph-url/--cloud"},
		{"no such cloud", Config{Cloud: "moon"}, plan, "", `unknown cloud "moon"`},
	}
	for _, tt := range tests {
		c := tt.c
		err := c.ForPlan(tt.root)
		switch {
		case tt.wantErr == "" && err != nil, tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: ForPlan = %v, want %q", tt.name, err, tt.wantErr)
		case c.GraphURL != tt.wantURL:
			t.Errorf("%s: GraphURL %q, want %q", tt.name, c.GraphURL, tt.wantURL)
		}
		if re := (*RootError)(nil); errors.As(err, &re) != strings.HasPrefix(tt.wantErr, "the plan") {
			t.Errorf("%s: %v: a *RootError: %v", tt.name, err, re != nil)
		}
	}
}
