package main

// Secrets never leak: no token, client secret or issued token in any
// output, log, file or error, whatever the command and however it ends.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/hex"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/auth"
	"github.com/bulkpatch/bulkpatch/internal/auth/authtest"
	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/graph"
)

// hzSecret returns a value that cannot appear anywhere by chance.
func hzSecret(t testing.TB, kind string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "SECRET-" + kind + "-" + hex.EncodeToString(b)
}

// hzLeakChecker fails the test when any output holds a secret or an ANSI
// escape (stderr is never a terminal here, so nothing may colour it).
type hzLeakChecker struct {
	t       testing.TB
	secrets []string
}

func (c *hzLeakChecker) check(where, s string) {
	c.t.Helper()
	for _, sec := range c.secrets {
		if strings.Contains(s, sec) {
			i := strings.Index(s, sec)
			c.t.Errorf("%s contains the secret %.14s…: …%s…", where, sec, s[max(0, i-120):i])
		}
	}
	if strings.Contains(s, "\x1b") {
		c.t.Errorf("%s contains an ANSI escape: %q", where, s[strings.Index(s, "\x1b"):min(len(s), strings.Index(s, "\x1b")+20)])
	}
}

// run runs the CLI in-process, checks its outputs for leaks and its exit
// code against want.
func (c *hzLeakChecker) run(ctx context.Context, vars map[string]string, want int, args ...string) result {
	c.t.Helper()
	r := cli(c.t, ctx, vars, args...)
	name := "bulkpatch " + strings.Join(args, " ")
	c.check(name+": stdout", r.stdout)
	c.check(name+": stderr", r.stderr)
	if r.code != want {
		c.t.Errorf("%s: exit %d, want %d\nstdout:\n%s\nstderr:\n%s", name, r.code, want, hzTail(r.stdout), hzTail(r.stderr))
	}
	return r
}

// files checks every file below dir and returns their names.
func (c *hzLeakChecker) files(dir string) []string {
	c.t.Helper()
	var names []string
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		names = append(names, d.Name())
		for _, sec := range c.secrets {
			if bytes.Contains(b, []byte(sec)) {
				c.t.Errorf("file %s contains the secret %.14s…", path, sec)
			}
		}
		return nil
	})
	if err != nil {
		c.t.Fatal(err)
	}
	return names
}

// TestSecretNeverLeaks runs every command with a recognisable token, via
// BULKPATCH_TOKEN and via a token command, with debug logs in both
// formats, and greps every output and every file left behind.
func TestSecretNeverLeaks(t *testing.T) {
	t.Parallel()
	token := hzSecret(t, "TOKEN")
	ctx := context.Background()
	scripts := t.TempDir() // outside the scanned directories: it holds the token
	tokenScript := hzWriteFile(t, filepath.Join(scripts, "token.sh"), "#!/bin/sh\nprintf '%s\\n' '"+token+"'\n")
	if err := os.Chmod(tokenScript, 0o700); err != nil {
		t.Fatal(err)
	}

	for _, kind := range []string{"token", "token-command"} {
		for _, format := range []string{"text", "json"} {
			t.Run(kind+"/"+format, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				c := &hzLeakChecker{t: t, secrets: []string{token}}
				f := generate(t, 2, 12, 2, 3, 0)
				input := f.write(t, dir)
				invalid := hzWriteFile(t, filepath.Join(dir, "invalid.csv"), hzInvalidInput)
				p := func(name string) string { return filepath.Join(dir, name) }

				env := func(opt emulator.Options, st *emulator.State) (*hzRecorder, map[string]string) {
					rec, _, vars := hzServe(t, st, opt, token)
					vars["BULKPATCH_DEBUG"] = "1"
					if kind == "token-command" {
						vars = hzWith(vars, "BULKPATCH_TOKEN", "", "BULKPATCH_AUTH", "token-command", "BULKPATCH_TOKEN_COMMAND", tokenScript)
					}
					return rec, vars
				}
				okRec, ok := env(emulator.Options{}, f.state)
				missingState := generate(t, 2, 12, 2, 3, 0).state
				hzDropStatuses(missingState, "app-01")
				_, missing := env(emulator.Options{}, missingState)
				_, expired := env(emulator.Options{TokenUses: 1}, f.state)
				_, forbidden := env(emulator.Options{ForbiddenToken: token}, f.state)
				_, removed := env(emulator.Options{RemovedSegment: true}, f.state)

				logf := []string{"--log-format", format}
				fl := hzArgs(logf, hzFast)
				c.run(ctx, ok, exitOK, "validate", input)
				c.run(ctx, ok, exitInvalid, "validate", invalid)
				c.run(ctx, ok, exitOK, hzArgs([]string{"plan", input, "--out", p("offline.plan.json")})...)
				c.run(ctx, ok, exitOK, hzArgs([]string{"plan", input, "--reconcile", "--out", p("reconciled.plan.json")}, fl)...)
				c.run(ctx, ok, exitChanges, hzArgs([]string{"plan", input, "--reconcile", "--detailed-exitcode"}, fl)...)
				c.run(ctx, ok, exitOK, hzArgs([]string{"apply", "--plan", p("reconciled.plan.json"), "--results", p("plan.results.csv")}, fl)...)
				c.run(ctx, ok, exitOK, hzArgs([]string{"apply", input, "--yes", "--results", p("fresh.results.csv")}, fl)...)
				c.run(ctx, ok, exitOK, hzArgs([]string{"apply", input, "--yes", "--reconcile", "--results", p("reconcile.results.csv")}, fl)...)
				c.run(ctx, ok, exitOK, hzArgs([]string{"apply", input, "--yes", "--batch", "5", "--results", p("batch.results.csv")}, fl)...)
				c.run(ctx, ok, exitUsage, hzArgs([]string{"apply", input, "--results", p("unconfirmed.results.csv")}, fl)...)
				c.run(ctx, ok, exitInvalid, hzArgs([]string{"apply", invalid, "--yes"}, fl)...)
				c.run(ctx, missing, exitRowsFailed, hzArgs([]string{"apply", input, "--yes", "--results", p("failing.results.csv")}, fl)...)
				c.run(ctx, missing, exitRowsFailed, hzArgs([]string{"apply", input, "--yes", "--resume", "--results", p("failing.results.csv")}, fl)...)
				c.run(ctx, expired, exitAuth, hzArgs([]string{"apply", input, "--yes", "--results", p("401.results.csv")}, fl)...)
				c.run(ctx, expired, exitAuth, hzArgs([]string{"plan", input, "--reconcile"}, fl)...)
				c.run(ctx, forbidden, exitAuth, hzArgs([]string{"apply", input, "--yes", "--results", p("403.results.csv")}, fl)...)
				c.run(ctx, forbidden, exitAuth, hzArgs([]string{"export", "--app", "app-00"}, fl)...)
				c.run(ctx, removed, exitUnavailable, hzArgs([]string{"apply", input, "--yes", "--results", p("removed.results.csv")}, fl)...)
				c.run(ctx, removed, exitUnavailable, hzArgs([]string{"plan", input, "--reconcile"}, fl)...)
				c.run(ctx, ok, exitOK, hzArgs([]string{"export", "--app", "app-00"}, fl)...)
				c.run(ctx, ok, exitOK, hzArgs([]string{"export", "--app", "app-00", "--user-status", "us-00-000", "--out", p("export.csv")}, fl)...)
				// A URL that carries the secret is refused without repeating it.
				for _, u := range []string{
					"https://graph.example.invalid/beta?access_token=" + token,
					"https://" + token + "@graph.example.invalid/beta",
					"https://user:" + token + "@graph.example.invalid/beta",
					"https://graph.example.invalid/beta#" + token,
					"https://graph.example.invalid/be%zz?" + token,
				} {
					c.run(ctx, ok, exitUsage, hzArgs([]string{"export", "--app", "app-00", "--graph-url", u}, fl)...)
				}

				if reqs, _ := okRec.take(); len(reqs) == 0 {
					t.Error("the emulator saw no request: the commands did not run as meant")
				}
				names := c.files(dir)
				for _, want := range []string{"invalid.results.csv", "reconciled.plan.json", "fresh.results.csv", "fresh.results.csv.journal",
					"failing.results.csv", "failing.results.csv.journal", "401.results.csv", "export.csv"} {
					if !slices.Contains(names, want) {
						t.Errorf("no %s among the files %q: the scan would miss it", want, names)
					}
				}
			})
		}
	}

	t.Run("other commands", func(t *testing.T) {
		t.Parallel()
		dir := t.TempDir()
		c := &hzLeakChecker{t: t, secrets: []string{token}}
		vars := map[string]string{"BULKPATCH_TOKEN": token, "BULKPATCH_AUTH": "token", "BULKPATCH_DEBUG": "1"}
		c.run(ctx, vars, exitOK, "version")
		c.run(ctx, vars, exitOK, "help")
		c.run(ctx, vars, exitUsage)
		c.run(ctx, vars, exitUsage, "frobnicate")
		c.run(ctx, vars, exitOK, "emulator", "-h")
		c.run(ctx, vars, exitUsage, "emulator", "--bogus")
		c.run(ctx, vars, exitUsage, "emulator", "--listen", "0.0.0.0:0")
		c.run(ctx, vars, exitUsage, "emulator", "--seed", filepath.Join(dir, "missing.json"))
		// The emulator serves until its context ends: an ended one makes
		// it start, print and stop at once.
		done, cancel := context.WithCancel(ctx)
		cancel()
		c.run(done, vars, exitOK, "emulator", "--listen", "127.0.0.1:0", "--forbidden-token", "not-the-secret", "--dump", filepath.Join(dir, "dump.json"))
		for _, cmd := range []string{"validate", "plan", "apply", "export"} {
			c.run(ctx, vars, exitUsage, cmd, "--no-such-flag")
		}
		// The demo is checked by TestCoreDemo, with this environment: it
		// throttles on purpose, in real time (10 s), so it runs once.
		c.files(dir)
	})
}

// TestSecretEnvironmentAuth signs in with a client secret against a fake
// Entra ID (the real azidentity code path, in a real process that trusts
// the fake's certificate) and greps everything for the secret and for the
// tokens it was issued; then makes sign-in fail and greps again.
func TestSecretEnvironmentAuth(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	secret := hzSecret(t, "CLIENT")
	entra := authtest.NewServer(t)
	ca := hzServerCertPEM(t, entra.URL)
	caFile := hzWriteFile(t, filepath.Join(t.TempDir(), "ca.pem"), ca)

	dir := t.TempDir()
	f := generate(t, 1, 12, 1, 2, 0)
	input := f.write(t, dir)
	rec, _, vars := hzServe(t, f.state, emulator.Options{RequireToken: true}, "")
	rec.mu.Lock()
	rec.authOK = func(h string) bool {
		tok, ok := strings.CutPrefix(h, "Bearer ")
		return ok && entra.Valid(tok)
	}
	rec.mu.Unlock()
	bin := binary(t)
	run := func(extra map[string]string, want int, args ...string) (string, string) {
		t.Helper()
		cmd := exec.Command(bin, args...)
		cmd.Dir = dir
		cmd.Stdin = nil
		env := map[string]string{
			"PATH": os.Getenv("PATH"), "HOME": dir, "SSL_CERT_FILE": caFile,
			"BULKPATCH_GRAPH_URL": vars["BULKPATCH_GRAPH_URL"], "BULKPATCH_AUTHORITY_HOST": entra.URL,
			"AZURE_TENANT_ID": "tenant-0", "AZURE_CLIENT_ID": "client-0", "AZURE_CLIENT_SECRET": secret,
			"BULKPATCH_DEBUG": "1",
		}
		for k, v := range extra {
			if v == "" {
				delete(env, k)
			} else {
				env[k] = v
			}
		}
		for k, v := range env {
			cmd.Env = append(cmd.Env, k+"="+v)
		}
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		err := cmd.Run()
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		// want -1: a sign-in that cannot work, exit 2 (usage) or 4 (auth).
		if code != want && !(want == -1 && (code == exitUsage || code == exitAuth)) {
			t.Errorf("bulkpatch %s: exit %d, want %d\nstderr:\n%s", strings.Join(args, " "), code, want, hzTail(stderr.String()))
		}
		return stdout.String(), stderr.String()
	}

	var outputs []string
	keep := func(o, e string) { outputs = append(outputs, o, e) }
	for _, format := range []string{"text", "json"} {
		fl := hzArgs([]string{"--log-format", format}, hzFast)
		keep(run(nil, exitOK, hzArgs([]string{"apply", input, "--yes", "--auth", "environment", "--results", filepath.Join(dir, format+".results.csv")}, fl)...))
		keep(run(nil, exitOK, hzArgs([]string{"plan", input, "--reconcile", "--out", filepath.Join(dir, format+".plan.json")}, fl)...))
		keep(run(nil, exitOK, hzArgs([]string{"export", "--app", "app-00", "--out", filepath.Join(dir, format+".export.csv")}, fl)...))
	}
	// The Azure SDK's own request log, which an operator may switch on
	// while chasing a sign-in problem.
	o, e := run(map[string]string{"AZURE_SDK_GO_LOGGING": "all"}, exitOK, hzArgs([]string{"plan", input, "--reconcile"}, hzFast)...)
	if !strings.Contains(e, "oauth2/v2.0/token") {
		t.Errorf("AZURE_SDK_GO_LOGGING=all logged no token request; stderr:\n%s", hzTail(e))
	}
	keep(o, e)
	if entra.Issued() == 0 {
		t.Fatal("the fake Entra ID issued no token: sign-in did not take the environment path")
	}
	reqs, _ := rec.take()
	rec.mu.Lock()
	bad := rec.badAuth
	rec.mu.Unlock()
	if len(reqs) == 0 || bad > 0 {
		t.Errorf("Graph saw %d requests, %d without a token the fake Entra ID issued", len(reqs), bad)
	}
	// Sign-in fails: a wrong secret, as Entra ID reports it.
	entra.FailNext(1000)
	_, e = run(nil, exitAuth, hzArgs([]string{"apply", input, "--yes", "--auth", "environment", "--results", filepath.Join(dir, "fail.results.csv")}, hzFast)...)
	if !strings.Contains(e, "AADSTS7000215") {
		t.Errorf("a failed sign-in does not say why:\n%s", e)
	}
	outputs = append(outputs, e)
	keep(run(nil, exitAuth, hzArgs([]string{"plan", input, "--reconcile", "--log-format", "json"}, hzFast)...))
	keep(run(nil, exitAuth, hzArgs([]string{"export", "--app", "app-00"}, hzFast)...))
	// Misconfigured: the secret is there but the tenant is not.
	keep(run(map[string]string{"AZURE_TENANT_ID": ""}, -1, hzArgs([]string{"apply", input, "--yes", "--auth", "environment"}, hzFast)...))

	c := &hzLeakChecker{t: t, secrets: append([]string{secret}, entra.Tokens()...)}
	for i, o := range outputs {
		c.check(fmt.Sprintf("output %d", i), o)
	}
	c.files(dir)
}

// hzServerCertPEM fetches the certificate a TLS server presents.
func hzServerCertPEM(t testing.TB, rawURL string) string {
	t.Helper()
	u, err := url.Parse(rawURL)
	if err != nil {
		t.Fatal(err)
	}
	conn, err := tls.Dial("tcp", u.Host, &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	certs := conn.ConnectionState().PeerCertificates
	if len(certs) == 0 {
		t.Fatal("the server presented no certificate")
	}
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: certs[0].Raw}))
}

// TestSecretNotInAuthErrors checks the errors of every way sign-in or a
// token can fail: whatever becomes of them (a message, a log, a panic
// value), they must not carry the token.
func TestSecretNotInAuthErrors(t *testing.T) {
	t.Parallel()
	token := hzSecret(t, "TOKEN")
	dir := t.TempDir()
	script := func(name, body string) string {
		p := hzWriteFile(t, filepath.Join(dir, name), "#!/bin/sh\n"+body+"\n")
		if err := os.Chmod(p, 0o700); err != nil {
			t.Fatal(err)
		}
		return p
	}
	expiredJWT := "eyJhbGciOiJub25lIn0.eyJleHAiOjEwMDAwMDAwMDB9." + token // exp in 2001
	commands := map[string]string{
		"prints the token and fails":                script("fail.sh", "echo '"+token+"'; exit 3"),
		"prints a token with a space":               script("space.sh", "echo 'Bearer x "+token+"'"),
		"prints malformed JSON":                     script("json.sh", `echo '{"accessToken":"`+token+`",'`),
		"prints a bad expiresOn":                    script("exp.sh", `echo '{"accessToken":"`+token+`","expiresOn":"`+token+`"}'`),
		"prints an expired JWT":                     script("jwt.sh", "echo '"+expiredJWT+"'"),
		"prints the token, closes stdout and fails": script("close.sh", "echo '"+token+"'; exec 1>&-; exit 1"),
	}
	var errs []error
	for name, cmd := range commands {
		src, err := auth.New(auth.Options{Kind: auth.KindTokenCommand, TokenCommand: cmd, Getenv: func(string) string { return "" }})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if _, err := src.Token(context.Background()); err == nil {
			t.Errorf("%s: no error", name)
		} else {
			errs = append(errs, fmt.Errorf("%s: %w", name, err))
		}
	}
	// A static token Graph rejects; a token command that hands back the
	// same rejected token.
	static, err := auth.New(auth.Options{Kind: auth.KindToken, Getenv: func(k string) string {
		if k == "BULKPATCH_TOKEN" {
			return token
		}
		return ""
	}})
	if err != nil {
		t.Fatal(err)
	}
	same, err := auth.New(auth.Options{Kind: auth.KindTokenCommand, TokenCommand: script("same.sh", "echo '"+token+"'"), Getenv: func(string) string { return "" }})
	if err != nil {
		t.Fatal(err)
	}
	for _, src := range []*auth.Source{static, same} {
		// Through the Graph client, as a run meets them: 401, refresh,
		// give up; and a 403.
		for _, status := range []int{401, 403} {
			ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(status)
				fmt.Fprintf(w, `{"error":{"code":"InvalidAuthenticationToken","message":"Access token validation failure."}}`)
			}))
			c, err := graph.New(graph.Config{BaseURL: ts.URL + "/beta", Tokens: src})
			if err != nil {
				t.Fatal(err)
			}
			res := c.Send(context.Background(), graph.Write{Path: "/deviceAppManagement/mobileApps/a/deviceStatuses/s", Body: []byte(`{}`)})
			ts.Close()
			if res.Err == nil {
				t.Fatalf("answer %d: no error", status)
			}
			errs = append(errs, res.Err)
		}
		if _, err := src.Refresh(context.Background(), token); err == nil {
			t.Error("refreshing a rejected token that cannot be renewed succeeded")
		} else {
			errs = append(errs, err)
		}
	}
	if len(errs) < 10 {
		t.Fatalf("only %d errors collected", len(errs))
	}
	for _, err := range errs {
		for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err), hzPanicMessage(err)} {
			if strings.Contains(s, token) {
				t.Errorf("an error carries the token: %s", s)
			}
		}
	}
}

// hzPanicMessage is what a panic with v would print as its first line.
func hzPanicMessage(v any) (msg string) {
	defer func() { msg = fmt.Sprint(recover()) }()
	panic(v)
}
