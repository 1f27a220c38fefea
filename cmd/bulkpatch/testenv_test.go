package main

// Shared helpers of the whole-CLI tests: run the CLI in-process with a
// controlled environment, start the emulator on loopback or reach it
// in-process on a fake clock, generate inputs and the state they should
// produce, build the binary for tests that need a real process.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"testing/synctest"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// result is what one CLI run produced.
type result struct {
	code           int
	stdout, stderr string
}

// cliEnv is what a CLI run sees besides its arguments.
type cliEnv struct {
	// vars is the whole environment: nothing leaks in from the test
	// process (no AZURE_* sign-in, no az).
	vars map[string]string
	// graphHTTP, when set, sends the requests to Graph (env.graphHTTP):
	// an in-process emulator. nil: over the network.
	graphHTTP *http.Client
	// authHTTP, when set, sends the sign-in requests (env.authTransport),
	// so that azidentity trusts an authtest server.
	authHTTP *http.Client
}

// run runs bulkpatch in-process in this environment.
func (c cliEnv) run(t testing.TB, ctx context.Context, args ...string) result {
	t.Helper()
	var stdout, stderr syncBuffer
	e := &env{
		stdin:  strings.NewReader(""),
		stdout: &stdout, stderr: &stderr,
		getenv:        func(k string) string { return c.vars[k] },
		graphHTTP:     c.graphHTTP,
		authTransport: c.authHTTP,
	}
	code := e.run(ctx, args)
	return result{code, stdout.String(), stderr.String()}
}

// with returns c with the variables kv (name, value, ...) set; an empty
// value removes the variable.
func (c cliEnv) with(kv ...string) cliEnv {
	vars := maps.Clone(c.vars)
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(vars, kv[i])
		} else {
			vars[kv[i]] = kv[i+1]
		}
	}
	c.vars = vars
	return c
}

// cli runs bulkpatch in-process with exactly the environment vars and
// Graph over the network.
func cli(t testing.TB, ctx context.Context, vars map[string]string, args ...string) result {
	t.Helper()
	return cliEnv{vars: vars}.run(t, ctx, args...)
}

// syncBuffer is a bytes.Buffer safe to write and read at once, as the
// *os.File of a real stdout or stderr is: the CLI writes stderr from
// several goroutines (log lines from the workers, the progress bar).
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.b.String()
}

// newEmulator creates an emulator that is closed when the test ends.
func newEmulator(t testing.TB, st *emulator.State, opt emulator.Options) *emulator.Server {
	t.Helper()
	srv, err := emulator.New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { srv.Close() })
	return srv
}

// emulate starts an emulator on 127.0.0.1 and returns it with the
// environment that points the CLI at it with a static token.
func emulate(t testing.TB, st *emulator.State, opt emulator.Options) (*emulator.Server, map[string]string) {
	t.Helper()
	srv := newEmulator(t, st, opt)
	url, err := srv.Start("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return srv, tokenVars(url)
}

// tokenVars points the CLI at the Graph root url with a static token.
func tokenVars(url string) map[string]string {
	return map[string]string{
		"BULKPATCH_GRAPH_URL": url,
		"BULKPATCH_TOKEN":     "test-token-0123456789",
		"BULKPATCH_AUTH":      "token",
	}
}

// inProcessURL is the Graph root of an in-process emulator: loopback, so
// the CLI accepts plain http, and a port nothing serves, so a request that
// missed the in-process transport fails instead of reaching anything.
const inProcessURL = "http://127.0.0.1:9/beta"

// emulateInProcess creates an emulator that the CLI reaches through
// env.graphHTTP, without a network. In a synctest bubble (see
// fakeClock) the emulator's windows, latency and hangs and the CLI's
// pacing, retries and timeouts then all run on the bubble's clock.
func emulateInProcess(t testing.TB, st *emulator.State, opt emulator.Options) (*emulator.Server, cliEnv) {
	t.Helper()
	srv := newEmulator(t, st, opt)
	return srv, inProcess(srv)
}

// inProcess is the environment of a CLI that reaches h, an emulator or a
// handler wrapping one, in-process with a static token.
func inProcess(h http.Handler) cliEnv {
	return cliEnv{
		vars:      tokenVars(inProcessURL),
		graphHTTP: &http.Client{Transport: &emulator.Transport{Handler: h}},
	}
}

// fakeClock runs f in a synctest bubble: time passes only while every
// goroutine of the run waits (a Retry-After, the pacer, a latency, a
// hang), so a run that would take minutes of waiting takes its CPU time
// only. Everything f touches must be created inside it and reach the
// emulator in-process (emulateInProcess): a goroutine blocked on a socket
// would keep the clock from moving, and so would one blocked on a mutex
// while the goroutine holding it waits on the clock.
func fakeClock(t *testing.T, f func(t *testing.T)) {
	t.Helper()
	synctest.Test(t, f)
}

// fixture is a generated tenant and an input that changes it.
type fixture struct {
	state *emulator.State
	csv   []byte
	// want maps emulator.Key of each object the input addresses to the
	// property values (JSON) it must have after a complete apply.
	want map[string]map[string]string
	rows int
}

// generate makes apps × perApp direct statuses plus, per app, users ×
// perUser nested ones, and an input that sets installState,
// installStateDetail, errorCode and displayVersion on every one of them.
// The initial state differs from the input in every row unless
// matchEvery > 0, in which case every matchEvery-th row already matches.
func generate(t testing.TB, apps, perApp, users, perUser, matchEvery int) *fixture {
	t.Helper()
	f := &fixture{state: &emulator.State{}, want: map[string]map[string]string{}}
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.Write([]string{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId", "installState", "installStateDetail", "errorCode", "displayVersion"})
	n := 0
	add := func(app, user, id string) emulator.Status {
		n++
		state, detail, code, ver := "installed", "noAdditionalDetails", "0", fmt.Sprintf("1.%d", n)
		if n%3 == 0 {
			state, detail, code = "failed", "seeInstallErrorCode", "-2016345060"
		}
		w.Write([]string{app, user, id, state, detail, code, ver})
		f.want[emulator.Key(app, user, id)] = map[string]string{
			"installState": `"` + state + `"`, "installStateDetail": `"` + detail + `"`,
			"errorCode": code, "displayVersion": `"` + ver + `"`,
		}
		st := emulator.Status{ID: id}
		set := func(name, v string) { st.Props[mais.PropertyIndex(name)] = json.RawMessage(v) }
		if matchEvery > 0 && n%matchEvery == 0 {
			for k, v := range f.want[emulator.Key(app, user, id)] {
				set(k, v)
			}
		} else {
			set("installState", `"pendingInstall"`)
			set("installStateDetail", `"pendingReboot"`)
			set("errorCode", "3010")
			set("displayVersion", `"0.9"`)
		}
		set("deviceName", fmt.Sprintf(`"DEVICE-%d"`, n))
		return st
	}
	for a := range apps {
		app := emulator.App{ID: fmt.Sprintf("app-%02d", a)}
		for s := range perApp {
			app.DeviceStatuses = append(app.DeviceStatuses, add(app.ID, "", fmt.Sprintf("ds-%02d-%05d", a, s)))
		}
		for u := range users {
			us := emulator.UserStatus{ID: fmt.Sprintf("us-%02d-%03d", a, u)}
			for s := range perUser {
				us.DeviceStatuses = append(us.DeviceStatuses, add(app.ID, us.ID, fmt.Sprintf("uds-%02d-%03d-%03d", a, u, s)))
			}
			app.UserStatuses = append(app.UserStatuses, us)
		}
		f.state.MobileApps = append(f.state.MobileApps, app)
	}
	w.Flush()
	f.csv, f.rows = buf.Bytes(), n
	return f
}

// write saves the fixture's input in dir and returns its path.
func (f *fixture) write(t testing.TB, dir string) string {
	t.Helper()
	p := filepath.Join(dir, "input.csv")
	if err := os.WriteFile(p, f.csv, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

// checkState fails the test unless every object has the wanted values.
func (f *fixture) checkState(t testing.TB, srv *emulator.Server) {
	t.Helper()
	bad := 0
	for key, props := range f.want {
		app, user, id := splitKey(key)
		obj, ok := srv.Object(app, user, id)
		if !ok {
			t.Errorf("object %s is missing", key)
			continue
		}
		for name, want := range props {
			got, _ := json.Marshal(obj[name])
			if string(got) != want {
				bad++
				if bad <= 5 {
					t.Errorf("object %s: %s = %s, want %s", key, name, got, want)
				}
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d wrong properties in all", bad)
	}
}

func splitKey(key string) (app, user, id string) {
	parts := strings.Split(key, "/")
	switch len(parts) {
	case 2:
		return parts[0], "", parts[1]
	case 3:
		return parts[0], parts[1], parts[2]
	}
	panic("unexpected key " + key)
}

// readResults parses a results CSV into header and rows.
func readResults(t testing.TB, path string) ([]string, []map[string]string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(b)).ReadAll()
	if err != nil {
		t.Fatalf("results %s: %v", path, err)
	}
	var rows []map[string]string
	for _, r := range recs[1:] {
		m := map[string]string{}
		for i, h := range recs[0] {
			m[h] = r[i]
		}
		rows = append(rows, m)
	}
	return recs[0], rows
}

// countOutcomes tallies the outcome column.
func countOutcomes(rows []map[string]string) map[string]int {
	m := map[string]int{}
	for _, r := range rows {
		m[r["outcome"]]++
	}
	return m
}

var (
	binOnce sync.Once
	binPath string
	binErr  error
)

// TestMain removes the binary that binary built, if any.
func TestMain(m *testing.M) {
	code := m.Run()
	if binPath != "" {
		os.RemoveAll(filepath.Dir(binPath))
	}
	os.Exit(code)
}

// binary builds bulkpatch once per test run, for tests that need a real
// process (kill -9, signals).
func binary(t testing.TB) string {
	t.Helper()
	binOnce.Do(func() {
		dir, err := os.MkdirTemp("", "bulkpatch-bin-")
		if err != nil {
			binErr = err
			return
		}
		binPath = filepath.Join(dir, "bulkpatch")
		out, err := exec.Command("go", "build", "-o", binPath, ".").CombinedOutput()
		if err != nil {
			binErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if binErr != nil {
		t.Fatal(binErr)
	}
	return binPath
}

// mais is the resource the tests' inputs describe.
var mais = resource.MobileAppInstallStatus
