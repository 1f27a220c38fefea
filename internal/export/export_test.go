package export

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

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
		{`{"id":"s2","deviceName":null,"installState":"futureState"}`, false, "no property that can be written"},
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
