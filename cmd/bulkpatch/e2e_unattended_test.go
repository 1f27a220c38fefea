package main

// End-to-end tests of what an unattended run needs (issue 10): a fast,
// honest stop when Graph cannot be reached, quiet success for cron, the
// counts of the run in its last event, and Multi Admin Approval named as
// what it is.

import (
	"bytes"
	"context"
	"encoding/json"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// TestUnreachableGraphStops: against a host that refuses connections or
// does not resolve, apply stops with exit 5 within 30 s of (fake) time,
// naming the host and the cause, whatever the row count; the rows are
// not_attempted or failed, and nothing is left half-recorded.
func TestUnreachableGraphStops(t *testing.T) {
	refused := func(ctx context.Context, network, addr string) (net.Conn, error) {
		return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", errConnRefused)}
	}
	noHost := func(ctx context.Context, network, addr string) (net.Conn, error) {
		host, _, _ := net.SplitHostPort(addr)
		return nil, &net.OpError{Op: "dial", Net: network, Err: &net.DNSError{Err: "no such host", Name: host, IsNotFound: true}}
	}
	for _, tt := range []struct {
		name, url, cause string
		dial             func(context.Context, string, string) (net.Conn, error)
	}{
		{"refused", "http://127.0.0.1:9/beta", "connection refused", refused},
		{"no such host", "https://graph.invalid/beta", "no such host", noHost},
	} {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			in := generate(t, 2, 200, 0, 0, 0).write(t, dir)
			synctest.Test(t, func(t *testing.T) {
				// The dialer fails as the network would, without leaving
				// this machine (no DNS query for graph.invalid).
				hc := &http.Client{Transport: &http.Transport{DialContext: tt.dial}}
				vars := map[string]string{"BULKPATCH_GRAPH_URL": tt.url, "BULKPATCH_TOKEN": "t", "BULKPATCH_AUTH": "token"}
				start := time.Now()
				r := cliWith(t, t.Context(), vars, func(e *env) { e.graphHTTP = hc },
					"apply", in, "--yes", "--no-reconcile", "--progress", "never", "--rate", "50")
				took := time.Since(start)
				if r.code != exitUnavailable {
					t.Fatalf("exit %d, want %d\n%s", r.code, exitUnavailable, r.stderr)
				}
				if took > 30*time.Second {
					t.Errorf("stopped after %v, want within 30 s", took)
				}
				host := strings.TrimSuffix(strings.TrimPrefix(strings.TrimPrefix(tt.url, "http://"), "https://"), "/beta")
				if !strings.Contains(r.stderr, "cannot reach "+host+": "+tt.cause) {
					t.Errorf("the stop does not name the host and the cause:\n%s", r.stderr)
				}
			})
			_, rows := readResults(t, filepath.Join(dir, "input.results.csv"))
			if n := countOutcomes(rows); len(rows) != 400 || n["applied"] != 0 {
				t.Errorf("results %v, want 400 rows, none applied", n)
			}
		})
	}
}

// TestQuietSuccess: --quiet prints nothing at all when every row is
// applied; a failure still prints its summary.
func TestQuietSuccess(t *testing.T) {
	f := generate(t, 1, 12, 0, 0, 0)
	_, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)
	r := cli(t, t.Context(), vars, "apply", in, "--yes", "--quiet")
	if r.code != exitOK || r.stdout != "" || r.stderr != "" {
		t.Errorf("quiet apply: exit %d, stdout %q, stderr %q; want 0 and nothing", r.code, r.stdout, r.stderr)
	}
	for _, args := range [][]string{{"validate", in, "-q"}, {"plan", in, "--quiet"}, {"plan", in, "--reconcile", "--quiet"}} {
		if r := cli(t, t.Context(), vars, args...); r.code != exitOK || r.stdout+r.stderr != "" {
			t.Errorf("%q: exit %d, output %q", args, r.code, r.stdout+r.stderr)
		}
	}
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("mobileAppId,mobileAppInstallStatusId,installState\napp-00,missing,installed\n"), 0o600)
	r = cli(t, t.Context(), vars, "apply", bad, "--yes", "--quiet")
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "failed") || !strings.Contains(r.stderr, "row failed") {
		t.Errorf("quiet apply with a failure: exit %d, want 1 with the summary and the failure\nstdout %s\nstderr %s", r.code, r.stdout, r.stderr)
	}
}

// TestRunFinishedCounts: the JSON "run finished" event carries the run's
// counts and exit code, the same numbers as the summary.
func TestRunFinishedCounts(t *testing.T) {
	f := generate(t, 1, 12, 0, 0, 4)
	_, vars := emulate(t, f.state, emulator.Options{})
	in := f.write(t, t.TempDir())
	r := cli(t, t.Context(), vars, "apply", in, "--yes", "--log-format", "json")
	if r.code != exitOK {
		t.Fatalf("exit %d\n%s", r.code, r.stderr)
	}
	var ev map[string]any
	for _, l := range strings.Split(r.stderr, "\n") {
		var m map[string]any
		if json.Unmarshal([]byte(l), &m) == nil && m["msg"] == "run finished" {
			ev = m
		}
	}
	for k, want := range map[string]float64{"applied": 9, "unchanged": 3, "failed": 0, "skipped": 0, "not_attempted": 0,
		"invalid": 0, "writes": 9, "exit_code": 0} {
		if got, ok := ev[k].(float64); !ok || got != want {
			t.Errorf("run finished %s = %v, want %v (event %v)", k, ev[k], want, ev)
		}
	}
	if ev["reads"] == nil || ev["reads"].(float64) < 1 {
		t.Errorf("run finished reads = %v, want the reads of the reconcile", ev["reads"])
	}
	if !strings.Contains(r.stdout, "9 writes") {
		t.Errorf("the summary does not say 9 writes:\n%s", r.stdout)
	}
}

// TestApprovalRequired: under Intune Multi Admin Approval apply stops
// with exit 4 after at most 5 requests, naming Multi Admin Approval and
// its remedy, never a missing permission.
func TestApprovalRequired(t *testing.T) {
	for _, wording := range []string{emulator.ApprovalCode, emulator.ApprovalHeader} {
		t.Run(wording, func(t *testing.T) {
			f := generate(t, 1, 30, 0, 0, 0)
			srv, vars := emulate(t, f.state, emulator.Options{ApprovalRequired: wording})
			in := f.write(t, t.TempDir())
			r := cli(t, t.Context(), vars, "apply", in, "--yes", "--no-reconcile", "--concurrency", "4")
			if r.code != exitAuth {
				t.Fatalf("exit %d, want %d\n%s", r.code, exitAuth, r.stderr)
			}
			if !strings.Contains(r.stderr, "Multi Admin Approval") || strings.Contains(r.stderr, "needs the permission") {
				t.Errorf("the stop does not name Multi Admin Approval (or blames a permission):\n%s", r.stderr)
			}
			if n := srv.Stats().Writes; n > 5 {
				t.Errorf("%d writes reached the server, want at most 5", n)
			}
		})
	}
}

// TestOfflinePlanKeepsItsTarget: a plan made offline for one Graph root
// is applied to that root without --graph-url, and refused for another
// given explicitly.
func TestOfflinePlanKeepsItsTarget(t *testing.T) {
	f := generate(t, 1, 5, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)
	pl := filepath.Join(dir, "p.json")
	if r := cli(t, t.Context(), nil, "plan", in, "--graph-url", vars["BULKPATCH_GRAPH_URL"], "--out", pl); r.code != exitOK {
		t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
	}
	noURL := map[string]string{"BULKPATCH_TOKEN": vars["BULKPATCH_TOKEN"], "BULKPATCH_AUTH": "token"}
	if r := cli(t, t.Context(), noURL, "apply", "--plan", pl); r.code != exitOK {
		t.Fatalf("apply --plan without --graph-url: exit %d\n%s", r.code, r.stderr)
	}
	if n := srv.Stats().Writes; n != 5 {
		t.Errorf("the plan's own root got %d writes, want 5", n)
	}
	r := cli(t, t.Context(), noURL, "apply", "--plan", pl, "--graph-url", "http://127.0.0.1:1/beta")
	if r.code != exitUsage || !strings.Contains(r.stderr, "the plan was made for") {
		t.Errorf("apply --plan to another root: exit %d, want 2\n%s", r.code, r.stderr)
	}
}

var errConnRefused = syscall.ECONNREFUSED

// cliWith is cli with a change to the environment before the run.
func cliWith(t testing.TB, ctx context.Context, vars map[string]string, set func(*env), args ...string) result {
	t.Helper()
	var stdout, stderr bytes.Buffer
	e := &env{stdin: strings.NewReader(""), stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return vars[k] }}
	set(e)
	code := e.run(ctx, args)
	return result{code, stdout.String(), stderr.String()}
}
