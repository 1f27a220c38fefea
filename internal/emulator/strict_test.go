package emulator

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

func TestUnauthorizedShape(t *testing.T) {
	_, base := start(t, nil, Options{Tokens: []string{"good"}})
	tests := []struct{ name, auth, message string }{
		{"no token", "", "Access token is empty."},
		{"not bearer", "Basic dXNlcjpwYXNz", "CompactToken parsing failed with error code: 80049217"},
		{"empty bearer", "Bearer ", "CompactToken parsing failed with error code: 80049217"},
		{"unknown token", "Bearer bad", "Access token validation failure."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "PATCH", base+direct, `{"deviceName":"x"}`, "Authorization", tt.auth)
			if r.status != 401 || r.errorCode(t) != "InvalidAuthenticationToken" || r.errorMessage(t) != tt.message {
				t.Fatalf("status %d %s", r.status, r.body)
			}
			if h := r.header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Bearer ") {
				t.Errorf("WWW-Authenticate %q, want a Bearer challenge", h)
			}
		})
	}
	if r := do(t, "GET", base+direct, "", "Authorization", "bearer good"); r.status != 200 {
		t.Errorf("a listed token (scheme in any case): %d %s", r.status, r.body)
	}
}

func TestLenientServesV1LikeBeta(t *testing.T) {
	_, base := start(t, nil, Options{Lenient: true})
	v1 := strings.TrimSuffix(base, "/beta") + "/v1.0"
	if r := do(t, "GET", v1+direct, "", "Authorization", ""); r.status != 200 || r.json(t)["deviceName"] != "PC-1" {
		t.Errorf("lenient /v1.0 without a token: %d %s", r.status, r.body)
	}
}

func TestBatchEnvelopeContentType(t *testing.T) {
	body := `{"requests":[{"id":"1","method":"GET","url":"` + direct + `"}]}`
	for _, lenient := range []bool{false, true} {
		_, base := start(t, nil, Options{Lenient: lenient})
		r := do(t, "POST", base+"/$batch", body, "Content-Type", "")
		want := 400
		if lenient {
			want = 200
		}
		if r.status != want {
			t.Errorf("lenient %v: $batch without Content-Type: %d %s, want %d", lenient, r.status, r.body, want)
		}
		if !lenient && r.errorMessage(t) != "A missing or empty content type header was found when trying to read a message. The content type header is required." {
			t.Errorf("message %q", r.errorMessage(t))
		}
	}
}

func TestLenientContentType(t *testing.T) {
	s, base := start(t, nil, Options{Lenient: true})
	if r := do(t, "PATCH", base+direct, `{"deviceName":"untyped"}`, "Content-Type", ""); r.status != 200 {
		t.Errorf("lenient PATCH without Content-Type: %d %s", r.status, r.body)
	}
	if r := do(t, "PATCH", base+direct, `{"deviceName":"x"}`, "Content-Type", "text/plain"); r.status != 415 {
		t.Errorf("lenient PATCH as text/plain: %d, want 415", r.status)
	}
	if m, _ := s.Object("app1", "", "s1"); m["deviceName"] != "untyped" {
		t.Errorf("deviceName %v", m["deviceName"])
	}
}

// TestForbiddenInIntunesWords checks the 403 of a token without the
// permission: Intune's code and message, naming the scopes the request
// needs, for plain requests and $batch items alike.
func TestForbiddenInIntunesWords(t *testing.T) {
	_, base := start(t, nil, Options{ForbiddenToken: "ro"})
	read := do(t, "GET", base+direct, "", "Authorization", "Bearer ro")
	write := do(t, "PATCH", base+direct, `{}`, "Authorization", "Bearer ro")
	for _, tt := range []struct {
		r      reply
		scopes string
	}{
		{read, "scopes: DeviceManagementApps.Read.All, DeviceManagementApps.ReadWrite.All - "},
		{write, "scopes: DeviceManagementApps.ReadWrite.All - "},
	} {
		if tt.r.status != 403 || tt.r.errorCode(t) != "Forbidden" {
			t.Fatalf("status %d %s", tt.r.status, tt.r.body)
		}
		msg := tt.r.errorMessage(t)
		if !strings.Contains(msg, "Application is not authorized to perform this operation. Application must have one of the following "+tt.scopes) ||
			!strings.HasPrefix(msg, `{"_version": 3, "Message": `) {
			t.Errorf("message %s", msg)
		}
	}
	b, _ := json.Marshal(map[string]any{"requests": []any{item("1", "PATCH", direct, `{}`)}})
	r := do(t, "POST", base+"/$batch", string(b), "Authorization", "Bearer ro")
	if r.status != 200 || !strings.Contains(string(r.body), `"status":403`) {
		t.Errorf("$batch with the forbidden token: %d %s; want 200 with a 403 item", r.status, r.body)
	}
}

func TestApprovalRequired(t *testing.T) {
	tests := []struct {
		mode, code, message string
	}{
		{ApprovalCode, "ApprovalRequired", "Multi Admin Approval"},
		{ApprovalHeader, "Forbidden", "x-msft-approval-justification"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			s, base := start(t, nil, Options{ApprovalRequired: tt.mode})
			r := do(t, "PATCH", base+direct, `{"deviceName":"x"}`)
			if r.status != 403 || r.errorCode(t) != tt.code || !strings.Contains(r.errorMessage(t), tt.message) {
				t.Fatalf("PATCH: %d %s", r.status, r.body)
			}
			_, br := postBatch(t, base, item("w", "PATCH", direct, `{"deviceName":"x"}`), item("r", "GET", direct, ""))
			if diff := cmp.Diff(map[string]int{"w": 403, "r": 200}, br.statuses()); diff != "" {
				t.Errorf("$batch items (-want +got):\n%s", diff)
			}
			if r := do(t, "GET", base+app1+"/deviceStatuses", ""); r.status != 200 {
				t.Errorf("reads are not affected: %d", r.status)
			}
			if n := len(s.Stats().WritesApplied); n != 0 {
				t.Errorf("%d writes applied under approval", n)
			}
		})
	}
	if _, err := New(nil, Options{ApprovalRequired: "maybe"}); err == nil {
		t.Errorf("New accepted an unknown approval mode")
	}
}

func TestQueryOptions(t *testing.T) {
	_, base := start(t, nil, Options{})
	list := base + app1 + "/deviceStatuses"
	tests := []struct {
		name, url string
		status    int
		message   string // for 400s
	}{
		{"select", base + direct + "?$select=deviceName,installState", 200, ""},
		{"select without dollar", base + direct + "?select=deviceName", 200, ""},
		{"select star", base + direct + "?$select=*", 200, ""},
		{"select names ignore case", base + direct + "?$SELECT=DeviceName", 200, ""},
		{"custom option ignored", base + direct + "?api-version=2", 200, ""},
		{"top on a collection", list + "?$top=2", 200, ""},
		{"select unknown property", base + direct + "?$select=colour", 400,
			"Parsing OData Select and Expand failed: Could not find a property named 'colour' on type 'microsoft.graph.mobileAppInstallStatus'."},
		{"unknown system option", base + direct + "?$foo=1", 400, "The query parameter '$foo' is not supported."},
		{"filter on a collection", list + "?$filter=deviceName%20eq%20'x'", 200, ""},
		{"filter on an object", base + direct + "?$filter=deviceName%20eq%20'x'", 400,
			"The query specified in the URI is not valid. Query option 'Filter' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings."},
		{"filter not understood", list + "?$filter=deviceName%20gt%20'x'", 400, "Invalid filter clause: the emulator understands 'PROPERTY eq|ne 'text'' and 'startswith(PROPERTY,'text')', joined by and/or; found 'deviceName gt 'x''."},
		{"expand without dollar", base + direct + "?expand=x", 400,
			"The query specified in the URI is not valid. Query option 'Expand' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings."},
		{"twice", list + "?$top=1&top=2", 400, "Query option '$top' was specified more than once, but it must be specified at most once."},
		{"top not a number", list + "?$top=ten", 400, "Invalid value 'ten' for $top query option found. The $top query option requires a non-negative integer value."},
		{"top negative", list + "?$top=-1", 400, "Invalid value '-1' for $top query option found. The $top query option requires a non-negative integer value."},
		{"top over the limit", list + "?$top=1000", 400, "The limit of '999' for Top query has been exceeded. The value from the incoming request is '1000'."},
		{"top on an object", base + direct + "?$top=1", 400, "The '$top' option cannot be applied to the query path. '$top' can only be applied to a collection of entities."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := do(t, "GET", tt.url, "")
			if r.status != tt.status {
				t.Fatalf("status %d, want %d: %s", r.status, tt.status, r.body)
			}
			if tt.message != "" && (r.errorCode(t) != "BadRequest" || r.errorMessage(t) != tt.message) {
				t.Errorf("message %q\nwant    %q", r.errorMessage(t), tt.message)
			}
		})
	}
}

func TestSelect(t *testing.T) {
	s, base := start(t, nil, Options{PageSize: 2})
	got := do(t, "GET", base+direct+"?$select=installState,deviceName", "").json(t)
	want := map[string]any{
		"@odata.context": base + "/$metadata#deviceAppManagement/mobileApps('app1')/deviceStatuses(installState,deviceName)/$entity",
		"id":             "s1", "installState": "installed", "deviceName": "PC-1",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("selected object (-want +got):\n%s", diff)
	}
	if m := do(t, "GET", base+direct+"?$select=id", "").json(t); len(m) != 2 || m["id"] != "s1" {
		t.Errorf("$select=id: %v", m)
	}
	// A selection and $top shape every page: the nextLink carries them.
	var page struct {
		Value    []map[string]any `json:"value"`
		NextLink string           `json:"@odata.nextLink"`
	}
	r := do(t, "GET", base+app1+"/deviceStatuses?$select=deviceName&$top=1", "")
	if err := json.Unmarshal(r.body, &page); err != nil {
		t.Fatal(err)
	}
	if len(page.Value) != 1 || len(page.Value[0]) != 2 || !strings.Contains(page.NextLink, "$select=deviceName&$top=1&$skiptoken=") {
		t.Fatalf("first page %s", r.body)
	}
	if err := json.Unmarshal(do(t, "GET", page.NextLink, "").body, &page); err != nil || len(page.Value) != 1 || page.Value[0]["id"] != "s2" || len(page.Value[0]) != 2 {
		t.Errorf("second page %+v (%v)", page, err)
	}
	// $top=0 is an empty page that does not go on for ever.
	if m := do(t, "GET", base+app1+"/deviceStatuses?$top=0", "").json(t); m["@odata.nextLink"] != nil || len(m["value"].([]any)) != 0 {
		t.Errorf("$top=0: %v", m)
	}
	// A PATCH answering 200 shows the selection too.
	if m := do(t, "PATCH", base+direct+"?$select=userName", `{"userName":"z"}`).json(t); len(m) != 3 || m["userName"] != "z" {
		t.Errorf("PATCH with $select: %v", m)
	}
	if st := s.Stats(); st.WritesApplied["app1/s1"] != 1 {
		t.Errorf("WritesApplied %v", st.WritesApplied)
	}
}

func TestLenientIgnoresQueryOptions(t *testing.T) {
	_, base := start(t, nil, Options{Lenient: true})
	for _, q := range []string{"?$foo=1", "?$filter=x", "?$top=-1", "?$select=colour", "?$skiptoken=forged"} {
		if r := do(t, "GET", base+direct+q, ""); r.status != 200 {
			t.Errorf("lenient GET %s: %d %s", q, r.status, r.body)
		}
	}
	m := do(t, "GET", base+direct+"?$select=deviceName", "").json(t)
	if len(m) != 14 {
		t.Errorf("lenient $select trimmed the object to %d members", len(m))
	}
}

// TestUnknownParentIsNotFound: a collection or object under an entity that
// does not exist is Graph's 404 ResourceNotFound, not an empty page.
func TestUnknownParentIsNotFound(t *testing.T) {
	_, base := start(t, nil, Options{})
	for _, p := range []string{
		"/deviceAppManagement/mobileApps/nope/deviceStatuses",
		"/deviceAppManagement/mobileApps/nope/userStatuses/u1/deviceStatuses",
		app1 + "/userStatuses/nope/deviceStatuses",
		app1 + "/userStatuses/nope",
	} {
		r := do(t, "GET", base+p, "")
		if r.status != 404 || r.errorCode(t) != "ResourceNotFound" {
			t.Errorf("GET %s: %d %s", p, r.status, r.body)
		}
	}
	if r := do(t, "GET", base+"/deviceAppManagement/mobileApps/empty/deviceStatuses", ""); r.status != 200 {
		t.Errorf("an app without statuses lists an empty page: %d", r.status)
	}
}

func TestBatchIDsIgnoreCase(t *testing.T) {
	_, base := start(t, nil, Options{})
	r, _ := postBatch(t, base, item("a", "GET", direct, ""), item("A", "GET", direct, ""))
	if r.status != 400 || !strings.Contains(r.errorMessage(t), "unique") {
		t.Errorf("ids a and A: %d %s, want 400", r.status, r.body)
	}
	_, br := postBatch(t, base, item("First", "PATCH", direct, `{"installState":"bogus"}`), item("2", "GET", direct, "", "first"))
	if diff := cmp.Diff(map[string]int{"First": 400, "2": 424}, br.statuses()); diff != "" {
		t.Errorf("dependsOn in another case (-want +got):\n%s", diff)
	}
	_, lenient := start(t, nil, Options{Lenient: true})
	if r, _ := postBatch(t, lenient, item("a", "GET", direct, ""), item("A", "GET", direct, "")); r.status != 200 {
		t.Errorf("lenient: ids a and A: %d, want 200", r.status)
	}
}

// TestBatchReproducible runs the same batch against two servers with the
// same seed: quota, faults and order are decided alike, though the items
// run concurrently.
func TestBatchReproducible(t *testing.T) {
	run := func() (string, Stats) {
		clock := newFakeClock()
		s, base := start(t, nil, Options{Seed: 9, WriteLimit: 12, Window: 20 * 1e9, Clock: clock.Now, RetryAfter: RetryAfterMixed,
			Faults: Faults{ServerError: 0.2, ThrottleAfterApply: 0.1, IgnoreWrite: 0.1}, ReadFaults: Faults{ServerError: 0.2}})
		var items []map[string]any
		for i := range 20 {
			if i%4 == 3 {
				items = append(items, item(fmt.Sprint(i), "GET", direct, ""))
				continue
			}
			items = append(items, item(fmt.Sprint(i), "PATCH", app1+"/deviceStatuses/s2", fmt.Sprintf(`{"errorCode":%d}`, i)))
		}
		_, br := postBatch(t, base, items...)
		var b strings.Builder
		for _, r := range br.Responses {
			fmt.Fprintf(&b, "%s:%d:%s ", r.ID, r.Status, r.Headers["Retry-After"])
		}
		return b.String(), s.Stats()
	}
	a, sa := run()
	b, sb := run()
	if a != b {
		t.Errorf("same seed, different batches:\n%s\n%s", a, b)
	}
	if diff := cmp.Diff(sa.Faults, sb.Faults); diff != "" || sa.Throttled != sb.Throttled {
		t.Errorf("same seed, different faults (-first +second):\n%s; throttled %d and %d", diff, sa.Throttled, sb.Throttled)
	}
	if sa.Faults["serverError"] == 0 || sa.Throttled == 0 {
		t.Errorf("the batch met no 5xx or 429: %s", a)
	}
}
