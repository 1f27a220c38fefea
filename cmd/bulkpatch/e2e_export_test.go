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
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	recs, err := csv.NewReader(bytes.NewReader(bytes.TrimPrefix(b, []byte("\ufeff")))).ReadAll()
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

// TestE2EExportRoundTrip exports a collection, edits k cells and expects
// plan --reconcile to show exactly those k changes, and apply to make
// them. What an untouched export holds (neutralised cells, warnings, the
// Excel dialect, user statuses) and that plan --reconcile of it finds
// nothing to do is testdata/scenarios/export_round_trip.txtar.
func TestE2EExportRoundTrip(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	f := exportFixture(t)
	srv, vars := emulate(t, f.state, emulator.Options{PageSize: 7})
	dir := t.TempDir()
	out := filepath.Join(dir, "app.csv")
	if r := cli(t, ctx, vars, "export", "--app", "app-00", "--out", out); r.code != exitOK {
		t.Fatalf("export: exit %d\n%s", r.code, r.stderr)
	}
	if r := cli(t, ctx, vars, "plan", out, "--reconcile", "--detailed-exitcode"); r.code != exitOK {
		t.Fatalf("plan --reconcile of the untouched export: exit %d, want 0\n%s\n%s", r.code, r.stdout, r.stderr)
	}

	t.Run("edit k cells", func(t *testing.T) {
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
