package graph

import (
	"context"
	"encoding/json"
	"errors"
	"net/url"
	"strings"
	"testing"
)

func TestCheckPath(t *testing.T) {
	tests := []struct {
		in, path, query string
		wantErr         bool
	}{
		{"/deviceAppManagement/mobileApps/a/deviceStatuses/s", "/deviceAppManagement/mobileApps/a/deviceStatuses/s", "", false},
		{"/deviceManagement/managedDevices/9b1c-Ab_x.y~z", "/deviceManagement/managedDevices/9b1c-Ab_x.y~z", "", false},
		{"/a/d:1@2+3=4&5$6", "/a/d:1@2+3=4&5$6", "", false},
		{"/a/%EF%BD%86%EF%BC%8F", "/a/%EF%BD%86%EF%BC%8F", "", false}, // ｆ／: not an ASCII '/'
		{"/a/x%3By%2Cz", "/a/x%3By%2Cz", "", false},
		{"/a/%C3%A9", "/a/%C3%A9", "", false},
		{"/a/...", "/a/...", "", false},
		{"/deviceManagement/managedDevices/abc?$select=id%2Cnotes", "/deviceManagement/managedDevices/abc", "$select=id%2Cnotes", false},
		{"/a/b?$select=id,notes&$top=5", "/a/b", "$select=id,notes&$top=5", false},
		{"/a/b?", "/a/b", "", false},

		{"", "", "", true},
		{"deviceManagement/managedDevices/abc", "", "", true},
		{"/", "", "", true},
		{"//a", "", "", true},
		{"/a//b", "", "", true},
		{"/a/b/", "", "", true},
		{"/a/.", "", "", true},
		{"/a/../b", "", "", true},
		{"/a/%2e%2E", "", "", true},
		{"/a/%2E", "", "", true},
		{"/a/x%2Fy", "", "", true},
		{"/a/x%2fy", "", "", true},
		{`/a/x\y`, "", "", true},
		{"/a/x%5Cy", "", "", true},
		{"/a/x%3Fy", "", "", true},
		{"/a/x#y", "", "", true},
		{"/a/x%23y", "", "", true},
		{"/a/x%25y", "", "", true},
		{"/a/x%", "", "", true},
		{"/a/x%zzy", "", "", true},
		{"/a/x y", "", "", true},
		{"/a/x%20y", "", "", true},
		{"/a/x%09y", "", "", true},
		{"/a/x\ny", "", "", true},
		{"/a/x%00y", "", "", true},
		{"/a/x%7Fy", "", "", true},
		{"/a/x%C2%85y", "", "", true},    // NEL
		{"/a/x%C2%A0y", "", "", true},    // no-break space
		{"/a/x%E3%80%80y", "", "", true}, // ideographic space
		{"/a/x%FFy", "", "", true},       // invalid UTF-8
		{"/a/x\xffy", "", "", true},
		{"/a/b?x=%zz", "", "", true},
		{"/a/b?x=1;y=2", "", "", true},
		{"/a/b?x=a b", "", "", true},
		{"/a/b?x=#f", "", "", true},
		{"/a/b?x=\x01", "", "", true},
		{"/a/b?x=é", "", "", true},
	}
	for _, tt := range tests {
		path, query, err := checkPath(tt.in)
		if (err != nil) != tt.wantErr || path != tt.path || query != tt.query {
			t.Errorf("checkPath(%q) = %q, %q, %v; want %q, %q, error %v", tt.in, path, query, err, tt.path, tt.query, tt.wantErr)
		}
		if err != nil && !errors.Is(err, ErrInvalidID) {
			t.Errorf("checkPath(%q) error %v does not wrap ErrInvalidID", tt.in, err)
		}
	}
}

// TestHostileIDsOnTheWire checks the path the server actually receives:
// an id escaped as package resource escapes it stays one segment, and a
// path graph refuses never reaches the server at all, through any entry
// point.
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
	// Each is refused escaped (as a caller that escapes but did not
	// validate would send it) and, where graph can tell, raw.
	refused := []string{"..", ".", "%2F", "%2e%2e", "a/b", "a?b", "a#b", `a\b`, "a b", "a\nb", "a%b", "a\xffb"}

	c, sc, _ := newTestClient(t, nil, reply(204, ""))
	ctx := context.Background()
	for _, tt := range accepted {
		seg := url.PathEscape(tt.id)
		p := "/deviceAppManagement/mobileApps/app/userStatuses/" + seg + "/deviceStatuses/" + seg
		res := c.Send(ctx, Write{Path: p, Body: []byte(`{}`)})
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
	var paths []string
	for _, id := range refused {
		for _, seg := range []string{url.PathEscape(id), id} {
			if seg == id && strings.ContainsAny(id, "/?") {
				continue // raw, it is a separator graph cannot tell from one
			}
			paths = append(paths,
				"/deviceAppManagement/mobileApps/"+seg+"/deviceStatuses/s",
				"/deviceAppManagement/mobileApps/a/userStatuses/"+seg+"/deviceStatuses/s",
				"/deviceAppManagement/mobileApps/a/deviceStatuses/"+seg)
		}
	}
	for _, p := range paths {
		res := c.Send(ctx, Write{Path: p, Body: []byte(`{}`)})
		if !errors.Is(res.Err, ErrInvalidID) || res.Attempts != 0 {
			t.Errorf("Send(%q): Err %v, Attempts %d; want ErrInvalidID, 0 attempts", p, res.Err, res.Attempts)
		}
		if res := c.Get(ctx, p); !errors.Is(res.Err, ErrInvalidID) || res.Attempts != 0 {
			t.Errorf("Get(%q): Err %v, want ErrInvalidID", p, res.Err)
		}
		rs := c.SendBatch(ctx, []Write{{Path: p, Body: []byte(`{}`)}})
		if !errors.Is(rs[0].Err, ErrInvalidID) || rs[0].Attempts != 0 {
			t.Errorf("SendBatch(%q): Err %v, want ErrInvalidID", p, rs[0].Err)
		}
		if err := c.List(ctx, p, func(json.RawMessage) error { return nil }); !errors.Is(err, ErrInvalidID) {
			t.Errorf("List(%q): %v, want ErrInvalidID", p, err)
		}
	}
	// A write takes no query: a raw '?' there is an id nobody escaped.
	for _, p := range []string{target + "?x=1", target + "?", "/deviceAppManagement/mobileApps/a?b/deviceStatuses/s"} {
		if res := c.Send(ctx, Write{Path: p, Body: []byte(`{}`)}); !errors.Is(res.Err, ErrInvalidID) {
			t.Errorf("Send(%q): Err %v, want ErrInvalidID", p, res.Err)
		}
		if rs := c.SendBatch(ctx, []Write{{Path: p, Body: []byte(`{}`)}}); !errors.Is(rs[0].Err, ErrInvalidID) {
			t.Errorf("SendBatch(%q): Err %v, want ErrInvalidID", p, rs[0].Err)
		}
	}
	if after := len(sc.Requests()); after != before {
		t.Errorf("refused paths sent %d requests, want 0", after-before)
	}
}

// TestWriteRefusals: a method that is not a write's and a body that is
// not JSON are refused before anything is sent, by Send and SendBatch.
func TestWriteRefusals(t *testing.T) {
	c, sc, _ := newTestClient(t, nil, reply(204, ""))
	ctx := context.Background()
	for _, w := range []Write{
		{Method: "GET", Path: target, Body: []byte(`{}`)},
		{Method: "patch", Path: target, Body: []byte(`{}`)},
		{Method: "PATCH\r\nX: y", Path: target},
		{Path: target, Body: []byte(`{"x":`)},
		{Path: target, Body: []byte(`{} {}`)},
	} {
		if res := c.Send(ctx, w); res.Err == nil || res.Attempts != 0 || res.ClientRequestID == "" {
			t.Errorf("Send(%q %q) = %+v, want a refusal with a client-request-id", w.Method, w.Body, res)
		}
		if rs := c.SendBatch(ctx, []Write{w}); rs[0].Err == nil || rs[0].Attempts != 0 {
			t.Errorf("SendBatch(%q %q) = %+v, want a refusal", w.Method, w.Body, rs[0])
		}
	}
	if n := len(sc.Requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}
