package main

// Resilience end to end, in-process: faults, throttling, token expiry,
// refused permissions and the removed deviceStatuses segment, each
// against the emulator, reached in-process on a fake clock where the run
// would otherwise wait, on loopback where sign-in needs a real server.

import (
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/auth/authtest"
	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// crids counts, by client-request-id, the requests an emulator received.
type crids struct {
	mu sync.Mutex
	n  map[string]int
}

func (c *crids) get(id string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.n[id]
}

// emulateCounting is emulateInProcess with every request's
// client-request-id counted on its way in, so a test can check the
// results' attempts column against what the server saw.
func emulateCounting(t testing.TB, st *emulator.State, opt emulator.Options) (*emulator.Server, cliEnv, *crids) {
	t.Helper()
	srv := newEmulator(t, st, opt)
	c := &crids{n: map[string]int{}}
	return srv, inProcess(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c.mu.Lock()
		c.n[r.Header.Get("client-request-id")]++
		c.mu.Unlock()
		srv.ServeHTTP(w, r)
	})), c
}

// checkAttempts checks each row's attempts against the requests the
// server saw with the row's client-request-id: every request the server
// saw belongs to a row and was counted by it. An attempt may be counted
// without reaching the server (over a network, one that times out on the
// way), so attempts may exceed what the server saw, but never fall short. It
// returns how many rows the server saw more than once: rows retried under
// the same id.
//
// requests is what the server saw of the rows' writes: its requests less
// its reads (the one preflight read before the first write is no row's).
func checkAttempts(t testing.TB, rows []map[string]string, seen *crids, requests int) int {
	t.Helper()
	retried, bad, total := 0, 0, 0
	for _, row := range rows {
		n := seen.get(row["client_request_id"])
		total += n
		if a, err := strconv.Atoi(row["attempts"]); err != nil || a < n || a < 1 {
			bad++
			if bad <= 5 {
				t.Errorf("line %s: attempts %s, but the server saw %d requests with client-request-id %q",
					row["line"], row["attempts"], n, row["client_request_id"])
			}
		}
		if n > 1 {
			retried++
		}
	}
	if total != requests {
		t.Errorf("the server saw %d requests, %d of them with a row's client-request-id", requests, total)
	}
	return retried
}

// faultProfile is every fault the emulator can inject, 2% each, under
// Intune's limits (100 writes and 1000 requests per 20 s) scaled up to a
// one-second window, half the 429s without Retry-After.
//
// A run under it is mostly pauses: every 429, and every 503 with
// Retry-After, rightly pauses all workers, and the emulator's fault
// Retry-After averages 1.6 s (503: 2.75 s). On a fake clock (fakeClock)
// those pauses cost no real time.
func faultProfile(seed int64) emulator.Options {
	return emulator.Options{
		WriteLimit: 400, ReadLimit: 4000, Window: time.Second,
		RetryAfter: emulator.RetryAfterMixed, NoContent: true, RequireToken: true, Seed: seed,
		Faults: emulator.Faults{
			ResetBeforeApply: 0.02, ResetAfterApply: 0.02, Hang: 0.02,
			ServerError: 0.02, ThrottleAfterApply: 0.02,
			HangFor: 2 * time.Second,
		},
	}
}

// runApply applies f's input against the emulator and checks the run
// ended with every row applied and the tenant as expected.
func runApply(t *testing.T, f *fixture, srv *emulator.Server, ce cliEnv, args ...string) (result, emulator.Stats, []map[string]string) {
	t.Helper()
	dir := t.TempDir()
	in := f.write(t, dir)
	results := filepath.Join(dir, "results.csv")
	start := time.Now()
	// --no-reconcile: these tests measure the write path, request by
	// request; the reads before the writes have tests of their own.
	r := ce.run(t, t.Context(), append([]string{"apply", in, "--yes", "--progress", "never", "--no-reconcile", "--results", results}, args...)...)
	st := srv.Stats()
	t.Logf("%d rows in %v: %d requests, %d throttled, by status %v, faults %v", f.rows, time.Since(start).Round(time.Millisecond),
		st.Requests, st.Throttled, st.ByStatus, st.Faults)
	if r.code != exitOK {
		t.Fatalf("apply: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 30))
	}
	rows := checkResults(t, f, results, "applied")
	f.checkState(t, srv)
	return r, st, rows
}

func checkNoEarlyRetries(t testing.TB, st emulator.Stats) {
	t.Helper()
	if st.EarlyRetries != 0 {
		t.Errorf("%d requests came back before their Retry-After had passed", st.EarlyRetries)
	}
}

// TestResilienceFaultProfile is issue 3's acceptance test: thousands of
// rows through every fault at once end all applied. It runs on a fake
// clock: the many pauses cost nothing.
func TestResilienceFaultProfile(t *testing.T) {
	t.Parallel()
	fakeClock(t, func(t *testing.T) {
		f := generate(t, 2, 600, 10, 40, 0) // 2 × (600 + 10×40) = 2000 rows
		srv, ce, seen := emulateCounting(t, f.state, faultProfile(3))
		// The timeout is short for the hangs (2 s); on the fake clock an
		// answer that is on its way always arrives within it.
		_, st, rows := runApply(t, f, srv, ce, "--rate", "420", "--concurrency", "8", "--request-timeout", "1s")
		checkNoEarlyRetries(t, st)
		if retried := checkAttempts(t, rows, seen, st.Requests-st.Reads); retried < 100 {
			t.Errorf("only %d rows needed a retry: the faults did not bite", retried)
		}
		for _, name := range []string{"resetBeforeApply", "resetAfterApply", "hang", "serverError", "throttleAfterApply"} {
			if st.Faults[name] == 0 {
				t.Errorf("the profile injected no %s fault: the test proves less than it claims", name)
			}
		}
	})
}

// tokenScript writes a token command that prints cmd-token-1,
// cmd-token-2, ... one per run, and returns it with a function that
// tells how often it ran.
func tokenScript(t *testing.T) (string, func() int) {
	t.Helper()
	dir := t.TempDir()
	runs := filepath.Join(dir, "runs")
	script := filepath.Join(dir, "token.sh")
	// Shell builtins only: the command may run with an empty PATH.
	body := fmt.Sprintf(`n=0
[ -f %[1]q ] && read n < %[1]q
n=$((n+1))
echo "$n" > %[1]q
echo "cmd-token-$n"
`, runs)
	if err := os.WriteFile(script, []byte(body), 0o700); err != nil {
		t.Fatal(err)
	}
	return "/bin/sh " + script, func() int {
		b, err := os.ReadFile(runs)
		if err != nil {
			return 0
		}
		n, _ := strconv.Atoi(strings.TrimSpace(string(b)))
		return n
	}
}

// tokensNeeded is how many tokens a run needs when each serves uses
// requests and a new one is fetched only when Graph says the old one
// expired: every request the emulator let through used up one use of
// some token, and all but the last token were used up completely.
func tokensNeeded(st emulator.Stats, uses int) int {
	accepted := st.Requests - st.ByStatus[401]
	return (accepted + uses - 1) / uses
}

func TestResilienceTokenCommandExpiry(t *testing.T) {
	t.Parallel()
	fakeClock(t, func(t *testing.T) {
		const uses = 150
		f := generate(t, 2, 300, 5, 20, 0) // 800 rows
		srv, ce := emulateInProcess(t, f.state, emulator.Options{RequireToken: true, TokenUses: uses, NoContent: true})
		cmd, runs := tokenScript(t)
		ce = ce.with("BULKPATCH_AUTH", "token-command", "BULKPATCH_TOKEN", "")
		_, st, _ := runApply(t, f, srv, ce, "--token-command", cmd, "--rate", "1000", "--concurrency", "8")
		checkNoEarlyRetries(t, st)
		want := tokensNeeded(st, uses)
		if want < 4 {
			t.Fatalf("only %d tokens needed: the run did not see the token expire several times", want)
		}
		if got := runs(); got != want {
			t.Errorf("the token command ran %d times for %d expiries, want %d (once at the start, once per expiry)", got, want-1, want)
		}
	})
}

func TestResilienceEntraExpiry(t *testing.T) {
	t.Parallel()
	const uses = 150
	f := generate(t, 2, 300, 5, 20, 0) // 800 rows
	srv, vars := emulate(t, f.state, emulator.Options{RequireToken: true, TokenUses: uses, NoContent: true})
	entra := authtest.NewServer(t)
	vars["BULKPATCH_AUTH"] = "environment"
	delete(vars, "BULKPATCH_TOKEN")
	vars["AZURE_TENANT_ID"] = "00000000-0000-4000-8000-0000000000aa"
	vars["AZURE_CLIENT_ID"] = "00000000-0000-4000-8000-0000000000bb"
	vars["AZURE_CLIENT_SECRET"] = "not-a-real-secret"

	dir := t.TempDir()
	in := f.write(t, dir)
	results := filepath.Join(dir, "results.csv")
	r := (cliEnv{vars: vars, authHTTP: entra.Client()}).run(t, t.Context(), "apply", in, "--yes", "--progress", "never", "--results", results,
		"--authority-host", entra.URL, "--rate", "1000", "--concurrency", "8")
	if r.code != exitOK {
		t.Fatalf("apply: exit %d\n%s", r.code, lastLines(r.stderr, 30))
	}
	checkResults(t, f, results, "applied")
	f.checkState(t, srv)
	st := srv.Stats()
	checkNoEarlyRetries(t, st)
	want := tokensNeeded(st, uses)
	if want < 4 {
		t.Fatalf("only %d tokens needed: the run did not see the token expire several times", want)
	}
	if got := entra.Issued(); got != want {
		t.Errorf("Entra issued %d tokens for %d expiries, want %d (once at the start, once per expiry)", got, want-1, want)
	}
	if s := entra.Strays(); len(s) > 0 {
		t.Errorf("sign-in tried to reach other hosts (instance discovery, IMDS?): %q", s)
	}
	for _, req := range entra.Requests() {
		if strings.Contains(strings.ToLower(req.Path), "metadata") || strings.Contains(req.Path, "instance") ||
			req.GrantType != "" && req.GrantType != "client_credentials" {
			t.Errorf("unexpected sign-in request %s %s (grant %q)", req.Method, req.Path, req.GrantType)
		}
		// MSAL adds "openid offline_access profile" to every request.
		if req.GrantType == "client_credentials" && !strings.HasPrefix(req.Scope, "https://graph.microsoft.com/.default") {
			t.Errorf("token requested for scope %q, want Graph's .default", req.Scope)
		}
	}
	if strings.Contains(r.stderr, "not-a-real-secret") || strings.Contains(r.stdout, "not-a-real-secret") {
		t.Error("the client secret appeared in the output")
	}
	if strings.Contains(r.stderr, authtest.TokenPrefix) || strings.Contains(r.stdout, authtest.TokenPrefix) {
		t.Error("a token appeared in the output")
	}
}

func TestResilienceRemovedSegment(t *testing.T) {
	t.Parallel()
	tests := []struct{ concurrency, batch string }{{"1", "0"}, {"4", "0"}, {"4", "20"}}
	for _, tt := range tests {
		t.Run("concurrency "+tt.concurrency+" batch "+tt.batch, func(t *testing.T) {
			fakeClock(t, func(t *testing.T) { removedSegment(t, tt.concurrency, tt.batch) })
		})
	}
}

func removedSegment(t *testing.T, concurrency, batch string) {
	f := generate(t, 1, 100, 2, 25, 0) // 150 rows
	srv, ce := emulateInProcess(t, f.state, emulator.Options{RemovedSegment: true})
	dir := t.TempDir()
	in := f.write(t, dir)
	results := filepath.Join(dir, "results.csv")
	r := ce.run(t, t.Context(), "apply", in, "--yes", "--progress", "never", "--results", results,
		"--concurrency", concurrency, "--batch", batch, "--rate", "50")
	if r.code != exitUnavailable {
		t.Fatalf("apply: exit %d, want %d\n%s", r.code, exitUnavailable, r.stderr)
	}
	for _, want := range []string{"2023", "deviceStatuses"} {
		if !strings.Contains(r.stderr, want) {
			t.Errorf("stderr does not mention %q:\n%s", want, r.stderr)
		}
	}
	// apply reads before it writes, and the first read meets the
	// removed route: the run stops before any write, every row
	// not_attempted (resumable once the tenant is sorted out).
	st := srv.Stats()
	if st.Writes != 0 || st.Requests > 5 {
		t.Errorf("%d requests, %d writes sent to a tenant without the routes, want a handful of reads and no write", st.Requests, st.Writes)
	}
	_, rows := readResults(t, results)
	if len(rows) != f.rows {
		t.Fatalf("%d result rows for %d input rows", len(rows), f.rows)
	}
	if n := countOutcomes(rows); n["not_attempted"] != f.rows {
		t.Errorf("outcomes %v, want every row not_attempted", n)
	}
}

// TestResilienceBatch applies thousands of rows in $batch requests, with
// and without faults, on a fake clock.
func TestResilienceBatch(t *testing.T) {
	t.Parallel()
	t.Run("clean", func(t *testing.T) {
		fakeClock(t, func(t *testing.T) {
			f := generate(t, 2, 500, 10, 50, 0) // 2000 rows
			srv, ce := emulateInProcess(t, f.state, emulator.Options{WriteLimit: 1000, Window: time.Second, NoContent: true, Seed: 4})
			_, st, _ := runApply(t, f, srv, ce, "--batch", "20", "--rate", "800", "--concurrency", "4")
			checkNoEarlyRetries(t, st)
			if perRow := float64(st.Requests) / float64(f.rows); perRow > 0.06 {
				t.Errorf("%d HTTP requests for %d rows = %.3f per row, want at most 0.06", st.Requests, f.rows, perRow)
			}
			checkWrittenOnce(t, f, st)
		})
	})
	t.Run("faults", func(t *testing.T) {
		fakeClock(t, func(t *testing.T) {
			f := generate(t, 2, 500, 10, 50, 0) // 2000 rows
			srv, ce := emulateInProcess(t, f.state, faultProfile(5))
			_, st, _ := runApply(t, f, srv, ce, "--batch", "20", "--rate", "420", "--concurrency", "4", "--request-timeout", "1s")
			checkNoEarlyRetries(t, st)
		})
	})
}

// TestResilienceRateAboveLimit starts three times faster than the server
// allows: the run adapts and finishes without ignoring a Retry-After.
func TestResilienceRateAboveLimit(t *testing.T) {
	t.Parallel()
	fakeClock(t, func(t *testing.T) {
		f := generate(t, 2, 400, 5, 20, 0) // 1000 rows
		srv, ce, seen := emulateCounting(t, f.state, emulator.Options{WriteLimit: 100, Window: time.Second,
			RetryAfter: emulator.RetryAfterMixed, NoContent: true, Seed: 6})
		_, st, rows := runApply(t, f, srv, ce, "--rate", "300", "--concurrency", "8")
		checkWrittenOnce(t, f, st)
		checkNoEarlyRetries(t, st)
		if retried := checkAttempts(t, rows, seen, st.Requests-st.Reads); retried == 0 {
			t.Error("no row was retried: the run never met the limit it should have")
		}
	})
}

func TestResilienceAuthFailures(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name  string
		opt   emulator.Options
		wants []string
	}{
		{"forbidden", emulator.Options{ForbiddenToken: "test-token-0123456789"}, []string{"403", "DeviceManagementApps.ReadWrite.All"}},
		{"expired static token", emulator.Options{RequireToken: true, TokenUses: 1}, []string{"BULKPATCH_TOKEN"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := generate(t, 1, 60, 0, 0, 0)
			srv, vars := emulate(t, f.state, tt.opt)
			dir := t.TempDir()
			in := f.write(t, dir)
			results := filepath.Join(dir, "results.csv")
			r := cli(t, t.Context(), vars, "apply", in, "--yes", "--progress", "never", "--results", results, "--concurrency", "2")
			if r.code != exitAuth {
				t.Fatalf("apply: exit %d, want %d\n%s", r.code, exitAuth, r.stderr)
			}
			for _, want := range tt.wants {
				if !strings.Contains(r.stderr, want) {
					t.Errorf("stderr does not mention %q:\n%s", want, r.stderr)
				}
			}
			if strings.Contains(r.stderr, "test-token-0123456789") || strings.Contains(r.stdout, "test-token-0123456789") {
				t.Error("the token appeared in the output")
			}
			if st := srv.Stats(); st.Requests > 5 {
				t.Errorf("%d requests after the tenant refused the token, want a handful at most", st.Requests)
			}
			_, rows := readResults(t, results)
			if len(rows) != f.rows {
				t.Fatalf("%d result rows for %d input rows", len(rows), f.rows)
			}
			if n := countOutcomes(rows); n["not_attempted"] < f.rows-5 {
				t.Errorf("outcomes %v: want the rest not_attempted", n)
			}
		})
	}
}

// TestResilienceSystemicFailures: when every row fails the same way that
// says nothing about the row (here: no answer at all), the run stops after
// 20 of them with exit 5 instead of burning the tenant's quota.
func TestResilienceSystemicFailures(t *testing.T) {
	t.Parallel()
	fakeClock(t, func(t *testing.T) {
		f := generate(t, 1, 200, 0, 0, 0)
		srv, ce := emulateInProcess(t, f.state, emulator.Options{Faults: emulator.Faults{ResetBeforeApply: 1}})
		dir := t.TempDir()
		in := f.write(t, dir)
		results := filepath.Join(dir, "results.csv")
		r := ce.run(t, t.Context(), "apply", in, "--yes", "--progress", "never", "--results", results,
			"--rate", "1000", "--concurrency", "2", "--max-retries", "1")
		if r.code != exitUnavailable {
			t.Fatalf("apply: exit %d, want %d\n%s", r.code, exitUnavailable, lastLines(r.stderr, 10))
		}
		if !strings.Contains(r.stderr, "last 20 rows") {
			t.Errorf("stderr does not explain the stop:\n%s", lastLines(r.stderr, 5))
		}
		_, rows := readResults(t, results)
		n := countOutcomes(rows)
		if len(rows) != f.rows || n["failed"] < 20 || n["failed"] > 22 || n["failed"]+n["not_attempted"] != f.rows {
			t.Errorf("outcomes %v for %d rows: want 20 (and the 2 in flight) failed, the rest not_attempted", n, f.rows)
		}
		if st := srv.Stats(); st.Writes > 2*22 {
			t.Errorf("%d writes, want at most 2 attempts for each of 22 rows", st.Writes)
		}
	})
}
