package plan

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/google/go-cmp/cmp"
)

// opWith returns an Op for app/status with the named properties.
func opWith(t testing.TB, props map[string]Value) Op {
	t.Helper()
	op := Op{Line: 2, Res: res, Key: resource.Key{"app", "", "st"}}
	for name, v := range props {
		i := res.PropertyIndex(name)
		if i < 0 {
			t.Fatalf("no property %q", name)
		}
		op.Props[i] = v
	}
	return op
}

func bodyCases(t testing.TB) []struct {
	name string
	op   Op
	want string
} {
	full := opWith(t, map[string]Value{
		"deviceName": set("LAPTOP-01"), "deviceId": clear, "lastSyncDateTime": set("2026-01-31T14:05:00.1234567+01:00"),
		"mobileAppInstallStatusValue": set("failed"), "installState": set("failed"),
		"installStateDetail": set("seeInstallErrorCode"), "errorCode": setInt(-2016345060),
		"osVersion": set("10.0"), "osDescription": clear, "userName": set("Jürgen"),
		"userPrincipalName": set("j@example.com"), "displayVersion": set("1.2"),
	})
	return []struct {
		name string
		op   Op
		want string
	}{
		{"nothing", Op{Res: res, Key: resource.Key{"app", "", "st"}}, `{}`},
		{"one", opWith(t, map[string]Value{"installState": set("installed")}), `{"installState":"installed"}`},
		{"property order", opWith(t, map[string]Value{"displayVersion": set("2"), "deviceName": set("d"), "errorCode": setInt(0)}),
			`{"deviceName":"d","errorCode":0,"displayVersion":"2"}`},
		{"clear", opWith(t, map[string]Value{"userName": clear}), `{"userName":null}`},
		{"every property", full,
			`{"deviceName":"LAPTOP-01","deviceId":null,"lastSyncDateTime":"2026-01-31T14:05:00.1234567+01:00",` +
				`"mobileAppInstallStatusValue":"failed","installState":"failed","installStateDetail":"seeInstallErrorCode",` +
				`"errorCode":-2016345060,"osVersion":"10.0","osDescription":null,"userName":"Jürgen",` +
				`"userPrincipalName":"j@example.com","displayVersion":"1.2"}`},
		{"errorCode extremes", opWith(t, map[string]Value{"errorCode": setInt(-2147483648)}), `{"errorCode":-2147483648}`},
		{"escaping", opWith(t, map[string]Value{"deviceName": set("a\"b\\c\n\r\t\b\f\x01\x1f\x7f<>&\u2028\u2029é🙂 /")}),
			`{"deviceName":"a\"b\\c\n\r\t\b\f\u0001\u001f` + "\x7f" + `<>&\u2028\u2029é🙂 /"}`},
		{"invalid UTF-8 as encoding/json writes it", opWith(t, map[string]Value{"deviceName": set("a\xffb")}), `{"deviceName":"a\ufffdb"}`},
		{"spaces kept", opWith(t, map[string]Value{"osVersion": set("  ")}), `{"osVersion":"  "}`},
		{"unknown intent left out", opWith(t, map[string]Value{"osVersion": {Intent: 9, Str: "x"}, "userName": set("u")}), `{"userName":"u"}`},
		{"ids never sent", Op{Res: res, Key: resource.Key{"app", "u", "st"}, Props: opWith(t, map[string]Value{"deviceId": set("st")}).Props},
			`{"deviceId":"st"}`},
	}
}

func TestAppendBody(t *testing.T) {
	for _, tc := range bodyCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			got := string(tc.op.AppendBody(nil))
			if got != tc.want {
				t.Errorf("AppendBody:\n got %s\nwant %s", got, tc.want)
			}
			// The same meaning as encoding/json gives a map of the values.
			m := map[string]any{}
			for i, p := range tc.op.Res.Properties {
				switch v := tc.op.Props[i]; {
				case v.Intent == Clear:
					m[p.Name] = nil
				case v.Intent != Set:
				case p.Kind == resource.Int32:
					m[p.Name] = v.Int
				default:
					m[p.Name] = v.Str
				}
			}
			ref, err := json.Marshal(m)
			if err != nil {
				t.Fatal(err)
			}
			var gotV, refV any
			if err := json.Unmarshal([]byte(got), &gotV); err != nil {
				t.Fatalf("AppendBody wrote invalid JSON %s: %v", got, err)
			}
			if err := json.Unmarshal(ref, &refV); err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(refV, gotV); d != "" {
				t.Errorf("meaning differs from encoding/json (-json +AppendBody):\n%s", d)
			}
			// Appends, keeping what dst held.
			if got := string(tc.op.AppendBody([]byte("x"))); got != "x"+tc.want {
				t.Errorf("AppendBody(x) = %s", got)
			}
		})
	}
}

func TestAppendBodyAllocs(t *testing.T) {
	op := bodyCases(t)[4].op
	buf := make([]byte, 0, 1024)
	allocs := testing.AllocsPerRun(100, func() { buf = op.AppendBody(buf[:0]) })
	if allocs != 0 {
		t.Errorf("AppendBody into a buffer with room allocates %v times", allocs)
	}
}

func TestOpFromBodyRoundTrip(t *testing.T) {
	for _, tc := range bodyCases(t) {
		if tc.name == "nothing" || tc.name == "unknown intent left out" || strings.HasPrefix(tc.name, "invalid UTF-8") {
			continue // Check never makes these
		}
		op := tc.op
		got, probs := OpFromBody(res, op.Line, op.Key, op.AppendBody(nil))
		if len(probs) != 0 {
			t.Errorf("%s: problems %v", tc.name, probs)
			continue
		}
		if got != op {
			t.Errorf("%s: OpFromBody\n got %+v\nwant %+v", tc.name, got, op)
		}
	}
}

func TestOpFromBodyTampered(t *testing.T) {
	tests := []struct {
		name    string
		ids     resource.Key
		body    string
		wantErr []string // fragments, one per problem, in order
	}{
		{"unknown property", okIDs, `{"id":"x","deviceName":"d"}`, []string{`line 4: the saved PATCH body sets "id", which is not a property bulkpatch writes (writable: deviceName, deviceId,`}},
		{"wrong casing of a name", okIDs, `{"DeviceName":"d"}`, []string{
			`line 4: the saved PATCH body sets "DeviceName", which is not a property name: Graph's names are case-sensitive; write "deviceName"`,
			`nothing to change`}},
		{"near miss of a name", okIDs, `{"installStat":"installed","deviceName":"d"}`, []string{`did you mean "installState"?`}},
		{"enum casing", okIDs, `{"installState":"Installed"}`, []string{
			`column installState: "Installed" is not spelled as Graph requires (enums are case-sensitive); write "installed"`}},
		{"enum unknown", okIDs, `{"installStateDetail":"somethingNew"}`, []string{`"somethingNew" is not a resultantAppStateDetail member`}},
		{"null on enum", okIDs, `{"installState":null}`, []string{`column installState: "null" is not allowed: installState cannot be null`}},
		{"null on errorCode", okIDs, `{"errorCode":null}`, []string{`errorCode cannot be null`}},
		{"null on date-time", okIDs, `{"lastSyncDateTime":null}`, []string{`lastSyncDateTime cannot be null`}},
		{"errorCode as string", okIDs, `{"errorCode":"5"}`, []string{`"\"5\"" must be a JSON number`}},
		{"errorCode as float", okIDs, `{"errorCode":1.0}`, []string{`"1.0" is not written as a whole JSON number`}},
		{"errorCode exponent", okIDs, `{"errorCode":1e3}`, []string{`is not written as a whole JSON number`}},
		{"errorCode out of range", okIDs, `{"errorCode":2147483648}`, []string{`is outside the 32-bit range`}},
		{"string as number", okIDs, `{"deviceName":5}`, []string{`column deviceName: "5" must be a JSON string`}},
		{"string as object", okIDs, `{"deviceName":{"a":1}}`, []string{`must be a JSON string`}},
		{"empty string", okIDs, `{"deviceName":""}`, []string{`is an empty string, which no input cell can ask for`}},
		{"null marker as string", okIDs, `{"deviceName":" <NULL>"}`, []string{`is the <null> marker as a string`}},
		{"date-time without offset", okIDs, `{"lastSyncDateTime":"2026-01-01T00:00:00"}`, []string{`has no offset`}},
		{"date-time with 8 digits", okIDs, `{"lastSyncDateTime":"2026-01-01T00:00:00.12345678Z"}`, []string{`8 fractional digits`}},
		{"date-time with spaces", okIDs, `{"lastSyncDateTime":" 2026-01-01T00:00:00Z"}`, []string{`has surrounding spaces`}},
		{"repeated property", okIDs, `{"deviceName":"a","deviceName":"b"}`, []string{`column deviceName: appears twice`}},
		{"empty object", okIDs, `{}`, []string{`line 4: nothing to change: the saved PATCH body sets no property`}},
		{"array", okIDs, `[]`, []string{`line 4: the saved PATCH body is not a JSON object`}},
		{"null", okIDs, `null`, []string{`is not a JSON object`}},
		{"empty", okIDs, ``, []string{`is not a JSON object`}},
		{"truncated", okIDs, `{"deviceName":"a"`, []string{`is not valid JSON`}},
		{"trailing data", okIDs, `{"deviceName":"a"} {}`, []string{`has data after the JSON object`}},
		{"invalid UTF-8", okIDs, "{\"deviceName\":\"a\xff\"}", []string{`is not valid UTF-8`}},
		{"bad app id", resource.Key{"a/b", "", "st"}, `{"deviceName":"d"}`, []string{`column mobileAppId: "a/b" contains '/'`}},
		{"missing status id", resource.Key{"app", "", ""}, `{"deviceName":"d"}`, []string{`column mobileAppInstallStatusId: required`}},
		{"hostile user status id", resource.Key{"app", "u\u200b", "st"}, `{"deviceName":"d"}`, []string{`column userAppInstallStatusId: "u\u200b" contains the invisible character`}},
		{"several at once", okIDs, `{"installState":"INSTALLED","errorCode":null,"bogus":1}`, []string{
			`column installState`, `column errorCode`, `sets "bogus"`}},
		{"NUL in a string", okIDs, `{"deviceName":"ab\u0000"}`, []string{
			`column deviceName: "ab\x00" contains a NUL byte (U+0000) at character 3; no cell may hold one`}},
		{"NUL in an enum", okIDs, `{"installState":"installed\u0000"}`, []string{`column installState: "installed\x00" contains a NUL byte`}},
		{"NUL in a date-time", okIDs, `{"lastSyncDateTime":"\u00002026-01-01T00:00:00Z"}`, []string{`at character 1`}},
		{"NUL in a key", resource.Key{"app\x00", "", "st"}, `{"deviceName":"d"}`, []string{`column mobileAppId: "app\x00" contains the control character '\x00'`}},
		{"hostile key", okIDs, `{"a\nb":1,"deviceName":"d"}`, []string{`line 4: the saved PATCH body sets "a\nb", which`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, probs := OpFromBody(res, 4, tt.ids, []byte(tt.body))
			if len(probs) != len(tt.wantErr) {
				t.Fatalf("got %d problems, want %d: %v", len(probs), len(tt.wantErr), probs)
			}
			for i, p := range probs {
				if !strings.Contains(p.Error(), tt.wantErr[i]) {
					t.Errorf("problem %q\ndoes not contain %q", p.Error(), tt.wantErr[i])
				}
				if p.Line != 4 {
					t.Errorf("problem on line %d, want 4", p.Line)
				}
			}
		})
	}
}

var okIDs = resource.Key{"app", "", "st"}

func TestCheckBodyDuplicates(t *testing.T) {
	v := NewValidator(res)
	body := []byte(`{"installState":"installed"}`)
	if _, probs := v.CheckBody(2, resource.Key{"app", "", "st"}, body); len(probs) != 0 {
		t.Fatal(probs)
	}
	if _, probs := v.CheckBody(3, resource.Key{"app", "u", "st"}, body); len(probs) != 0 {
		t.Fatalf("nested route is another object: %v", probs)
	}
	for _, tc := range []struct {
		line int
		key  resource.Key
	}{{9, resource.Key{"app", "", "st"}}, {10, resource.Key{"APP", "", "St"}}} {
		_, probs := v.CheckBody(tc.line, tc.key, body)
		if len(probs) != 1 || probs[0].OtherLine != 2 || !strings.HasPrefix(probs[0].Error(), "line "+strconv.Itoa(tc.line)+", columns") {
			t.Errorf("duplicate body %q: %v", tc.key, probs)
		}
	}
}

// TestPropertyNamesNeedNoEscaping: AppendBody writes property names
// without escaping them, which is right only for plain names.
func TestPropertyNamesNeedNoEscaping(t *testing.T) {
	for _, r := range resource.All() {
		for _, p := range r.Properties {
			if got := string(appendString(nil, p.Name)); got != `"`+p.Name+`"` {
				t.Errorf("%s.%s needs escaping: %s", r.Name, p.Name, got)
			}
		}
	}
}
