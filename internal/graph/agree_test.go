package graph

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// story is what became of one write, in the terms both ways share: the
// Result (an error reduced to its kind and Graph's words, since a
// transport error names the URL it failed on), the waits asked of the
// clock, the client's counters and the token refreshes.
type story struct {
	Status, Attempts, Throttled int
	RequestID, ClientRequestID  string
	Body, Note                  string
	Duration                    time.Duration
	Err                         string
	Waits                       []time.Duration
	Stats                       Stats
	Refreshes                   int
}

func storyOf(res Result, clk *fakeClock, c *Client, tok *fakeTokens) story {
	s := story{
		Status: res.Status, Attempts: res.Attempts, Throttled: res.Throttled,
		RequestID: res.RequestID, ClientRequestID: res.ClientRequestID,
		Body: string(res.Body), Note: res.Note, Duration: res.Duration,
		Waits: clk.Waits(), Stats: c.Stats(), Refreshes: tok.refreshes,
	}
	var e *APIError
	var te *TokenError
	switch {
	case res.Err == nil:
	case errors.As(res.Err, &e):
		s.Err = fmt.Sprintf("APIError %d %q %q request-id %q client-request-id %q retry-after %v",
			e.Status, e.Code, e.Message, e.RequestID, e.ClientRequestID, e.RetryAfter)
	case errors.As(res.Err, &te):
		s.Err = "TokenError " + te.Op
	case errors.Is(res.Err, errBodyTooLarge):
		s.Err = "too large"
	default:
		s.Err = "no answer"
	}
	return s
}

// TestOneStateMachine feeds the same attempt outcomes to a write sent
// alone and to the only item of a $batch, and checks that both end the
// same way: the same Result, the same waits, the same counters. Each case
// also pins the expected end, so that both being wrong alike is caught.
func TestOneStateMachine(t *testing.T) {
	const (
		obj      = `{"id":"st-1","installState":"installed"}`
		throttle = `{"error":{"code":"TooManyRequests","message":"slow down","innerError":{"request-id":"inner-429"}}}`
		unauth   = `{"error":{"code":"InvalidAuthenticationToken","message":"Access token has expired."}}`
		removed  = `{"error":{"code":"","message":"Resource not found for the segment 'deviceStatuses'."}}`
	)
	rid := func(id string) []string { return []string{"request-id", id} }
	tests := []struct {
		name         string
		steps        []outcome
		wantStatus   int
		wantAttempts int
		wantErr      string // "" for success, else the start of story.Err
		wantWaits    []time.Duration
	}{
		{"204", []outcome{{204, rid("r1"), ""}}, 204, 1, "", nil},
		{"200 with the object", []outcome{{200, rid("r1"), obj}}, 200, 1, "", nil},
		{"200 with an array", []outcome{{200, rid("r1"), `[1]`}}, 200, 1, "", nil},
		{"429 then 204", []outcome{{429, []string{"Retry-After", "2"}, throttle}, {204, rid("r2"), ""}}, 204, 2, "", []time.Duration{2 * time.Second}},
		{"429 without Retry-After, 503 with, then 200", []outcome{
			{429, nil, throttle}, {503, []string{"Retry-After", "1"}, ""}, {200, rid("r3"), obj},
		}, 200, 3, "", []time.Duration{500 * time.Millisecond, time.Second}},
		{"500 until retries run out", []outcome{{500, rid("r5"), `{"error":{"code":"InternalError","message":"oops"}}`}},
			500, 3, "APIError 500", []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{"429 until retries run out", []outcome{{429, []string{"Retry-After", "0.25"}, throttle}},
			429, 3, "APIError 429", []time.Duration{250 * time.Millisecond, 250 * time.Millisecond}},
		{"404 is final", []outcome{{404, nil, errBody404}}, 404, 1, "APIError 404", nil},
		{"removed segment is final", []outcome{{400, rid("r6"), removed}}, 400, 1, "APIError 400", nil},
		{"504 with Retry-After, then 404", []outcome{{504, []string{"Retry-After", "1.5"}, ""}, {404, nil, errBody404}},
			404, 2, "APIError 404", []time.Duration{1500 * time.Millisecond}},
		{"401, refresh, 204", []outcome{{401, nil, unauth}, {204, rid("r7"), ""}}, 204, 2, "", nil},
		{"401 twice is final", []outcome{{401, rid("r8"), unauth}}, 401, 2, "APIError 401", nil},
		{"401 after a 429 still refreshes once", []outcome{{429, []string{"Retry-After", "1"}, throttle}, {401, nil, unauth}, {401, nil, unauth}},
			401, 3, "APIError 401", []time.Duration{time.Second}},
		{"no answer, then 204", []outcome{{0, nil, ""}, {204, rid("r9"), ""}}, 204, 2, "", []time.Duration{50 * time.Millisecond}},
		{"no answer ever", []outcome{{0, nil, ""}}, 0, 3, "no answer", []time.Duration{50 * time.Millisecond, 100 * time.Millisecond}},
		{"403 keeps the last request-id", []outcome{{503, rid("r10"), ""}, {403, nil, `{"error":{"code":"Forbidden","message":"no"}}`}},
			403, 2, "APIError 403", []time.Duration{50 * time.Millisecond}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stories []story
			for _, v := range ways {
				tok := &fakeTokens{tok: "secret-token-a"}
				clk := newFakeClock(true)
				c, _ := newWayClient(t, v, tt.steps, nil, func(cfg *Config) { cfg.Tokens = tok; cfg.Clock = clk })
				res := v.send(context.Background(), c, Write{Path: target, Body: []byte(`{"installState":"installed"}`), ClientRequestID: "crid-1"})
				s := storyOf(res, clk, c, tok)
				if s.Status != tt.wantStatus || s.Attempts != tt.wantAttempts || (tt.wantErr == "") != (s.Err == "") ||
					len(s.Err) < len(tt.wantErr) || s.Err[:len(tt.wantErr)] != tt.wantErr {
					t.Errorf("%s: Status %d, Attempts %d, Err %q; want %d, %d, %q…", v.name, s.Status, s.Attempts, s.Err, tt.wantStatus, tt.wantAttempts, tt.wantErr)
				}
				if diff := cmp.Diff(tt.wantWaits, s.Waits); diff != "" {
					t.Errorf("%s: waits (-want +got):\n%s", v.name, diff)
				}
				stories = append(stories, s)
			}
			if diff := cmp.Diff(stories[0], stories[1]); diff != "" {
				t.Errorf("alone and as a $batch item ended differently (-alone +batch):\n%s", diff)
			}
		})
	}
}
