package plan

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
)

// FuzzCheck feeds arbitrary cells to Check. It must never panic; every
// problem must name its line; a cell with a NUL byte must be refused in
// its column; and every accepted row must encode to valid JSON that
// OpFromBody turns back into the same Op, that Diff finds equal to
// itself, and whose key, in any ASCII letter case, is the same object.
func FuzzCheck(f *testing.F) {
	f.Add("app", "", "st", "LAPTOP", "<null>", "2026-01-31T14:05:00Z", "Installed", "failed", "seeinstallerrorcode",
		"0x87D1041C", "10.0", " <NULL> ", "Jürgen", "j@example.com", "1.2")
	f.Add("app", "user", "st", "", "", "2026-01-31T14:05:00.1234567+14:00", "", "", "", "-2147483648", "", "", "", "", "")
	f.Add("a/b", "\u200b", "", "\xff", "", "2026-01-31T14:05:00.12345678Z", "instaled", "", "zzz", "0x100000000", "", "", "", "", "\"\\\n")
	f.Add("\uFF0F", ".", "..", " <null>x", "", "2026-02-29T00:00:00", "", "<null>", "", "12x", "", "", "", "", "")
	f.Add("app", "", "st", "", "", "", "", "", "", "", "", "", "", "", "")
	f.Add("App\x00", "", "8D0A8F0C-6F0C-4A3B-9C55-3F6A6A8A0B11", "a\x00b", "\x00", "", "installed\x00", "", "", "\x001", "", "", "", "", "L\x00a\x00")
	f.Fuzz(func(t *testing.T, app, user, status, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11 string) {
		rec := &csvio.Record{Line: 42, Cells: []string{
			app, user, status, c0, c1, c2, c3, c4, c5, c6, c7, c8, c9, c10, c11,
		}}
		v := NewValidator(res)
		op, probs := v.Check(rec)
		checkProblems(t, rec, probs)
		if len(probs) != 0 {
			// Most random rows are invalid somewhere. To exercise the
			// accepted path too, empty the cells at fault (and replace
			// bad ids) and check the rest of the row again.
			for _, p := range probs {
				if i := cellIndex(res, p.Column); i >= 0 {
					rec.Cells[i] = ""
				}
			}
			if i := cellIndex(res, "mobileAppId"); rec.Cells[i] == "" {
				rec.Cells[i] = "app"
			}
			if i := cellIndex(res, "mobileAppInstallStatusId"); rec.Cells[i] == "" {
				rec.Cells[i] = "st"
			}
			v = NewValidator(res)
			if op, probs = v.Check(rec); len(probs) != 0 {
				return // e.g. nothing left to change
			}
		}
		body := op.AppendBody(nil)
		if !json.Valid(body) {
			t.Fatalf("invalid JSON body %q", body)
		}
		back, probs := OpFromBody(res, op.Line, op.Key, body)
		if len(probs) != 0 {
			t.Fatalf("OpFromBody(%s) refuses what Check accepted: %v", body, probs)
		}
		if back != op {
			t.Fatalf("round trip through %s:\n got %+v\nwant %+v", body, back, op)
		}
		if changes, err := Diff(&op, body); err != nil || len(changes) != 0 {
			t.Fatalf("Diff of an Op with its own body %s = %v, %v", body, changes, err)
		}
		// The same row read again at its own line (a later pass) is not
		// a duplicate; at another line, ids upper-cased, it is.
		if _, probs := v.Check(rec); len(probs) != 0 {
			t.Fatalf("the same row read again at its line: %v, want no problem", probs)
		}
		for i := range res.Keys {
			rec.Cells[i] = upperASCII(rec.Cells[i])
		}
		rec.Line = 43
		if _, probs := v.Check(rec); len(probs) != 1 || probs[0].OtherLine != 42 {
			t.Fatalf("the same row on another line, ids upper-cased: %v, want one duplicate problem", probs)
		}
	})
}

// checkProblems checks what FuzzCheck requires of every row's problems:
// each names line 42 and says something, and each cell holding a NUL byte
// has a problem in its column.
func checkProblems(t *testing.T, rec *csvio.Record, probs []Problem) {
	t.Helper()
	at := map[string]bool{}
	for _, p := range probs {
		if msg := p.Error(); p.Line != 42 || !strings.HasPrefix(msg, "line 42") || p.Msg == "" {
			t.Errorf("problem without its line or message: %q", msg)
		}
		at[p.Column] = true
	}
	for i, c := range Columns(res) {
		if strings.IndexByte(rec.Cells[i], 0) >= 0 && !at[c.Name] {
			t.Errorf("the NUL in %s %q is not refused: %v", c.Name, rec.Cells[i], probs)
		}
	}
}

// upperASCII is strings.ToUpper for ASCII letters only, the case Graph
// ignores in ids.
func upperASCII(s string) string {
	b := []byte(s)
	for i, c := range b {
		if 'a' <= c && c <= 'z' {
			b[i] = c - ('a' - 'A')
		}
	}
	return string(b)
}

// encodingJSONString is how encoding/json writes s, without HTML escaping.
func encodingJSONString(t *testing.T, s string) []byte {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(s); err != nil {
		t.Fatal(err)
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}

// FuzzAppendBody keeps the hand-written string escaping byte-identical to
// encoding/json and the body's meaning equal to the Op's.
func FuzzAppendBody(f *testing.F) {
	for _, s := range []string{"", "plain", "a\"b\\c", "\x00\x01\b\f\n\r\t\x1f\x7f", "<>&", "\u2028\u2029", "é🙂",
		"\xff", "a\xc3", "\xed\xa0\x80", "\ufffd", "\u00ad\u200b\ufeff"} {
		f.Add(s, int32(-2016345060))
	}
	f.Fuzz(func(t *testing.T, s string, n int32) {
		if got, want := appendString(nil, s), encodingJSONString(t, s); !bytes.Equal(got, want) {
			t.Fatalf("appendString(%q) = %s, encoding/json writes %s", s, got, want)
		}
		op := Op{Res: res, Key: resource.Key{"a", "", "s"}}
		op.Props[res.PropertyIndex("deviceName")] = set(s)
		op.Props[res.PropertyIndex("userName")] = clear
		op.Props[res.PropertyIndex("errorCode")] = setInt(n)
		body := op.AppendBody(nil)
		var got map[string]any
		if err := json.Unmarshal(body, &got); err != nil {
			t.Fatalf("invalid body %q: %v", body, err)
		}
		// What encoding/json makes of s (invalid bytes become U+FFFD).
		var w string
		if err := json.Unmarshal(encodingJSONString(t, s), &w); err != nil {
			t.Fatal(err)
		}
		want := map[string]any{"deviceName": w, "userName": nil, "errorCode": float64(n)}
		if d := cmp.Diff(want, got); d != "" {
			t.Fatalf("body %s means (-want +got):\n%s", body, d)
		}
	})
}

// FuzzDiff: arbitrary live JSON never makes Diff panic, and every Change
// it reports holds valid JSON for a property the Op sends.
func FuzzDiff(f *testing.F) {
	for _, s := range []string{
		`{}`, `null`, `[]`, `{"deviceName":null,"installState":"Installed","errorCode":5.0}`,
		`{"lastSyncDateTime":"2026-01-01T00:00:00.0000000+00:00","errorCode":"0x87D1041C"}`,
		`{"lastSyncDateTime":"9999-12-31T23:59:59.999999999999-14:00","errorCode":1e400}`,
		`{"installStateDetail":{"a":[1,2]},"osVersion":true,"deviceId":""}`, `{"deviceName":"\ud800"}`, `{`, `"x"`,
	} {
		f.Add([]byte(s), "2026-01-01T00:00:00Z", "x")
	}
	f.Fuzz(func(t *testing.T, live []byte, dt, str string) {
		op := Op{Res: res, Key: resource.Key{"a", "", "s"}}
		op.Props[res.PropertyIndex("deviceName")] = set(str)
		op.Props[res.PropertyIndex("deviceId")] = clear
		op.Props[res.PropertyIndex("lastSyncDateTime")] = set(dt) // possibly invalid: Diff must cope
		op.Props[res.PropertyIndex("installState")] = set("installed")
		op.Props[res.PropertyIndex("installStateDetail")] = set("pendingReboot")
		op.Props[res.PropertyIndex("errorCode")] = setInt(-1)
		changes, err := Diff(&op, live)
		if err != nil {
			return
		}
		for _, c := range changes {
			i := res.PropertyIndex(c.Property)
			if i < 0 || op.Props[i].Intent == Leave {
				t.Errorf("change for a property the Op leaves alone: %q", c.Property)
			}
			if !json.Valid(c.Old) || !json.Valid(c.New) {
				t.Errorf("invalid JSON in %+v", c)
			}
		}
	})
}

// FuzzPlanFile: the reader never panics; whatever it accepts in full is
// consistent with its summary, and written again reads back the same.
func FuzzPlanFile(f *testing.F) {
	good := writePlan(f, testHeader, testEntries)
	f.Add(good)
	f.Add(good[:len(good)/2])
	f.Add(writePlan(f, Header{}, nil))
	f.Add(writePlan(f, Header{Resource: "mobileAppInstallStatus"}, testEntries))
	f.Add([]byte(`{"format":1,"operations":[{"line":1,"mobileAppId":"a","mobileAppInstallStatusId":"s","action":"patch","body":{}}],"summary":{"operations":1,"patch":1,"update":0,"unchanged":0}}`))
	f.Add([]byte(`{"format":1,"resource":"MobileAppInstallStatus","operations":[{"line":1,"MOBILEAPPID":"a","action":"patch","body":{ }}],"summary":{"operations":1,"patch":1,"update":0,"unchanged":0}}`))
	f.Add([]byte(`{"format":2}`))
	f.Add([]byte(`{"format":1,"resource":"x","operations":[]}`))
	f.Add([]byte(`[{"format":1}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h, entries, sum, err := readPlan(data)
		if err != nil {
			return
		}
		if sum.Operations != len(entries) {
			t.Errorf("read %d entries, summary says %d", len(entries), sum.Operations)
		}
		for _, e := range entries {
			if e.Line <= 0 || !json.Valid(e.Body) {
				t.Errorf("accepted a bad entry %+v", e)
			}
		}
		again := writePlan(t, h, entries)
		_, back, _, err := readPlan(again)
		if err != nil {
			t.Fatalf("the plan written again does not read: %v\n%s", err, again)
		}
		if d := cmp.Diff(compactEntries(t, entries), back, cmpopts.EquateEmpty()); d != "" {
			t.Errorf("written again and read back (-want +got):\n%s", d)
		}
	})
}
