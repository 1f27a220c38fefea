package graph

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
)

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"5", "2.128", "0.249", "0.0000000001", "3600.000000001", "-1", "NaN", "Inf", "1e3",
		"Fri, 02 Jan 2026 03:04:35 GMT", "Friday, 02-Jan-26 03:04:35 GMT", "Fri Jan  2 03:04:35 2026", "",
		"99999999999999999999", "1.", ".1", " 7 "} {
		f.Add(s)
	}
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f.Fuzz(func(t *testing.T, v string) {
		d, ok := ParseRetryAfter(v, now)
		if d < 0 || d > MaxRetryAfter {
			t.Fatalf("ParseRetryAfter(%q) = %v out of [0, %v]", v, d, MaxRetryAfter)
		}
		if !ok && d != 0 {
			t.Fatalf("ParseRetryAfter(%q) = %v with ok false", v, d)
		}
		// A delta that is not all zeros must not come back as zero.
		tv := strings.TrimSpace(v)
		if ok && d == 0 && strings.ContainsAny(tv, "123456789") && !strings.Contains(tv, " ") {
			t.Fatalf("ParseRetryAfter(%q) rounded a positive delta to 0", v)
		}
		if ok && strings.HasPrefix(tv, "-") {
			t.Fatalf("ParseRetryAfter(%q) accepted a negative value", v)
		}
	})
}

func FuzzDecodeError(f *testing.F) {
	f.Add(404, errBody404, "5", "")
	f.Add(400, `{"error":{"code":"","message":"Resource not found for the segment 'deviceStatuses'."}}`, "", "")
	f.Add(429, `{"error":{"code":"TooManyRequests","message":{"lang":"en","value":"x"},"innererror":{"request-id":7}}}`, "2.128", "Fri, 02 Jan 2026 03:04:05 GMT")
	f.Add(502, "<html>\x00\xff</html>", "Fri, 02 Jan 2026 03:04:35 GMT", "Fri, 02 Jan 2026 03:04:05 GMT")
	f.Add(500, `{"error":null}`, "-1", "")
	f.Add(0, `[{"error":{}}]`, "", "garbage")
	f.Fuzz(func(t *testing.T, status int, body, retryAfter, date string) {
		h := http.Header{}
		if retryAfter != "" {
			h.Set("Retry-After", retryAfter)
		}
		if date != "" {
			h.Set("Date", date)
		}
		e := decodeError(status, h, []byte(body))
		if e == nil || e.Status != status {
			t.Fatalf("decodeError lost the status: %+v", e)
		}
		if e.RetryAfter < 0 || e.RetryAfter > MaxRetryAfter {
			t.Fatalf("RetryAfter %v out of range", e.RetryAfter)
		}
		msg := e.Error()
		if strings.ContainsAny(msg, "\n\r\x00") {
			t.Fatalf("Error() has control characters: %q", msg)
		}
		if n := len([]rune(msg)); n > 600 {
			t.Fatalf("Error() is %d runes long", n)
		}
		_ = IsSegmentRemoved(e)
	})
}

func FuzzDecodeBatchResponse(f *testing.F) {
	f.Add(`{"responses":[{"id":"1","status":204},{"id":"2","status":429,"headers":{"Retry-After":"7"},"body":{"error":{"code":"TooManyRequests"}}}]}`)
	f.Add(`{"responses":[{"id":3,"status":"200","body":"eyJ9"}]}`)
	f.Add(`{"responses":[1,null,"x",{"id":{},"status":[]}]}`)
	f.Add(`{"responses":{}}`)
	f.Add(`{"responses":[{"id":"1","status":200,"headers":{"a":null,"b":[1],"c":{"d":1}}}]}`)
	f.Add(``)
	f.Fuzz(func(t *testing.T, body string) {
		items, err := decodeBatchResponse([]byte(body))
		if err != nil {
			if items != nil {
				t.Fatalf("items %v with error %v", items, err)
			}
			return
		}
		for _, it := range items {
			if it.ID == "" || it.Status < 100 || it.Status > 599 || it.Header == nil {
				t.Fatalf("bad item kept: %+v", it)
			}
			if it.Body != nil && !json.Valid(it.Body) {
				t.Fatalf("item body is not JSON: %q", it.Body)
			}
			// Each item feeds decodeError in the client: it must hold too.
			e := decodeError(it.Status, it.Header, it.Body)
			if e.RetryAfter < 0 {
				t.Fatalf("negative RetryAfter from %+v", it)
			}
		}
	})
}

// FuzzCheckPath: a path checkPath accepts reaches the server as the same
// segments, none of them a dot segment or hiding a separator, and its
// query survives URL parsing unchanged.
func FuzzCheckPath(f *testing.F) {
	for _, s := range []string{target, "/a/%2e%2e", "/a/x%2Fy", "/a/b?$select=id%2Cnotes", "/a/%EF%BC%8F", "/a/./b",
		"//a", "/a/b?x=1;y", "/a/%zz", "/a/b#c", "/a/\u00a0", "/a/d:1@2+3=4&5$6"} {
		f.Add(s)
	}
	const base = "https://graph.microsoft.com/beta"
	f.Fuzz(func(t *testing.T, in string) {
		p, q, err := checkPath(in)
		if err != nil {
			if !errors.Is(err, ErrInvalidID) {
				t.Fatalf("checkPath(%q) error %v does not wrap ErrInvalidID", in, err)
			}
			return
		}
		raw := base + p
		if q != "" {
			raw += "?" + q
		}
		u, err := url.Parse(raw)
		if err != nil {
			t.Fatalf("checkPath(%q) accepted %q, which does not parse: %v", in, raw, err)
		}
		if u.Host != "graph.microsoft.com" || u.RawQuery != q || u.Fragment != "" {
			t.Fatalf("checkPath(%q): URL %q has host %q, query %q, fragment %q", in, raw, u.Host, u.RawQuery, u.Fragment)
		}
		want := strings.Split(p[1:], "/")
		got := strings.Split(strings.TrimPrefix(u.EscapedPath(), "/beta/"), "/")
		if len(got) != len(want) {
			t.Fatalf("checkPath(%q): server would see %d segments %q, want %d", in, len(got), got, len(want))
		}
		for _, seg := range got {
			id, err := url.PathUnescape(seg)
			if err != nil || id == "" || id == "." || id == ".." || strings.ContainsAny(id, "/\\?#%") {
				t.Fatalf("checkPath(%q): server would see segment %q (%q)", in, seg, id)
			}
		}
	})
}
