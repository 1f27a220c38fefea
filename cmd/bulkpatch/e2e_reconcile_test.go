package main

// End-to-end tests of reconciliation: plan --reconcile and apply
// --reconcile write only what differs and read cheaply; saved plans
// refuse a changed input or a tampered body and skip rows fixed since.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// planSummary matches plan --reconcile's summary line.
var planSummary = regexp.MustCompile(`Plan: (\d+) to update, (\d+) unchanged, (\d+) invalid`)

// wantPlanSummary fails the test unless stdout holds the summary line
// with these counts.
func wantPlanSummary(t *testing.T, r result, update, unchanged int) {
	t.Helper()
	m := planSummary.FindStringSubmatch(r.stdout)
	want := fmt.Sprintf("Plan: %d to update, %d unchanged, 0 invalid", update, unchanged)
	if m == nil || m[0] != want {
		t.Errorf("plan summary %q, want %q\nstdout:\n%s\nstderr:\n%s", m, want, r.stdout, r.stderr)
	}
}

// readPlan reads a saved plan file whole.
func readPlan(t *testing.T, path string) (plan.Header, []plan.Entry) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fr, err := plan.NewFileReader(f)
	if err != nil {
		t.Fatal(err)
	}
	var entries []plan.Entry
	for {
		en, err := fr.Next()
		if err != nil {
			break
		}
		entries = append(entries, en)
	}
	return fr.Header(), entries
}

// TestE2EReconcileHalf applies an input half of whose rows are already in
// the desired state: only the other half is written, and reading the
// live state costs well under a read per row when rows share collections.
func TestE2EReconcileHalf(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	tests := []struct {
		name                         string
		apps, perApp, users, perUser int
		maxReadsPerRow               float64
	}{
		// Collections of 100 and 20 rows: listed, a page per 50 objects.
		{"shared collections", 2, 100, 5, 20, 0.2},
		// Collections of at most 4 rows: one GET per row is cheaper.
		{"small collections", 2, 4, 2, 3, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := generate(t, tt.apps, tt.perApp, tt.users, tt.perUser, 2)
			srv, vars := emulate(t, f.state, emulator.Options{Latency: time.Millisecond})
			in := f.write(t, t.TempDir())
			half := f.rows / 2

			r := cli(t, ctx, vars, "plan", in, "--reconcile", "--detailed-exitcode")
			if r.code != exitChanges {
				t.Errorf("plan --reconcile --detailed-exitcode with changes pending: exit %d, want %d\n%s", r.code, exitChanges, r.stderr)
			}
			wantPlanSummary(t, r, f.rows-half, half)
			if n := strings.Count(r.stdout, "~ line "); n != min(f.rows-half, 100) {
				t.Errorf("plan shows %d updated rows, want %d", n, min(f.rows-half, 100))
			}
			st := srv.Stats()
			if st.Writes != 0 {
				t.Errorf("plan sent %d writes", st.Writes)
			}
			if perRow := float64(st.Reads) / float64(f.rows); perRow > tt.maxReadsPerRow {
				t.Errorf("plan read %d times for %d rows (%.2f per row), want at most %.2f per row", st.Reads, f.rows, perRow, tt.maxReadsPerRow)
			}

			reads := st.Reads
			r = cli(t, ctx, vars, "apply", in, "--reconcile", "--yes", "--rate", "1000", "--progress", "never")
			if r.code != exitOK {
				t.Fatalf("apply --reconcile: exit %d\n%s", r.code, r.stderr)
			}
			st = srv.Stats()
			if st.Writes != f.rows-half {
				t.Errorf("apply --reconcile sent %d writes, want %d (the rows that differ)", st.Writes, f.rows-half)
			}
			if perRow := float64(st.Reads-reads) / float64(f.rows); perRow > tt.maxReadsPerRow {
				t.Errorf("apply --reconcile read %d times for %d rows (%.2f per row), want at most %.2f per row", st.Reads-reads, f.rows, perRow, tt.maxReadsPerRow)
			}
			f.checkState(t, srv)
			_, rows := readResults(t, strings.TrimSuffix(in, ".csv")+".results.csv")
			outcomes := checkLines(t, rows, f.rows, "applied", "unchanged")
			for line, o := range outcomes {
				// generate makes every second row (lines 3, 5, ...) match.
				want := "applied"
				if (line-1)%2 == 0 {
					want = "unchanged"
				}
				if o != want {
					t.Errorf("line %d: %s, want %s", line, o, want)
				}
			}

			r = cli(t, ctx, vars, "plan", in, "--reconcile", "--detailed-exitcode")
			if r.code != exitOK {
				t.Errorf("plan --reconcile --detailed-exitcode after apply: exit %d, want 0\n%s", r.code, r.stderr)
			}
			wantPlanSummary(t, r, 0, f.rows)
		})
	}
}

// TestE2EReconcileByMeaning compares live values by meaning, not spelling:
// Graph's seven-digit date-times against the input's Z, offsets against
// UTC, enum case, here as Graph spells them in places where the emulator
// would normalise them; testdata/scenarios/reconcile_by_meaning.txtar
// does the same against the emulator.
func TestE2EReconcileByMeaning(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	const header = "mobileAppId,userAppInstallStatusId,mobileAppInstallStatusId,installState,lastSyncDateTime,errorCode\n"

	t.Run("graph spelling", func(t *testing.T) {
		// Graph writes date-times as 2026-01-01T00:00:00.0000000+00:00 in
		// places; the emulator normalises its seed, so serve them here.
		obj := func(id string) map[string]any {
			return map[string]any{"id": id, "installState": "installed", "errorCode": -2016345060,
				"lastSyncDateTime": "2026-01-01T00:00:00.0000000+00:00"}
		}
		var list []any
		for i := range 12 {
			list = append(list, obj(fmt.Sprintf("s%d", i)))
		}
		mux := http.NewServeMux()
		mux.HandleFunc("GET /beta/deviceAppManagement/mobileApps/app/deviceStatuses", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(map[string]any{"value": list})
		})
		mux.HandleFunc("GET /beta/deviceAppManagement/mobileApps/app/userStatuses/u/deviceStatuses/{id}", func(w http.ResponseWriter, r *http.Request) {
			json.NewEncoder(w).Encode(obj(r.PathValue("id")))
		})
		var other atomic.Int32
		mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
			other.Add(1)
			http.Error(w, "unexpected", http.StatusTeapot)
		})
		fake := httptest.NewServer(mux)
		defer fake.Close()

		var csv bytes.Buffer
		csv.WriteString(header)
		for i := range 12 { // listed
			fmt.Fprintf(&csv, "app,,s%d,INSTALLED,2026-01-01T00:00:00Z,0x87D1041C\n", i)
		}
		csv.WriteString("app,u,x1,Installed,2026-01-01T01:00:00+01:00,-2016345060\n") // read alone
		in := filepath.Join(t.TempDir(), "in.csv")
		os.WriteFile(in, csv.Bytes(), 0o600)
		vars := map[string]string{"BULKPATCH_GRAPH_URL": fake.URL + "/beta", "BULKPATCH_TOKEN": "test-token-0123456789", "BULKPATCH_AUTH": "token"}
		r := cli(t, ctx, vars, "plan", in, "--reconcile", "--detailed-exitcode")
		if r.code != exitOK {
			t.Errorf("exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
		}
		wantPlanSummary(t, r, 0, 13)
		if n := other.Load(); n != 0 {
			t.Errorf("%d unexpected requests", n)
		}
	})
}

// TestE2ESavedPlan covers plan --reconcile --out and apply --plan: a row
// fixed after planning is skipped with --reconcile; a changed input, a
// tampered body or another Graph root is refused before anything is sent.
func TestE2ESavedPlan(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := generate(t, 2, 20, 0, 0, 2)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)
	pl := filepath.Join(dir, "p.json")
	results := filepath.Join(dir, "input.results.csv")

	r := cli(t, ctx, vars, "plan", in, "--reconcile", "--out", pl, "--detailed-exitcode")
	if r.code != exitChanges {
		t.Fatalf("plan --reconcile --out: exit %d, want %d\n%s", r.code, exitChanges, r.stderr)
	}
	wantPlanSummary(t, r, 20, 20)
	fi, err := os.Stat(pl)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("plan file mode %v, want 0600", fi.Mode().Perm())
	}
	h, entries := readPlan(t, pl)
	sum := sha256.Sum256(f.csv)
	if h.InputSHA256 != hex.EncodeToString(sum[:]) || h.GraphRoot != vars["BULKPATCH_GRAPH_URL"] || !h.Reconcile || h.CreatedAt.IsZero() {
		t.Errorf("plan header %+v does not record the input's hash, the Graph root, reconcile and the time", h)
	}
	if len(entries) != f.rows {
		t.Fatalf("plan holds %d operations, want %d", len(entries), f.rows)
	}
	var fixed plan.Entry
	for _, en := range entries {
		if en.Action == plan.ActionUpdate {
			if len(en.Changes) != 4 || string(en.Changes[0].Old) != `"pendingInstall"` {
				t.Errorf("line %d: changes %s, want the four differing properties with their live values", en.Line, en.Changes)
			}
			if fixed.Line == 0 {
				fixed = en
			}
		}
	}
	if strings.Contains(mustRead(t, pl), vars["BULKPATCH_TOKEN"]) {
		t.Error("the plan file holds the token")
	}

	// Each refusal must come before any request.
	refused := func(name string, want int, wantMsg string, vars map[string]string, args ...string) {
		t.Helper()
		before := srv.Stats().Requests
		r := cli(t, ctx, vars, args...)
		if r.code != want || !strings.Contains(r.stderr, wantMsg) {
			t.Errorf("%s: exit %d, want %d with %q\n%s", name, r.code, want, wantMsg, r.stderr)
		}
		if n := srv.Stats().Requests - before; n != 0 {
			t.Errorf("%s: %d requests sent", name, n)
		}
	}

	// A tampered body: an enum in the wrong case is not what validation
	// would have produced.
	good := mustRead(t, pl)
	tampered := strings.Replace(good, `"installState":"installed"`, `"installState":"Installed"`, 1)
	if tampered == good {
		t.Fatal("nothing to tamper with in the plan")
	}
	bad := filepath.Join(dir, "tampered.json")
	os.WriteFile(bad, []byte(tampered), 0o600)
	refused("tampered body", exitInvalid, "installState", vars, "apply", "--plan", bad)

	// A reconciled plan belongs to the Graph it was read from.
	other := map[string]string{"BULKPATCH_GRAPH_URL": "http://127.0.0.1:1/beta", "BULKPATCH_TOKEN": "t", "BULKPATCH_AUTH": "token"}
	refused("another graph root", exitUsage, "the plan was made for", other, "apply", "--plan", pl)

	// An input edited after planning.
	os.WriteFile(in, bytes.Replace(f.csv, []byte(",1.1\n"), []byte(",1.1-edited\n"), 1), 0o600)
	refused("edited input", exitUsage, "changed since the plan", vars, "apply", "--plan", pl)
	os.WriteFile(in, f.csv, 0o600)

	// Someone fixes a row directly in Graph after the plan was made.
	req, _ := http.NewRequest(http.MethodPatch, fmt.Sprintf("%s/deviceAppManagement/mobileApps/%s/deviceStatuses/%s",
		vars["BULKPATCH_GRAPH_URL"], fixed.Key[0], fixed.Key[2]), bytes.NewReader(fixed.Body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+vars["BULKPATCH_TOKEN"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode/100 != 2 {
		t.Fatalf("fixing line %d directly: %s", fixed.Line, resp.Status)
	}

	writes := srv.Stats().Writes
	r = cli(t, ctx, vars, "apply", "--plan", pl, "--reconcile", "--rate", "1000", "--progress", "never")
	if r.code != exitOK {
		t.Fatalf("apply --plan --reconcile: exit %d\n%s", r.code, r.stderr)
	}
	if n := srv.Stats().Writes - writes; n != 19 {
		t.Errorf("apply --plan --reconcile sent %d writes, want 19 (20 updates, one fixed since)", n)
	}
	f.checkState(t, srv)
	_, rows := readResults(t, results)
	outcomes := checkLines(t, rows, f.rows, "applied", "unchanged")
	if outcomes[fixed.Line] != "unchanged" {
		t.Errorf("line %d, fixed after planning: %s, want unchanged", fixed.Line, outcomes[fixed.Line])
	}
	if got := countOutcomes(rows); got["applied"] != 19 || got["unchanged"] != 21 {
		t.Errorf("outcomes %v, want 19 applied and 21 unchanged", got)
	}
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// TestE2ESavedPlanUnreadableRow saves a plan in which one object cannot be
// read: the row must still be in the plan, so that apply --plan reports
// every input row.
func TestE2ESavedPlanUnreadableRow(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := generate(t, 1, 12, 0, 0, 2)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := filepath.Join(dir, "input.csv")
	os.WriteFile(in, append(bytes.Clone(f.csv), missingRow...), 0o600)
	pl := filepath.Join(dir, "p.json")

	r := cli(t, ctx, vars, "plan", in, "--reconcile", "--out", pl)
	if r.code != exitRowsFailed || !strings.Contains(r.stdout, "1 could not be read") {
		t.Fatalf("plan with an unreadable object: exit %d, want %d and a count of it\n%s\n%s", r.code, exitRowsFailed, r.stdout, r.stderr)
	}
	_, entries := readPlan(t, pl)
	if len(entries) != f.rows+1 {
		t.Fatalf("the plan holds %d operations, want %d (every input row)", len(entries), f.rows+1)
	}
	if last := entries[len(entries)-1]; last.Key[2] != "ds-missing" || last.Action != plan.ActionPatch {
		t.Errorf("the unreadable row is saved as %+v, want a patch of ds-missing", last)
	}

	r = cli(t, ctx, vars, "apply", "--plan", pl, "--rate", "1000", "--progress", "never")
	if r.code != exitRowsFailed {
		t.Fatalf("apply --plan: exit %d, want 1\n%s", r.code, r.stderr)
	}
	_, rows := readResults(t, filepath.Join(dir, "input.results.csv"))
	outcomes := checkLines(t, rows, f.rows+1, "applied", "unchanged", "failed")
	if o := outcomes[f.rows+2]; o != "failed" {
		t.Errorf("the missing object's row: %s, want failed", o)
	}
	f.checkState(t, srv)
}
