package schema

import "testing"

func TestEnumSizes(t *testing.T) {
	if got := len(AppStates); got != 7 {
		t.Errorf("resultantAppState has %d members, want 7", got)
	}
	if got := len(AppStateDetails); got != 36 {
		t.Errorf("resultantAppStateDetail has %d members, want 36", got)
	}
	seen := map[string]bool{}
	for _, m := range AppStateDetails {
		if seen[m] {
			t.Errorf("duplicate member %q", m)
		}
		seen[m] = true
	}
}

func TestCanonical(t *testing.T) {
	tests := []struct {
		kind   Kind
		in     string
		want   string
		wantOK bool
	}{
		{AppState, "installed", "installed", true},
		{AppState, "NOTINSTALLED", "notInstalled", true},
		{AppState, "notinstalled ", "", false},
		{AppState, "unknownFutureValue", "", false},
		{AppStateDetail, "powershellscriptrequirementnotmet", "powerShellScriptRequirementNotMet", true},
		{AppStateDetail, "userIsNotLoggedIntoAppStore", "userIsNotLoggedIntoAppStore", true},
		{String, "installed", "", false},
	}
	for _, tt := range tests {
		got, ok := Canonical(tt.kind, tt.in)
		if got != tt.want || ok != tt.wantOK {
			t.Errorf("Canonical(%v, %q) = %q, %v; want %q, %v", tt.kind, tt.in, got, ok, tt.want, tt.wantOK)
		}
	}
	if IsMember(AppState, "Installed") {
		t.Error("IsMember is case-insensitive; Graph is not")
	}
	if !IsMember(AppState, "pendingInstall") {
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
		if got := Closest(tt.in, AppStates); got != tt.want {
			t.Errorf("Closest(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
	if got := Closest("powerShelScriptRequirementNotMet", AppStateDetails); got != "powerShellScriptRequirementNotMet" {
		t.Errorf("Closest detail = %q", got)
	}
}

func TestPropertyIndex(t *testing.T) {
	for i, p := range Properties {
		if got := PropertyIndex(p.Name); got != i {
			t.Errorf("PropertyIndex(%q) = %d, want %d", p.Name, got, i)
		}
	}
	if PropertyIndex("id") != -1 {
		t.Error("id is not writable")
	}
}

func TestCanonicalExactDoesNotAllocate(t *testing.T) {
	allocs := testing.AllocsPerRun(100, func() {
		if _, ok := Canonical(AppStateDetail, "seeInstallErrorCode"); !ok {
			t.Fatal("seeInstallErrorCode not found")
		}
	})
	if allocs != 0 {
		t.Errorf("Canonical of an exactly spelled member allocates %v times", allocs)
	}
}
