package emulator

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// checkPatch checks a PATCH body of a mobileAppInstallStatus whose id in
// the URL is pathID.
func checkPatch(body []byte, pathID string) ([]update, error) {
	m, err := defaultModel()
	if err != nil {
		panic(err)
	}
	return checkBody(body, bodyRules{sv: m.served(resource.MobileAppInstallStatus), pathID: pathID})
}

func TestCheckPatch(t *testing.T) {
	tests := []struct {
		name string
		body string
		err  string // exact message; "" means valid
		n    int    // properties set when valid
	}{
		{name: "empty object", body: `{}`},
		{name: "one property", body: `{"deviceName":"x"}`, n: 1},
		{name: "all kinds", body: `{"deviceName":null,"lastSyncDateTime":"2026-01-01T00:00:00Z","installState":"failed",
			"installStateDetail":"userIsNotLoggedIntoAppStore","errorCode":2147483647,"mobileAppInstallStatusValue":"notApplicable"}`, n: 6},
		{name: "odata type tolerated", body: `{"@odata.type":"#microsoft.graph.mobileAppInstallStatus"}`},
		{name: "other annotations ignored", body: `{"@odata.context":"x","deviceName@odata.type":"#String"}`},
		{name: "matching id", body: `{"id":"s1","userName":"u"}`, n: 1},
		{name: "min int32", body: `{"errorCode":-2147483648}`, n: 1},

		{name: "empty body", body: ``, err: "Empty Payload. JSON content expected."},
		{name: "whitespace body", body: " \n", err: "Empty Payload. JSON content expected."},
		{name: "array body", body: `[]`, err: "An unexpected 'StartArray' node was found when reading from the JSON reader. A 'StartObject' node was expected."},
		{name: "string body", body: `"x"`, err: "An unexpected 'PrimitiveValue' node was found when reading from the JSON reader. A 'StartObject' node was expected."},
		{name: "trailing comma", body: `{"deviceName":"x",}`, err: "Invalid JSON. invalid character '}' looking for beginning of object key string."},
		{name: "truncated", body: `{"deviceName":"x"`, err: "Invalid JSON. An unexpected end of input was found in the JSON content."},
		{name: "trailing data", body: `{} {}`, err: "Invalid JSON. More than one value was found at the root of the JSON content. JSON content can only have one value at the root level, which is an array, an object or a primitive value."},
		{name: "unknown property", body: `{"foo":1}`, err: "Property 'foo' does not exist on type 'microsoft.graph.mobileAppInstallStatus'. Make sure to only use property names that are defined by the type or mark the type as open type."},
		{name: "property name casing", body: `{"DeviceName":"x"}`, err: "Property 'DeviceName' does not exist on type 'microsoft.graph.mobileAppInstallStatus'. Make sure to only use property names that are defined by the type or mark the type as open type."},
		{name: "duplicate property", body: `{"userName":"a","userName":"b"}`, err: "Multiple properties with the name 'userName' were detected in an entry or a complex value. In OData, duplicate property names are not allowed."},
		{name: "wrong odata type", body: `{"@odata.type":"#microsoft.graph.mobileApp"}`, err: "A type named 'microsoft.graph.mobileApp' could not be resolved by the model. When a model is available, each type name must resolve to a valid type."},
		{name: "id mismatch", body: `{"id":"other"}`, err: "The value of the key property 'id' in the request body does not match the key in the request URL; 'id' cannot be changed."},
		{name: "id null", body: `{"id":null}`, err: "The value of the key property 'id' in the request body does not match the key in the request URL; 'id' cannot be changed."},
		{name: "enum casing", body: `{"installState":"Installed"}`, err: "Requested value 'Installed' was not found."},
		{name: "enum detail casing", body: `{"installStateDetail":"powershellScriptRequirementNotMet"}`, err: "Requested value 'powershellScriptRequirementNotMet' was not found."},
		{name: "enum unknownFutureValue", body: `{"installState":"unknownFutureValue"}`, err: "Requested value 'unknownFutureValue' was not found."},
		{name: "enum as number", body: `{"installState":1}`, err: "Cannot convert a primitive value to the expected type 'microsoft.graph.resultantAppState'. See the inner exception for more details."},
		{name: "string as number", body: `{"deviceName":5}`, err: "Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details."},
		{name: "string as bool", body: `{"osVersion":true}`, err: "Cannot convert a primitive value to the expected type 'Edm.String'. See the inner exception for more details."},
		{name: "object value", body: `{"deviceName":{}}`, err: "An unexpected 'StartObject' node was found for property named 'deviceName' when reading from the JSON reader. A 'PrimitiveValue' node was expected."},
		{name: "array value", body: `{"errorCode":[1]}`, err: "An unexpected 'StartArray' node was found for property named 'errorCode' when reading from the JSON reader. A 'PrimitiveValue' node was expected."},
		{name: "null errorCode", body: `{"errorCode":null}`, err: "A null value was found for the property named 'errorCode', which has the expected type 'Edm.Int32[Nullable=False]'. The expected type 'Edm.Int32[Nullable=False]' does not allow null values."},
		{name: "null enum", body: `{"installState":null}`, err: "A null value was found for the property named 'installState', which has the expected type 'microsoft.graph.resultantAppState[Nullable=False]'. The expected type 'microsoft.graph.resultantAppState[Nullable=False]' does not allow null values."},
		{name: "null date", body: `{"lastSyncDateTime":null}`, err: "A null value was found for the property named 'lastSyncDateTime', which has the expected type 'Edm.DateTimeOffset[Nullable=False]'. The expected type 'Edm.DateTimeOffset[Nullable=False]' does not allow null values."},
		{name: "int32 overflow", body: `{"errorCode":2147483648}`, err: "Cannot convert a primitive value to the expected type 'Edm.Int32'. See the inner exception for more details."},
		{name: "int32 underflow", body: `{"errorCode":-2147483649}`, err: "Cannot convert a primitive value to the expected type 'Edm.Int32'. See the inner exception for more details."},
		{name: "int as float", body: `{"errorCode":1.0}`, err: "Cannot convert a primitive value to the expected type 'Edm.Int32'. See the inner exception for more details."},
		{name: "int as exponent", body: `{"errorCode":1e3}`, err: "Cannot convert a primitive value to the expected type 'Edm.Int32'. See the inner exception for more details."},
		{name: "int as string", body: `{"errorCode":"5"}`, err: "Cannot convert a primitive value to the expected type 'Edm.Int32'. See the inner exception for more details."},
		{name: "date not a date", body: `{"lastSyncDateTime":"yesterday"}`, err: "Cannot convert the literal 'yesterday' to the expected type 'Edm.DateTimeOffset'."},
		{name: "date without offset", body: `{"lastSyncDateTime":"2026-01-01T00:00:00"}`, err: "The time zone information is missing on the DateTimeOffset value '2026-01-01T00:00:00'. A DateTimeOffset value must contain the time zone information."},
		{name: "date as number", body: `{"lastSyncDateTime":0}`, err: "Cannot convert a primitive value to the expected type 'Edm.DateTimeOffset'. See the inner exception for more details."},
		{name: "first problem wins", body: `{"foo":1,"errorCode":null}`, err: "Property 'foo' does not exist on type 'microsoft.graph.mobileAppInstallStatus'. Make sure to only use property names that are defined by the type or mark the type as open type."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ups, err := checkPatch([]byte(tt.body), "s1")
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.err != "" && err == nil:
				t.Fatalf("accepted, want %q", tt.err)
			case tt.err != "" && err.Error() != tt.err:
				t.Fatalf("error\n got %q\nwant %q", err, tt.err)
			}
			if len(ups) != tt.n {
				t.Errorf("%d properties set, want %d", len(ups), tt.n)
			}
		})
	}
}

func TestParseDateTime(t *testing.T) {
	tests := []struct {
		in   string
		want string // in Graph's stored form; "" means rejected
	}{
		{"2026-01-02T03:04:05Z", "2026-01-02T03:04:05Z"},
		{"2026-01-02T03:04:05+02:00", "2026-01-02T01:04:05Z"},
		{"2026-01-02T03:04:05.1234567Z", "2026-01-02T03:04:05.1234567Z"},
		{"2026-01-02T03:04:05.1000000-01:30", "2026-01-02T04:34:05.1Z"},
		{"2026-01-02T03:04:05.12345678Z", ""}, // 8 digits: finer than a .NET tick
		{"2026-01-02T03:04Z", ""},
		{"2026-01-02t03:04:05z", ""},
		{"2026-01-02 03:04:05Z", ""},
		{"2026-02-30T00:00:00Z", ""},
		{"2026-01-02T24:00:00Z", ""},
		{"2026-01-02T03:04:05+15:00", ""},
		{"0000-01-01T00:00:00Z", ""},
		{"0001-01-01T00:30:00+01:00", ""}, // before year 1 in UTC
		{"9999-12-31T23:59:59Z", "9999-12-31T23:59:59Z"},
		{"", ""},
	}
	for _, tt := range tests {
		tm, err := parseDateTime(tt.in)
		got := ""
		if err == nil {
			got = tm.UTC().Format(graphTime)
		}
		if got != tt.want {
			t.Errorf("parseDateTime(%q) = %q (%v), want %q", tt.in, got, err, tt.want)
		}
	}
}

// TestPatchValidationOverHTTP checks that a bad body is a 400 in Graph's
// shape that changes nothing, and that a bad Content-Type is refused.
func TestPatchValidationOverHTTP(t *testing.T) {
	s, base := start(t, nil, Options{})
	before, _ := s.Object("app1", "", "s1")
	for _, body := range []string{`{"installState":"Installed"}`, `{"deviceName":"x","errorCode":99999999999}`, `nope`} {
		r := do(t, "PATCH", base+direct, body)
		if r.status != 400 || r.errorCode(t) != "BadRequest" {
			t.Errorf("body %s: status %d %s", body, r.status, r.body)
		}
	}
	r := do(t, "PATCH", base+direct, `{"deviceName":"x"}`, "Content-Type", "text/plain")
	if r.status != 400 || r.errorMessage(t) != "A supported MIME type could not be found that matches the content type of the response. None of the supported type(s) 'application/json' matches the content type 'text/plain'." {
		t.Errorf("text/plain: status %d %s, want 400", r.status, r.body)
	}
	checkErrorShape(t, r)
	r = do(t, "PATCH", base+direct, `{"deviceName":"x"}`, "Content-Type", "")
	if r.status != 400 || r.errorMessage(t) != "A missing or empty content type header was found when trying to read a message. The content type header is required." {
		t.Errorf("no Content-Type: status %d %s, want 400", r.status, r.body)
	}
	if after, _ := s.Object("app1", "", "s1"); after["deviceName"] != before["deviceName"] {
		t.Errorf("a rejected PATCH changed the object: %v", after)
	}
	if n := len(s.Stats().WritesApplied); n != 0 {
		t.Errorf("WritesApplied has %d entries after rejected writes", n)
	}
	ok := do(t, "PATCH", base+direct, `{"deviceName":"x"}`, "Content-Type", "application/json; charset=utf-8")
	if ok.status != 200 {
		t.Errorf("application/json with charset: status %d", ok.status)
	}
}

func TestLoadState(t *testing.T) {
	tests := []struct {
		name, in string
		err      string // substring; "" means valid
	}{
		{"empty tenant", `{"mobileApps":[]}`, ""},
		{"future enum member kept", `{"mobileApps":[{"id":"a","deviceStatuses":[{"id":"s","installStateDetail":"someNewDetail"}]}]}`, ""},
		{"annotation ignored", `{"mobileApps":[{"id":"a","deviceStatuses":[{"id":"s","@odata.type":"#x"}]}]}`, ""},
		{"unknown top field", `{"apps":[]}`, "unknown field"},
		{"unknown property", `{"mobileApps":[{"id":"a","deviceStatuses":[{"id":"s","colour":"red"}]}]}`, `unknown property "colour"`},
		{"duplicate app", `{"mobileApps":[{"id":"a"},{"id":"a"}]}`, `duplicate app id "a"`},
		{"duplicate status", `{"mobileApps":[{"id":"a","deviceStatuses":[{"id":"s"},{"id":"s"}]}]}`, `duplicate status id "s"`},
		{"duplicate user status", `{"mobileApps":[{"id":"a","userStatuses":[{"id":"u"},{"id":"u"}]}]}`, `duplicate user status id "u"`},
		{"empty status id", `{"mobileApps":[{"id":"a","deviceStatuses":[{"deviceName":"x"}]}]}`, "empty id"},
		{"bad value", `{"mobileApps":[{"id":"a","deviceStatuses":[{"id":"s","errorCode":"x"}]}]}`, `deviceStatuses[0] ("s"): errorCode`},
		{"null not nullable", `{"mobileApps":[{"id":"a","userStatuses":[{"id":"u","deviceStatuses":[{"id":"s","installState":null}]}]}]}`, "userStatuses[0].deviceStatuses[0]"},
		{"trailing data", `{"mobileApps":[]} x`, "unexpected data"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := LoadState(strings.NewReader(tt.in))
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			}
		})
	}
}

func TestSnapshotIsDeepAndRoundTrips(t *testing.T) {
	s, base := start(t, nil, Options{})
	snap := s.Snapshot()
	snap.MobileApps[0].DeviceStatuses[0].Props[0][1] = 'X' // scribble on the copy
	snap.MobileApps[0].DeviceStatuses[0].ID = "changed"
	if r := do(t, "GET", base+direct, ""); r.json(t)["deviceName"] != "PC-1" {
		t.Fatalf("editing a snapshot changed the server: %s", r.body)
	}
	do(t, "PATCH", base+direct, `{"deviceName":"after"}`)
	b, err := json.Marshal(s.Snapshot())
	if err != nil {
		t.Fatal(err)
	}
	back, err := LoadState(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("a snapshot does not load back: %v\n%s", err, b)
	}
	s2, err := New(back, Options{})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := s2.Object("app1", "", "s1"); m["deviceName"] != "after" {
		t.Errorf("round-tripped object %v", m)
	}
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []Options{
		{WriteLimit: 5},
		{ReadLimit: -1, Window: time.Second},
		{RetryAfter: "sometimes"},
		{Faults: Faults{Hang: 1.5}},
		{Faults: Faults{Hang: 0.6, ServerError: 0.6}},
		{PageSize: -1},
		{TokenUses: -1},
	}
	for _, opt := range tests {
		if _, err := New(nil, opt); err == nil {
			t.Errorf("New accepted %+v", opt)
		}
	}
}
