package plan

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/google/go-cmp/cmp"
)

func TestColumns(t *testing.T) {
	got := Columns(resource.MobileAppInstallStatus)
	want := []csvio.Column{
		{Name: "mobileAppId", Aliases: []string{"appId"}, Required: true},
		{Name: "userAppInstallStatusId", Aliases: []string{"userStatusId"}},
		{Name: "mobileAppInstallStatusId", Aliases: []string{"id", "statusId", "deviceStatusId"}, Required: true},
		{Name: "deviceName"}, {Name: "deviceId"}, {Name: "lastSyncDateTime"}, {Name: "mobileAppInstallStatusValue"},
		{Name: "installState"}, {Name: "installStateDetail"}, {Name: "errorCode"}, {Name: "osVersion"},
		{Name: "osDescription"}, {Name: "userName"}, {Name: "userPrincipalName"}, {Name: "displayVersion"},
	}
	if d := cmp.Diff(want, got); d != "" {
		t.Errorf("Columns (-want +got):\n%s", d)
	}
}

// TestLayout: for every resource, KeyCells and PropCell find each cell
// where Columns put its column.
func TestLayout(t *testing.T) {
	for _, r := range append(resource.All(), thing) {
		cols := Columns(r)
		rec := &csvio.Record{Cells: make([]string, len(cols))}
		for i, c := range cols {
			rec.Cells[i] = c.Name
		}
		k := KeyCells(r, rec)
		for i, kc := range r.Keys {
			if k[i] != kc.Name {
				t.Errorf("%s: KeyCells[%d] = %q, want %q", r.Name, i, k[i], kc.Name)
			}
		}
		for i := len(r.Keys); i < len(k); i++ {
			if k[i] != "" {
				t.Errorf("%s: KeyCells[%d] = %q beyond the keys", r.Name, i, k[i])
			}
		}
		for j, p := range r.Properties {
			if got := PropCell(r, rec, j); got != p.Name {
				t.Errorf("%s: PropCell(%d) = %q, want %q", r.Name, j, got, p.Name)
			}
		}
	}
}

func TestOpCells(t *testing.T) {
	op := opWith(t, map[string]Value{
		"deviceName": set("LAPTOP"), "deviceId": clear, "errorCode": setInt(-2016345060),
		"installState": set("installed"), "osVersion": set(" spaced "),
	})
	props := []int{
		res.PropertyIndex("errorCode"), res.PropertyIndex("deviceId"), res.PropertyIndex("userName"),
		res.PropertyIndex("osVersion"), res.PropertyIndex("deviceName"), res.PropertyIndex("installState"),
	}
	want := []string{"-2016345060", "<null>", "", " spaced ", "LAPTOP", "installed"}
	if d := cmp.Diff(want, op.Cells(props)); d != "" {
		t.Errorf("Cells (-want +got):\n%s", d)
	}
	if got := op.Cells(nil); len(got) != 0 {
		t.Errorf("Cells(nil) = %q", got)
	}
}

// thing is a resource unlike mobileAppInstallStatus: one key, an Int32
// property first, an enum of 11 members. It is declared here without
// routes (only package resource can prepare them), which makes its key
// required, and with an Enumeration that only knows its Members.
var thing = &resource.Resource{
	Name: "testThing",
	Keys: []resource.KeyColumn{{Name: "id", Aliases: []string{"thingId"}}},
	Properties: []resource.Property{
		{Name: "count", Kind: resource.Int32},
		{Name: "colour", Kind: resource.Enum, Enum: &resource.Enumeration{Name: "testColour", Members: []string{
			"red", "orange", "yellow", "green", "blue", "indigo", "violet", "black", "white", "grey", "brown"}}},
		{Name: "label", Kind: resource.String, Nullable: true},
	},
}

// TestAnyResource: plan checks, encodes, renders and compares rows of a
// resource it has no code for.
func TestAnyResource(t *testing.T) {
	if d := cmp.Diff([]csvio.Column{{Name: "id", Aliases: []string{"thingId"}, Required: true},
		{Name: "count"}, {Name: "colour"}, {Name: "label"}}, Columns(thing)); d != "" {
		t.Errorf("Columns (-want +got):\n%s", d)
	}
	v := NewValidator(thing)
	op, probs := v.Check(&csvio.Record{Line: 2, Cells: []string{"T1", "0x10", "BLUE", "<null>"}})
	if len(probs) != 0 {
		t.Fatal(probs)
	}
	want := Op{Line: 2, Res: thing, Key: resource.Key{"T1"}}
	want.Props[0], want.Props[1], want.Props[2] = setInt(16), set("blue"), clear
	if op != want {
		t.Errorf("Check:\n got %+v\nwant %+v", op, want)
	}
	body := op.AppendBody(nil)
	if string(body) != `{"count":16,"colour":"blue","label":null}` {
		t.Errorf("AppendBody = %s", body)
	}
	if d := cmp.Diff([]string{"<null>", "16", "blue"}, op.Cells([]int{2, 0, 1})); d != "" {
		t.Errorf("Cells (-want +got):\n%s", d)
	}
	changes, err := Diff(&op, json.RawMessage(`{"count":16,"colour":"red","label":null}`))
	if err != nil || len(changes) != 1 || changes[0].Property != "colour" {
		t.Errorf("Diff = %v, %v", changes, err)
	}

	for _, tc := range []struct {
		cells []string
		want  string
	}{
		{[]string{"t1", "", "", "x"}, "line 3, column id: same object as line 2"},
		{[]string{"T2", "", "purple", ""}, `line 3, column colour: "purple" is not a testColour member ` +
			`(11 members, e.g. red, blue, violet; case does not matter)`},
		{[]string{"T3", "", "gren", ""}, `"gren" is not a testColour member; did you mean "green"? (11 members`},
		{[]string{"", "", "", "x"}, "line 3, column id: required, but the cell is empty"},
		{[]string{"T4", "1.5", "", ""}, `line 3, column count: "1.5" is not a 32-bit integer`},
		{[]string{"T5", "", "", "a\x00"}, `line 3, column label: "a\x00" contains a NUL byte (U+0000) at character 2`},
	} {
		_, probs := v.Check(&csvio.Record{Line: 3, Cells: tc.cells})
		if len(probs) != 1 || !strings.Contains(probs[0].Error(), tc.want) {
			t.Errorf("Check(%q) = %v, want one problem %q", tc.cells, probs, tc.want)
		}
	}

	_, probs = OpFromBody(thing, 4, resource.Key{"T9"}, []byte(`{"count":1,"deviceName":"d"}`))
	if len(probs) != 1 || !strings.Contains(probs[0].Error(), `sets "deviceName", which is not a property bulkpatch writes (writable: count, colour, label)`) {
		t.Errorf("OpFromBody with another resource's property: %v", probs)
	}
}
