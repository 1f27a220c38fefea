package export

import (
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

func TestRequestResolve(t *testing.T) {
	for _, tt := range []struct {
		name    string
		req     Request
		want    Target
		wantErr string
	}{
		{"an app's statuses, the default resource", Request{App: "a", Delimiter: ","},
			Target{Res: resource.MobileAppInstallStatus, Coll: resource.Key{"a", "", ""}, Dialect: csvio.WriterOptions{Comma: ','}}, ""},
		{"a user status's, for Excel with ;", Request{App: "a", UserStatus: "u", Delimiter: ";", Excel: true},
			Target{Res: resource.MobileAppInstallStatus, Coll: resource.Key{"a", "u", ""}, Dialect: csvio.ExcelOptions(';')}, ""},
		{"Excel with tabs writes commas", Request{App: "a", Delimiter: "tab", Excel: true},
			Target{Res: resource.MobileAppInstallStatus, Coll: resource.Key{"a", "", ""}, Dialect: csvio.ExcelOptions(',')}, ""},
		{"an app's user statuses too", Request{App: "a", All: true, Delimiter: ","},
			Target{Res: resource.MobileAppInstallStatus, Coll: resource.Key{"a", "", ""}, Dialect: csvio.WriterOptions{Comma: ','}}, ""},
		{"managed devices need no app", Request{Resource: "manageddevice", Delimiter: ","},
			Target{Res: resource.Default(), Coll: resource.Key{}, Dialect: csvio.WriterOptions{Comma: ','}}, ""},
		{"no app", Request{Delimiter: ","}, Target{}, "--app is required"},
		{"unknown resource", Request{Resource: "nosuch", App: "a", Delimiter: ","}, Target{}, `--resource "nosuch"`},
		{"an id that leaves the route", Request{App: "a/b", Delimiter: ","}, Target{}, `mobileAppId "a/b"`},
		{"nothing nests under devices", Request{Resource: "managedDevice", All: true, Delimiter: ","}, Target{}, "--all: no collection of managedDevice"},
		{"bad delimiter", Request{App: "a", Delimiter: "|"}, Target{}, "--delimiter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if tt.req.Resource == "manageddevice" {
				tt.want.Res, _ = resource.Lookup("managedDevice")
			}
			got, err := tt.req.Resolve()
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got.Res != tt.want.Res || got.Coll != tt.want.Coll || !cmp.Equal(got.Dialect, tt.want.Dialect) {
				t.Errorf("got %s %q %+v, want %s %q %+v", got.Res.Name, got.Coll, got.Dialect, tt.want.Res.Name, tt.want.Coll, tt.want.Dialect)
			}
		})
	}
}
