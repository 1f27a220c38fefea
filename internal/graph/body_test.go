package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// cutShort answers status with the given headers, promises a body of 100
// bytes, sends a few and hangs up.
func cutShort(status int, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(status)
		w.Write([]byte(`{"error":`))
		w.(http.Flusher).Flush()
		panic(http.ErrAbortHandler)
	}
}

// drip answers status at once, then sends its body slower than any
// per-attempt timeout: one byte, then nothing until the client leaves.
func drip(status int, headers ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		for i := 0; i+1 < len(headers); i += 2 {
			w.Header().Set(headers[i], headers[i+1])
		}
		w.Header().Set("Content-Length", "100")
		w.WriteHeader(status)
		w.Write([]byte(`{`))
		w.(http.Flusher).Flush()
		<-r.Context().Done()
	}
}

// TestUnreadableBody: the status counts as soon as the headers arrive. A
// write answered 2xx whose body is lost is a success with a Note; an
// error status whose body is lost is an *APIError with that status, and
// is retried or not by its status.
func TestUnreadableBody(t *testing.T) {
	big := reply(200, `{"id":"`+strings.Repeat("x", 100)+`"}`, "request-id", "rid-big")
	bigErr := reply(500, `{"error":{"code":"InternalError","message":"`+strings.Repeat("x", 100)+`"}}`, "request-id", "rid-big")
	tests := []struct {
		name         string
		steps        []http.HandlerFunc
		wantStatus   int
		wantAttempts int
		wantNote     string // start of Result.Note, for a success
		wantMessage  string // part of APIError.Message, for a failure
		wantWaits    []time.Duration
	}{
		{"200 cut short", []http.HandlerFunc{cutShort(200, "request-id", "rid-1")}, 200, 1, "answer body unreadable: cut short: unexpected EOF", "", nil},
		{"200 dripping past the timeout", []http.HandlerFunc{drip(200, "request-id", "rid-1")}, 200, 1, "answer body unreadable: not complete within 100ms", "", nil},
		{"200 too large", []http.HandlerFunc{big}, 200, 1, "answer body unreadable: too large (more than 64 bytes)", "", nil},
		{"404 cut short", []http.HandlerFunc{cutShort(404, "request-id", "rid-1")}, 404, 1, "", "the answer's body could not be read: cut short", nil},
		{"500 too large, retried by its status", []http.HandlerFunc{bigErr}, 500, 3, "", "could not be read: too large", []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{"503 dripping, retried after its Retry-After", []http.HandlerFunc{drip(503, "Retry-After", "2", "request-id", "rid-1"), reply(204, "")}, 204, 2, "", "", []time.Duration{2 * time.Second}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, sc, clk := newTestClient(t, func(cfg *Config) { cfg.RequestTimeout = 100 * time.Millisecond; cfg.MaxRetries = 2 }, tt.steps...)
			c.maxBody = 64
			res := c.Send(context.Background(), Write{Path: target, Body: []byte(`{}`)})
			if res.Status != tt.wantStatus || res.Attempts != tt.wantAttempts || len(sc.Requests()) != tt.wantAttempts {
				t.Errorf("Status %d Attempts %d requests %d; want %d %d %[5]d", res.Status, res.Attempts, len(sc.Requests()), tt.wantStatus, tt.wantAttempts)
			}
			var e *APIError
			switch {
			case tt.wantMessage != "":
				if !errors.As(res.Err, &e) || e.Status != tt.wantStatus || !strings.Contains(e.Message, tt.wantMessage) {
					t.Errorf("Err %v; want an APIError %d saying %q", res.Err, tt.wantStatus, tt.wantMessage)
				}
				if res.RequestID == "" {
					t.Errorf("RequestID lost with the body")
				}
			case res.Err != nil || !strings.HasPrefix(res.Note, tt.wantNote) || res.Body != nil:
				t.Errorf("Err %v Note %q Body %q; want success with a note starting %q", res.Err, res.Note, res.Body, tt.wantNote)
			}
			if tt.wantNote != "" && res.RequestID != "rid-1" && res.RequestID != "rid-big" {
				t.Errorf("RequestID %q, want the answer's", res.RequestID)
			}
			if diff := cmp.Diff(tt.wantWaits, clk.Waits()); diff != "" {
				t.Errorf("waits (-want +got):\n%s", diff)
			}
		})
	}
}

// TestUnreadableBodyOnRead: a read is for its body, so a 200 whose body
// is lost is asked again, and one too large fails without a retry; the
// status is kept either way.
func TestUnreadableBodyOnRead(t *testing.T) {
	obj := `{"id":"st-1"}`
	c, sc, _ := newTestClient(t, func(cfg *Config) { cfg.RequestTimeout = 100 * time.Millisecond }, cutShort(200), drip(200), reply(200, obj))
	res := c.Get(context.Background(), target)
	if res.Err != nil || string(res.Body) != obj || res.Attempts != 3 || res.Note != "" {
		t.Errorf("Get = %+v, want the object on the third attempt", res)
	}

	sc.setSteps(reply(200, `{"id":"`+strings.Repeat("x", 100)+`"}`))
	c.maxBody = 64
	before := len(sc.Requests())
	res = c.Get(context.Background(), target)
	if !errors.Is(res.Err, errBodyTooLarge) || res.Status != 200 || res.Attempts != 1 || len(sc.Requests())-before != 1 {
		t.Errorf("Get of a too-large object = %+v (Err %v); want one attempt, status 200, too large", res, res.Err)
	}
}

// TestUnreadableBatchAnswer: a $batch POST accepted (200) whose body is
// lost says nothing of its items, so they are sent again; they are not
// reported applied.
func TestUnreadableBatchAnswer(t *testing.T) {
	c, bs, _ := newBatchClient(t, nil, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
		if n == 1 {
			cutShort(200)(w, nil)
		}
		return ok204(items)
	})
	res := c.SendBatch(context.Background(), writes(2))
	if len(bs.Posts()) != 2 {
		t.Errorf("%d POSTs, want 2", len(bs.Posts()))
	}
	for i, r := range res {
		if r.Err != nil || r.Status != 204 || r.Attempts != 2 || r.Note != "" {
			t.Errorf("item %d = %+v, want 204 on the second attempt", i, r)
		}
	}
}
