package emulator

import (
	"encoding/json"
	"fmt"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/google/go-cmp/cmp"
)

const (
	app1   = "/deviceAppManagement/mobileApps/app1"
	direct = app1 + "/deviceStatuses/s1"
	nested = app1 + "/userStatuses/u1/deviceStatuses/s1"
)

func TestRoutes(t *testing.T) {
	_, base := start(t, nil, Options{})
	host := strings.TrimSuffix(base, "/beta")
	tests := []struct {
		name, method, path, body string
		status                   int
		code, message            string // for errors; message "" is not checked
		deviceName               string // for objects
	}{
		{name: "get direct", method: "GET", path: "/beta" + direct, status: 200, deviceName: "PC-1"},
		{name: "get nested", method: "GET", path: "/beta" + nested, status: 200, deviceName: "nested"},
		{name: "v1.0 lacks install statuses", method: "GET", path: "/v1.0" + direct, status: 400, code: "BadRequest", message: "Resource not found for the segment 'deviceStatuses'."},
		{name: "v1.0 lacks user statuses", method: "PATCH", path: "/v1.0" + nested, body: `{}`, status: 400, code: "BadRequest", message: "Resource not found for the segment 'userStatuses'."},
		{name: "v1.0 has mobileApps", method: "GET", path: "/v1.0" + app1, status: 200},
		{name: "segments ignore case", method: "GET", path: "/beta/DeviceAppManagement/MobileApps/app1/DeviceStatuses/s2", status: 200, deviceName: "PC-2"},
		{name: "trailing slash", method: "GET", path: "/beta" + app1 + "/deviceStatuses/s2/", status: 200, deviceName: "PC-2"},
		{name: "patch direct", method: "PATCH", path: "/beta" + direct, body: `{"deviceName":"new"}`, status: 200, deviceName: "new"},
		{name: "patch nested", method: "PATCH", path: "/beta" + nested, body: `{"deviceName":"n2"}`, status: 200, deviceName: "n2"},
		{name: "get app", method: "GET", path: "/beta" + app1, status: 200},
		{name: "get user status", method: "GET", path: "/beta" + app1 + "/userStatuses/u1", status: 200},
		{name: "unknown app", method: "GET", path: "/beta/deviceAppManagement/mobileApps/nope/deviceStatuses/s1", status: 404, code: "ResourceNotFound"},
		{name: "unknown app itself", method: "GET", path: "/beta/deviceAppManagement/mobileApps/nope", status: 404, code: "ResourceNotFound"},
		{name: "unknown status", method: "GET", path: "/beta" + app1 + "/deviceStatuses/nope", status: 404, code: "ResourceNotFound"},
		{name: "patch unknown status", method: "PATCH", path: "/beta" + app1 + "/deviceStatuses/nope", body: `{}`, status: 404, code: "ResourceNotFound"},
		{name: "unknown user status", method: "GET", path: "/beta" + app1 + "/userStatuses/nope/deviceStatuses/s1", status: 404, code: "ResourceNotFound"},
		{name: "status only nested", method: "GET", path: "/beta" + app1 + "/userStatuses/u1/deviceStatuses/s2", status: 404, code: "ResourceNotFound"},
		{name: "unknown root segment", method: "GET", path: "/beta/foo", status: 400, code: "BadRequest", message: "Resource not found for the segment 'foo'."},
		{name: "unknown second segment", method: "GET", path: "/beta/deviceAppManagement/apps/app1", status: 400, code: "BadRequest", message: "Resource not found for the segment 'apps'."},
		{name: "unknown navigation", method: "GET", path: "/beta" + app1 + "/bogus", status: 400, code: "BadRequest", message: "Resource not found for the segment 'bogus'."},
		{name: "segment past object", method: "GET", path: "/beta" + direct + "/extra", status: 400, code: "BadRequest", message: "Resource not found for the segment 'extra'."},
		{name: "segment past nested object", method: "GET", path: "/beta" + nested + "/extra", status: 400, code: "BadRequest", message: "Resource not found for the segment 'extra'."},
		{name: "wrong nested navigation", method: "GET", path: "/beta" + app1 + "/userStatuses/u1/apps", status: 400, code: "BadRequest", message: "Resource not found for the segment 'apps'."},
		{name: "bad version", method: "GET", path: "/gamma" + direct, status: 400, code: "BadRequest", message: "Invalid version: gamma"},
		{name: "no version", method: "GET", path: "/", status: 400, code: "BadRequest"},
		{name: "delete object", method: "DELETE", path: "/beta" + direct, status: 405, code: "BadRequest"},
		{name: "patch collection", method: "PATCH", path: "/beta" + app1 + "/deviceStatuses", body: `{}`, status: 405, code: "BadRequest"},
		{name: "apps collection", method: "GET", path: "/beta/deviceAppManagement/mobileApps", status: 200},
		{name: "user statuses collection", method: "GET", path: "/beta" + app1 + "/userStatuses", status: 200},
		{name: "user statuses of an unknown app", method: "GET", path: "/beta/deviceAppManagement/mobileApps/nope/userStatuses", status: 404, code: "ResourceNotFound"},
		{name: "patch user statuses", method: "PATCH", path: "/beta" + app1 + "/userStatuses", body: `{}`, status: 405, code: "BadRequest"},
		{name: "deviceAppManagement not served", method: "GET", path: "/beta/deviceAppManagement", status: 501, code: "NotImplemented"},
		{name: "get batch", method: "GET", path: "/beta/$batch", status: 405, code: "BadRequest"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, tt.method, host+tt.path, tt.body, "client-request-id", "crid-"+tt.name)
			if r.status != tt.status {
				t.Fatalf("status %d, want %d; body %s", r.status, tt.status, r.body)
			}
			if r.header.Get("request-id") == "" {
				t.Errorf("no request-id header")
			}
			if got := r.header.Get("client-request-id"); got != "crid-"+tt.name {
				t.Errorf("client-request-id %q not echoed", got)
			}
			if tt.code != "" {
				if got := r.errorCode(t); got != tt.code {
					t.Errorf("code %q, want %q", got, tt.code)
				}
				if tt.message != "" && r.errorMessage(t) != tt.message {
					t.Errorf("message %q, want %q", r.errorMessage(t), tt.message)
				}
				return
			}
			m := r.json(t)
			if tt.deviceName != "" {
				checkObject(t, m)
				if m["deviceName"] != tt.deviceName {
					t.Errorf("deviceName %v, want %q", m["deviceName"], tt.deviceName)
				}
			}
		})
	}
}

// checkObject checks that m is a whole mobileAppInstallStatus as Graph
// sends one: @odata.context, id and the twelve properties.
func checkObject(t *testing.T, m map[string]any) {
	t.Helper()
	want := []string{"@odata.context", "id"}
	for _, p := range resource.MobileAppInstallStatus.Properties {
		want = append(want, p.Name)
	}
	var got []string
	for k := range m {
		got = append(got, k)
	}
	slices.Sort(want)
	slices.Sort(got)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("object keys (-want +got):\n%s", diff)
	}
}

func TestObjectDefaultsAndContext(t *testing.T) {
	_, base := start(t, nil, Options{})
	m := do(t, "GET", base+app1+"/deviceStatuses/s2", "").json(t)
	want := map[string]any{
		"@odata.context":              base + "/$metadata#deviceAppManagement/mobileApps('app1')/deviceStatuses/$entity",
		"id":                          "s2",
		"deviceName":                  "PC-2",
		"deviceId":                    nil,
		"lastSyncDateTime":            "0001-01-01T00:00:00Z",
		"mobileAppInstallStatusValue": "unknown",
		"installState":                "unknown",
		"installStateDetail":          "noAdditionalDetails",
		"errorCode":                   0.0,
		"osVersion":                   nil,
		"osDescription":               nil,
		"userName":                    nil,
		"userPrincipalName":           nil,
		"displayVersion":              nil,
	}
	if diff := cmp.Diff(want, m); diff != "" {
		t.Errorf("object (-want +got):\n%s", diff)
	}
}

func TestPatchMergesAndNormalises(t *testing.T) {
	s, base := start(t, nil, Options{})
	r := do(t, "PATCH", base+direct, `{"@odata.type":"#microsoft.graph.mobileAppInstallStatus","id":"s1",
		"deviceId":null,"errorCode":-2016345060,"lastSyncDateTime":"2026-02-01T10:00:00.1234560+02:00",
		"installStateDetail":"powerShellScriptRequirementNotMet"}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	got, ok := s.Object("app1", "", "s1")
	if !ok {
		t.Fatal("object gone")
	}
	want := map[string]any{
		"id": "s1", "deviceName": "PC-1", "deviceId": nil,
		"lastSyncDateTime":            "2026-02-01T08:00:00.123456Z",
		"mobileAppInstallStatusValue": "unknown", "installState": "installed",
		"installStateDetail": "powerShellScriptRequirementNotMet",
		"errorCode":          -2016345060.0, "osVersion": nil, "osDescription": nil,
		"userName": nil, "userPrincipalName": nil, "displayVersion": nil,
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("object after PATCH (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(map[string]int{"app1/s1": 1}, s.Stats().WritesApplied); diff != "" {
		t.Errorf("WritesApplied (-want +got):\n%s", diff)
	}
	if other, _ := s.Object("app1", "u1", "s1"); other["deviceId"] != nil || other["deviceName"] != "nested" {
		t.Errorf("the nested object with the same id changed: %v", other)
	}
}

func TestNoContent(t *testing.T) {
	s, base := start(t, nil, Options{NoContent: true})
	r := do(t, "PATCH", base+direct, `{"userName":"x"}`)
	if r.status != 204 || len(r.body) != 0 {
		t.Fatalf("status %d body %q, want 204 and no body", r.status, r.body)
	}
	if m, _ := s.Object("app1", "", "s1"); m["userName"] != "x" {
		t.Errorf("204 PATCH not applied: %v", m)
	}
}

func TestEscapedSlashStaysOneSegment(t *testing.T) {
	s, base := start(t, nil, Options{})
	r := do(t, "PATCH", base+app1+"/deviceStatuses/a%2Fb", `{"deviceName":"still one"}`)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if m, _ := s.Object("app1", "", "a/b"); m["deviceName"] != "still one" {
		t.Errorf("object a/b: %v", m)
	}
	if got := s.Stats().WritesApplied[Key("app1", "", "a/b")]; got != 1 {
		t.Errorf("WritesApplied[a%%2Fb] = %d, want 1", got)
	}
	// Unescaped, the same id is two segments and no object.
	if r := do(t, "GET", base+app1+"/deviceStatuses/a/b", ""); r.status != 400 {
		t.Errorf("unescaped slash: status %d, want 400", r.status)
	}
}

func TestAuth(t *testing.T) {
	tests := []struct {
		name   string
		opt    Options
		tokens []string // one request per token; "" sends no Authorization
		want   []int
		code   string // of the last answer when it is an error
	}{
		{"token required", Options{}, []string{"t", ""}, []int{200, 401}, "InvalidAuthenticationToken"},
		{"lenient: no token needed", Options{Lenient: true}, []string{""}, []int{200}, ""},
		{"lenient: token required", Options{Lenient: true, RequireToken: true}, []string{"t", ""}, []int{200, 401}, "InvalidAuthenticationToken"},
		{"only given tokens", Options{Tokens: []string{"a", "b"}}, []string{"a", "b", "c"}, []int{200, 200, 401}, "InvalidAuthenticationToken"},
		{"lenient: only given tokens", Options{Lenient: true, Tokens: []string{"a"}}, []string{"a", "", "c"}, []int{200, 401, 401}, "InvalidAuthenticationToken"},
		{"expires after uses", Options{TokenUses: 2}, []string{"a", "a", "a", "b"}, []int{200, 200, 401, 200}, ""},
		{"expired stays expired", Options{TokenUses: 1}, []string{"a", "a", "a"}, []int{200, 401, 401}, "InvalidAuthenticationToken"},
		{"forbidden", Options{ForbiddenToken: "ro"}, []string{"ok", "ro"}, []int{200, 403}, "Forbidden"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, base := start(t, nil, tt.opt)
			var got []int
			var last reply
			for _, tok := range tt.tokens {
				hdr := []string{"Authorization", ""}
				if tok != "" {
					hdr = []string{"Authorization", "Bearer " + tok}
				}
				last = do(t, "GET", base+direct, "", hdr...)
				got = append(got, last.status)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Fatalf("statuses (-want +got):\n%s", diff)
			}
			if tt.code != "" {
				if c := last.errorCode(t); c != tt.code {
					t.Errorf("code %q, want %q", c, tt.code)
				}
			}
		})
	}
}

func TestExpiredTokenMessage(t *testing.T) {
	_, base := start(t, nil, Options{TokenUses: 1})
	do(t, "GET", base+direct, "", "Authorization", "Bearer secret-token")
	r := do(t, "PATCH", base+direct, `{}`, "Authorization", "Bearer secret-token")
	if r.status != 401 || r.errorMessage(t) != "Lifetime validation failed, the token is expired." {
		t.Fatalf("status %d body %s", r.status, r.body)
	}
	if r.header.Get("WWW-Authenticate") == "" {
		t.Errorf("401 without WWW-Authenticate")
	}
	if strings.Contains(string(r.body), "secret-token") {
		t.Errorf("the token leaked into the answer: %s", r.body)
	}
}

func TestRemovedSegment(t *testing.T) {
	_, base := start(t, nil, Options{RemovedSegment: true})
	tests := []struct{ method, path, seg string }{
		{"PATCH", direct, "deviceStatuses"},
		{"GET", direct, "deviceStatuses"},
		{"GET", app1 + "/deviceStatuses", "deviceStatuses"},
		{"PATCH", nested, "userStatuses"},
		{"GET", app1 + "/userStatuses/u1/deviceStatuses", "userStatuses"},
		{"GET", "/deviceAppManagement/mobileApps/unknown/deviceStatuses/x", "deviceStatuses"},
	}
	for _, tt := range tests {
		r := do(t, tt.method, base+tt.path, `{"deviceName":"x"}`)
		if r.status != 400 || r.errorCode(t) != "BadRequest" {
			t.Errorf("%s %s: status %d body %s", tt.method, tt.path, r.status, r.body)
			continue
		}
		if want := fmt.Sprintf("Resource not found for the segment '%s'.", tt.seg); r.errorMessage(t) != want {
			t.Errorf("%s %s: message %q, want %q", tt.method, tt.path, r.errorMessage(t), want)
		}
	}
	if r := do(t, "GET", base+app1, ""); r.status != 200 {
		t.Errorf("the app itself: status %d, want 200", r.status)
	}
}

func TestClientRequestIDGeneratedWhenAbsent(t *testing.T) {
	_, base := start(t, nil, Options{})
	r := do(t, "GET", base+app1+"/deviceStatuses/nope", "")
	if id := r.header.Get("request-id"); id == "" || r.header.Get("client-request-id") != id {
		t.Errorf("request-id %q, client-request-id %q: want both, equal", id, r.header.Get("client-request-id"))
	}
	checkErrorShape(t, r)
}

func TestPaging(t *testing.T) {
	var many []Status
	for i := range 7 {
		many = append(many, Status{ID: fmt.Sprintf("d%02d", i)})
	}
	st := &State{MobileApps: []App{
		{ID: "seven", DeviceStatuses: many},
		{ID: "six", DeviceStatuses: many[:6], UserStatuses: []UserStatus{{ID: "u", DeviceStatuses: many[:2]}}},
		{ID: "none"},
	}}
	s, base := start(t, st, Options{PageSize: 3})
	tests := []struct {
		path  string
		pages []int // objects per page
	}{
		{"/deviceAppManagement/mobileApps/seven/deviceStatuses", []int{3, 3, 1}},
		{"/deviceAppManagement/mobileApps/six/deviceStatuses", []int{3, 3, 0}},
		{"/deviceAppManagement/mobileApps/six/userStatuses/u/deviceStatuses", []int{2}},
		{"/deviceAppManagement/mobileApps/none/deviceStatuses", []int{0}},
	}
	for _, tt := range tests {
		t.Run(tt.path, func(t *testing.T) {
			var pages []int
			var ids []string
			next := base + tt.path
			for next != "" && len(pages) < 10 {
				r := do(t, "GET", next, "")
				if r.status != 200 {
					t.Fatalf("GET %s: %d %s", next, r.status, r.body)
				}
				var page struct {
					Context  string   `json:"@odata.context"`
					Value    []Status `json:"value"`
					NextLink string   `json:"@odata.nextLink"`
				}
				if err := json.Unmarshal(r.body, &page); err != nil {
					t.Fatal(err)
				}
				if page.Value == nil {
					t.Errorf("page without a value array: %s", r.body)
				}
				if page.NextLink != "" && !strings.HasPrefix(page.NextLink, base+tt.path+"?") {
					t.Errorf("nextLink %q is not absolute under %s", page.NextLink, base+tt.path)
				}
				pages = append(pages, len(page.Value))
				for _, v := range page.Value {
					ids = append(ids, v.ID)
				}
				next = page.NextLink
			}
			if diff := cmp.Diff(tt.pages, pages); diff != "" {
				t.Errorf("page sizes (-want +got):\n%s", diff)
			}
			if n := sum(tt.pages); !slices.Equal(ids, idsOf(many[:n])) {
				t.Errorf("ids %v, want the first %d in order", ids, n)
			}
		})
	}
	if got := s.Stats().Reads; got != 3+3+1+1 {
		t.Errorf("Reads = %d, want one per page (8)", got)
	}
	if r := do(t, "GET", base+tests[0].path+"?$skiptoken=forged", ""); r.status != 400 {
		t.Errorf("forged skiptoken: status %d, want 400", r.status)
	}
}

func sum(xs []int) (n int) {
	for _, x := range xs {
		n += x
	}
	return n
}

func idsOf(list []Status) []string {
	var ids []string
	for _, s := range list {
		ids = append(ids, s.ID)
	}
	return ids
}

func TestNextLinkUsesRequestHost(t *testing.T) {
	st := &State{MobileApps: []App{{ID: "a", DeviceStatuses: []Status{{ID: "1"}, {ID: "2"}}}}}
	s, err := New(st, Options{PageSize: 1})
	if err != nil {
		t.Fatal(err)
	}
	req := httptest.NewRequest("GET", "https://graph.example.test/beta/deviceAppManagement/mobileApps/a/deviceStatuses", nil)
	req.Header.Set("Authorization", "Bearer "+testToken)
	rec := httptest.NewRecorder()
	s.ServeHTTP(rec, req)
	var page struct {
		NextLink string `json:"@odata.nextLink"`
	}
	if err := json.Unmarshal(rec.Body.Bytes(), &page); err != nil {
		t.Fatal(err)
	}
	if want := "https://graph.example.test/beta/deviceAppManagement/mobileApps/a/deviceStatuses?$skiptoken="; !strings.HasPrefix(page.NextLink, want) {
		t.Errorf("nextLink %q, want prefix %q", page.NextLink, want)
	}
}

func TestMaxInFlight(t *testing.T) {
	// Hanging writes stay in flight until Close, so the overlap is certain.
	s, base := start(t, nil, Options{Faults: Faults{Hang: 1}})
	errs := make(chan error, 3)
	for range 3 {
		go func() {
			_, err := send("PATCH", base+direct, `{}`)
			errs <- err
		}()
	}
	for st := s.Stats(); st.InFlight < 3 || st.Faults["hang"] < 3; st = s.Stats() {
		time.Sleep(time.Millisecond)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	for range 3 {
		if err := <-errs; err == nil {
			t.Errorf("a hung request got an answer after Close")
		}
	}
	st := s.Stats()
	if st.MaxInFlight != 3 || st.Faults["hang"] != 3 {
		t.Errorf("MaxInFlight %d, hangs %d; want 3 and 3", st.MaxInFlight, st.Faults["hang"])
	}
	if len(st.WritesApplied) != 0 {
		t.Errorf("a hung write was applied: %v", st.WritesApplied)
	}
}

// TestParentsPaging lists entities the emulator knows only by id: the
// apps, and an app's user statuses, sorted by id and paged like objects.
func TestParentsPaging(t *testing.T) {
	st := &State{MobileApps: []App{
		{ID: "b"}, {ID: "c"},
		{ID: "a", UserStatuses: []UserStatus{{ID: "u2"}, {ID: "u1"}, {ID: "u3"}}},
	}}
	_, base := start(t, st, Options{PageSize: 2})
	for _, tt := range []struct {
		path string
		want []string
	}{
		{"/deviceAppManagement/mobileApps", []string{"a", "b", "c"}},
		{"/deviceAppManagement/mobileApps/a/userStatuses", []string{"u1", "u2", "u3"}},
		{"/deviceAppManagement/mobileApps/b/userStatuses", nil},
	} {
		var ids []string
		for next := base + tt.path; next != ""; {
			r := do(t, "GET", next, "")
			var page struct {
				Value    []struct{ ID string }
				NextLink string `json:"@odata.nextLink"`
			}
			if err := json.Unmarshal(r.body, &page); r.status != 200 || err != nil {
				t.Fatalf("GET %s: %d %s", next, r.status, r.body)
			}
			for _, v := range page.Value {
				ids = append(ids, v.ID)
			}
			next = page.NextLink
		}
		if diff := cmp.Diff(tt.want, ids); diff != "" {
			t.Errorf("%s (-want +got):\n%s", tt.path, diff)
		}
	}
}
