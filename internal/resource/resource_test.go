package resource

import (
	"errors"
	"strings"
	"testing"
)

func TestMobileAppInstallStatusPaths(t *testing.T) {
	r := MobileAppInstallStatus
	tests := []struct {
		key     Key
		want    string
		wantErr string
	}{
		{Key{"a", "", "s"}, "/deviceAppManagement/mobileApps/a/deviceStatuses/s", ""},
		{Key{"a", "u", "s"}, "/deviceAppManagement/mobileApps/a/userStatuses/u/deviceStatuses/s", ""},
		{Key{"9b1c-Ab_x.y~z", "", "d:1@2"}, "/deviceAppManagement/mobileApps/9b1c-Ab_x.y~z/deviceStatuses/d:1@2", ""},
		{Key{"a", "", "x;y,z"}, "/deviceAppManagement/mobileApps/a/deviceStatuses/x%3By%2Cz", ""},
		{Key{"a", "", "é"}, "/deviceAppManagement/mobileApps/a/deviceStatuses/%C3%A9", ""},
		{Key{"", "", "s"}, "", "mobileAppId is empty"},
		{Key{"a", "", ""}, "", "mobileAppInstallStatusId is empty"},
		{Key{"a", "u", ""}, "", "mobileAppInstallStatusId is empty"},
		{Key{"a", "", "."}, "", "dot path segment"},
		{Key{"..", "", "s"}, "", `mobileAppId ".." is a dot path segment`},
		{Key{"a", "..", "s"}, "", `userAppInstallStatusId ".."`},
		{Key{"a", "", "%2F"}, "", `contains '%'`},
		{Key{"a", "", "a/b"}, "", `contains '/'`},
		{Key{"a", "", `a\b`}, "", `contains '\\'`},
		{Key{"a", "", "a?b"}, "", `contains '?'`},
		{Key{"a", "", "a#b"}, "", `contains '#'`},
		{Key{"a", "", "a b"}, "", "whitespace"},
		{Key{"a", "", "a\u00a0b"}, "", "whitespace"},
		{Key{"a", "", "a\tb"}, "", "whitespace"},
		{Key{"a", "", "a\x00b"}, "", "control character"},
		{Key{"a", "", "a\xffb"}, "", "not valid UTF-8"},
		{Key{"a", "", "ｆ／"}, "", "look-alike of '/'"},
		{Key{"a", "", "a\u200bb"}, "", "invisible character"},
	}
	for _, tt := range tests {
		got, err := r.ObjectPath(tt.key)
		if got != tt.want {
			t.Errorf("ObjectPath(%q) = %q, want %q", tt.key, got, tt.want)
		}
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("ObjectPath(%q): %v", tt.key, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("ObjectPath(%q) error = %v, want one containing %q", tt.key, err, tt.wantErr)
		}
		var ie *IDError
		if err != nil && !errors.As(err, &ie) {
			t.Errorf("ObjectPath(%q) error %T is not an *IDError", tt.key, err)
		}
	}
}

func TestCollections(t *testing.T) {
	r := MobileAppInstallStatus
	for _, tt := range []struct {
		key  Key
		want string
	}{
		{Key{"a", "", "s"}, "/deviceAppManagement/mobileApps/a/deviceStatuses"},
		{Key{"a", "", ""}, "/deviceAppManagement/mobileApps/a/deviceStatuses"},
		{Key{"a", "u", "s"}, "/deviceAppManagement/mobileApps/a/userStatuses/u/deviceStatuses"},
	} {
		got, err := r.CollectionPath(tt.key)
		if err != nil || got != tt.want {
			t.Errorf("CollectionPath(%q) = %q, %v; want %q", tt.key, got, err, tt.want)
		}
	}
	if got, want := r.Collection(Key{"a", "u", "s"}), (Key{"a", "u", ""}); got != want {
		t.Errorf("Collection = %q, want %q", got, want)
	}
	if r.IDKey() != 2 {
		t.Errorf("IDKey = %d, want 2", r.IDKey())
	}
	method, p, err := r.WritePath(Key{"a", "", "s"})
	if method != "PATCH" || p != "/deviceAppManagement/mobileApps/a/deviceStatuses/s" || err != nil {
		t.Errorf("WritePath = %s %s, %v", method, p, err)
	}
}

func TestParentsPath(t *testing.T) {
	r := MobileAppInstallStatus
	got, err := r.ParentsPath(Key{"a:b", "", ""}, 1)
	if want := "/deviceAppManagement/mobileApps/a:b/userStatuses"; got != want || err != nil {
		t.Errorf("ParentsPath = %q, %v; want %q", got, err, want)
	}
	if _, err := r.ParentsPath(Key{"", "", ""}, 1); err == nil {
		t.Error("ParentsPath without the app: no error")
	}
	if _, err := r.ParentsPath(Key{"a/../x", "", ""}, 1); err == nil {
		t.Error("ParentsPath with an id that leaves the route: no error")
	}
	if got, err := r.ParentsPath(Key{}, 0); got != "/deviceAppManagement/mobileApps" || err != nil {
		t.Errorf("ParentsPath of the app column = %q, %v; want the apps", got, err)
	}
	if _, err := ManagedDevice.ParentsPath(Key{}, ManagedDevice.IDKey()); err == nil {
		t.Error("ParentsPath of the object's own id: no error")
	}
}

func TestRequiredKeys(t *testing.T) {
	r := MobileAppInstallStatus
	for i, want := range []bool{true, false, true} {
		if got := r.Required(i); got != want {
			t.Errorf("Required(%s) = %v, want %v", r.Keys[i].Name, got, want)
		}
	}
}

// TestDeclarations checks what prepare cannot: the facts of
// shared/docs/graph-api.md that the declarations restate.
func TestDeclarations(t *testing.T) {
	if got := len(ResultantAppState.Members); got != 7 {
		t.Errorf("resultantAppState has %d members, want 7", got)
	}
	if got := len(ResultantAppStateDetail.Members); got != 36 {
		t.Errorf("resultantAppStateDetail has %d members, want 36", got)
	}
	for _, r := range All() {
		seen := map[string]bool{}
		for _, c := range r.Columns() {
			if seen[strings.ToLower(c)] {
				t.Errorf("%s: column %s twice", r.Name, c)
			}
			seen[strings.ToLower(c)] = true
		}
		for _, p := range r.Properties {
			if p.Enum == nil {
				continue
			}
			ms := map[string]bool{}
			for _, m := range p.Enum.Members {
				if ms[m] {
					t.Errorf("%s: duplicate member %q", p.Enum.Name, m)
				}
				ms[m] = true
			}
		}
		if got, ok := Lookup(strings.ToUpper(r.Name)); !ok || got != r {
			t.Errorf("Lookup(%s) = %v, %v", r.Name, got, ok)
		}
	}
	if got := MobileAppInstallStatus.Columns(); len(got) != 15 || got[0] != "mobileAppId" || got[3] != "deviceName" {
		t.Errorf("Columns() = %q", got)
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		enum   *Enumeration
		in     string
		want   string
		wantOK bool
	}{
		{ResultantAppState, "installed", "installed", true},
		{ResultantAppState, "NOTINSTALLED", "notInstalled", true},
		{ResultantAppState, "notinstalled ", "", false},
		{ResultantAppState, "unknownFutureValue", "", false},
		{ResultantAppStateDetail, "powershellscriptrequirementnotmet", "powerShellScriptRequirementNotMet", true},
		{ResultantAppStateDetail, "userIsNotLoggedIntoAppStore", "userIsNotLoggedIntoAppStore", true},
	}
	for _, tt := range tests {
		got, ok := tt.enum.Canonical(tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("%s.Canonical(%q) = %q, %v; want %q, %v", tt.enum.Name, tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
	if ResultantAppState.IsMember("Installed") {
		t.Error("IsMember is case-insensitive; Graph is not")
	}
	if !ResultantAppState.IsMember("pendingInstall") {
		t.Error("IsMember(pendingInstall) = false")
	}
}

func TestClosest(t *testing.T) {
	tests := []struct{ in, want string }{
		{"instaled", "installed"},
		{"pendingInstal", "pendingInstall"},
		{"zzzzzzzzzzzzzzzzzz", ""},
	}
	for _, tt := range tests {
		if got := Closest(tt.in, ResultantAppState.Members); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestDescribe(t *testing.T) {
	got := MobileAppInstallStatus.Describe(Key{"a", "", "s"})
	if want := `mobileAppId "a", mobileAppInstallStatusId "s"`; got != want {
		t.Errorf("Describe = %s, want %s", got, want)
	}
}

func TestRouteName(t *testing.T) {
	r := MobileAppInstallStatus
	for k, want := range map[Key]string{
		{"a", "", "s"}:  "by device status",
		{"a", "u", "s"}: "through a user status",
		{"", "", ""}:    "",
	} {
		if got := r.RouteName(k); got != want {
			t.Errorf("RouteName(%q) = %q, want %q", k, got, want)
		}
	}
}

func TestFind(t *testing.T) {
	if r, err := Find(""); r != nil || err != nil {
		t.Errorf(`Find("") = %v, %v, want nil, nil`, r, err)
	}
	if r, err := Find("MANAGEDDEVICE"); err != nil || r == nil || r.Name != "managedDevice" {
		t.Errorf(`Find("MANAGEDDEVICE") = %v, %v`, r, err)
	}
	r, err := Find("widget")
	var ne *NameError
	if r != nil || !errors.As(err, &ne) || ne.Name != "widget" {
		t.Fatalf(`Find("widget") = %v, %v, want a *NameError`, r, err)
	}
	if want := `"widget": bulkpatch writes ` + strings.Join(Names(), ", "); err.Error() != want {
		t.Errorf("message %q, want %q", err.Error(), want)
	}
	if names := Names(); len(names) != len(All()) || names[0] != Default().Name {
		t.Errorf("Names() = %v", names)
	}
}
