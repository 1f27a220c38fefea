package main

// End-to-end tests of the spreadsheet round trip: export, edit, plan
// --reconcile shows exactly the edits, apply.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// hostile are values a spreadsheet would run, or that tempt a writer to
// mangle them, set on the first objects of each collection.
var hostile = []struct{ prop, json string }{
	{"deviceName", `"=HYPERLINK(\"http://evil.example/\",\"click me\")"`},
	{"userName", `"@SUM(1+1)"`},
	{"userPrincipalName", `"+zoë@example.com"`},
	{"osDescription", `"-2+3 \"quoted\", with a comma"`},
	{"osVersion", `"  =1+1"`},
	{"displayVersion", `"\ttab\nand a second line"`},
	{"deviceId", `"'=already quoted"`},
	{"errorCode", `-2016345060`},
	{"lastSyncDateTime", `"2026-01-01T00:00:00.1234567Z"`},
	{"mobileAppInstallStatusValue", `"uninstallFailed"`},
}

// unwritable are values no input cell can say; set on the second object
// of each collection, they must be exported as empty cells (keep the
// value), with a warning.
var unwritable = []struct{ prop, json string }{
	{"displayVersion", `" <null> "`},           // reads back as null
	{"installState", `"someFutureState"`},      // not a member bulkpatch knows
	{"osDescription", `"two\r\nlines, CR LF"`}, // CSV readers keep LF only
}

// exportFixture is generate's tenant with hostile values on the first
// object of every collection.
func exportFixture(t *testing.T) *fixture {
	f := generate(t, 1, 30, 2, 5, 0)
	set := func(sts []emulator.Status) {
		for _, h := range hostile {
			sts[0].Props[mais.PropertyIndex(h.prop)] = json.RawMessage(h.json)
		}
		for _, h := range unwritable {
			sts[1].Props[mais.PropertyIndex(h.prop)] = json.RawMessage(h.json)
		}
	}
	app := &f.state.MobileApps[0]
	set(app.DeviceStatuses)
	for i := range app.UserStatuses {
		set(app.UserStatuses[i].DeviceStatuses)
	}
	return f
}

// readCSV parses a CSV file (BOM allowed) into records.
func readCSV(t *testing.T, path string) [][]string {
	t.Helper()
	return readCSVComma(t, path, ',')
}

// readCSVComma parses a CSV file with the given delimiter (BOM allowed)
// into records.
func readCSVComma(t *testing.T, path string, comma rune) [][]string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	cr := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff"))))
	cr.Comma = comma
	recs, err := cr.ReadAll()
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return recs
}

func writeCSV(t *testing.T, path string, recs [][]string) {
	t.Helper()
	var buf bytes.Buffer
	w := csv.NewWriter(&buf)
	w.WriteAll(recs)
	if err := os.WriteFile(path, buf.Bytes(), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestE2EExportRoundTrip exports collections (plain, under a user status,
// for Excel), checks that plan --reconcile of the untouched export finds
// nothing to do, then edits k cells and expects exactly those k changes.
func TestE2EExportRoundTrip(t *testing.T) {
	ctx := context.Background()
	f := exportFixture(t)
	srv, vars := emulate(t, f.state, emulator.Options{PageSize: 7})
	dir := t.TempDir()

	tests := []struct {
		name string
		args []string
		rows int
	}{
		{"app", []string{"--app", "app-00"}, 30},
		{"user status", []string{"--app", "app-00", "--user-status", "us-00-001"}, 5},
		{"excel", []string{"--app", "app-00", "--excel"}, 30},
		// Every status of the app, the user statuses' too, for a
		// European Excel: 30 + 2 user statuses × 5.
		{"all", []string{"--app", "app-00", "--all", "--excel", "--delimiter", ";"}, 40},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := filepath.Join(dir, strings.ReplaceAll(tt.name, " ", "-")+".csv")
			r := cli(t, ctx, vars, append([]string{"export", "--out", out}, tt.args...)...)
			if r.code != exitOK {
				t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
			}
			b, err := os.ReadFile(out)
			if err != nil {
				t.Fatal(err)
			}
			excel := slices.Contains(tt.args, "--excel")
			if bytes.HasPrefix(b, []byte("\ufeff")) != excel || bytes.Contains(b, []byte("\r\n")) != excel {
				t.Errorf("BOM and CRLF should be there exactly with --excel:\n%q", b[:min(len(b), 120)])
			}
			if fi, err := os.Stat(out); err != nil || fi.Mode().Perm() != 0o600 {
				t.Errorf("export file mode: %v %v, want 0600", fi.Mode().Perm(), err)
			}
			// The formulas are neutralised; numbers stay numbers.
			comma := ','
			if slices.Contains(tt.args, ";") {
				comma = ';'
			}
			recs := readCSVComma(t, out, comma)
			if len(recs) != tt.rows+1 {
				t.Fatalf("export has %d rows, want %d", len(recs)-1, tt.rows)
			}
			col := map[string]int{}
			for i, h := range recs[0] {
				col[h] = i
			}
			if all := slices.Contains(tt.args, "--all"); all {
				nested := 0
				for _, rec := range recs[1:] {
					if rec[col["userAppInstallStatusId"]] != "" {
						nested++
					}
				}
				if _, ok := col["userAppInstallStatusId"]; !ok || nested != 10 {
					t.Errorf("--all: %d rows with a userAppInstallStatusId, want 10 (header %q)", nested, recs[0])
				}
			}
			first := recs[1]
			for _, c := range []struct{ prop, want string }{
				{"deviceName", `'=HYPERLINK("http://evil.example/","click me")`},
				{"userName", "'@SUM(1+1)"},
				{"userPrincipalName", "'+zoë@example.com"},
				{"errorCode", "-2016345060"},
			} {
				if got := first[col[c.prop]]; got != c.want {
					t.Errorf("exported %s = %q, want %q", c.prop, got, c.want)
				}
			}
			for _, u := range unwritable {
				if got := recs[2][col[u.prop]]; got != "" {
					t.Errorf("exported %s = %q, want an empty cell", u.prop, got)
				}
				if !strings.Contains(r.stderr, u.prop) {
					t.Errorf("no warning about %s:\n%s", u.prop, r.stderr)
				}
			}

			r = cli(t, ctx, vars, "plan", out, "--reconcile", "--detailed-exitcode")
			if r.code != exitOK {
				t.Errorf("plan --reconcile of the untouched export: exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
			}
			wantPlanSummary(t, r, 0, tt.rows)
		})
	}

	t.Run("edit k cells", func(t *testing.T) {
		out := filepath.Join(dir, "app.csv") // from the first subtest
		recs := readCSV(t, out)
		col := map[string]int{}
		for i, h := range recs[0] {
			col[h] = i
		}
		type edit struct {
			row  int // index into recs
			prop string
			val  string
		}
		edits := []edit{
			{1, "deviceName", "RENAMED-PC"}, // the hostile row
			{2, "installState", "notInstalled"},
			{2, "displayVersion", "9.9.9"},
			{4, "errorCode", "0x87D1041D"},
			{5, "lastSyncDateTime", "2027-02-03T04:05:06+02:00"},
			{7, "userName", "someone"},  // was null: an empty cell
			{8, "deviceName", "<null>"}, // was set: cleared
			{9, "installStateDetail", "managedAppNoLongerPresent"},
		}
		for _, e := range edits {
			if recs[e.row][col[e.prop]] == e.val {
				t.Fatalf("row %d %s is already %q", e.row, e.prop, e.val)
			}
			recs[e.row][col[e.prop]] = e.val
		}
		// Spelling changes that mean the same are not edits.
		recs[3][col["installState"]] = strings.ToUpper(recs[3][col["installState"]])
		if v := recs[1][col["lastSyncDateTime"]]; v != "2026-01-01T00:00:00.1234567Z" {
			t.Fatalf("exported lastSyncDateTime %q", v)
		}
		recs[1][col["lastSyncDateTime"]] = "2026-01-01T01:00:00.1234567+01:00"
		edited := filepath.Join(dir, "edited.csv")
		writeCSV(t, edited, recs)

		pl := filepath.Join(dir, "edited.json")
		r := cli(t, ctx, vars, "plan", edited, "--reconcile", "--out", pl, "--detailed-exitcode")
		if r.code != exitChanges {
			t.Fatalf("plan --reconcile of the edited export: exit %d, want %d\n%s", r.code, exitChanges, r.stderr)
		}
		wantPlanSummary(t, r, 7, 23) // 8 edits in 7 rows
		if n := strings.Count(r.stdout, "→"); n != len(edits) {
			t.Errorf("plan shows %d changes, want %d\n%s", n, len(edits), r.stdout)
		}
		_, entries := readPlan(t, pl)
		rowOf := map[string]int{}
		for i, rec := range recs {
			rowOf[rec[col["mobileAppInstallStatusId"]]] = i
		}
		var got []edit
		for _, en := range entries {
			for _, c := range en.Changes {
				got = append(got, edit{rowOf[en.Key[2]], c.Property, ""})
			}
		}
		var want []edit
		for _, e := range edits {
			want = append(want, edit{e.row, e.prop, ""})
		}
		sortEdits := func(a, b edit) int {
			if a.row != b.row {
				return a.row - b.row
			}
			return strings.Compare(a.prop, b.prop)
		}
		slices.SortFunc(got, sortEdits)
		slices.SortFunc(want, sortEdits)
		if !slices.Equal(got, want) {
			t.Errorf("plan changes %v, want %v", got, want)
		}

		before := srv.Stats().Writes
		r = cli(t, ctx, vars, "apply", "--plan", pl, "--rate", "1000", "--progress", "never")
		if r.code != exitOK {
			t.Fatalf("apply --plan: exit %d\n%s", r.code, r.stderr)
		}
		if n := srv.Stats().Writes - before; n != 7 {
			t.Errorf("apply sent %d writes, want 7", n)
		}
		r = cli(t, ctx, vars, "plan", edited, "--reconcile", "--detailed-exitcode")
		if r.code != exitOK {
			t.Errorf("plan --reconcile after apply: exit %d, want 0\n%s", r.code, r.stdout)
		}
		obj, _ := srv.Object("app-00", "", recs[1][col["mobileAppInstallStatusId"]])
		if obj["deviceName"] != "RENAMED-PC" || obj["userName"] != "@SUM(1+1)" {
			t.Errorf("after apply: deviceName %v, userName %v", obj["deviceName"], obj["userName"])
		}
	})
}

// TestExporterRow covers the objects export leaves out rather than write
// a file that would not read back.
