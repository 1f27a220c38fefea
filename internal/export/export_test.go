package export

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

func TestRow(t *testing.T) {
	var warnings []string
	x := New(resource.MobileAppInstallStatus, resource.Key{"app", "", ""}, func(m string) { warnings = append(warnings, m) })
	if diff := cmp.Diff("mobileAppId,mobileAppInstallStatusId,deviceName", strings.Join(x.Header()[:3], ",")); diff != "" {
		t.Errorf("Header (-want +got):\n%s", diff)
	}
	tests := []struct {
		obj       string
		wantCells bool
		wantWarn  string
	}{
		{`{"id":"s1","deviceName":"PC","errorCode":5}`, true, ""},
		{`{"id":"s1","deviceName":"PC"}`, false, "listed twice"},
		{`{"id":"S1","deviceName":"PC"}`, false, "listed twice"}, // ids compare case-insensitively
		{`{"id":"has space","deviceName":"PC"}`, false, "cannot be written as an input row"},
		{`{"id":"s2","installState":"futureState"}`, false, "no property that can be written"},
		{`{"id":"s3","deviceName":"<null>","displayVersion":"1"}`, true, "would read back as null"},
		{`{"id":"s4","errorCode":"x","deviceName":"PC"}`, true, `errorCode is "x", not a int32`},
		{`{"id":"s5","errorCode":1.5,"deviceName":"PC"}`, true, "errorCode is 1.5"},
		{`{"id":"s6","osVersion":"a\r\nb","deviceName":"PC"}`, true, "carriage return"},
	}
	for _, tt := range tests {
		warnings = nil
		cells, err := x.Row(json.RawMessage(tt.obj))
		if err != nil {
			t.Errorf("%s: %v", tt.obj, err)
			continue
		}
		if (cells != nil) != tt.wantCells {
			t.Errorf("%s: cells %q, want cells: %v", tt.obj, cells, tt.wantCells)
		}
		if got := strings.Join(warnings, "\n"); tt.wantWarn == "" && got != "" || !strings.Contains(got, tt.wantWarn) {
			t.Errorf("%s: warnings %q, want one containing %q", tt.obj, got, tt.wantWarn)
		}
	}
	if _, err := x.Row(json.RawMessage(`{"deviceName":"PC"}`)); err == nil {
		t.Error("an object without an id was exported")
	}
}

func TestNestedCollectionHeader(t *testing.T) {
	x := New(resource.MobileAppInstallStatus, resource.Key{"app", "user", ""}, func(string) {})
	if got := strings.Join(x.Header()[:3], ","); got != "mobileAppId,userAppInstallStatusId,mobileAppInstallStatusId" {
		t.Errorf("Header = %s", got)
	}
	cells, err := x.Row(json.RawMessage(`{"id":"s","deviceName":"PC"}`))
	if err != nil || cells[0] != "app" || cells[1] != "user" || cells[2] != "s" || cells[3] != "PC" {
		t.Errorf("Row = %q, %v", cells, err)
	}
}

func TestCollection(t *testing.T) {
	res := resource.MobileAppInstallStatus
	for _, tt := range []struct {
		app, user string
		want      resource.Key
		wantErr   string
	}{
		{"a", "", resource.Key{"a", "", ""}, ""},
		{"a", "u", resource.Key{"a", "u", ""}, ""},
		{"a/b", "", resource.Key{}, `mobileAppId "a/b" contains '/'`},
		{"a", "..", resource.Key{}, `userAppInstallStatusId ".."`},
	} {
		got, err := Collection(res, tt.app, tt.user)
		if tt.wantErr != "" {
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("Collection(%q, %q) = %v, want %q", tt.app, tt.user, err, tt.wantErr)
			}
			continue
		}
		if err != nil || got != tt.want {
			t.Errorf("Collection(%q, %q) = %q, %v", tt.app, tt.user, got, err)
		}
	}
}

// lister serves listings from a map of path → objects; a path it lacks
// answers 404, as Graph does for a collection that does not exist.
type lister map[string][]string

func (l lister) List(_ context.Context, path string, fn func(json.RawMessage) error) error {
	objs, ok := l[path]
	if !ok {
		return &graph.APIError{Status: 404, Code: "ResourceNotFound", Message: path}
	}
	for _, o := range objs {
		if err := fn(json.RawMessage(o)); err != nil {
			return err
		}
	}
	return nil
}

func TestWriteNested(t *testing.T) {
	const app = "/deviceAppManagement/mobileApps/a"
	g := lister{
		app + "/deviceStatuses":                 {`{"id":"s1","deviceName":"top"}`},
		app + "/userStatuses":                   {`{"id":"u1"}`, `{"id":"gone"}`, `{"id":"u2"}`},
		app + "/userStatuses/u1/deviceStatuses": {`{"id":"s1","deviceName":"nested"}`}, // the same id, another collection
		app + "/userStatuses/u2/deviceStatuses": {`{"id":"s2","deviceName":"nested too"}`},
	}
	var warnings []string
	var buf strings.Builder
	n, err := Write(context.Background(), g, resource.MobileAppInstallStatus, resource.Key{"a", "", ""}, &buf, Options{
		Nested: true, Warn: func(m string) { warnings = append(warnings, m) },
	})
	if err != nil || n != 3 {
		t.Fatalf("Write = %d, %v; want 3 rows", n, err)
	}
	var got []string
	for _, line := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		got = append(got, strings.Join(strings.Split(line, ",")[:4], ","))
	}
	want := []string{
		"mobileAppId,userAppInstallStatusId,mobileAppInstallStatusId,deviceName",
		"a,,s1,top",
		"a,u1,s1,nested",
		"a,u2,s2,nested too",
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("rows (-want +got):\n%s", diff)
	}
	if len(warnings) != 1 || !strings.Contains(warnings[0], `"gone" vanished`) {
		t.Errorf("warnings %q, want one about the user status that vanished", warnings)
	}

	// Without Nested, only the app's own collection, with no user status
	// column.
	buf.Reset()
	if n, err := Write(context.Background(), g, resource.MobileAppInstallStatus, resource.Key{"a", "", ""}, &buf, Options{}); err != nil || n != 1 {
		t.Errorf("Write without Nested = %d, %v; want 1 row", n, err)
	}
	if strings.Contains(buf.String(), "userAppInstallStatusId") {
		t.Errorf("without Nested, the header names the user status column:\n%s", buf.String())
	}

	// An app that does not exist is the user's mistake: a NotFoundError.
	var nf *NotFoundError
	if _, err := Write(context.Background(), g, resource.MobileAppInstallStatus, resource.Key{"b", "", ""}, io.Discard, Options{Nested: true}); !errors.As(err, &nf) {
		t.Errorf("Write of a missing app = %v, want a NotFoundError", err)
	}
}

// TestRowAllNull: an object whose writable properties are all null (an
// Autopilot device nobody has tagged yet, the very one an export is
// edited to tag) is exported with <null> cells rather than left out; its
// row reads back as the object. A row with a value keeps empty cells
// for its nulls.
func TestRowAllNull(t *testing.T) {
	for _, tt := range []struct {
		res       *resource.Resource
		obj, want string
		wantWarn  string
	}{
		{resource.WindowsAutopilotDeviceIdentity,
			`{"id":"ap-1","groupTag":null,"displayName":null,"userPrincipalName":null,"addressableUserName":null}`,
			"ap-1,<null>,<null>,<null>,<null>", ""},
		{resource.WindowsAutopilotDeviceIdentity,
			`{"id":"ap-2","groupTag":"Sales","displayName":null,"userPrincipalName":null,"addressableUserName":null}`,
			"ap-2,Sales,,,", ""},
		// Left out, the value is not known: no <null> for it.
		{resource.WindowsAutopilotDeviceIdentity, `{"id":"ap-3","groupTag":null}`, "ap-3,<null>,,,", ""},
		{resource.WindowsAutopilotDeviceIdentity, `{"id":"ap-4"}`, "", "no property that can be written"},
		{resource.DeviceCategory, `{"id":"dc-1","displayName":"","description":null}`, "dc-1,,<null>", ""},
		// A value that would not read back is still blanked, not nulled.
		{resource.MobileAppInstallStatus, `{"id":"s1","deviceName":null,"installState":"futureState"}`,
			"app,s1,<null>,,,,,,,,,,,", "installState"},
	} {
		var warnings []string
		coll := resource.Key{}
		if tt.res == resource.MobileAppInstallStatus {
			coll[0] = "app"
		}
		x := New(tt.res, coll, func(m string) { warnings = append(warnings, m) })
		cells, err := x.Row(json.RawMessage(tt.obj))
		if err != nil {
			t.Errorf("%s: %v", tt.obj, err)
			continue
		}
		if got := strings.Join(cells, ","); got != tt.want {
			t.Errorf("%s: row %q, want %q", tt.obj, got, tt.want)
		}
		if got := strings.Join(warnings, "\n"); tt.wantWarn == "" && got != "" || !strings.Contains(got, tt.wantWarn) {
			t.Errorf("%s: warnings %q, want one containing %q", tt.obj, got, tt.wantWarn)
		}
	}
}
