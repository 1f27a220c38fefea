package main

// Outputs are safe to open in a spreadsheet: cells a spreadsheet would
// run are neutralised in results and exports, numbers stay numbers, JSON
// keeps every value exact, and an export reads back as it was written.

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

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
	t.Parallel()
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
