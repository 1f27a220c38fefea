package plan

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// diffCase is an Op with props compared with the live object.
type diffCase struct {
	name  string
	props map[string]Value
	live  string
	want  []Change // nil: no difference
}

func diffCases() []diffCase {
	return []diffCase{
		{"string equal", map[string]Value{"deviceName": set("d")}, `{"deviceName":"d"}`, nil},
		{"string differs", map[string]Value{"deviceName": set("d")}, `{"deviceName":"D"}`,
			[]Change{{"deviceName", raw(`"D"`), raw(`"d"`)}}},
		{"string vs spaces", map[string]Value{"deviceName": set("d ")}, `{"deviceName":"d"}`,
			[]Change{{"deviceName", raw(`"d"`), raw(`"d "`)}}},
		{"string escaped differently", map[string]Value{"userName": set("é<")}, `{"userName":"\u00e9\u003c"}`, nil},
		{"string absent", map[string]Value{"deviceName": set("d")}, `{}`,
			[]Change{{"deviceName", raw(`null`), raw(`"d"`)}}},
		{"string null", map[string]Value{"deviceName": set("d")}, `{"deviceName":null}`,
			[]Change{{"deviceName", raw(`null`), raw(`"d"`)}}},
		{"string of wrong type", map[string]Value{"deviceName": set("5")}, `{"deviceName":5}`,
			[]Change{{"deviceName", raw(`5`), raw(`"5"`)}}},
		{"clear vs null", map[string]Value{"deviceName": clear}, `{"deviceName":null}`, nil},
		{"clear vs absent", map[string]Value{"deviceName": clear}, `{"id":"x"}`, nil},
		{"clear vs value", map[string]Value{"deviceName": clear}, `{"deviceName":"d"}`,
			[]Change{{"deviceName", raw(`"d"`), raw(`null`)}}},
		{"clear vs empty string", map[string]Value{"deviceName": clear}, `{"deviceName":""}`,
			[]Change{{"deviceName", raw(`""`), raw(`null`)}}},
		{"enum equal", map[string]Value{"installState": set("installed")}, `{"installState":"installed"}`, nil},
		{"enum differs", map[string]Value{"installState": set("installed")}, `{"installState":"failed"}`,
			[]Change{{"installState", raw(`"failed"`), raw(`"installed"`)}}},
		{"enum other casing live", map[string]Value{"installState": set("installed")}, `{"installState":"Installed"}`,
			[]Change{{"installState", raw(`"Installed"`), raw(`"installed"`)}}},
		{"enum member we don't know", map[string]Value{"installStateDetail": set("pendingReboot")},
			`{"installStateDetail":"someFutureDetail"}`,
			[]Change{{"installStateDetail", raw(`"someFutureDetail"`), raw(`"pendingReboot"`)}}},
		{"date-time Z vs .NET form", map[string]Value{"lastSyncDateTime": set("2026-01-01T00:00:00Z")},
			`{"lastSyncDateTime":"2026-01-01T00:00:00.0000000+00:00"}`, nil},
		{"date-time offset vs Z", map[string]Value{"lastSyncDateTime": set("2026-01-01T02:00:00+02:00")},
			`{"lastSyncDateTime":"2026-01-01T00:00:00Z"}`, nil},
		{"date-time across a day", map[string]Value{"lastSyncDateTime": set("2025-12-31T23:30:00-01:00")},
			`{"lastSyncDateTime":"2026-01-01T00:30:00Z"}`, nil},
		{"date-time fractions equal", map[string]Value{"lastSyncDateTime": set("2026-01-01T00:00:00.5Z")},
			`{"lastSyncDateTime":"2026-01-01T00:00:00.5000000Z"}`, nil},
		{"date-time 100ns apart", map[string]Value{"lastSyncDateTime": set("2026-01-01T00:00:00.0000001Z")},
			`{"lastSyncDateTime":"2026-01-01T00:00:00Z"}`,
			[]Change{{"lastSyncDateTime", raw(`"2026-01-01T00:00:00Z"`), raw(`"2026-01-01T00:00:00.0000001Z"`)}}},
		{"date-time live with 9 digits", map[string]Value{"lastSyncDateTime": set("2026-01-01T00:00:00.1234567Z")},
			`{"lastSyncDateTime":"2026-01-01T00:00:00.123456700Z"}`, nil},
		{"date-time live garbage", map[string]Value{"lastSyncDateTime": set("2026-01-01T00:00:00Z")},
			`{"lastSyncDateTime":"yesterday"}`,
			[]Change{{"lastSyncDateTime", raw(`"yesterday"`), raw(`"2026-01-01T00:00:00Z"`)}}},
		{"date-time live without offset", map[string]Value{"lastSyncDateTime": set("2026-01-01T00:00:00Z")},
			`{"lastSyncDateTime":"2026-01-01T00:00:00"}`,
			[]Change{{"lastSyncDateTime", raw(`"2026-01-01T00:00:00"`), raw(`"2026-01-01T00:00:00Z"`)}}},
		{"errorCode equal", map[string]Value{"errorCode": setInt(-2016345060)}, `{"errorCode":-2016345060}`, nil},
		{"errorCode as float", map[string]Value{"errorCode": setInt(5)}, `{"errorCode":5.0}`, nil},
		{"errorCode exponent", map[string]Value{"errorCode": setInt(5000)}, `{"errorCode":5e3}`, nil},
		{"errorCode hex string", map[string]Value{"errorCode": setInt(-2016345060)}, `{"errorCode":"0x87D1041C"}`, nil},
		{"errorCode differs", map[string]Value{"errorCode": setInt(0)}, `{"errorCode":-2016345060}`,
			[]Change{{"errorCode", raw(`-2016345060`), raw(`0`)}}},
		{"errorCode beyond int32", map[string]Value{"errorCode": setInt(-1)}, `{"errorCode":4294967295}`,
			[]Change{{"errorCode", raw(`4294967295`), raw(`-1`)}}},
		{"errorCode bool", map[string]Value{"errorCode": setInt(1)}, `{"errorCode":true}`,
			[]Change{{"errorCode", raw(`true`), raw(`1`)}}},
		{"leave is ignored", map[string]Value{"deviceName": {}}, `{"deviceName":"d"}`, nil},
		{"several, in property order", map[string]Value{
			"displayVersion": set("2"), "deviceName": set("d"), "installState": set("installed"), "osVersion": clear,
		}, `{"@odata.context":"x","id":"st","deviceName":"old","installState":"installed","displayVersion":"1","osVersion":null}`,
			[]Change{{"deviceName", raw(`"old"`), raw(`"d"`)}, {"displayVersion", raw(`"1"`), raw(`"2"`)}}},
		{"names are case-sensitive", map[string]Value{"deviceName": set("d")}, `{"DeviceName":"d"}`,
			[]Change{{"deviceName", raw(`null`), raw(`"d"`)}}},
	}
}

func TestDiff(t *testing.T) {
	for _, tt := range diffCases() {
		t.Run(tt.name, func(t *testing.T) {
			op := opWith(t, tt.props)
			got, err := Diff(&op, json.RawMessage(tt.live))
			if err != nil {
				t.Fatal(err)
			}
			if d := cmp.Diff(tt.want, got); d != "" {
				t.Errorf("Diff (-want +got):\n%s", d)
			}
		})
	}
}

func raw(s string) json.RawMessage { return json.RawMessage(s) }

func TestDiffErrors(t *testing.T) {
	op := opWith(t, map[string]Value{"deviceName": set("d")})
	for _, live := range []string{``, `null`, `[]`, `"x"`, `5`, `{"deviceName":`, `{} x`} {
		if _, err := Diff(&op, json.RawMessage(live)); err == nil {
			t.Errorf("Diff(%q) = nil error", live)
		}
	}
	_, err := Diff(&op, json.RawMessage(`[1]`))
	if !errors.Is(err, errNotObject) || !strings.Contains(err.Error(), "not a JSON object") {
		t.Errorf("Diff([1]) = %v", err)
	}
}

func TestDiffDoesNotAlias(t *testing.T) {
	op := opWith(t, map[string]Value{"deviceName": set("d")})
	live := []byte(`{"deviceName":"old"}`)
	changes, err := Diff(&op, live)
	if err != nil || len(changes) != 1 {
		t.Fatal(changes, err)
	}
	copy(live, strings.Repeat("x", len(live)))
	if string(changes[0].Old) != `"old"` {
		t.Errorf("Old aliases the live buffer: %s", changes[0].Old)
	}
}
