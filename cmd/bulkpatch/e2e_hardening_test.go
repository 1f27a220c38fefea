package main

// Whole-CLI hardening tests (issue 6): secrets never leak, hostile ids
// cannot steer requests, outputs are safe to open in a spreadsheet, huge
// or malformed inputs cost bounded memory, logs are fit for operators,
// private files are private and plain http stays on this machine.
//
// Helpers here are prefixed hz so they cannot collide with the other
// whole-CLI test files of this package.

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/csv"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/auth"
	"github.com/bulkpatch/bulkpatch/internal/auth/authtest"
	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// fast keeps the pacing out of the way: these tests are about what is
// sent and written, not how fast.
var hzFast = []string{"--rate", "1000", "--read-rate", "1000", "--max-retries", "1", "--progress", "never"}

func hzArgs(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// hzSecret returns a value that cannot appear anywhere by chance.
func hzSecret(t testing.TB, kind string) string {
	t.Helper()
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "SECRET-" + kind + "-" + hex.EncodeToString(b)
}

// hzRecorder records the escaped path of every request (and of every
// item inside a $batch body) before handing it to the emulator.
type hzRecorder struct {
	next http.Handler
	// authOK, when set, checks each Authorization header; failures are
	// counted, the header itself is never stored.
	authOK func(header string) bool

	mu      sync.Mutex
	reqs    []string // "METHOD /escaped/path", in arrival order
	items   []string // "METHOD url" of $batch items
	badAuth int
}

func (h *hzRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	var items []string
	if path == "/beta/$batch" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var b struct {
			Requests []struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"requests"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			items = append(items, "UNREADABLE $batch body")
		}
		for _, it := range b.Requests {
			items = append(items, it.Method+" "+it.URL)
		}
	}
	h.mu.Lock()
	h.reqs = append(h.reqs, r.Method+" "+path)
	h.items = append(h.items, items...)
	if h.authOK != nil && !h.authOK(r.Header.Get("Authorization")) {
		h.badAuth++
	}
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

// take returns and forgets what was recorded so far.
func (h *hzRecorder) take() (reqs, items []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	reqs, items = h.reqs, h.items
	h.reqs, h.items = nil, nil
	return reqs, items
}

// hzServe starts the emulator behind a recorder on a loopback httptest
// server and returns the environment pointing the CLI at it.
func hzServe(t testing.TB, st *emulator.State, opt emulator.Options, token string) (*hzRecorder, *emulator.Server, map[string]string) {
	t.Helper()
	srv, err := emulator.New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	rec := &hzRecorder{next: srv}
	ts := httptest.NewServer(rec)
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return rec, srv, map[string]string{
		"BULKPATCH_GRAPH_URL": ts.URL + "/beta",
		"BULKPATCH_TOKEN":     token,
		"BULKPATCH_AUTH":      "token",
	}
}

func hzWith(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

func hzWriteFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hzCSV renders records as CSV with encoding/csv's quoting.
func hzCSV(t testing.TB, recs [][]string) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	return b.String()
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

func hzTail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// hzDropStatuses removes the direct statuses of app from st, so rows that
// address them fail with 404.
func hzDropStatuses(st *emulator.State, app string) {
	for i := range st.MobileApps {
		if st.MobileApps[i].ID == app {
			st.MobileApps[i].DeviceStatuses = nil
		}
	}
}

// hzInvalidInput is a file with a bad row of every kind; validate and
// apply must stop on it with exit 3.
const hzInvalidInput = "mobileAppId,userAppInstallStatusId,mobileAppInstallStatusId,installState,errorCode,deviceName\n" +
	"app-00,,ds-00-00000,installed,0,ok\n" +
	"app-00,,../../deviceManagement,installed,0,=cmd|' /C calc'!A0\n" +
	"app-00,,ds-00-00001,Instaled,12x,@SUM(1+1)\n"

// TestSecretNeverLeaks runs every command with a recognisable token, via
// BULKPATCH_TOKEN and via a token command, with debug logs in both
// formats, and greps every output and every file left behind.
func TestSecretNeverLeaks(t *testing.T) {
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

// hzHostileIDs are id cells a spreadsheet that passed through many hands
// may hold. reject says the README's id rules refuse it.
var hzHostileIDs = []struct {
	name   string
	id     string
	reject bool
}{
	{"dot-dot", "..", true},
	{"dot", ".", true},
	{"escaped slash", "%2F", true},
	{"escaped dot-dot", "%2e%2e", true},
	{"slash", "a/b", true},
	{"traversal", "../../deviceManagement/managedDevices", true},
	{"query", "a?b=1", true},
	{"fragment", "a#b", true},
	{"backslash", `a\b`, true},
	{"fullwidth solidus", "a\uFF0Fb", true},
	{"division slash", "a\u2215b", true},
	{"fraction slash", "a\u2044b", true},
	{"long solidus overlay", "a\u0338", true},
	{"fullwidth percent", "a\uFF05b", true},
	{"two dot leader", "\u2025", true},
	{"zero-width space", "a\u200Bb", true},
	{"right-to-left override", "a\u202Eb", true},
	{"byte order mark", "\uFEFFab", true},
	{"no-break space", "a\u00A0b", true},
	{"space", "a b", true},
	{"tab", "a\tb", true},
	{"line feed", "a\nb", true},
	{"NUL", "a\x00b", true},
	{"DEL", "a\x7fb", true},
	{"overlong", strings.Repeat("a", 10000), true},
	{"e acute", "é", false},
	{"cjk", "装置", false},
	{"semicolon", "a;b", false},
	{"odata key", "a'b(c)", false},
	{"plus equals amp", "a+b=c&d", false},
	{"dollar batch", "$batch", false},
	{"formula", "=1+1", false},
	{"at sign", "@a:b", false},
}

// hzRoute is the escaped path a request for these ids must have, built
// here independently of graph.ObjectPath. id "" gives the collection.
func hzRoute(app, user, id string) string {
	p := "/deviceAppManagement/mobileApps/" + url.PathEscape(app)
	if user != "" {
		p += "/userStatuses/" + url.PathEscape(user)
	}
	p += "/deviceStatuses"
	if id != "" {
		p += "/" + url.PathEscape(id)
	}
	return p
}

// hzSegments splits an escaped path and unescapes each segment once, as
// Graph's router does.
func hzSegments(t testing.TB, escaped string) []string {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(escaped, "/"), "/")
	for i, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			t.Errorf("path %q: segment %q is badly escaped: %v", escaped, p, err)
		}
		parts[i] = u
	}
	return parts
}

// hzIDRow is one row's ids.
type hzIDRow struct{ app, user, id string }

// hzCheckRoutes fails unless every request went to one of rows' objects
// or collections, with a method that route serves, and every $batch item
// to one of the objects. It returns how many requests there were.
func hzCheckRoutes(t testing.TB, what string, rows []hzIDRow, reqs, items []string) int {
	t.Helper()
	allowed := map[string]bool{"POST /beta/$batch": true}
	itemOK := map[string]bool{}
	for _, r := range rows {
		obj := hzRoute(r.app, r.user, r.id)
		allowed["GET /beta"+obj] = true
		allowed["PATCH /beta"+obj] = true
		allowed["GET /beta"+hzRoute(r.app, r.user, "")] = true
		itemOK["PATCH "+obj] = true
	}
	for _, q := range reqs {
		if !allowed[q] {
			t.Errorf("%s: request %q is not one of the intended routes", what, q)
			continue
		}
		method, path, _ := strings.Cut(q, " ")
		if path == "/beta/$batch" {
			continue
		}
		// The same, read as the server's router reads it: each id is
		// exactly one segment and unescapes to itself.
		segs := hzSegments(t, path)
		found := false
		for _, r := range rows {
			want := []string{"beta", "deviceAppManagement", "mobileApps", r.app}
			if r.user != "" {
				want = append(want, "userStatuses", r.user)
			}
			want = append(want, "deviceStatuses")
			if slices.Equal(segs, want) && method == "GET" || slices.Equal(segs, append(want, r.id)) {
				found = true
			}
		}
		if !found {
			t.Errorf("%s: request %q splits into segments %q, which address none of the rows", what, q, segs)
		}
	}
	for _, it := range items {
		if !itemOK[it] {
			t.Errorf("%s: $batch item %q is not one of the intended routes", what, it)
		}
	}
	return len(reqs)
}

// hzSeed is a tenant holding rows' objects, in a state every row changes.
func hzSeed(rows []hzIDRow) *emulator.State {
	st := &emulator.State{}
	apps := map[string]*emulator.App{}
	var order []string
	for _, r := range rows {
		a := apps[r.app]
		if a == nil {
			a = &emulator.App{ID: r.app}
			apps[r.app] = a
			order = append(order, r.app)
		}
		s := emulator.Status{ID: r.id}
		s.Props[mais.PropertyIndex("installState")] = json.RawMessage(`"pendingInstall"`)
		if r.user == "" {
			a.DeviceStatuses = append(a.DeviceStatuses, s)
			continue
		}
		i := slices.IndexFunc(a.UserStatuses, func(u emulator.UserStatus) bool { return u.ID == r.user })
		if i < 0 {
			a.UserStatuses = append(a.UserStatuses, emulator.UserStatus{ID: r.user})
			i = len(a.UserStatuses) - 1
		}
		a.UserStatuses[i].DeviceStatuses = append(a.UserStatuses[i].DeviceStatuses, s)
	}
	for _, id := range order {
		st.MobileApps = append(st.MobileApps, *apps[id])
	}
	return st
}

func hzIDFile(t testing.TB, path string, rows []hzIDRow) string {
	t.Helper()
	recs := [][]string{{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId", "installState", "displayVersion"}}
	for i, r := range rows {
		recs = append(recs, []string{r.app, r.user, r.id, "installed", fmt.Sprintf("1.%d", i)})
	}
	return hzWriteFile(t, path, hzCSV(t, recs))
}

// TestSteerHostileIDs puts each hostile id in each id column and runs
// validate, plan, plan --reconcile, apply (plain, --reconcile, --batch,
// --plan) against a recording server: either every command refuses the
// file with exit 3 and nothing is sent, or every request goes exactly to
// the intended route.
func TestSteerHostileIDs(t *testing.T) {
	ctx := context.Background()
	for _, h := range hzHostileIDs {
		for _, col := range []string{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId"} {
			t.Run(h.name+"/"+col, func(t *testing.T) {
				t.Parallel()
				dir := t.TempDir()
				// Ten rows share a collection, so reconciliation lists it;
				// one.csv has a single row, read object by object.
				var rows []hzIDRow
				for i := range 10 {
					r := hzIDRow{"app-1", "", fmt.Sprintf("ds-%d", i)}
					switch col {
					case "mobileAppId":
						r.app = h.id
					case "userAppInstallStatusId":
						r.user = h.id
					case "mobileAppInstallStatusId":
						if i == 0 {
							r.id = h.id
						}
					}
					rows = append(rows, r)
				}
				many := hzIDFile(t, filepath.Join(dir, "many.csv"), rows)
				one := hzIDFile(t, filepath.Join(dir, "one.csv"), rows[:1])
				st := &emulator.State{}
				if !h.reject {
					st = hzSeed(rows)
				}
				rec, _, vars := hzServe(t, st, emulator.Options{}, "test-token")

				want := exitOK
				if h.reject {
					want = exitInvalid
				}
				planOut := filepath.Join(dir, "many.plan.json")
				runs := [][]string{
					{"validate", many},
					{"validate", one},
					{"plan", many},
					{"plan", many, "--out", planOut},
					hzArgs([]string{"plan", many, "--reconcile"}, hzFast),
					hzArgs([]string{"plan", one, "--reconcile"}, hzFast),
					hzArgs([]string{"apply", many, "--yes", "--results", filepath.Join(dir, "a.csv")}, hzFast),
					hzArgs([]string{"apply", many, "--yes", "--reconcile", "--results", filepath.Join(dir, "b.csv")}, hzFast),
					hzArgs([]string{"apply", one, "--yes", "--reconcile", "--results", filepath.Join(dir, "c.csv")}, hzFast),
					hzArgs([]string{"apply", many, "--yes", "--batch", "4", "--results", filepath.Join(dir, "d.csv")}, hzFast),
				}
				if !h.reject {
					runs = append(runs, hzArgs([]string{"apply", "--plan", planOut, "--results", filepath.Join(dir, "e.csv")}, hzFast))
				}
				for _, args := range runs {
					r := cli(t, ctx, vars, args...)
					what := strings.Join(args[:min(len(args), 3)], " ")
					if r.code != want {
						t.Errorf("%s: exit %d, want %d\n%s", what, r.code, want, hzTail(r.stderr))
					}
					if h.reject && !strings.Contains(r.stderr, col) {
						t.Errorf("%s: the refusal does not name the column %s:\n%s", what, col, hzTail(r.stderr))
					}
					reqs, items := rec.take()
					n := hzCheckRoutes(t, what, rows, reqs, items)
					switch {
					case h.reject && n > 0:
						t.Errorf("%s: %d requests sent for a refused file: %q", what, n, reqs)
					case !h.reject && n == 0 && (args[0] == "apply" || slices.Contains(args, "--reconcile")):
						t.Errorf("%s: sent nothing: the route was not exercised", what)
					}
				}
			})
		}
	}
}

// TestSteerTamperedPlan edits a saved plan so it addresses a hostile id:
// apply --plan must refuse it before sending anything.
func TestSteerTamperedPlan(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	rows := []hzIDRow{{"app-1", "", "ds-0"}, {"app-1", "us-1", "ds-1"}}
	input := hzIDFile(t, filepath.Join(dir, "in.csv"), rows)
	rec, _, vars := hzServe(t, hzSeed(rows), emulator.Options{}, "test-token")
	planPath := filepath.Join(dir, "p.json")
	if r := cli(t, ctx, vars, "plan", input, "--out", planPath); r.code != exitOK {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	orig, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range hzHostileIDs {
		if !h.reject {
			continue
		}
		for _, field := range []string{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId"} {
			old := map[string]string{"mobileAppId": `"mobileAppId":"app-1"`, "userAppInstallStatusId": `"userAppInstallStatusId":"us-1"`,
				"mobileAppInstallStatusId": `"mobileAppInstallStatusId":"ds-1"`}[field]
			q, _ := json.Marshal(h.id)
			tampered := strings.Replace(string(orig), old, `"`+field+`":`+string(q), 1)
			if tampered == string(orig) {
				t.Fatalf("the plan file has no %s: %s", old, orig)
			}
			p := hzWriteFile(t, filepath.Join(dir, "tampered.json"), tampered)
			r := cli(t, ctx, vars, hzArgs([]string{"apply", "--plan", p, "--results", filepath.Join(dir, "r.csv")}, hzFast)...)
			if r.code != exitInvalid || !strings.Contains(r.stderr, field) {
				t.Errorf("%s in %s: exit %d, want %d naming the field\n%s", h.name, field, r.code, exitInvalid, hzTail(r.stderr))
			}
			if reqs, _ := rec.take(); len(reqs) > 0 {
				t.Errorf("%s in %s: sent %q", h.name, field, reqs)
			}
		}
	}
}

// hzGraphRefuses says whether an id can never be a path segment at all
// (the Graph client's own guard, behind the input rules).
func hzGraphRefuses(id string) bool {
	if id == "" || id == "." || id == ".." || !utf8.ValidString(id) {
		return true
	}
	return strings.ContainsFunc(id, func(r rune) bool {
		return strings.ContainsRune(`/\?#%`, r) || unicode.IsSpace(r) || unicode.IsControl(r)
	})
}

// TestSteerExportIDs gives export hostile --app and --user-status values:
// either nothing is sent or every page request is for that collection.
func TestSteerExportIDs(t *testing.T) {
	ctx := context.Background()
	for _, h := range hzHostileIDs {
		t.Run(h.name, func(t *testing.T) {
			t.Parallel()
			rows := []hzIDRow{{h.id, "", "ds-0"}, {"app-1", h.id, "ds-1"}}
			st := &emulator.State{}
			if !hzGraphRefuses(h.id) {
				st = hzSeed(rows)
			}
			rec, _, vars := hzServe(t, st, emulator.Options{PageSize: 1}, "test-token")
			for _, args := range [][]string{
				{"export", "--app", h.id},
				{"export", "--app", "app-1", "--user-status", h.id},
			} {
				r := cli(t, ctx, hzWith(vars), hzArgs(args, hzFast)...)
				reqs, items := rec.take()
				hzCheckRoutes(t, strings.Join(args[:3], " "), rows, reqs, items)
				for _, q := range reqs {
					if !strings.HasPrefix(q, "GET ") || strings.HasSuffix(q, "/ds-0") || strings.HasSuffix(q, "/ds-1") {
						t.Errorf("export sent %q: it reads collections only", q)
					}
				}
				if resource.CheckID(h.id) != "" {
					// Export's ids follow the input's id rules: a bad
					// argument, refused before anything is sent.
					if r.code != exitUsage || len(reqs) > 0 {
						t.Errorf("%q: exit %d with %d requests; want exit 2 with none\n%s", args, r.code, len(reqs), hzTail(r.stderr))
					}
					continue
				}
				if r.code != exitOK || len(reqs) < 2 {
					t.Errorf("%q: exit %d after %d requests, want 0 after paging (2+)\n%s", args, r.code, len(reqs), hzTail(r.stderr))
				}
			}
		})
	}
}

// hzDangerous says whether a spreadsheet could run cell as a formula:
// it starts with = + - @ (after spaces or double quotes) or with a tab,
// CR or LF, and is neither a plain number nor text marked by a leading
// apostrophe.
func hzDangerous(cell string) bool {
	if cell == "" || cell[0] == '\'' || hzPlainNumber.MatchString(cell) {
		return false
	}
	t := strings.TrimLeft(cell, ` "`)
	return t != "" && strings.ContainsRune("=+-@\t\r\n", rune(t[0]))
}

var hzPlainNumber = regexp.MustCompile(`^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)$`)

// hzReadCSV parses a whole CSV file.
func hzReadCSV(t testing.TB, path string) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	r := csv.NewReader(bytes.NewReader(b))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

// hzCheckSafe fails for every cell of a CSV file a spreadsheet would run.
func hzCheckSafe(t testing.TB, path string) [][]string {
	t.Helper()
	recs := hzReadCSV(t, path)
	for i, rec := range recs {
		for j, cell := range rec {
			if hzDangerous(cell) {
				t.Errorf("%s: record %d, cell %d (%s) %q would run as a formula", filepath.Base(path), i+1, j+1, recs[0][min(j, len(recs[0])-1)], cell)
			}
		}
	}
	return recs
}

// hzFormulaCells are cells a spreadsheet would run; every one is a valid
// string property value.
var hzFormulaCells = []string{
	"=1+1",
	"+1+1",
	"-1+1",
	"@SUM(1,1)",
	`=HYPERLINK("http://example.invalid","x")`,
	"=cmd|' /C calc'!A0",
	"\t=1+1",
	"\r=1+1",
	"\n=1+1",
	" =1+1",
	"   @SUM(1,1)",
	`"=1+1`,
	`" -1+1`,
	"=",
	"-",
	"+",
	"@",
}

// hzFormulaIDs are ids the input rules accept that a spreadsheet would run.
var hzFormulaIDs = []string{"=1+1", "+1+1", "-1+1", "@SUM(1,1)", "=2*3"}

// hzNumbers stay numbers in every output: neutralising them would break
// sorting and sums in the spreadsheet and the re-import of errorCode.
var hzNumbers = []string{"10", "-5", "+3", "1.5", "-2016345060"}

// hzHostileRun applies a file full of formula cells and formula ids to an
// emulator, and returns the directory, the input rows, the emulator's
// environment and the results path.
func hzHostileRun(t testing.TB) (dir string, rows []hzIDRow, vars map[string]string, results string) {
	t.Helper()
	dir = t.TempDir()
	recs := [][]string{{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId", "deviceName", "userName",
		"osDescription", "displayVersion", "errorCode", "# note"}}
	for i, cell := range hzFormulaCells {
		r := hzIDRow{hzFormulaIDs[i%len(hzFormulaIDs)], "", fmt.Sprintf("-%d+1", i)}
		if i%3 == 1 {
			r.user = "@user"
		}
		rows = append(rows, r)
		recs = append(recs, []string{r.app, r.user, r.id, cell, cell, "Windows " + cell, hzNumbers[i%len(hzNumbers)], "0x87D1041C", cell})
	}
	input := hzWriteFile(t, filepath.Join(dir, "hostile.csv"), hzCSV(t, recs))
	_, _, vars = hzServe(t, hzSeed(rows), emulator.Options{}, "test-token")
	results = filepath.Join(dir, "hostile.results.csv")
	if r := cli(t, context.Background(), vars, hzArgs([]string{"apply", input, "--yes"}, hzFast)...); r.code != exitOK {
		t.Fatalf("apply: exit %d\n%s", r.code, hzTail(r.stderr))
	}
	return dir, rows, vars, results
}

// TestHardeningOutputsNeutralised checks results, export and plan
// outputs made from hostile cells: CSV cells that would run are
// neutralised, numbers stay numbers, JSON keeps every value exact, and an
// export reads back to exactly what was written.
func TestHardeningOutputsNeutralised(t *testing.T) {
	ctx := context.Background()
	dir, rows, vars, results := hzHostileRun(t)

	recs := hzCheckSafe(t, results)
	if len(recs) != len(hzFormulaCells)+1 {
		t.Fatalf("results have %d records, want %d", len(recs), len(hzFormulaCells)+1)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for i, rec := range recs[1:] {
		cell := hzFormulaCells[i]
		if got, want := rec[col["deviceName"]], "'"+cell; got != want {
			t.Errorf("results row %d: deviceName %q, want %q", i+1, got, want)
		}
		if got, want := rec[col["mobileAppId"]], "'"+rows[i].app; got != want {
			t.Errorf("results row %d: mobileAppId %q, want %q", i+1, got, want)
		}
		if got, want := rec[col["displayVersion"]], hzNumbers[i%len(hzNumbers)]; got != want {
			t.Errorf("results row %d: displayVersion %q, want the number %q untouched", i+1, got, want)
		}
		for _, c := range []string{"errorCode", "line", "http_status", "attempts", "duration_ms"} {
			if !hzPlainNumber.MatchString(rec[col[c]]) {
				t.Errorf("results row %d: %s %q is not a plain number", i+1, c, rec[col[c]])
			}
		}
		if got := rec[col["errorCode"]]; got != "-2016345060" {
			t.Errorf("results row %d: errorCode %q, want -2016345060", i+1, got)
		}
	}

	// Export what the emulator now holds, and read it back: a plan
	// against the same tenant must find nothing to change, so every
	// neutralised cell came back exactly.
	for _, app := range hzFormulaIDs {
		out := filepath.Join(dir, "export.csv")
		if r := cli(t, ctx, vars, hzArgs([]string{"export", "--app", app, "--out", out}, hzFast)...); r.code != exitOK {
			t.Fatalf("export --app %s: exit %d\n%s", app, r.code, r.stderr)
		}
		exp := hzCheckSafe(t, out)
		if len(exp) < 2 {
			t.Fatalf("export --app %s: %d records", app, len(exp))
		}
		for _, rec := range exp[1:] {
			if rec[0] != "'"+app {
				t.Errorf("export --app %s: mobileAppId cell %q", app, rec[0])
			}
		}
		r := cli(t, ctx, vars, hzArgs([]string{"plan", out, "--reconcile", "--detailed-exitcode"}, hzFast)...)
		if r.code != exitOK {
			t.Errorf("plan --reconcile of the export of %s: exit %d, want 0 (nothing changed)\n%s%s", app, r.code, hzTail(r.stdout), hzTail(r.stderr))
		}
		// And once more through Excel's dialect.
		if r := cli(t, ctx, vars, hzArgs([]string{"export", "--app", app, "--excel", "--out", out}, hzFast)...); r.code != exitOK {
			t.Fatalf("export --excel: exit %d", r.code)
		}
		hzCheckSafe(t, out)
		if r := cli(t, ctx, vars, hzArgs([]string{"plan", out, "--reconcile", "--detailed-exitcode"}, hzFast)...); r.code != exitOK {
			t.Errorf("plan --reconcile of the --excel export of %s: exit %d\n%s", app, r.code, hzTail(r.stdout))
		}
	}

	// The plan file is JSON: values exactly as sent, numbers as numbers.
	planPath := filepath.Join(dir, "hostile.plan.json")
	if r := cli(t, ctx, vars, "plan", filepath.Join(dir, "hostile.csv"), "--out", planPath); r.code != exitOK {
		t.Fatalf("plan --out: exit %d\n%s", r.code, r.stderr)
	}
	b, err := os.ReadFile(planPath)
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Operations []struct {
			Line int             `json:"line"`
			App  string          `json:"mobileAppId"`
			ID   string          `json:"mobileAppInstallStatusId"`
			Body json.RawMessage `json:"body"`
		} `json:"operations"`
	}
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatalf("the plan file is not JSON: %v", err)
	}
	entries := 0
	for _, e := range doc.Operations {
		// Lines are physical: cells with line breaks shift them, so
		// find the row by its (unique) status id.
		i := slices.IndexFunc(rows, func(r hzIDRow) bool { return r.id == e.ID })
		if i < 0 {
			t.Errorf("plan line %d: unknown status id %q", e.Line, e.ID)
			continue
		}
		entries++
		var body map[string]json.RawMessage
		if err := json.Unmarshal(e.Body, &body); err != nil {
			t.Fatalf("plan line %d: body %s: %v", e.Line, e.Body, err)
		}
		var name, ver string
		json.Unmarshal(body["deviceName"], &name)
		json.Unmarshal(body["displayVersion"], &ver)
		if e.App != rows[i].app || name != hzFormulaCells[i] || ver != hzNumbers[i%len(hzNumbers)] {
			t.Errorf("plan line %d: mobileAppId %q, deviceName %q, displayVersion %q; want %q %q %q",
				e.Line, e.App, name, ver, rows[i].app, hzFormulaCells[i], hzNumbers[i%len(hzNumbers)])
		}
		if got := string(body["errorCode"]); got != "-2016345060" {
			t.Errorf("plan line %d: errorCode %s, want the JSON number -2016345060", e.Line, got)
		}
	}
	if entries != len(hzFormulaCells) {
		t.Errorf("the plan has %d entries, want %d", entries, len(hzFormulaCells))
	}

	// An invalid input: the results file lists the bad cells as they
	// were, still neutralised.
	bad := hzWriteFile(t, filepath.Join(dir, "bad.csv"), hzCSV(t, [][]string{
		{"mobileAppId", "mobileAppInstallStatusId", "installState", "errorCode", "deviceName"},
		{"=1+1", "-1+1", "=1+1", "@SUM(1,1)", "\t=1+1"},
		{"+1+1", "ok", "installed", "-1+1", "=HYPERLINK(\"http://example.invalid\",\"x\")"},
		{"@x", "a/b", "installed", "-7", "-3"},
	}))
	if r := cli(t, ctx, vars, hzArgs([]string{"apply", bad, "--yes"}, hzFast)...); r.code != exitInvalid {
		t.Fatalf("apply bad.csv: exit %d, want %d", r.code, exitInvalid)
	}
	recs = hzCheckSafe(t, filepath.Join(dir, "bad.results.csv"))
	if len(recs) != 4 || recs[1][4] != "invalid" || recs[3][len(recs[3])-1] != "-3" {
		t.Errorf("bad.results.csv = %q", recs)
	}
}

// TestLibreOfficeDoesNotEvaluate opens a results file made from hostile
// input in LibreOffice Calc, converts it to CSV, and checks that no cell
// was evaluated. scripts/libreoffice-check.sh installs LibreOffice and
// runs it; elsewhere it is skipped.
func TestLibreOfficeDoesNotEvaluate(t *testing.T) {
	if os.Getenv("BULKPATCH_LIBREOFFICE") == "" {
		t.Skip("set BULKPATCH_LIBREOFFICE=1 (scripts/libreoffice-check.sh does) to open a results file in LibreOffice")
	}
	soffice, err := exec.LookPath("soffice")
	if err != nil {
		t.Skip("soffice is not installed: scripts/libreoffice-check.sh installs libreoffice-calc")
	}
	dir, _, _, results := hzHostileRun(t)
	profile := t.TempDir()
	convert := func(in, outDir, infilter string) [][]string {
		t.Helper()
		args := []string{"-env:UserInstallation=file://" + profile, "--headless", "--norestore"}
		if infilter != "" {
			args = append(args, "--infilter="+infilter)
		}
		args = append(args, "--convert-to", "csv:Text - txt - csv (StarCalc):44,34,76,1", "--outdir", outDir, in)
		out, err := exec.Command(soffice, args...).CombinedOutput()
		if err != nil {
			t.Fatalf("soffice %q: %v\n%s", args, err, out)
		}
		conv := filepath.Join(outDir, strings.TrimSuffix(filepath.Base(in), filepath.Ext(in))+".csv")
		if _, err := os.Stat(conv); err != nil {
			t.Fatalf("soffice wrote no %s: %v\n%s", conv, err, out)
		}
		return hzReadCSV(t, conv)
	}
	norm := func(s string) string { return strings.NewReplacer("\r\n", "\n", "\r", "\n").Replace(s) }

	// Evaluating on import: LibreOffice's default for CSV, and the same
	// spelled out (token 13 of the CSV filter options).
	for _, infilter := range []string{"", "CSV:44,34,76,1,,1033,false,true,false,false,false,-1,true"} {
		// A control: the same conversion runs a formula nobody
		// neutralised, so it can tell.
		control := hzWriteFile(t, filepath.Join(dir, "control.csv"), "a,b\n=1+1,\"=HYPERLINK(\"\"http://example.invalid\"\",\"\"x\"\")\"\n")
		got := convert(control, t.TempDir(), infilter)
		if len(got) != 2 || got[1][0] != "2" || got[1][1] != "x" {
			t.Fatalf("infilter %q: LibreOffice did not evaluate the control %q, so it cannot show anything here", infilter, got)
		}

		want := hzReadCSV(t, results)
		got = convert(results, t.TempDir(), infilter)
		if len(got) != len(want) {
			t.Fatalf("infilter %q: %d records after LibreOffice, want %d", infilter, len(got), len(want))
		}
		checked := 0
		for i := range want {
			for j := range want[i] {
				cell := want[i][j]
				if !strings.HasPrefix(cell, "'") && !hzDangerous(cell) {
					continue // plain text and numbers: LibreOffice may reformat them
				}
				checked++
				g := ""
				if j < len(got[i]) {
					g = got[i][j]
				}
				// Calc shows neutralised text as is, or without the
				// apostrophe that marks it as text; anything else means
				// it computed something.
				if norm(g) != norm(cell) && norm(g) != norm(strings.TrimPrefix(cell, "'")) {
					t.Errorf("infilter %q: record %d, cell %d: %q became %q in LibreOffice", infilter, i+1, j+1, cell, g)
				}
			}
		}
		if checked < 3*len(hzFormulaCells) {
			t.Errorf("only %d neutralised cells were checked", checked)
		}
	}
}

// hzRepeat yields n bytes of pat repeated, holding none of them.
type hzRepeat struct {
	pat []byte
	n   int64
	off int
}

func (r *hzRepeat) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if len(r.pat) < 32<<10 {
		// Copy in big pieces: a byte at a time, 8 MiB cost half a
		// second under the race detector.
		r.pat = bytes.Repeat(r.pat, (32<<10)/len(r.pat)+1)
	}
	m := int(min(int64(len(p)), r.n))
	for i := 0; i < m; {
		c := copy(p[i:m], r.pat[r.off:])
		i += c
		r.off = (r.off + c) % len(r.pat)
	}
	r.n -= int64(m)
	return m, nil
}

// hzLazy is prefix, pat repeated to n bytes, then suffix.
func hzLazy(prefix, pat string, n int64, suffix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), &hzRepeat{pat: []byte(pat), n: n}, strings.NewReader(suffix))
}

// hzRows yields a header and then distinct valid rows until n bytes.
type hzRows struct {
	buf  []byte
	i    int
	left int64
}

func (r *hzRows) Read(p []byte) (int, error) {
	for len(r.buf) == 0 {
		if r.left <= 0 {
			return 0, io.EOF
		}
		if r.i == 0 {
			r.buf = []byte("mobileAppId,mobileAppInstallStatusId,installState\n")
		} else {
			r.buf = fmt.Appendf(r.buf, "app-1,ds-%d,installed\n", r.i)
		}
		r.i++
		r.left -= int64(len(r.buf))
	}
	n := copy(p, r.buf)
	r.buf = r.buf[n:]
	return n, nil
}

const hzTwoGB = 2 << 30

// hzBigFile makes a file of size bytes that starts with what r yields
// and costs almost no disk: the first 8 MiB are written, the rest is a
// hole. Every input here is refused within its first 2 MiB, so what the
// hole holds (zero bytes) is never looked at unless something reads far
// more than it should.
func hzBigFile(t testing.TB, path string, r io.Reader, size int64) string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, io.LimitReader(r, 8<<20)); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	// Where holes are not supported the file would really take 2 GB of
	// disk: give it back and skip.
	if fi, err := f.Stat(); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > 64<<20 {
			f.Truncate(0)
			t.Skipf("this file system stores holes as data (%d MiB for %s)", st.Blocks*512>>20, path)
		}
	}
	return path
}

// hzLimitInputs are inputs no spreadsheet should hold: each must be
// refused with exit 3 and the message given.
var hzLimitInputs = []struct {
	name  string
	input func() io.Reader
	args  []string
	want  string
}{
	{"huge quoted cell", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,\"", "x", hzTwoGB, "\"\n") }, nil, "record too large"},
	{"endless line", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,", "x", hzTwoGB, "\n") }, nil, "record too large"},
	{"header without end", func() io.Reader { return hzLazy("mobileAppId,mobileAppInstallStatusId", "x", hzTwoGB, "") }, nil, "record too large"},
	{"millions of header columns", func() io.Reader { return hzLazy("mobileAppId,mobileAppInstallStatusId", ",x", 6_000_000, "\n") }, nil, "too many columns"},
	{"millions of cells in a row", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,x", ",", 3_000_000, "\n") }, nil, "record too large"},
	{"100,000 cells in a row", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,x", ",", 100_000, "\napp,id2,y\n") }, nil, "wrong number of fields"},
	{"deep quoting", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,\"", `""`, hzTwoGB, "\"\n") }, nil, "record too large"},
	{"unterminated quote", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,\"x", "y\n", hzTwoGB, "") }, nil, "record too large"},
	{"2 GB of rows", func() io.Reader { return &hzRows{left: hzTwoGB} }, []string{"--max-rows", "1000"}, "more than --max-rows 1000"},
}

const hzLimitHeader = "mobileAppId,mobileAppInstallStatusId,deviceName\n"

// TestHardeningLimits gives validate and apply 2 GB files with huge
// cells, endless lines, millions of columns, deep quoting or too many
// rows: each is refused with exit 3 and a clear message that does not
// repeat the huge cell, and apply sends nothing.
func TestHardeningLimits(t *testing.T) {
	rec, _, vars := hzServe(t, &emulator.State{}, emulator.Options{}, "test-token")
	for _, tt := range hzLimitInputs {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := hzBigFile(t, filepath.Join(dir, "input.csv"), tt.input(), hzTwoGB)
			// plan reads the input as validate does; apply also shows
			// that nothing is sent.
			for _, cmd := range [][]string{
				{"validate", path},
				hzArgs([]string{"apply", path, "--yes", "--results", filepath.Join(dir, "r.csv")}, hzFast),
			} {
				r := cli(t, context.Background(), vars, append(cmd, tt.args...)...)
				if r.code != exitInvalid || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: exit %d, want %d with %q:\n%s", cmd[0], r.code, exitInvalid, tt.want, hzTail(r.stderr))
				}
				if len(r.stderr) > 64<<10 {
					t.Errorf("%s: %d bytes of messages: a huge cell must not be repeated", cmd[0], len(r.stderr))
				}
			}
		})
	}
	t.Cleanup(func() {
		if reqs, _ := rec.take(); len(reqs) > 0 {
			t.Errorf("refused inputs sent %d requests: %q", len(reqs), reqs[:min(5, len(reqs))])
		}
	})
}

// TestHardeningLimitsMemory checks in a real process that refusing a
// 2 GB input costs bounded memory: the runtime's GC trace shows the
// largest heap, and the peak resident size stays far below the input.
func TestHardeningLimitsMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)
	heapRE := regexp.MustCompile(`(\d+)->(\d+)->(\d+) MB`)
	for _, tt := range hzLimitInputs {
		path := hzBigFile(t, filepath.Join(t.TempDir(), "input.csv"), tt.input(), hzTwoGB)
		cmd := exec.Command(bin, append([]string{"validate", path}, tt.args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GODEBUG=gctrace=1"}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitInvalid {
			t.Errorf("%s: %v, want exit %d\n%s", tt.name, err, exitInvalid, hzTail(string(out)))
			continue
		}
		peak := 0
		for _, m := range heapRE.FindAllStringSubmatch(string(out), -1) {
			for _, v := range m[1:3] {
				var mb int
				fmt.Sscan(v, &mb)
				peak = max(peak, mb)
			}
		}
		var rss int64
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = int64(ru.Maxrss) << 10 // KiB on Linux
		}
		t.Logf("%s: largest heap %d MB, peak resident %d MiB", tt.name, peak, rss>>20)
		// A row of a million empty cells (1 MiB of commas, the record
		// limit) is the worst case: encoding/csv and gocsv keep some 70
		// bytes per cell, some 80 MB, whatever the size of the file.
		if peak > 128 || rss > 512<<20 {
			t.Errorf("%s: heap %d MB, resident %d MiB; want bounded (128 MB, 512 MiB) for a 2 GB input", tt.name, peak, rss>>20)
		}
	}
}

// TestHardeningMaxRows checks --max-rows on every command that reads the
// input: at the limit the file is fine, one row over it is refused with
// exit 3 and nothing is sent.
func TestHardeningMaxRows(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := generate(t, 1, 5, 0, 0, 0)
	input := f.write(t, dir)
	rec, _, vars := hzServe(t, f.state, emulator.Options{}, "test-token")
	for _, cmd := range [][]string{
		{"validate", input},
		{"plan", input},
		{"plan", input, "--out", filepath.Join(dir, "p.json")},
		hzArgs([]string{"plan", input, "--reconcile"}, hzFast),
		hzArgs([]string{"apply", input, "--yes"}, hzFast),
	} {
		r := cli(t, ctx, vars, append(cmd, "--max-rows", "4")...)
		if r.code != exitInvalid || !strings.Contains(r.stderr, "--max-rows 4") {
			t.Errorf("%s --max-rows 4 (of 5): exit %d, want %d naming the limit\n%s", cmd[0], r.code, exitInvalid, hzTail(r.stderr))
		}
		if reqs, _ := rec.take(); len(reqs) > 0 {
			t.Errorf("%s --max-rows 4: sent %d requests", cmd[0], len(reqs))
		}
		if r := cli(t, ctx, vars, append(cmd, "--max-rows", "5")...); r.code != exitOK {
			t.Errorf("%s --max-rows 5 (of 5): exit %d, want 0\n%s", cmd[0], r.code, hzTail(r.stderr))
		}
		rec.take()
	}
	if r := cli(t, ctx, vars, "validate", input, "--max-rows", "-1"); r.code != exitOK && r.code != exitUsage {
		t.Errorf("--max-rows -1: exit %d", r.code)
	}
}

// hzJSONLines parses stderr as one JSON object per line.
func hzJSONLines(t testing.TB, stderr string) []map[string]any {
	t.Helper()
	var events []map[string]any
	for i, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stderr line %d is not a JSON object: %q", i+1, line)
			continue
		}
		events = append(events, m)
	}
	return events
}

func hzHasKeys(t testing.TB, ev map[string]any, keys ...string) {
	t.Helper()
	for _, k := range append([]string{"time", "level", "msg"}, keys...) {
		if _, ok := ev[k]; !ok {
			t.Errorf("event %q has no %q: %v", ev["msg"], k, ev)
		}
	}
}

// TestHardeningLogs checks the operator's view: with --log-format json
// stderr is one JSON event per line with the documented fields (README,
// "Logs"), with text it is a few short lines, and neither colours nor
// prompts when no terminal is there.
func TestHardeningLogs(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	token := hzSecret(t, "TOKEN")
	f := generate(t, 2, 3, 0, 0, 0)
	input := f.write(t, dir)
	st := generate(t, 2, 3, 0, 0, 0).state
	hzDropStatuses(st, "app-01") // 3 of 6 rows fail with 404
	_, _, vars := hzServe(t, st, emulator.Options{}, token)
	c := &hzLeakChecker{t: t, secrets: []string{token}}
	results := filepath.Join(dir, "r.csv")

	r := c.run(ctx, vars, exitRowsFailed, hzArgs([]string{"apply", input, "--yes", "--log-format", "json", "--results", results}, hzFast)...)
	events := hzJSONLines(t, r.stderr)
	var msgs []string
	for _, ev := range events {
		msgs = append(msgs, fmt.Sprint(ev["msg"]))
		switch ev["msg"] {
		case "run starting":
			hzHasKeys(t, ev, "input", "rows", "results", "graph", "auth", "rate", "concurrency", "batch", "reconcile", "resume", "resumed_rows")
			if ev["auth"] != "token" || ev["rows"] != float64(6) {
				t.Errorf("run starting: auth %v, rows %v", ev["auth"], ev["rows"])
			}
		case "row failed":
			hzHasKeys(t, ev, "line", "http_status", "error_code", "error_message", "attempts", "request_id")
			if ev["level"] != "WARN" || ev["http_status"] != float64(404) {
				t.Errorf("row failed: %v", ev)
			}
		case "run finished":
			hzHasKeys(t, ev, "results", "elapsed_ms", "writes", "throttled")
		}
	}
	want := []string{"run starting", "row failed", "row failed", "row failed", "run finished"}
	if !slices.Equal(msgs, want) {
		t.Errorf("JSON events %q, want %q", msgs, want)
	}

	// Debug: one event per attempt, never a header.
	r = c.run(ctx, hzWith(vars, "BULKPATCH_DEBUG", "1"), exitRowsFailed,
		hzArgs([]string{"apply", input, "--yes", "--log-format", "json", "--results", results + ".2"}, hzFast)...)
	attempts := 0
	for _, ev := range hzJSONLines(t, r.stderr) {
		if ev["msg"] == "graph attempt" {
			attempts++
			hzHasKeys(t, ev, "method", "path", "status", "attempt", "request_id", "client_request_id")
		}
	}
	if attempts != 6 {
		t.Errorf("%d graph attempt events, want 6", attempts)
	}
	if l := strings.ToLower(r.stderr); strings.Contains(l, "authorization") || strings.Contains(l, "bearer") {
		t.Errorf("debug logs mention the Authorization header:\n%s", r.stderr)
	}

	// Text: short lines for people, no timestamps (cron adds its own).
	r = c.run(ctx, vars, exitRowsFailed, hzArgs([]string{"apply", input, "--yes", "--results", results + ".3"}, hzFast)...)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 5 {
		t.Errorf("text logs: %d lines, want 5 (start, 3 failures, finish):\n%s", len(lines), r.stderr)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "level=") || strings.Contains(l, "time=") {
			t.Errorf("text log line %q: want level=… without time=", l)
		}
	}

	// No colour without a terminal, with or without NO_COLOR, even with
	// the progress bar forced on; and no prompt either.
	for _, v := range []map[string]string{vars, hzWith(vars, "NO_COLOR", "1")} {
		c.run(ctx, v, exitRowsFailed, "apply", input, "--yes", "--progress", "always", "--results", results)
		c.run(ctx, v, exitInvalid, "validate", hzWriteFile(t, filepath.Join(dir, "bad.csv"), hzInvalidInput))
	}
	noToken := hzWith(vars, "BULKPATCH_TOKEN", "", "BULKPATCH_AUTH", "")
	for _, tt := range []struct {
		args []string
		vars map[string]string
		want []int
	}{
		{[]string{"apply", input, "--results", results}, vars, []int{exitUsage}},
		// A sign-in that cannot work: a usage or an auth failure, as long
		// as nobody is asked.
		{[]string{"apply", input, "--yes", "--auth", "device-code", "--results", results}, noToken, []int{exitUsage, exitAuth}},
		{[]string{"export", "--app", "app-00", "--auth", "device-code"}, noToken, []int{exitUsage, exitAuth}},
	} {
		args := tt.args
		stdin := &hzReadSpy{}
		var stdout, stderr bytes.Buffer
		e := &env{stdin: stdin, stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return tt.vars[k] }}
		if code := e.run(ctx, args); !slices.Contains(tt.want, code) {
			t.Errorf("%q without a terminal: exit %d, want one of %v\n%s", args, code, tt.want, stderr.String())
		}
		if stdin.reads > 0 || !strings.Contains(stderr.String(), "terminal") {
			t.Errorf("%q without a terminal: %d reads of stdin; stderr:\n%s", args, stdin.reads, stderr.String())
		}
	}
}

// hzReadSpy is a stdin that counts reads.
type hzReadSpy struct{ reads int }

func (s *hzReadSpy) Read([]byte) (int, error) {
	s.reads++
	return 0, io.EOF
}

// TestHardeningPrivateFiles checks that results, journals, plans and
// exports are 0600, also when a wider file was there before.
func TestHardeningPrivateFiles(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := generate(t, 1, 4, 1, 2, 0)
	input := f.write(t, dir)
	_, _, vars := hzServe(t, f.state, emulator.Options{}, "test-token")
	p := func(name string) string { return filepath.Join(dir, name) }
	for _, name := range []string{"r.csv", "r.csv.journal", "p.json", "e.csv"} {
		hzWriteFile(t, p(name), "left by someone else\n")
		if err := os.Chmod(p(name), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	for _, args := range [][]string{
		{"plan", input, "--out", p("p.json")},
		{"plan", input, "--reconcile", "--out", p("p2.json")},
		{"apply", input, "--yes", "--results", p("r.csv")},
		{"apply", input, "--yes", "--results", p("fresh.csv")},
		{"export", "--app", "app-00", "--out", p("e.csv")},
		{"export", "--app", "app-00", "--out", p("e2.csv"), "--excel"},
	} {
		if r := cli(t, ctx, vars, hzArgs(args, hzFast)...); r.code != exitOK {
			t.Fatalf("%q: exit %d\n%s", args, r.code, r.stderr)
		}
	}
	if r := cli(t, ctx, vars, hzArgs([]string{"apply", hzWriteFile(t, p("bad.csv"), hzInvalidInput), "--yes"}, hzFast)...); r.code != exitInvalid {
		t.Fatalf("apply bad.csv: exit %d", r.code)
	}
	for _, name := range []string{"r.csv", "r.csv.journal", "fresh.csv", "fresh.csv.journal", "p.json", "p2.json", "e.csv", "e2.csv", "bad.results.csv", "r.csv.lock", "fresh.csv.lock"} {
		fi, err := os.Stat(p(name))
		if errors.Is(err, fs.ErrNotExist) && strings.HasSuffix(name, ".lock") {
			continue // removed on release; while it exists it is 0600 too
		}
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if got := fi.Mode().Perm(); got != 0o600 {
			t.Errorf("%s has mode %o, want 600", name, got)
		}
	}
}

// TestHardeningPlainHTTP checks that an http:// Graph root is refused
// (exit 2, before anything is sent or signed in) unless it names this
// machine.
func TestHardeningPlainHTTP(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	f := generate(t, 1, 3, 0, 0, 0)
	input := f.write(t, dir)
	rec, _, vars := hzServe(t, f.state, emulator.Options{}, "test-token")
	loopback := vars["BULKPATCH_GRAPH_URL"]
	u, err := url.Parse(loopback)
	if err != nil {
		t.Fatal(err)
	}
	commands := [][]string{
		hzArgs([]string{"plan", input, "--reconcile"}, hzFast),
		hzArgs([]string{"apply", input, "--yes", "--results", filepath.Join(dir, "r.csv")}, hzFast),
		hzArgs([]string{"export", "--app", "app-00"}, hzFast),
	}
	// Names under .invalid never resolve, so even a regression would send
	// nothing anywhere.
	for _, root := range []string{
		"http://graph.example.invalid/beta",
		"http://localhost.example.invalid/beta",
		"http://127.0.0.1.example.invalid/beta",
		"HTTP://graph.example.invalid/beta",
	} {
		for _, args := range commands {
			for _, how := range []string{"flag", "env"} {
				v, a := vars, append(slices.Clone(args), "--graph-url", root)
				if how == "env" {
					v, a = hzWith(vars, "BULKPATCH_GRAPH_URL", root), args
				}
				r := cli(t, ctx, v, a...)
				if r.code != exitUsage || !strings.Contains(r.stderr, "loopback") {
					t.Errorf("%s %s via %s: exit %d, want %d explaining loopback\n%s", args[0], root, how, r.code, exitUsage, hzTail(r.stderr))
				}
			}
		}
	}
	if reqs, _ := rec.take(); len(reqs) > 0 {
		t.Errorf("requests reached the loopback server: %q", reqs)
	}
	// Loopback by name and by address is fine.
	for _, root := range []string{loopback, "http://localhost:" + u.Port() + "/beta"} {
		for _, args := range commands {
			if r := cli(t, ctx, hzWith(vars, "BULKPATCH_GRAPH_URL", root), args...); r.code != exitOK {
				t.Errorf("%s via %s: exit %d\n%s", args[0], root, r.code, hzTail(r.stderr))
			}
		}
	}
	if reqs, _ := rec.take(); len(reqs) == 0 {
		t.Error("nothing reached the loopback server")
	}
}

// TestHardeningLogsBoundGraphMessages: Graph (or a proxy in front of it)
// may answer with an error message of any size; a log event repeats at
// most a short piece of it, in both formats.
func TestHardeningLogsBoundGraphMessages(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	huge := strings.Repeat("very long message ", 20_000) // 360 kB
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "BadRequest", "message": huge}})
	}))
	defer ts.Close()
	input := generate(t, 1, 2, 0, 0, 0).write(t, dir)
	vars := map[string]string{"BULKPATCH_GRAPH_URL": ts.URL + "/beta", "BULKPATCH_TOKEN": "test-token", "BULKPATCH_AUTH": "token"}
	for _, format := range []string{"text", "json"} {
		r := cli(t, ctx, vars, hzArgs([]string{"apply", input, "--yes", "--log-format", format}, hzFast)...)
		if r.code != exitRowsFailed {
			t.Fatalf("%s: exit %d, want %d\n%s", format, r.code, exitRowsFailed, hzTail(r.stderr))
		}
		for _, l := range strings.Split(r.stderr, "\n") {
			if len(l) > 2000 {
				t.Errorf("%s: a log line of %d bytes: %.200s…", format, len(l), l)
			}
		}
	}
}
