package main

// The core job end to end, in-process: validate, plan and apply a
// generated input of thousands of rows against the emulator on loopback.

import (
	"bytes"
	"encoding/csv"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// resultColumns are the results file's leading columns, in the
// contract's order.
var resultColumns = []string{"line", "mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId",
	"outcome", "http_status", "error_code", "error_message", "attempts", "request_id", "client_request_id",
	"duration_ms", "finished_at"}

// inputRecords returns the fixture's input as CSV records, header first.
func inputRecords(t testing.TB, f *fixture) [][]string {
	t.Helper()
	recs, err := csv.NewReader(bytes.NewReader(f.csv)).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	return recs
}

// checkResults checks that the results file has the contract's columns,
// exactly one row per input row, in input order, with the input's ids and
// property cells, and that every row has the outcome want. It returns the
// rows.
func checkResults(t testing.TB, f *fixture, path, want string) []map[string]string {
	t.Helper()
	header, rows := readResults(t, path)
	in := inputRecords(t, f)
	wantHeader := append(slices.Clone(resultColumns), in[0][3:]...)
	if !slices.Equal(header, wantHeader) {
		t.Fatalf("results columns:\n got %q\nwant %q", header, wantHeader)
	}
	if len(rows) != len(in)-1 {
		t.Fatalf("%d result rows for %d input rows", len(rows), len(in)-1)
	}
	bad := 0
	crids := map[string]bool{}
	for i, row := range rows {
		rec := in[i+1]
		// The generated input has no multi-line cells: row i is on line i+2.
		if row["line"] != strconv.Itoa(i+2) || row["mobileAppId"] != rec[0] ||
			row["userAppInstallStatusId"] != rec[1] || row["mobileAppInstallStatusId"] != rec[2] {
			t.Fatalf("result row %d = line %s, %s/%s/%s; want line %d, %s/%s/%s", i, row["line"],
				row["mobileAppId"], row["userAppInstallStatusId"], row["mobileAppInstallStatusId"], i+2, rec[0], rec[1], rec[2])
		}
		for j, name := range in[0][3:] {
			if row[name] != rec[3+j] {
				t.Fatalf("line %d: %s = %q in the results, %q in the input", i+2, name, row[name], rec[3+j])
			}
		}
		if row["outcome"] != want {
			bad++
			if bad <= 5 {
				t.Errorf("line %s: outcome %s (%s %s %s), want %s", row["line"], row["outcome"],
					row["http_status"], row["error_code"], row["error_message"], want)
			}
		}
		if want == "applied" {
			if n, err := strconv.Atoi(row["attempts"]); err != nil || n < 1 {
				t.Errorf("line %s: attempts %q", row["line"], row["attempts"])
			}
			if s := row["http_status"]; s != "200" && s != "204" {
				t.Errorf("line %s: applied with http_status %q", row["line"], s)
			}
			if c := row["client_request_id"]; c == "" || crids[c] {
				t.Errorf("line %s: client_request_id %q empty or reused", row["line"], c)
			}
			crids[row["client_request_id"]] = true
			if _, err := time.Parse(time.RFC3339Nano, row["finished_at"]); err != nil {
				t.Errorf("line %s: finished_at %q: %v", row["line"], row["finished_at"], err)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... %d rows not %s in all", bad, want)
	}
	return rows
}

func checkPrivate(t testing.TB, path string) {
	t.Helper()
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("%s has mode %v, want 0600", path, fi.Mode().Perm())
	}
}

// checkWrittenOnce fails unless every object of f was written exactly
// once: no row was lost, none was sent twice after it took effect.
func checkWrittenOnce(t testing.TB, f *fixture, st emulator.Stats) {
	t.Helper()
	bad := 0
	for key := range f.want {
		if n := st.WritesApplied[key]; n != 1 {
			bad++
			if bad <= 5 {
				t.Errorf("object %s written %d times, want once", key, n)
			}
		}
	}
}

// TestCoreApplyUnderTightLimit is issue 2's acceptance test: thousands of
// rows against a write limit the run must respect, every row applied, the
// tenant in the expected state, no retry before its Retry-After. It runs
// on a fake clock: the pacing and the pauses cost no real time.
func TestCoreApplyUnderTightLimit(t *testing.T) {
	t.Parallel()
	fakeClock(t, func(t *testing.T) {
		f := generate(t, 4, 500, 10, 20, 0) // 4 × (500 + 10×20) = 2800 rows
		srv, ce := emulateInProcess(t, f.state, emulator.Options{
			WriteLimit: 200, Window: time.Second, RetryAfter: emulator.RetryAfterMixed,
			NoContent: true, RequireToken: true, Seed: 2,
		})
		dir := t.TempDir()
		in := f.write(t, dir)

		if r := ce.run(t, t.Context(), "validate", in); r.code != exitOK || !strings.Contains(r.stdout, strconv.Itoa(f.rows)+" rows") {
			t.Fatalf("validate: exit %d\n%s%s", r.code, r.stdout, r.stderr)
		}
		if r := ce.run(t, t.Context(), "plan", in, "--detailed-exitcode"); r.code != exitChanges {
			t.Fatalf("plan --detailed-exitcode: exit %d, want %d\n%s", r.code, exitChanges, r.stderr)
		}
		if st := srv.Stats(); st.Requests != 0 {
			t.Fatalf("validate and plan sent %d requests", st.Requests)
		}

		results := filepath.Join(dir, "results.csv")
		start := time.Now()
		r := ce.run(t, t.Context(), "apply", in, "--yes", "--rate", "230", "--concurrency", "8",
			"--progress", "never", "--results", results)
		t.Logf("apply of %d rows took %v on the fake clock", f.rows, time.Since(start))
		if r.code != exitOK {
			t.Fatalf("apply: exit %d\nstdout:\n%s\nstderr:\n%s", r.code, r.stdout, lastLines(r.stderr, 30))
		}
		checkResults(t, f, results, "applied")
		checkPrivate(t, results)
		f.checkState(t, srv)
		st := srv.Stats()
		checkWrittenOnce(t, f, st)
		if st.EarlyRetries != 0 {
			t.Errorf("%d requests came back before their Retry-After had passed", st.EarlyRetries)
		}
		if st.MaxInFlight > 8 {
			t.Errorf("%d requests in flight at once with --concurrency 8", st.MaxInFlight)
		}
		if !strings.Contains(r.stdout, results) {
			t.Errorf("the summary does not say where the results are:\n%s", r.stdout)
		}
		t.Logf("emulator: %d requests, %d throttled, by status %v", st.Requests, st.Throttled, st.ByStatus)
	})
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = append([]string{"..."}, lines[len(lines)-n:]...)
	}
	return strings.Join(lines, "\n")
}

// TestCoreDemo runs the demo as a user would, with a recognisable token
// in the environment and debug logs on: it must tell its story, write its
// results privately, and leave the token in no output and no file (this
// is TestSecretNeverLeaks' check of the demo). The demo waits out its
// throttling in real time, some 10 s: it serves its emulator on loopback,
// beyond the reach of a fake clock, so it runs once, beside the rest.
func TestCoreDemo(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	token := hzSecret(t, "TOKEN")
	c := &hzLeakChecker{t: t, secrets: []string{token}}
	vars := map[string]string{"BULKPATCH_TOKEN": token, "BULKPATCH_AUTH": "token", "BULKPATCH_DEBUG": "1"}
	r := c.run(t.Context(), vars, exitOK, "demo", "--dir", dir)
	if r.code != exitOK {
		t.FailNow()
	}
	results := filepath.Join(dir, "statuses.results.csv")
	if !strings.Contains(r.stdout, results) {
		t.Errorf("the demo does not say where the results went:\n%s", r.stdout)
	}
	_, rows := readResults(t, results)
	n := countOutcomes(rows)
	if n["failed"] < 1 || n["applied"]+n["unchanged"] < 1 || n["applied"]+n["unchanged"]+n["failed"] != len(rows) {
		t.Errorf("demo results %v: want applied or unchanged rows and the sample's failing row", n)
	}
	checkPrivate(t, results)
	c.files(dir)
}

// TestCoreRowFailuresAndFormulas: rows Graph refuses are failed in the
// results (exit 1) without stopping the run, and cells a spreadsheet
// would run are neutralised in the results while Graph got them exactly.
func TestCoreRowFailuresAndFormulas(t *testing.T) {
	t.Parallel()
	f := generate(t, 1, 30, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{NoContent: true})
	dir := t.TempDir()
	in := filepath.Join(dir, "input.csv")
	var b strings.Builder
	b.WriteString("mobileAppId,mobileAppInstallStatusId,deviceName,installState\n")
	for i := range 30 {
		fmt.Fprintf(&b, "app-00,ds-00-%05d,\"=HYPERLINK(\"\"http://x\"\";\"\"%d\"\")\",installed\n", i, i)
	}
	for i := range 25 { // more than the 20 alike failures that would look systemic
		fmt.Fprintf(&b, "app-00,gone-%d,@SUM(A1),failed\n", i)
	}
	if err := os.WriteFile(in, []byte(b.String()), 0o600); err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "results.csv")
	r := cli(t, t.Context(), vars, "apply", in, "--yes", "--progress", "never", "--results", results, "--rate", "1000")
	if r.code != exitRowsFailed {
		t.Fatalf("apply: exit %d, want %d\n%s", r.code, exitRowsFailed, r.stderr)
	}
	raw, err := os.ReadFile(results)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(raw), `'=HYPERLINK`) || !strings.Contains(string(raw), `'@SUM(A1)`) {
		t.Errorf("formula cells not neutralised in the results:\n%s", lastLines(string(raw), 5))
	}
	_, rows := readResults(t, results)
	if n := countOutcomes(rows); n["applied"] != 30 || n["failed"] != 25 || len(rows) != 55 {
		t.Errorf("outcomes %v, want 30 applied and 25 failed", n)
	}
	for _, row := range rows[30:] {
		if row["http_status"] != "404" || row["error_code"] != "ResourceNotFound" {
			t.Errorf("line %s: %s %s, want Graph's 404 ResourceNotFound", row["line"], row["http_status"], row["error_code"])
			break
		}
	}
	obj, _ := srv.Object("app-00", "", "ds-00-00007")
	if got := obj["deviceName"]; got != `=HYPERLINK("http://x";"7")` {
		t.Errorf("Graph got deviceName %q, want the cell exactly", got)
	}
}

// TestCoreMaxDuration: --max-duration stops dispatching, finishes what is
// in flight, writes every row and exits 6; --resume finishes the job. On
// a fake clock, so the stop comes after exactly 500 ms of pacing.
func TestCoreMaxDuration(t *testing.T) {
	t.Parallel()
	fakeClock(t, func(t *testing.T) {
		f := generate(t, 1, 200, 0, 0, 0)
		srv, ce := emulateInProcess(t, f.state, emulator.Options{NoContent: true})
		dir := t.TempDir()
		in := f.write(t, dir)
		results := filepath.Join(dir, "results.csv")
		args := []string{"apply", in, "--yes", "--progress", "never", "--results", results, "--rate", "100", "--concurrency", "2"}
		r := ce.run(t, t.Context(), append(args, "--max-duration", "500ms")...)
		if r.code != exitTimeUp {
			t.Fatalf("apply --max-duration: exit %d, want %d\n%s", r.code, exitTimeUp, r.stderr)
		}
		if !strings.Contains(r.stderr, "run the same command again to continue") {
			t.Errorf("the stop does not say how to continue:\n%s", r.stderr)
		}
		_, rows := readResults(t, results)
		n := countOutcomes(rows)
		if len(rows) != f.rows || n["applied"] < 1 || n["not_attempted"] < 1 || n["applied"]+n["not_attempted"] != f.rows {
			t.Fatalf("outcomes %v for %d rows: want some applied, the rest not_attempted", n, f.rows)
		}
		if w := srv.Stats().Writes; w != n["applied"] {
			t.Errorf("%d writes for %d rows applied: rows in flight must finish and be reported", w, n["applied"])
		}
		r = ce.run(t, t.Context(), append(args, "--resume")...)
		if r.code != exitOK {
			t.Fatalf("apply --resume: exit %d\n%s", r.code, r.stderr)
		}
		_, rows = readResults(t, results)
		if n2 := countOutcomes(rows); n2["skipped"] != n["applied"] || n2["applied"] != n["not_attempted"] {
			t.Errorf("after --resume: %v, want %d skipped and %d applied", n2, n["applied"], n["not_attempted"])
		}
		f.checkState(t, srv)
		checkWrittenOnce(t, f, srv.Stats())
	})
}
