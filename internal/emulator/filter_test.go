package emulator

import (
	"encoding/json"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

func TestFilter(t *testing.T) {
	sv := &served{res: resource.ManagedDevice}
	obj := func(name, owner string) *object {
		o := &object{sv: sv}
		o.props[0], _ = json.Marshal(name)
		o.props[1] = json.RawMessage("null")
		o.props[2], _ = json.Marshal(owner)
		return o
	}
	objs := []*object{obj("LAB-01", "company"), obj("LAB-02", "personal"), obj("HR-01", "company"), obj("it's", "unknown")}
	for _, tt := range []struct {
		expr string
		want []int
		bad  bool
	}{
		{"managedDeviceName eq 'LAB-01'", []int{0}, false},
		{"startswith(managedDeviceName,'LAB-')", []int{0, 1}, false},
		{"STARTSWITH(ManagedDeviceName, 'LAB-') AND ownerType ne 'personal'", []int{0}, false},
		{"ownerType eq 'personal' or managedDeviceName eq 'HR-01'", []int{1, 2}, false},
		{"managedDeviceName eq 'it''s'", []int{3}, false},
		{"notes eq 'x'", nil, false},
		{"managedDeviceName gt 'A'", nil, true},
		{"colour eq 'red'", nil, true},
		{"managedDeviceName eq LAB", nil, true},
	} {
		f, msg := parseFilter(sv, tt.expr)
		if (msg != "") != tt.bad {
			t.Errorf("%q: message %q, want an error: %v", tt.expr, msg, tt.bad)
			continue
		}
		var got []int
		for i, o := range objs {
			if msg == "" && f.match(o) {
				got = append(got, i)
			}
		}
		if !tt.bad && !equalInts(got, tt.want) {
			t.Errorf("%q matches %v, want %v", tt.expr, got, tt.want)
		}
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}
