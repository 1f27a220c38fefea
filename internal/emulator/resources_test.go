package emulator

import (
	"encoding/json"
	"net/http"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/google/go-cmp/cmp"
)

// Two declarations of the shape issue 15 adds, served without a line of
// emulator code of their own: a widget written by PATCH of the object, and
// a gadget written by POST of an action that answers 204.
var (
	widget = &resource.Resource{
		Name: "widget",
		Keys: []resource.KeyColumn{{Name: "id", Aliases: []string{"widgetId"}}},
		Properties: []resource.Property{
			{Name: "displayName", Kind: resource.String, Nullable: true},
			{Name: "state", Kind: resource.Enum, Enum: resource.ResultantAppState},
			{Name: "count", Kind: resource.Int32},
			{Name: "seen", Kind: resource.DateTime},
		},
		Routes:     []resource.Route{{Object: "/deviceManagement/widgets/{id}"}},
		Method:     http.MethodPatch,
		Permission: "DeviceManagementWidgets.ReadWrite.All",
	}
	gadget = &resource.Resource{
		Name: "gadget",
		Keys: []resource.KeyColumn{{Name: "id"}},
		Properties: []resource.Property{
			{Name: "groupTag", Kind: resource.String, Nullable: true},
		},
		Routes:     []resource.Route{{Object: "/deviceManagement/gadgets/{id}", Write: "/deviceManagement/gadgets/{id}/updateGadget"}},
		Method:     http.MethodPost,
		Permission: "DeviceManagementServiceConfig.ReadWrite.All",
	}
	threeResources = []*resource.Resource{resource.MobileAppInstallStatus, widget, gadget}
)

func threeState(t testing.TB) *State {
	st := seedState(t)
	st.Resources = map[string][]Record{
		"widget": {{"id": json.RawMessage(`"w1"`), "displayName": json.RawMessage(`"one"`)}, {"id": json.RawMessage(`"w2"`)}},
		"gadget": {{"id": json.RawMessage(`"g1"`), "@odata.type": json.RawMessage(`"#x"`)}},
	}
	return st
}

func TestServesDeclaredResources(t *testing.T) {
	s, base := start(t, threeState(t), Options{Resources: threeResources, ForbiddenToken: "ro"})
	host := strings.TrimSuffix(base, "/beta")
	tests := []struct {
		name, method, path, body string
		status                   int
		message                  string // substring of the error message
	}{
		{"get widget", "GET", "/beta/deviceManagement/widgets/w1", "", 200, ""},
		{"patch widget", "PATCH", "/beta/deviceManagement/widgets/w1", `{"count":3,"state":"failed"}`, 200, ""},
		{"widget in v1.0", "GET", "/v1.0/deviceManagement/Widgets/w1", "", 200, ""},
		{"list widgets", "GET", "/beta/deviceManagement/widgets", "", 200, ""},
		{"unknown widget", "PATCH", "/beta/deviceManagement/widgets/w9", `{}`, 404, "Resource Not Found"},
		{"unknown property", "PATCH", "/beta/deviceManagement/widgets/w1", `{"colour":1}`, 400, "Property 'colour' does not exist on type 'microsoft.graph.widget'."},
		{"wrong type", "PATCH", "/beta/deviceManagement/widgets/w1", `{"@odata.type":"#microsoft.graph.gadget"}`, 400, "A type named 'microsoft.graph.gadget' could not be resolved"},
		{"act on gadget", "POST", "/beta/deviceManagement/gadgets/g1/updateGadget", `{"groupTag":"blue"}`, 204, ""},
		{"action parameters", "POST", "/beta/deviceManagement/gadgets/g1/updateGadget", `{"id":"g1"}`, 400, "The parameter 'id' in the request payload is not a valid parameter for the operation 'updateGadget'."},
		{"action twice", "POST", "/beta/deviceManagement/gadgets/g1/updateGadget", `{"groupTag":"a","groupTag":"b"}`, 400, "Multiple parameters with the name 'groupTag'"},
		{"patch gadget", "PATCH", "/beta/deviceManagement/gadgets/g1", `{}`, 405, "does not support http method 'PATCH'"},
		{"get action", "GET", "/beta/deviceManagement/gadgets/g1/updateGadget", "", 405, "does not support http method 'GET'"},
		{"act on unknown gadget", "POST", "/beta/deviceManagement/gadgets/g9/updateGadget", `{}`, 404, "Resource Not Found"},
		{"deviceManagement itself", "GET", "/beta/deviceManagement", "", 501, ""},
		{"unknown collection", "GET", "/beta/deviceManagement/gizmos", "", 400, "Resource not found for the segment 'gizmos'."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, host+tt.path, tt.body)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.message != "" && !strings.Contains(r.errorMessage(t), tt.message) {
				t.Errorf("message %q, want it to contain %q", r.errorMessage(t), tt.message)
			}
		})
	}
	w, _ := s.Lookup(widget, resource.Key{"w1"})
	want := map[string]any{"id": "w1", "displayName": "one", "state": "failed", "count": 3.0, "seen": "0001-01-01T00:00:00Z"}
	if diff := cmp.Diff(want, w); diff != "" {
		t.Errorf("widget w1 (-want +got):\n%s", diff)
	}
	if g, _ := s.Lookup(gadget, resource.Key{"g1"}); g["groupTag"] != "blue" {
		t.Errorf("gadget g1 %v", g)
	}
	if diff := cmp.Diff(map[string]int{"widget:w1": 1, "gadget:g1": 1}, s.Stats().WritesApplied); diff != "" {
		t.Errorf("WritesApplied (-want +got):\n%s", diff)
	}
	r := do(t, "GET", base+"/deviceManagement/widgets/w2", "", "Authorization", "Bearer ro")
	if r.status != 403 || !strings.Contains(r.errorMessage(t), "scopes: DeviceManagementWidgets.Read.All, DeviceManagementWidgets.ReadWrite.All - ") {
		t.Errorf("forbidden widget read: %d %s", r.status, r.body)
	}
}

func TestDeclaredResourceContext(t *testing.T) {
	_, base := start(t, threeState(t), Options{Resources: threeResources, PageSize: 1})
	m := do(t, "GET", base+"/deviceManagement/widgets/w2", "").json(t)
	if m["@odata.context"] != base+"/$metadata#deviceManagement/widgets/$entity" || m["displayName"] != nil || m["state"] != "unknown" {
		t.Errorf("widget w2: %v", m)
	}
	page := do(t, "GET", base+"/deviceManagement/widgets", "").json(t)
	next, _ := page["@odata.nextLink"].(string)
	if page["@odata.context"] != base+"/$metadata#deviceManagement/widgets" || !strings.HasPrefix(next, base+"/deviceManagement/widgets?$skiptoken=") {
		t.Fatalf("first page %v", page)
	}
	if v := do(t, "GET", next, "").json(t)["value"].([]any); len(v) != 1 || v[0].(map[string]any)["id"] != "w2" {
		t.Errorf("second page %v", v)
	}
}

// TestRemovedSegmentLeavesOthers: the removal is mobileApp's, not the
// tenant's: other resources stay.
func TestRemovedSegmentLeavesOthers(t *testing.T) {
	_, base := start(t, threeState(t), Options{Resources: threeResources, RemovedSegment: true})
	if r := do(t, "GET", base+direct, ""); r.status != 400 {
		t.Errorf("removed status route: %d", r.status)
	}
	if r := do(t, "GET", base+"/deviceManagement/widgets/w1", ""); r.status != 200 {
		t.Errorf("widget under RemovedSegment: %d %s", r.status, r.body)
	}
}

func TestSnapshotRecords(t *testing.T) {
	s, base := start(t, threeState(t), Options{Resources: threeResources})
	do(t, "PATCH", base+"/deviceManagement/widgets/w2", `{"displayName":"two","seen":"2026-01-01T01:00:00+01:00"}`)
	snap := s.Snapshot()
	if n := len(snap.MobileApps); n != 2 {
		t.Errorf("snapshot has %d apps", n)
	}
	w2 := snap.Resources["widget"][1]
	if string(w2["id"]) != `"w2"` || string(w2["displayName"]) != `"two"` || string(w2["seen"]) != `"2026-01-01T00:00:00Z"` || string(w2["count"]) != "0" {
		t.Errorf("widget w2 record %s", mustJSON(t, w2))
	}
	if _, ok := snap.Resources["mobileAppInstallStatus"]; ok {
		t.Errorf("install statuses are listed as records too")
	}
	s2, err := New(snap, Options{Resources: threeResources})
	if err != nil {
		t.Fatal(err)
	}
	if m, _ := s2.Lookup(widget, resource.Key{"w2"}); m["displayName"] != "two" {
		t.Errorf("round-tripped widget %v", m)
	}
}

func mustJSON(t testing.TB, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestLoadStateRecords(t *testing.T) {
	tests := []struct{ name, in, err string }{
		{"install statuses as records", `{"mobileApps":[],"resources":{"mobileAppInstallStatus":[
			{"mobileAppId":"a","id":"s","deviceName":"x"},{"mobileAppId":"a","userAppInstallStatusId":"u","id":"s"}]}}`, ""},
		{"unknown resource", `{"mobileApps":[],"resources":{"gizmo":[]}}`, `unknown resource "gizmo"`},
		{"unknown property", `{"mobileApps":[],"resources":{"mobileAppInstallStatus":[{"mobileAppId":"a","id":"s","colour":1}]}}`, `unknown property "colour"`},
		{"no id", `{"mobileApps":[],"resources":{"mobileAppInstallStatus":[{"mobileAppId":"a"}]}}`, "empty id"},
		{"keys name no route", `{"mobileApps":[],"resources":{"mobileAppInstallStatus":[{"userAppInstallStatusId":"u","id":"s"}]}}`, "name no route"},
		{"bad value", `{"mobileApps":[],"resources":{"mobileAppInstallStatus":[{"mobileAppId":"a","id":"s","errorCode":"x"}]}}`, `resources.mobileAppInstallStatus[0]: "s": errorCode`},
		{"duplicate across sections", `{"mobileApps":[{"id":"a","deviceStatuses":[{"id":"s"}]}],"resources":{"mobileAppInstallStatus":[{"mobileAppId":"a","id":"s"}]}}`, "duplicate object"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := LoadState(strings.NewReader(tt.in))
			switch {
			case tt.err == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tt.err != "" && (err == nil || !strings.Contains(err.Error(), tt.err)):
				t.Fatalf("error %v, want one containing %q", err, tt.err)
			case err != nil:
				return
			}
			_, base := start(t, st, Options{})
			for _, p := range []string{"/deviceAppManagement/mobileApps/a", "/deviceAppManagement/mobileApps/a/deviceStatuses/s", "/deviceAppManagement/mobileApps/a/userStatuses/u/deviceStatuses/s"} {
				if r := do(t, "GET", base+p, ""); r.status != 200 {
					t.Errorf("GET %s: %d", p, r.status)
				}
			}
		})
	}
}

func TestNewRejectsBadDeclarations(t *testing.T) {
	bad := func(mod func(r *resource.Resource)) []*resource.Resource {
		r := *widget
		mod(&r)
		return []*resource.Resource{&r}
	}
	tests := map[string][]*resource.Resource{
		"twice": {widget, widget},
		"unknown key": bad(func(r *resource.Resource) {
			r.Routes = []resource.Route{{Object: "/deviceManagement/widgets/{widgetId}"}}
		}),
		"no key at end":   bad(func(r *resource.Resource) { r.Routes = []resource.Route{{Object: "/deviceManagement/widgets"}} }),
		"write elsewhere": bad(func(r *resource.Resource) { r.Routes = []resource.Route{{Object: "/a/{id}", Write: "/b/{id}/act"}} }),
		"no routes":       bad(func(r *resource.Resource) { r.Routes = nil }),
		"same path twice": {widget, bad(func(r *resource.Resource) { r.Name = "other" })[0]},
		"case-only differ": {widget, bad(func(r *resource.Resource) {
			r.Name = "w2"
			r.Routes = []resource.Route{{Object: "/DeviceManagement/w/{id}"}}
		})[0]},
	}
	for name, rs := range tests {
		if _, err := New(nil, Options{Resources: rs}); err == nil {
			t.Errorf("%s: New accepted the declarations", name)
		}
	}
}

func TestObjectKey(t *testing.T) {
	tests := []struct {
		r    *resource.Resource
		k    resource.Key
		want string
	}{
		{resource.MobileAppInstallStatus, resource.Key{"a", "", "s"}, "a/s"},
		{resource.MobileAppInstallStatus, resource.Key{"a", "u", "s/1"}, "a/u/s%2F1"},
		{widget, resource.Key{"w 1"}, "widget:w%201"},
	}
	for _, tt := range tests {
		if got := ObjectKey(tt.r, tt.k); got != tt.want {
			t.Errorf("ObjectKey(%s, %q) = %q, want %q", tt.r.Name, tt.k, got, tt.want)
		}
	}
	if got := Key("a", "u", "s"); got != "a/u/s" {
		t.Errorf("Key = %q", got)
	}
}
