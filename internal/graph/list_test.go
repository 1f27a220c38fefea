package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// pages serves a collection as the given pages; page i links to page i+1
// with an absolute nextLink built by link (nil: on this server).
func pages(srv **httptest.Server, objs [][]string, link func(next int) string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		i := 0
		if p := r.URL.Query().Get("page"); p != "" {
			fmt.Sscan(p, &i)
		}
		page := map[string]any{"value": json.RawMessage("[" + strings.Join(objs[i], ",") + "]")}
		if i+1 < len(objs) {
			if link != nil {
				page["@odata.nextLink"] = link(i + 1)
			} else {
				page["@odata.nextLink"] = fmt.Sprintf("%s%s?page=%d&$skiptoken=abc%%3D", (*srv).URL, r.URL.EscapedPath(), i+1)
			}
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(page)
	}
}

func TestListAcrossPages(t *testing.T) {
	var srv *httptest.Server
	objs := [][]string{{`{"id":"1"}`, `{"id":"2"}`}, {}, {`{"id":"3"}`}}
	sc := &script{}
	srv = httptest.NewServer(sc)
	defer srv.Close()
	tok := &fakeTokens{tok: "secret-token-a"}
	sc.steps = []http.HandlerFunc{reply(429, "", "Retry-After", "1"), pages(&srv, objs, nil)}
	clk := newFakeClock(true)
	c, err := New(Config{BaseURL: srv.URL + "/beta", HTTPClient: srv.Client(), Tokens: tok, MaxRetries: 2, Clock: clk, ReadRate: 10})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	err = c.List(context.Background(), "/deviceAppManagement/mobileApps/app-1/userStatuses/u-1/deviceStatuses", func(obj json.RawMessage) error {
		got = append(got, string(obj))
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff([]string{`{"id":"1"}`, `{"id":"2"}`, `{"id":"3"}`}, got); diff != "" {
		t.Errorf("objects (-want +got):\n%s", diff)
	}
	reqs := sc.Requests()
	var urls []string
	for _, r := range reqs {
		urls = append(urls, r.Method+" "+r.Path+"?"+r.Query)
		if r.Auth != "Bearer secret-token-a" {
			t.Errorf("request without the token: %+v", r)
		}
	}
	coll := "/beta/deviceAppManagement/mobileApps/app-1/userStatuses/u-1/deviceStatuses"
	want := []string{
		"GET " + coll + "?", // 429
		"GET " + coll + "?", // retried
		"GET " + coll + "?page=1&$skiptoken=abc%3D",
		"GET " + coll + "?page=2&$skiptoken=abc%3D",
	}
	if diff := cmp.Diff(want, urls); diff != "" {
		t.Errorf("requests (-want +got):\n%s", diff)
	}
	if st := c.Stats(); st.Reads != 4 || st.Throttled != 1 || st.Writes != 0 {
		t.Errorf("Stats %+v", st)
	}
	// The read 429 was evidence about reads, not writes.
	if c.writes.ctl.nAnswers != 0 || c.reads.ctl.nAnswers != 4 {
		t.Errorf("answers seen: writes %d, reads %d; want 0 and 4", c.writes.ctl.nAnswers, c.reads.ctl.nAnswers)
	}
}

func TestListRefusesForeignNextLink(t *testing.T) {
	other := &script{steps: []http.HandlerFunc{reply(200, `{"value":[{"id":"stolen"}]}`)}}
	evil := httptest.NewServer(other)
	defer evil.Close()
	links := map[string]string{
		"other port":      evil.URL + "/beta/x?page=1",
		"other scheme":    "https://" + strings.TrimPrefix(evil.URL, "http://") + "/beta/x",
		"other host":      "https://graph.evil.example/beta/x",
		"userinfo":        "http://user@" + strings.TrimPrefix(evil.URL, "http://") + "/beta/x",
		"scheme-relative": "//graph.evil.example/beta/x",
	}
	for name, link := range links {
		var srv *httptest.Server
		sc := &script{}
		srv = httptest.NewServer(sc)
		sc.steps = []http.HandlerFunc{pages(&srv, [][]string{{`{"id":"1"}`}, {`{"id":"2"}`}}, func(int) string { return link })}
		c, err := New(Config{BaseURL: srv.URL + "/beta", HTTPClient: srv.Client(), Clock: newFakeClock(true)})
		if err != nil {
			t.Fatal(err)
		}
		n := 0
		err = c.List(context.Background(), "/deviceAppManagement/mobileApps/app/deviceStatuses", func(json.RawMessage) error { n++; return nil })
		if !errors.Is(err, ErrForeignNextLink) {
			t.Errorf("%s: List = %v, want ErrForeignNextLink", name, err)
		}
		if n != 1 || len(sc.Requests()) != 1 {
			t.Errorf("%s: %d objects, %d requests; want 1 and 1", name, n, len(sc.Requests()))
		}
		srv.Close()
	}
	if len(other.Requests()) != 0 {
		t.Errorf("the other host got %d requests", len(other.Requests()))
	}
}

func TestListStops(t *testing.T) {
	var srv *httptest.Server
	sc := &script{}
	srv = httptest.NewServer(sc)
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL + "/beta", HTTPClient: srv.Client(), Clock: newFakeClock(true)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	noop := func(json.RawMessage) error { return nil }

	// fn's error comes back unchanged and no further page is fetched.
	sc.setSteps(pages(&srv, [][]string{{`{"id":"1"}`, `{"id":"2"}`}, {`{"id":"3"}`}}, nil))
	stop := errors.New("enough")
	if err := c.List(ctx, "/deviceAppManagement/mobileApps/app/deviceStatuses", func(json.RawMessage) error { return stop }); err != stop {
		t.Errorf("List = %v, want fn's error", err)
	}
	if len(sc.Requests()) != 1 {
		t.Errorf("%d requests after fn failed, want 1", len(sc.Requests()))
	}

	tests := []struct {
		name string
		step http.HandlerFunc
		is   func(error) bool
	}{
		{"segment removed", reply(400, `{"error":{"code":"BadRequest","message":"Resource not found for the segment 'deviceStatuses'."}}`), IsSegmentRemoved},
		{"not a page", reply(200, `{"id":"x"}`), func(err error) bool { return err != nil && strings.Contains(err.Error(), "not a collection page") }},
		{"no body", reply(204, ""), func(err error) bool { return err != nil }},
		{"same link again", reply(200, `{"value":[],"@odata.nextLink":"`+srv.URL+`/beta/deviceAppManagement/mobileApps/app/deviceStatuses"}`),
			func(err error) bool { return err != nil && strings.Contains(err.Error(), "repeats") }},
	}
	for _, tt := range tests {
		sc.setSteps(tt.step)
		if err := c.List(ctx, "/deviceAppManagement/mobileApps/app/deviceStatuses", noop); !tt.is(err) {
			t.Errorf("%s: List = %v", tt.name, err)
		}
	}
}

// TestTransportErrorHidesQuery: a transport error repeats the URL; the
// nextLink's paging query must not travel into results and logs.
func TestTransportErrorHidesQuery(t *testing.T) {
	var srv *httptest.Server
	sc := &script{}
	srv = httptest.NewServer(sc)
	defer srv.Close()
	sc.setSteps(pages(&srv, [][]string{{}, {}}, nil), hangUp)
	c, err := New(Config{BaseURL: srv.URL + "/beta", HTTPClient: srv.Client(), Clock: newFakeClock(true)})
	if err != nil {
		t.Fatal(err)
	}
	err = c.List(context.Background(), "/deviceAppManagement/mobileApps/app/deviceStatuses", func(json.RawMessage) error { return nil })
	if err == nil || strings.Contains(err.Error(), "skiptoken") || !strings.Contains(err.Error(), "page 2") {
		t.Errorf("List = %v, want a page 2 error without the query", err)
	}
}
