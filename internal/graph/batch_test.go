package graph

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

type sentItem struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body"`
}

type itemAnswer struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batchServer answers $batch POSTs with answer(post number, items) and
// records every POST's items. answer writes the whole response itself
// when it returns nil.
type batchServer struct {
	mu     sync.Mutex
	posts  [][]sentItem
	paths  []string
	auths  []string
	answer func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer
}

func (b *batchServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Requests []sentItem `json:"requests"`
	}
	if err := json.NewDecoder(r.Body).Decode(&req); err != nil {
		http.Error(w, err.Error(), 400)
		return
	}
	b.mu.Lock()
	b.posts = append(b.posts, req.Requests)
	b.paths = append(b.paths, r.Method+" "+r.URL.EscapedPath())
	b.auths = append(b.auths, r.Header.Get("Authorization"))
	n := len(b.posts)
	b.mu.Unlock()
	items := b.answer(n, req.Requests, w)
	if items == nil {
		return
	}
	w.Header().Set("Content-Type", "application/json")
	json.NewEncoder(w).Encode(map[string]any{"responses": items})
}

func (b *batchServer) Posts() [][]sentItem {
	b.mu.Lock()
	defer b.mu.Unlock()
	return slices.Clone(b.posts)
}

func newBatchClient(t *testing.T, mod func(*Config), answer func(int, []sentItem, http.ResponseWriter) []itemAnswer) (*Client, *batchServer, *fakeClock) {
	t.Helper()
	bs := &batchServer{answer: answer}
	srv := httptest.NewServer(bs)
	t.Cleanup(srv.Close)
	clk := newFakeClock(true)
	cfg := Config{BaseURL: srv.URL + "/beta", HTTPClient: srv.Client(), MaxRetries: 5, Clock: clk, Rand: func() float64 { return 0.5 }}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, bs, clk
}

func writes(n int) []Write {
	ws := make([]Write, n)
	for i := range ws {
		ws[i] = Write{
			Path:            "/deviceAppManagement/mobileApps/app/deviceStatuses/s" + strconv.Itoa(i),
			Body:            []byte(fmt.Sprintf(`{"errorCode":%d,"deviceName":"<pc&%d>"}`, i, i)),
			ClientRequestID: "crid-" + strconv.Itoa(i),
		}
	}
	return ws
}

func ok204(items []sentItem) []itemAnswer {
	out := make([]itemAnswer, len(items))
	for i, it := range items {
		out[i] = itemAnswer{ID: it.ID, Status: 204}
	}
	return out
}

// TestBatchShuffledWithThrottledItem: answers come back in reverse order;
// item 2 gets a 429 with its own Retry-After and is sent again alone,
// after exactly that wait.
func TestBatchShuffledWithThrottledItem(t *testing.T) {
	c, bs, clk := newBatchClient(t, nil, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		var out []itemAnswer
		for _, it := range items {
			a := itemAnswer{ID: it.ID, Status: 200, Body: json.RawMessage(`{"id":"` + it.URL + `"}`), Headers: map[string]string{"request-id": "rid-" + it.ID}}
			if n == 1 && it.ID == "2" {
				a = itemAnswer{ID: it.ID, Status: 429, Headers: map[string]string{"retry-after": "7.5"},
					Body: json.RawMessage(`{"error":{"code":"TooManyRequests","message":"slow"}}`)}
			}
			out = append(out, a)
		}
		slices.Reverse(out)
		return out
	})
	ws := writes(3)
	res := c.SendBatch(context.Background(), ws)

	posts := bs.Posts()
	if len(posts) != 2 {
		t.Fatalf("%d POSTs, want 2", len(posts))
	}
	wantFirst := []sentItem{}
	for i, w := range ws {
		p := w.Path
		wantFirst = append(wantFirst, sentItem{
			ID: strconv.Itoa(i + 1), Method: "PATCH", URL: p, Body: json.RawMessage(w.Body),
			Headers: map[string]string{"Content-Type": "application/json", "client-request-id": w.ClientRequestID},
		})
	}
	if diff := cmp.Diff(wantFirst, posts[0]); diff != "" {
		t.Errorf("first POST (-want +got):\n%s", diff)
	}
	if diff := cmp.Diff(wantFirst[1:2], posts[1]); diff != "" {
		t.Errorf("second POST should carry item 2 alone (-want +got):\n%s", diff)
	}
	if bs.paths[0] != "POST /beta/$batch" {
		t.Errorf("sent %q, want POST /beta/$batch", bs.paths[0])
	}
	if diff := cmp.Diff([]time.Duration{7500 * time.Millisecond}, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
	for i, r := range res {
		p := ws[i].Path
		wantAttempts, wantThrottled, wantDur := 1, 0, time.Duration(0)
		if i == 1 {
			wantAttempts, wantThrottled, wantDur = 2, 1, 7500*time.Millisecond
		}
		if r.Err != nil || r.Status != 200 || r.Attempts != wantAttempts || r.Throttled != wantThrottled ||
			string(r.Body) != `{"id":"`+p+`"}` || r.RequestID != "rid-"+strconv.Itoa(i+1) ||
			r.ClientRequestID != ws[i].ClientRequestID || r.Duration != wantDur {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	if st := c.Stats(); st.Requests != 2 || st.Writes != 4 || st.Throttled != 1 || st.Retries != 1 {
		t.Errorf("Stats %+v", st)
	}
}

func TestBatchSplitsAt20AndPacesEachItem(t *testing.T) {
	c, bs, clk := newBatchClient(t, func(cfg *Config) { cfg.WriteRate = 4 }, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		return ok204(items)
	})
	res := c.SendBatch(context.Background(), writes(45))
	var sizes []int
	for _, p := range bs.Posts() {
		sizes = append(sizes, len(p))
	}
	if diff := cmp.Diff([]int{20, 20, 5}, sizes); diff != "" {
		t.Errorf("POST sizes (-want +got):\n%s", diff)
	}
	for i, r := range res {
		if r.Err != nil || r.Status != 204 || r.Attempts != 1 || r.Body != nil {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	// 45 items at 4/s: three frames of 20 slots, back to back, each POST
	// leaving at its frame's last slot. A full group books in the second
	// half of its frame (smaller groups go first), so the clock is asked
	// for 9+10, 10+10 and 20 slots.
	slot := time.Duration(float64(spacing(4)) / frameShare)
	var at time.Duration
	var leaves []time.Duration
	waits := clk.Waits()
	for i, w := range waits {
		at += w
		if i != 0 && i != 2 {
			leaves = append(leaves, at)
		}
	}
	if len(waits) != 5 {
		t.Fatalf("waits %v, want 5", waits)
	}
	for i, want := range []time.Duration{19 * slot, 39 * slot, 59 * slot} {
		if !closeTo(leaves[i], want) {
			t.Errorf("POST %d left at %v, want %v (slot %v)", i+1, leaves[i], want, slot)
		}
	}
}

func TestBatchMissingAndUnknownIDs(t *testing.T) {
	c, bs, _ := newBatchClient(t, nil, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		out := ok204(items)
		if n == 1 {
			out = out[1:]                                        // item 1 missing
			out = append(out, itemAnswer{ID: "99", Status: 204}) // unknown
		}
		return out
	})
	res := c.SendBatch(context.Background(), writes(2))
	posts := bs.Posts()
	if len(posts) != 2 || len(posts[1]) != 1 || posts[1][0].ID != "1" {
		t.Fatalf("POSTs %+v, want item 1 resent alone", posts)
	}
	if res[0].Err != nil || res[0].Attempts != 2 || res[1].Err != nil || res[1].Attempts != 1 {
		t.Errorf("results %+v", res)
	}
}

func TestBatchMissingForever(t *testing.T) {
	c, _, _ := newBatchClient(t, func(cfg *Config) { cfg.MaxRetries = 2 }, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		return []itemAnswer{}
	})
	res := c.SendBatch(context.Background(), writes(1))
	if !errors.Is(res[0].Err, errMissingItem) || res[0].Attempts != 3 || res[0].Status != 0 {
		t.Errorf("result %+v, want errMissingItem after 3 attempts", res[0])
	}
}

func TestBatchWholePostTransient(t *testing.T) {
	c, bs, clk := newBatchClient(t, nil, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		switch n {
		case 1:
			w.Header().Set("Retry-After", "2")
			w.WriteHeader(503)
			return nil
		case 2:
			hangUp(w, nil)
			return nil
		}
		return ok204(items)
	})
	res := c.SendBatch(context.Background(), writes(3))
	posts := bs.Posts()
	if len(posts) != 3 || len(posts[1]) != 3 || len(posts[2]) != 3 {
		t.Fatalf("POST sizes wrong: %d posts", len(posts))
	}
	for i, r := range res {
		if r.Err != nil || r.Attempts != 3 || r.Status != 204 {
			t.Errorf("result %d = %+v", i, r)
		}
	}
	// The 503's Retry-After, then the brief backoff of an isolated
	// failure for retry 2 (window 200 ms, draw 0.5).
	if diff := cmp.Diff([]time.Duration{2 * time.Second, 100 * time.Millisecond}, clk.Waits()); diff != "" {
		t.Errorf("waits (-want +got):\n%s", diff)
	}
}

func TestBatchItemErrorsAndFinalPost(t *testing.T) {
	c, _, _ := newBatchClient(t, nil, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		return []itemAnswer{
			{ID: "1", Status: 404, Body: json.RawMessage(errBody404)},
			{ID: "2", Status: 400, Body: json.RawMessage(`{"error":{"code":"","message":"Resource not found for the segment 'deviceStatuses'."}}`)},
			{ID: "3", Status: 204},
		}
	})
	res := c.SendBatch(context.Background(), writes(3))
	var e *APIError
	if !errors.As(res[0].Err, &e) || e.Status != 404 || e.Code != "ResourceNotFound" || res[0].Attempts != 1 || res[0].RequestID != "inner-rid" {
		t.Errorf("item 1 = %+v", res[0])
	}
	if !IsSegmentRemoved(res[1].Err) || res[1].Attempts != 1 {
		t.Errorf("item 2 = %+v, want the removed-segment error", res[1])
	}
	if res[2].Err != nil {
		t.Errorf("item 3 = %+v", res[2])
	}

	c2, bs2, _ := newBatchClient(t, nil, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		w.WriteHeader(403)
		w.Write([]byte(`{"error":{"code":"Forbidden","message":"no"}}`))
		return nil
	})
	res = c2.SendBatch(context.Background(), writes(2))
	for i, r := range res {
		if !errors.As(r.Err, &e) || e.Status != 403 || r.Attempts != 1 {
			t.Errorf("403 POST: result %d = %+v", i, r)
		}
	}
	if len(bs2.Posts()) != 1 {
		t.Errorf("403 POST was retried")
	}
}

func TestBatchItem401RefreshOnce(t *testing.T) {
	tok := &fakeTokens{tok: "secret-token-a"}
	c, bs, _ := newBatchClient(t, func(cfg *Config) { cfg.Tokens = tok }, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		out := ok204(items)
		for i := range out {
			if out[i].ID == "1" { // item 1 is always refused
				out[i].Status = 401
				out[i].Body = json.RawMessage(`{"error":{"code":"InvalidAuthenticationToken","message":"expired"}}`)
			}
		}
		return out
	})
	res := c.SendBatch(context.Background(), writes(2))
	var e *APIError
	if !errors.As(res[0].Err, &e) || e.Status != 401 || res[0].Attempts != 2 {
		t.Errorf("item 1 = %+v, want final 401 after 2 attempts", res[0])
	}
	if res[1].Err != nil || res[1].Attempts != 1 {
		t.Errorf("item 2 = %+v", res[1])
	}
	if tok.refreshes != 1 {
		t.Errorf("%d refreshes, want 1", tok.refreshes)
	}
	if bs.auths[1] != "Bearer secret-token-b" {
		t.Errorf("retry sent %q, want the refreshed token", bs.auths[1])
	}
}

func TestBatchInvalidBodyNotSent(t *testing.T) {
	c, bs, _ := newBatchClient(t, nil, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer { return ok204(items) })
	ws := writes(2)
	ws[0].Body = []byte(`{"x":`)
	res := c.SendBatch(context.Background(), ws)
	if res[0].Err == nil || res[0].Attempts != 0 || res[1].Err != nil {
		t.Errorf("results %+v", res)
	}
	if posts := bs.Posts(); len(posts) != 1 || len(posts[0]) != 1 || posts[0][0].ID != "2" {
		t.Errorf("posts %+v, want only item 2", posts)
	}
	if got := c.SendBatch(context.Background(), nil); len(got) != 0 {
		t.Errorf("PatchBatch(nil) = %v", got)
	}
}

func TestBatchCancelled(t *testing.T) {
	bs := &batchServer{answer: func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		out := ok204(items)
		out[0] = itemAnswer{ID: out[0].ID, Status: 429, Headers: map[string]string{"Retry-After": "600"}}
		return out
	}}
	srv := httptest.NewServer(bs)
	defer srv.Close()
	clk := newFakeClock(false)
	c, err := New(Config{BaseURL: srv.URL + "/beta", HTTPClient: srv.Client(), MaxRetries: 3, Clock: clk})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan []Result)
	go func() { done <- c.SendBatch(ctx, writes(2)) }()
	clk.BlockUntil(t, 1)
	cancel()
	res := <-done
	if !errors.Is(res[0].Err, context.Canceled) || res[0].Throttled != 1 || res[1].Err != nil {
		t.Errorf("results %+v", res)
	}
}

func TestDecodeBatchResponse(t *testing.T) {
	tests := []struct {
		name    string
		body    string
		want    []batchItem
		wantErr bool
	}{
		{"ok", `{"responses":[{"id":"2","status":204,"headers":{"retry-after":"1.5","X-N":3}},{"id":"1","status":200,"body":{"id":"x"}}]}`,
			[]batchItem{
				{ID: "2", Status: 204, Header: http.Header{"Retry-After": {"1.5"}, "X-N": {"3"}}},
				{ID: "1", Status: 200, Header: http.Header{}, Body: json.RawMessage(`{"id":"x"}`)},
			}, false},
		{"numeric id and string status", `{"responses":[{"id":3,"status":"429"}]}`,
			[]batchItem{{ID: "3", Status: 429, Header: http.Header{}}}, false},
		{"bad items dropped", `{"responses":[1,"x",null,{"status":200},{"id":"1"},{"id":"2","status":99},{"id":"3","status":600},{"id":"4","status":2.5},{"id":{},"status":200}]}`,
			[]batchItem{}, false},
		{"null body", `{"responses":[{"id":"1","status":204,"body":null,"headers":null}]}`,
			[]batchItem{{ID: "1", Status: 204, Header: http.Header{}}}, false},
		{"empty responses", `{"responses":[]}`, []batchItem{}, false},
		{"no responses", `{}`, nil, true},
		{"not JSON", `<html>`, nil, true},
		{"empty", ``, nil, true},
		{"responses not an array", `{"responses":{}}`, nil, true},
	}
	for _, tt := range tests {
		got, err := decodeBatchResponse([]byte(tt.body))
		if (err != nil) != tt.wantErr {
			t.Errorf("%s: err %v, want error %v", tt.name, err, tt.wantErr)
		}
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%s: (-want +got):\n%s", tt.name, diff)
		}
	}
}
