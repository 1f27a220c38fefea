package plan

import (
	"strconv"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// res is the resource most tests check rows of.
var res = resource.MobileAppInstallStatus

// cellIndex returns the index in Record.Cells of the column of r with
// this canonical name, or -1. It searches Columns(r), so that the tests
// restate no layout.
func cellIndex(r *resource.Resource, name string) int {
	for i, c := range Columns(r) {
		if c.Name == name {
			return i
		}
	}
	return -1
}

// cell is cellIndex for a column that must exist in res.
func cell(t testing.TB, name string) int {
	t.Helper()
	i := cellIndex(res, name)
	if i < 0 {
		t.Fatalf("no column %q", name)
	}
	return i
}

// newRecord returns a record of res on line with the named cells set.
func newRecord(t testing.TB, line int, cells map[string]string) *csvio.Record {
	t.Helper()
	rec := &csvio.Record{Line: line, Cells: make([]string, len(Columns(res)))}
	for name, v := range cells {
		rec.Cells[cell(t, name)] = v
	}
	return rec
}

func set(s string) Value   { return Value{Intent: Set, Str: s} }
func setInt(n int32) Value { return Value{Intent: Set, Int: n} }

var clear = Value{Intent: Clear}

// cellCase is one cell in one column of an otherwise valid row.
type cellCase struct {
	name string
	col  string // column name: an id column or a property
	cell string
	// want is the property's Value when the cell is valid (ignored for id
	// columns); wantErr, when set, is a fragment of the one problem's
	// message.
	want    Value
	wantErr string
}

func idCases() []cellCase {
	bad := func(col, name, cell, wantErr string) cellCase {
		return cellCase{name: name, col: col, cell: cell, wantErr: wantErr}
	}
	good := func(col, name, cell string) cellCase {
		return cellCase{name: name, col: col, cell: cell}
	}
	var cs []cellCase
	for _, col := range []string{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId"} {
		cs = append(cs,
			good(col, "guid", "8d0a8f0c-6f0c-4a3b-9c55-3f6a6a8a0b11"),
			good(col, "guid pair", "8d0a8f0c-6f0c-4a3b-9c55-3f6a6a8a0b11_0c7f1a6e-2b1d-4f4e-8a8e-1c3d5e7f9a0b"),
			good(col, "dots inside", "a.b..c"),
			good(col, "three dots", "..."),
			good(col, "non-ASCII letters", "gerät-日本-é"),
			good(col, "emoji", "app-🙂"),
			good(col, "256 bytes", strings.Repeat("x", 256)),
			bad(col, "slash", "a/b", `contains '/' (U+002F) at character 2`),
			bad(col, "backslash", `a\b`, `contains '\\' (U+005C)`),
			bad(col, "question mark", "a?b", `contains '?'`),
			bad(col, "hash", "a#b", `contains '#'`),
			bad(col, "percent", "a%2Fb", `contains '%'`),
			bad(col, "inner space", "a b", `whitespace ' ' (U+0020)`),
			bad(col, "leading space", " ab", `whitespace ' ' (U+0020) at character 1`),
			bad(col, "trailing space", "ab ", `at character 3`),
			bad(col, "tab", "a\tb", `whitespace '\t'`),
			bad(col, "newline", "a\nb", `whitespace '\n'`),
			bad(col, "NUL", "a\x00b", `control character '\x00'`),
			bad(col, "DEL", "a\x7fb", `control character '\x7f'`),
			bad(col, "C1 control", "a\u0080b", `control character`),
			bad(col, "no-break space", "a\u00a0b", `whitespace`),
			bad(col, "ideographic space", "a\u3000b", `whitespace`),
			bad(col, "line separator", "a\u2028b", `whitespace`),
			bad(col, "dot", ".", "dot path segment"),
			bad(col, "dot dot", "..", "dot path segment"),
			bad(col, "invalid UTF-8", "a\xffb", "not valid UTF-8"),
			bad(col, "257 bytes", strings.Repeat("x", 257), "is 257 bytes long; ids have at most 256"),
			bad(col, "fullwidth solidus", "a\uFF0Fb", `U+FF0F '／' at character 2, a look-alike of '/'`),
			bad(col, "fullwidth reverse solidus", "a\uFF3Cb", `look-alike of '\\'`),
			bad(col, "fullwidth question mark", "a\uFF1Fb", `look-alike of '?'`),
			bad(col, "fullwidth number sign", "a\uFF03b", `look-alike of '#'`),
			bad(col, "fullwidth percent", "a\uFF05b", `look-alike of '%'`),
			bad(col, "fullwidth full stop", "\uFF0E\uFF0E", `look-alike of '.'`),
			bad(col, "division slash", "a\u2215b", `look-alike of '/'`),
			bad(col, "fraction slash", "a\u2044b", `look-alike of '/'`),
			bad(col, "big solidus", "a\u29F8b", `look-alike of '/'`),
			bad(col, "set minus", "a\u2216b", `look-alike of '\\'`),
			bad(col, "small reverse solidus", "a\uFE68b", `look-alike of '\\'`),
			bad(col, "one dot leader", "\u2024\u2024", `look-alike of '.'`),
			bad(col, "small percent", "a\uFE6Ab", `look-alike of '%'`),
			bad(col, "account of", "a\u2100b", `look-alike of '/'`),
			bad(col, "digit full stop", "a\u2488", `look-alike of '.'`),
			bad(col, "zero-width space", "ab\u200B", `invisible character '\u200b' (U+200B) at character 3`),
			bad(col, "BOM", "\uFEFFab", `invisible character '\ufeff' (U+FEFF) at character 1`),
			bad(col, "right-to-left override", "a\u202Eb", `invisible character`),
			bad(col, "soft hyphen", "a\u00ADb", `invisible character`),
			bad(col, "word joiner", "a\u2060b", `invisible character`),
			bad(col, "hangul filler", "a\u3164b", `invisible character`),
			bad(col, "variation selector", "a\uFE0Fb", `invisible character`),
			bad(col, "tag character", "a\U000E0041b", `invisible character`),
			bad(col, "noncharacter", "a\uFFFFb", `invisible character`),
		)
	}
	cs = append(cs,
		bad("mobileAppId", "app empty", "", "column mobileAppId: required, but the cell is empty"),
		bad("mobileAppInstallStatusId", "status empty", "", "column mobileAppInstallStatusId: required, but the cell is empty"),
		good("userAppInstallStatusId", "user status empty: direct route", ""),
	)
	return cs
}

func enumCases() []cellCase {
	var cs []cellCase
	for _, col := range []string{"mobileAppInstallStatusValue", "installState"} {
		for _, m := range resource.ResultantAppState.Members {
			cs = append(cs,
				cellCase{name: m, col: col, cell: m, want: set(m)},
				cellCase{name: m + " lower", col: col, cell: strings.ToLower(m), want: set(m)},
				cellCase{name: m + " upper", col: col, cell: strings.ToUpper(m), want: set(m)},
			)
		}
		cs = append(cs,
			cellCase{name: "spaces around", col: col, cell: "  pendingInstall\t", want: set("pendingInstall")},
			cellCase{name: "typo", col: col, cell: "instaled",
				wantErr: `"instaled" is not a resultantAppState member; did you mean "installed"? (accepted: installed, failed, notInstalled, uninstallFailed, pendingInstall, unknown, notApplicable)`},
			cellCase{name: "not a member", col: col, cell: "unknownFutureValue", wantErr: "is not a resultantAppState member"},
			cellCase{name: "detail member in state column", col: col, cell: "pendingReboot", wantErr: "is not a resultantAppState member"},
			cellCase{name: "only spaces", col: col, cell: "   ", wantErr: `"   " is only spaces; leave the cell empty`},
			cellCase{name: "null", col: col, cell: "<null>", wantErr: "cannot be null"},
		)
	}
	col := "installStateDetail"
	for _, m := range resource.ResultantAppStateDetail.Members {
		cs = append(cs,
			cellCase{name: m, col: col, cell: m, want: set(m)},
			cellCase{name: m + " lower", col: col, cell: strings.ToLower(m), want: set(m)},
			cellCase{name: m + " upper", col: col, cell: strings.ToUpper(m), want: set(m)},
		)
	}
	cs = append(cs,
		// The spelling traps, in the casings people type them...
		cellCase{name: "PowerShell", col: col, cell: "PowershellScriptRequirementNotMet", want: set("powerShellScriptRequirementNotMet")},
		cellCase{name: "LoggedInTo", col: col, cell: "userIsNotLoggedInToAppStore", want: set("userIsNotLoggedIntoAppStore")},
		cellCase{name: "iOS", col: col, cell: "iOSAppStoreUpdateFailedToInstall", want: set("iosAppStoreUpdateFailedToInstall")},
		cellCase{name: "VPP", col: col, cell: "VPPAppHasUpdateAvailable", want: set("vppAppHasUpdateAvailable")},
		// ...and misspelt, with the right suggestion.
		cellCase{name: "Requirements", col: col, cell: "powerShellScriptRequirementsNotMet",
			wantErr: `is not a resultantAppStateDetail member; did you mean "powerShellScriptRequirementNotMet"?`},
		cellCase{name: "LoggedIn", col: col, cell: "userIsNotLoggedInAppStore", wantErr: `did you mean "userIsNotLoggedIntoAppStore"?`},
		cellCase{name: "FailedInstall", col: col, cell: "iosAppStoreUpdateFailedInstall", wantErr: `did you mean "iosAppStoreUpdateFailedToInstall"?`},
		cellCase{name: "Updates", col: col, cell: "vppAppHasUpdatesAvailable", wantErr: `did you mean "vppAppHasUpdateAvailable"?`},
		cellCase{name: "no suggestion", col: col, cell: "zzzzzzzzzzzz",
			wantErr: `"zzzzzzzzzzzz" is not a resultantAppStateDetail member (36 members, e.g. noAdditionalDetails, seeInstallErrorCode, pendingReboot; case does not matter)`},
		cellCase{name: "state member in detail column", col: col, cell: "installed", wantErr: "is not a resultantAppStateDetail member"},
		cellCase{name: "null", col: col, cell: "<NULL>", wantErr: "installStateDetail cannot be null"},
	)
	return cs
}

func errorCodeCases() []cellCase {
	col := "errorCode"
	ok := func(cell string, n int32) cellCase {
		return cellCase{name: cell, col: col, cell: cell, want: setInt(n)}
	}
	bad := func(cell, wantErr string) cellCase {
		return cellCase{name: cell, col: col, cell: cell, wantErr: wantErr}
	}
	const notInt = "is not a 32-bit integer; write a decimal like -2016345060 or hex like 0x87D1041C"
	const rng = "is outside the 32-bit range"
	return []cellCase{
		ok("0", 0),
		ok("-1", -1),
		ok("+5", 5),
		ok("007", 7),
		ok(" 42 ", 42),
		ok("2147483647", 2147483647),
		ok("-2147483648", -2147483648),
		ok("-2016345060", -2016345060),
		ok("0x0", 0),
		ok("0x1", 1),
		ok("0xFFFFFFFF", -1),
		ok("0x7FFFFFFF", 2147483647),
		ok("0x80000000", -2147483648),
		ok("0x87D1041C", -2016345060),
		ok("0X87d1041c", -2016345060),
		ok("0x00000000FF", 255),
		bad("2147483648", rng),
		bad("-2147483649", rng),
		bad("99999999999999999999", rng),
		bad("0x100000000", rng),
		bad("12x", `"12x" `+notInt),
		bad("1.0", notInt),
		bad("1e3", notInt),
		bad("0x", notInt),
		bad("0xG1", notInt),
		bad("0x-1", notInt),
		bad("-0x1", notInt),
		bad("0x1_0", notInt),
		bad("1_000", notInt),
		bad("１２", notInt),
		bad("--1", notInt),
		bad("   ", "is only spaces"),
		bad("<null>", "is not allowed: errorCode cannot be null"),
	}
}

func dateTimeCases() []cellCase {
	col := "lastSyncDateTime"
	ok := func(cell, want string) cellCase {
		return cellCase{name: cell, col: col, cell: cell, want: set(want)}
	}
	bad := func(cell, wantErr string) cellCase {
		return cellCase{name: cell, col: col, cell: cell, wantErr: wantErr}
	}
	const notDT = "is not an RFC 3339 date-time; write e.g. 2026-01-31T14:05:00Z"
	return []cellCase{
		ok("2026-01-31T14:05:00Z", "2026-01-31T14:05:00Z"),
		ok("2026-01-31T16:05:00+02:00", "2026-01-31T16:05:00+02:00"),
		ok("2026-01-31T08:35:00-05:30", "2026-01-31T08:35:00-05:30"),
		ok("2026-01-31T14:05:00-00:00", "2026-01-31T14:05:00-00:00"),
		ok("2026-01-31T14:05:00.1Z", "2026-01-31T14:05:00.1Z"),
		ok("2026-01-31T14:05:00.1234567Z", "2026-01-31T14:05:00.1234567Z"),
		ok("2026-01-31T14:05:00.1234567+01:00", "2026-01-31T14:05:00.1234567+01:00"),
		ok("  2026-01-31T14:05:00Z\t", "2026-01-31T14:05:00Z"), // trimmed
		ok("2024-02-29T00:00:00Z", "2024-02-29T00:00:00Z"),
		ok("2000-02-29T00:00:00Z", "2000-02-29T00:00:00Z"),
		ok("2026-01-31T14:05:00+14:00", "2026-01-31T14:05:00+14:00"),
		ok("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z"),
		ok("9999-12-31T23:59:59.9999999Z", "9999-12-31T23:59:59.9999999Z"),
		bad("2026-01-31T14:05:00.12345678Z", "has 8 fractional digits; Graph keeps at most 7"),
		bad("2026-01-31T14:05:00.123456789Z", "has 9 fractional digits"),
		bad("2026-01-31T14:05:00", "has no offset; add Z for UTC or an offset like +02:00"),
		bad("2026-01-31T14:05:00.1234567", "has no offset"),
		bad("2026-01-31T14:05:00z", "lower case; write an upper-case Z"),
		bad("2026-01-31t14:05:00Z", "separates date and time with 't'"),
		bad("2026-01-31 14:05:00Z", "separates date and time with ' '"),
		bad("2026-01-31", notDT),
		bad("2026-01-31T14:05Z", notDT),
		bad("2026-01-31T14:05:00.Z", notDT),
		bad("2026-01-31T14:05:00+0200", notDT),
		bad("2026-01-31T14:05:00+02", notDT),
		bad("2026-01-31T14:05:00 Z", notDT),
		bad("31/01/2026 14:05", notDT),
		bad("1/31/2026 2:05 PM", notDT),
		bad("2026-01-31T14:05:00+14:01", "has the offset +14:01; offsets go from -14:00 to +14:00"),
		bad("2026-01-31T14:05:00-15:00", "has the offset -15:00"),
		bad("2026-01-31T14:05:00+01:60", "has the offset +01:60"),
		bad("2026-02-29T00:00:00Z", "is not a date: 2026-02 has no day 29"),
		bad("1900-02-29T00:00:00Z", "has no day 29"),
		bad("2026-04-31T00:00:00Z", "has no day 31"),
		bad("2026-01-00T00:00:00Z", "has no day 00"),
		bad("2026-13-01T00:00:00Z", "has no month 13"),
		bad("2026-00-01T00:00:00Z", "has no month 00"),
		bad("2026-01-01T24:00:00Z", "has the hour 24"),
		bad("2026-01-01T23:60:00Z", "has the minute 60"),
		bad("2026-12-31T23:59:60Z", "has the second 60"),
		bad("0000-01-01T00:00:00Z", "has the year 0000"),
		bad("0001-01-01T00:00:00+01:00", "outside the range Graph can store"),
		bad("9999-12-31T23:59:59-01:00", "outside the range Graph can store"),
		bad("   ", "is only spaces"),
		bad("<null>", "lastSyncDateTime cannot be null"),
	}
}

func stringCases() []cellCase {
	var cs []cellCase
	for _, p := range res.Properties {
		if p.Kind != resource.String {
			continue
		}
		col := p.Name
		cs = append(cs,
			cellCase{name: "plain", col: col, cell: "Laptop-01", want: set("Laptop-01")},
			cellCase{name: "spaces kept", col: col, cell: " spaced ", want: set(" spaced ")},
			cellCase{name: "only spaces kept", col: col, cell: "   ", want: set("   ")},
			cellCase{name: "quotes and backslash", col: col, cell: `a"b\c`, want: set(`a"b\c`)},
			cellCase{name: "unicode", col: col, cell: "Jürgen 日本 🙂", want: set("Jürgen 日本 🙂")},
			cellCase{name: "formula-looking", col: col, cell: "=1+1", want: set("=1+1")},
			cellCase{name: "null", col: col, cell: "<null>", want: clear},
			cellCase{name: "NULL spaced", col: col, cell: "  <NULL> ", want: clear},
			cellCase{name: "Null mixed", col: col, cell: "<Null>", want: clear},
			cellCase{name: "null with text", col: col, cell: "<null>x", want: set("<null>x")},
			cellCase{name: "null without brackets", col: col, cell: "null", want: set("null")},
			cellCase{name: "invalid UTF-8", col: col, cell: "ab\xc3", wantErr: "is not valid UTF-8"},
		)
	}
	return cs
}

// nulCases put a NUL byte into a cell of every kind of column: a key cell
// is refused by the id rules, a property cell of any kind with its line,
// column, value and position.
func nulCases() []cellCase {
	bad := func(col, name, cell, wantErr string) cellCase {
		return cellCase{name: name, col: col, cell: cell, wantErr: wantErr}
	}
	const nul = "contains a NUL byte (U+0000) at character "
	var cs []cellCase
	for _, col := range []string{"mobileAppId", "userAppInstallStatusId", "mobileAppInstallStatusId"} {
		cs = append(cs, bad(col, "NUL only", "\x00", `"\x00" contains the control character '\x00' (U+0000) at character 1`))
	}
	return append(cs,
		bad("deviceName", "NUL inside", "ab\x00c", `"ab\x00c" `+nul+"3; no cell may hold one"),
		bad("deviceName", "NUL first", "\x00", nul+"1;"),
		bad("deviceName", "NUL after non-ASCII", "日本\x00", nul+"3;"),
		bad("deviceName", "NUL after invalid UTF-8", "\xff\x00", nul+"2;"),
		bad("deviceName", "UTF-16 looking", "L\x00a\x00p\x00", nul+"2; no cell may hold one (a file with a NUL after every letter is UTF-16: save it as UTF-8)"),
		bad("osVersion", "NUL in null marker", "<null>\x00", nul+"7;"),
		bad("osVersion", "NUL before spaces", "\x00  ", nul+"1;"),
		bad("installState", "enum", "installed\x00", nul+"10;"),
		bad("installStateDetail", "long enum", "\x00pendingReboot", nul+"1;"),
		bad("errorCode", "int32", "5\x00", nul+"2;"),
		bad("lastSyncDateTime", "date-time", "2026-01-31T14:05:00Z\x00", nul+"21;"),
	)
}

func TestCheckCells(t *testing.T) {
	var cases []cellCase
	cases = append(cases, idCases()...)
	cases = append(cases, enumCases()...)
	cases = append(cases, errorCodeCases()...)
	cases = append(cases, dateTimeCases()...)
	cases = append(cases, stringCases()...)
	cases = append(cases, nulCases()...)

	for _, tc := range cases {
		t.Run(tc.col+"/"+tc.name, func(t *testing.T) {
			rec := newRecord(t, 7, map[string]string{"mobileAppId": "app-1", "mobileAppInstallStatusId": "status-1"})
			prop := res.PropertyIndex(tc.col)
			isID := prop < 0
			if isID {
				rec.Cells[cell(t, "deviceName")] = "d" // something to change
			}
			rec.Cells[cell(t, tc.col)] = tc.cell

			op, probs := NewValidator(res).Check(rec)

			if tc.wantErr == "" {
				if len(probs) != 0 {
					t.Fatalf("Check(%q) problems: %v", tc.cell, probs)
				}
				if !isID && op.Props[prop] != tc.want {
					t.Errorf("Check(%q) = %+v, want %+v", tc.cell, op.Props[prop], tc.want)
				}
				return
			}
			if len(probs) != 1 {
				t.Fatalf("Check(%q) gave %d problems, want 1: %v", tc.cell, len(probs), probs)
			}
			p := probs[0]
			msg := p.Error()
			if !strings.Contains(msg, tc.wantErr) {
				t.Errorf("problem %q\ndoes not contain %q", msg, tc.wantErr)
			}
			if p.Line != 7 || p.Column != tc.col || p.Value != tc.cell {
				t.Errorf("problem names line %d, column %q, value %q; want 7, %q, %q", p.Line, p.Column, p.Value, tc.col, tc.cell)
			}
			wantPrefix := "line 7, column " + tc.col + ": "
			if tc.cell != "" {
				wantPrefix += quoteShort(tc.cell) + " "
			}
			if !strings.HasPrefix(msg, wantPrefix) {
				t.Errorf("problem %q\ndoes not start with %q", msg, wantPrefix)
			}
			if !isID && op.Props[prop] != (Value{}) {
				t.Errorf("an invalid cell still set %+v", op.Props[prop])
			}
		})
	}
}

func TestCheckRow(t *testing.T) {
	full := &csvio.Record{Line: 2, Cells: []string{
		"app-1", "user-1", "status-1",
		"LAPTOP-01", "<null>", "2026-01-31T14:05:00Z", "Installed", "INSTALLED", "noadditionaldetails",
		"0x87D1041C", "10.0.22631", "Windows 11", "Jürgen", "j@example.com", " 1.2 ",
	}}
	op, probs := NewValidator(res).Check(full)
	if len(probs) != 0 {
		t.Fatalf("problems: %v", probs)
	}
	want := Op{
		Line: 2, Res: res, Key: resource.Key{"app-1", "user-1", "status-1"},
		Props: [resource.MaxProperties]Value{
			set("LAPTOP-01"), clear, set("2026-01-31T14:05:00Z"), set("installed"), set("installed"),
			set("noAdditionalDetails"), setInt(-2016345060), set("10.0.22631"), set("Windows 11"),
			set("Jürgen"), set("j@example.com"), set(" 1.2 "),
		},
	}
	if op != want {
		t.Errorf("Check:\n got %+v\nwant %+v", op, want)
	}

	// Several wrong columns at once: every one is reported, in column order.
	bad := newRecord(t, 9, map[string]string{
		"mobileAppId": "a/b", "mobileAppInstallStatusId": "", "installState": "instaled",
		"errorCode": "12x", "osVersion": "<null>", // the last one is fine
	})
	op, probs = NewValidator(res).Check(bad)
	var got []string
	for _, p := range probs {
		got = append(got, p.Column)
	}
	wantCols := []string{"mobileAppId", "mobileAppInstallStatusId", "installState", "errorCode"}
	if strings.Join(got, ",") != strings.Join(wantCols, ",") {
		t.Errorf("problem columns = %v, want %v (%v)", got, wantCols, probs)
	}
	if op.Line != 9 || op.Key[0] != "a/b" || op.Res != res {
		t.Errorf("an invalid row's Op lost its line, key or resource: %+v", op)
	}
	if op.Props[res.PropertyIndex("osVersion")] != clear {
		t.Errorf("valid cells of an invalid row are still parsed")
	}
}

func TestCheckNothingToChange(t *testing.T) {
	rec := newRecord(t, 5, map[string]string{"mobileAppId": "app", "mobileAppInstallStatusId": "st"})
	_, probs := NewValidator(res).Check(rec)
	if len(probs) != 1 {
		t.Fatalf("problems = %v, want one", probs)
	}
	if got, want := probs[0].Error(), "line 5: nothing to change: every property cell is empty"; got != want {
		t.Errorf("got %q, want %q", got, want)
	}
	// A cell of spaces in a string column is a value, not nothing.
	rec.Cells[cell(t, "deviceName")] = " "
	if _, probs := NewValidator(res).Check(rec); len(probs) != 0 {
		t.Errorf("a string cell of spaces: %v", probs)
	}
}

func TestCheckDuplicates(t *testing.T) {
	guid := "8d0a8f0c-6f0c-4a3b-9c55-3f6a6a8a0b11"
	long := strings.Repeat("x", 150) + "-tail" // longer than the hash's folding buffer
	rows := []struct {
		line              int
		app, user, status string
		wantOther         int // 0: not a duplicate
	}{
		{2, "app", "", "st", 0},
		{3, "app", "user", "st", 0}, // nested route: a different object
		{4, "app", "", "st", 2},
		{5, "app", "user", "st", 3},
		{6, "app", "", "st", 2}, // names the first line, not the latest duplicate
		{7, "APP", "", "st", 2}, // ids compare ignoring ASCII case, as in Graph
		{8, "ap", "p", "st", 0}, // the same bytes split differently
		{9, "ap", "", "pst", 0},
		{10, "app", "", "st2", 0},
		{11, "app", "", "st ", 0}, // invalid id: reported as such, not as a duplicate
		{12, "app", "", "st ", 0},
		{13, "app", "user", "st", 3},
		{14, "App", "USER", "sT", 3},
		{15, guid, "", guid, 0},
		{16, strings.ToUpper(guid), "", strings.ToUpper(guid), 15}, // GUIDs as some tools write them
		{17, "app-é", "", "st", 0},
		{18, "APP-é", "", "ST", 17},
		{19, "app-É", "", "st", 0}, // only ASCII letters fold: Graph's case-insensitive ids are ASCII
		{20, "app", "", long, 0},
		{21, "APP", "", strings.ToUpper(long), 20},
		{22, "app", "", long[:140] + "y" + long[141:], 0}, // differs after the first 64 bytes
		{23, "a1", "", "s", 0},
		{24, "A1", "", "s", 23},
		{25, "a1", "", "s]", 0}, // '[' ']' are not letters: nothing folds them
		{26, "a1", "", "s}", 0}, // '}' is ']' + 0x20, the distance between cases
	}
	// A later pass over the same lines, with the same Validator, finds
	// exactly the same duplicates and remembers nothing more.
	v := NewValidator(res)
	remembered := 0
	for pass := 1; pass <= 2; pass++ {
		for _, r := range rows {
			rec := newRecord(t, r.line, map[string]string{
				"mobileAppId": r.app, "userAppInstallStatusId": r.user, "mobileAppInstallStatusId": r.status,
				"installState": "installed",
			})
			_, probs := v.Check(rec)
			var dups []Problem
			for _, p := range probs {
				if p.OtherLine != 0 {
					dups = append(dups, p)
				}
			}
			if r.wantOther == 0 {
				if len(dups) != 0 {
					t.Errorf("line %d: unexpected duplicate %v", r.line, dups)
				}
				continue
			}
			if len(dups) != 1 {
				t.Errorf("line %d: got %v, want a duplicate of line %d", r.line, probs, r.wantOther)
				continue
			}
			want := "line " + strconv.Itoa(r.line) +
				", columns mobileAppId/userAppInstallStatusId/mobileAppInstallStatusId: same object as line " +
				strconv.Itoa(r.wantOther)
			if got := dups[0].Error(); got != want {
				t.Errorf("got %q\nwant %q", got, want)
			}
			if dups[0].OtherLine != r.wantOther || dups[0].Line != r.line {
				t.Errorf("line %d: Line/OtherLine = %d/%d", r.line, dups[0].Line, dups[0].OtherLine)
			}
		}
		if pass == 1 {
			remembered = len(v.seen) + len(v.more)
		} else if n := len(v.seen) + len(v.more); n != remembered {
			t.Errorf("the second pass grew the remembered rows from %d to %d", remembered, n)
		}
	}

	// A fresh Validator remembers nothing: seeds and state are per file.
	rec := newRecord(t, 30, map[string]string{"mobileAppId": "app", "mobileAppInstallStatusId": "st", "installState": "installed"})
	if _, probs := NewValidator(res).Check(rec); len(probs) != 0 {
		t.Errorf("fresh validator: %v", probs)
	}
}

// TestValidatorForget: after Forget a Validator keeps nothing of the rows
// it met and checks later rows on their own: the other checks still
// apply, duplicate detection does not.
func TestValidatorForget(t *testing.T) {
	v := NewValidator(res)
	row := func(line int, state string) *csvio.Record {
		return newRecord(t, line, map[string]string{"mobileAppId": "app", "mobileAppInstallStatusId": "st", "installState": state})
	}
	if _, probs := v.Check(row(2, "installed")); len(probs) != 0 {
		t.Fatalf("line 2: %v", probs)
	}
	if _, probs := v.Check(row(3, "installed")); len(probs) != 1 || probs[0].OtherLine != 2 {
		t.Fatalf("before Forget, line 3: %v, want a duplicate of line 2", probs)
	}
	v.Forget()
	if v.seen != nil || v.more != nil {
		t.Errorf("Forget kept %d + %d rows", len(v.seen), len(v.more))
	}
	if _, probs := v.Check(row(4, "installed")); len(probs) != 0 {
		t.Errorf("after Forget, line 4: %v, want no problem", probs)
	}
	if _, probs := v.Check(row(5, "nope")); len(probs) != 1 || probs[0].Column != "installState" {
		t.Errorf("after Forget, line 5: %v, want the bad installState alone", probs)
	}
	if v.seen != nil || v.more != nil {
		t.Errorf("rows remembered after Forget: %d + %d", len(v.seen), len(v.more))
	}
}

func TestZeroValidatorPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "NewValidator") {
			t.Errorf("the zero Validator: recovered %v, want a panic naming NewValidator", r)
		}
	}()
	var zero Validator
	zero.Check(newRecord(t, 2, map[string]string{"mobileAppId": "app", "mobileAppInstallStatusId": "st"}))
}

func TestCheckWrongLayoutPanics(t *testing.T) {
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "a record of 3 cells checked as mobileAppInstallStatus, which has 15 columns") {
			t.Errorf("recovered %v", r)
		}
	}()
	NewValidator(res).Check(&csvio.Record{Line: 2, Cells: []string{"a", "", "s"}})
}

func TestProblemError(t *testing.T) {
	long := strings.Repeat("a", 200)
	tests := []struct {
		p    Problem
		want string
	}{
		{Problem{Line: 9, Column: "errorCode", Value: "12x", Msg: "is bad"}, `line 9, column errorCode: "12x" is bad`},
		{Problem{Line: 3, Column: "mobileAppId", Msg: "required, but the cell is empty"}, `line 3, column mobileAppId: required, but the cell is empty`},
		{Problem{Line: 5, Msg: "nothing"}, `line 5: nothing`},
		{Problem{Line: 12, Column: "a/b", Msg: "same object as line 4", OtherLine: 4}, `line 12, columns a/b: same object as line 4`},
		{Problem{Line: 1, Column: "deviceName", Value: long, Msg: "x"}, `line 1, column deviceName: "` + strings.Repeat("a", 80) + `"… x`},
		{Problem{Line: 1, Column: "deviceName", Value: strings.Repeat("ü", 80), Msg: "x"}, `line 1, column deviceName: "` + strings.Repeat("ü", 80) + `" x`},
		{Problem{Line: 1, Column: "deviceName", Value: strings.Repeat("ü", 81), Msg: "x"}, `line 1, column deviceName: "` + strings.Repeat("ü", 80) + `"… x`},
		{Problem{Line: 1, Column: "c", Value: "a\u200bb\x00", Msg: "x"}, `line 1, column c: "a\u200bb\x00" x`},
	}
	for _, tt := range tests {
		if got := tt.p.Error(); got != tt.want {
			t.Errorf("Error() = %q\nwant      %q", got, tt.want)
		}
	}
}

func TestCheckAllocs(t *testing.T) {
	recs := benchRecords(64)
	v := NewValidator(res)
	v.seen = make(map[uint64]seenRow, 2*len(recs)) // map growth is not per-row cost
	i := 0
	allocs := testing.AllocsPerRun(len(recs)-1, func() {
		_, probs := v.Check(&recs[i])
		if len(probs) != 0 {
			t.Fatalf("problems: %v", probs)
		}
		i++
	})
	if allocs != 0 {
		t.Errorf("Check of a valid row allocates %v times, want 0", allocs)
	}
}
