package graph

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
)

// outcome is what a test server gives one attempt: the same answer to a
// request sent alone and to the only item of a $batch POST.
type outcome struct {
	status  int      // 0: hang up without answering (the whole POST, for a batch)
	headers []string // pairs, the answer's (or the item's) own headers
	body    string   // JSON or empty
}

// stepServer answers the n-th request with steps[n] (the last repeats),
// directly or, when batch is set, as the only item of a $batch answer.
// hook, when set, runs before each answer and may block.
type stepServer struct {
	batch bool
	steps []outcome
	hook  func(*http.Request)

	mu sync.Mutex
	n  int
}

func (s *stepServer) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	var req struct {
		Requests []struct {
			ID string `json:"id"`
		} `json:"requests"`
	}
	// Read the whole body, so that the server notices a client that
	// hangs up (and ends r's context) while hook holds the answer back.
	b, _ := io.ReadAll(r.Body)
	if s.batch && (json.Unmarshal(b, &req) != nil || len(req.Requests) != 1) {
		http.Error(w, "want a $batch POST of one item", http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	step := s.steps[min(s.n, len(s.steps)-1)]
	s.n++
	s.mu.Unlock()
	if s.hook != nil {
		s.hook(r)
	}
	switch {
	case step.status == 0:
		hangUp(w, r)
	case !s.batch:
		reply(step.status, step.body, step.headers...)(w, r)
	default:
		item := map[string]any{"id": req.Requests[0].ID, "status": step.status}
		hs := map[string]string{}
		for i := 0; i+1 < len(step.headers); i += 2 {
			hs[step.headers[i]] = step.headers[i+1]
		}
		item["headers"] = hs
		if step.body != "" {
			item["body"] = json.RawMessage(step.body)
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(map[string]any{"responses": []any{item}})
	}
}

// Requests returns how many requests (POSTs, for a batch) arrived.
func (s *stepServer) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.n
}

// way is one way a write travels: alone (Send) or as a $batch item.
type way struct {
	name  string
	batch bool
}

var ways = []way{{"alone", false}, {"batch", true}}

// send sends w this way.
func (v way) send(ctx context.Context, c *Client, w Write) Result {
	if v.batch {
		return c.SendBatch(ctx, []Write{w})[0]
	}
	return c.Send(ctx, w)
}

// newWayClient starts a stepServer for v and a client for it with an auto
// fake clock, jitter 0.5 and 2 retries; mod adjusts the config (and may
// swap the clock).
func newWayClient(t *testing.T, v way, steps []outcome, hook func(*http.Request), mod func(*Config)) (*Client, *stepServer) {
	t.Helper()
	ss := &stepServer{batch: v.batch, steps: steps, hook: hook}
	srv := httptest.NewServer(ss)
	t.Cleanup(srv.Close)
	cfg := Config{
		BaseURL:    srv.URL + "/beta",
		HTTPClient: srv.Client(),
		MaxRetries: 2,
		Clock:      newFakeClock(true),
		Rand:       func() float64 { return 0.5 },
	}
	if mod != nil {
		mod(&cfg)
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return c, ss
}
