package graph

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestObjectPath(t *testing.T) {
	tests := []struct {
		t       Target
		want    string
		wantErr bool
	}{
		{Target{AppID: "a", StatusID: "s"}, "/deviceAppManagement/mobileApps/a/deviceStatuses/s", false},
		{Target{AppID: "a", UserStatusID: "u", StatusID: "s"}, "/deviceAppManagement/mobileApps/a/userStatuses/u/deviceStatuses/s", false},
		{Target{AppID: "9b1c-Ab_x.y~z", StatusID: "d:1@2"}, "/deviceAppManagement/mobileApps/9b1c-Ab_x.y~z/deviceStatuses/d:1@2", false},
		{Target{AppID: "a", StatusID: "ｆ／"}, "/deviceAppManagement/mobileApps/a/deviceStatuses/%EF%BD%86%EF%BC%8F", false},
		{Target{AppID: "a", StatusID: "x;y,z"}, "/deviceAppManagement/mobileApps/a/deviceStatuses/x%3By%2Cz", false},
		{Target{AppID: "a", StatusID: "é"}, "/deviceAppManagement/mobileApps/a/deviceStatuses/%C3%A9", false},
		{Target{AppID: "", StatusID: "s"}, "", true},
		{Target{AppID: "a", StatusID: ""}, "", true},
		{Target{AppID: "a", StatusID: "."}, "", true},
		{Target{AppID: "..", StatusID: "s"}, "", true},
		{Target{AppID: "a", UserStatusID: "..", StatusID: "s"}, "", true},
		{Target{AppID: "a", StatusID: "%2F"}, "", true},
		{Target{AppID: "a", StatusID: "a/b"}, "", true},
		{Target{AppID: "a", StatusID: `a\b`}, "", true},
		{Target{AppID: "a", StatusID: "a?b"}, "", true},
		{Target{AppID: "a", StatusID: "a#b"}, "", true},
		{Target{AppID: "a", StatusID: "a b"}, "", true},
		{Target{AppID: "a", StatusID: "a\u00a0b"}, "", true}, // no-break space
		{Target{AppID: "a", StatusID: "a\u3000b"}, "", true}, // ideographic space
		{Target{AppID: "a", StatusID: "a\tb"}, "", true},
		{Target{AppID: "a", StatusID: "a\x00b"}, "", true},
		{Target{AppID: "a", StatusID: "a\x7fb"}, "", true},
		{Target{AppID: "a", StatusID: "a\u0085b"}, "", true},
		{Target{AppID: "a", StatusID: "a\xffb"}, "", true}, // invalid UTF-8
	}
	for _, tt := range tests {
		got, err := ObjectPath(tt.t)
		if (err != nil) != tt.wantErr || got != tt.want {
			t.Errorf("ObjectPath(%+q) = %q, %v; want %q, error %v", []string{tt.t.AppID, tt.t.UserStatusID, tt.t.StatusID}, got, err, tt.want, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidID) {
			t.Errorf("ObjectPath(%+q) error %v does not wrap ErrInvalidID", tt.t.StatusID, err)
		}
	}
}

// TestHostileIDsOnTheWire checks the path the server actually receives:
// an id that is accepted stays one escaped segment, and an id that is
// refused never reaches the server at all.
func TestHostileIDsOnTheWire(t *testing.T) {
	accepted := []struct {
		id, wantEscaped string
	}{
		{"ｆ／", "%EF%BD%86%EF%BC%8F"},
		{"x;y", "x%3By"},
		{"d:1@2+3=4&5$6", "d:1@2+3=4&5$6"},
		{"ü‮rtl", "%C3%BC%E2%80%AErtl"},
		{"...", "..."},
	}
	refused := []string{"..", ".", "%2F", "%2e%2e", "a/b", "a?b", "a#b", `a\b`, "a b", "a\nb"}

	c, sc, _ := newTestClient(t, nil, reply(204, ""))
	ctx := context.Background()
	for _, tt := range accepted {
		res := c.Patch(ctx, Write{Target: Target{AppID: "app", UserStatusID: tt.id, StatusID: tt.id}, Body: []byte(`{}`)})
		if res.Err != nil {
			t.Errorf("id %q: %v", tt.id, res.Err)
			continue
		}
		reqs := sc.Requests()
		got := reqs[len(reqs)-1].Path
		want := "/beta/deviceAppManagement/mobileApps/app/userStatuses/" + tt.wantEscaped + "/deviceStatuses/" + tt.wantEscaped
		if got != want {
			t.Errorf("id %q: server saw path %q, want %q", tt.id, got, want)
		}
		if n := strings.Count(got, "/"); n != 8 {
			t.Errorf("id %q: path %q has %d slashes, want 8", tt.id, got, n)
		}
	}
	before := len(sc.Requests())
	for _, id := range refused {
		for _, tg := range []Target{
			{AppID: id, StatusID: "s"},
			{AppID: "a", UserStatusID: id, StatusID: "s"},
			{AppID: "a", StatusID: id},
		} {
			res := c.Patch(ctx, Write{Target: tg, Body: []byte(`{}`)})
			if !errors.Is(res.Err, ErrInvalidID) || res.Attempts != 0 {
				t.Errorf("Patch(%q): Err %v, Attempts %d; want ErrInvalidID, 0 attempts", id, res.Err, res.Attempts)
			}
			if res := c.Get(ctx, tg); !errors.Is(res.Err, ErrInvalidID) {
				t.Errorf("Get(%q): Err %v, want ErrInvalidID", id, res.Err)
			}
			rs := c.PatchBatch(ctx, []Write{{Target: tg, Body: []byte(`{}`)}})
			if !errors.Is(rs[0].Err, ErrInvalidID) {
				t.Errorf("PatchBatch(%q): Err %v, want ErrInvalidID", id, rs[0].Err)
			}
		}
		if err := c.List(ctx, id, "", func(json.RawMessage) error { return nil }); !errors.Is(err, ErrInvalidID) {
			t.Errorf("List(%q): %v, want ErrInvalidID", id, err)
		}
	}
	if after := len(sc.Requests()); after != before {
		t.Errorf("refused ids sent %d requests, want 0", after-before)
	}
}
