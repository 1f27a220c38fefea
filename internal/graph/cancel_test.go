package graph

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

// The cancellation contract (Send's doc): cancelling ctx starts no new
// attempt; an attempt on the wire runs to its answer. Every test runs
// each way a write travels, on a manual fake clock, and counts what
// reaches the server after the cancel.

func TestCancelDuringPacerWait(t *testing.T) {
	for _, v := range ways {
		t.Run(v.name, func(t *testing.T) {
			clk := newFakeClock(false)
			c, ss := newWayClient(t, v, []outcome{{204, nil, ""}}, nil, func(cfg *Config) { cfg.Clock = clk; cfg.WriteRate = 1 })
			if res := v.send(context.Background(), c, Write{Path: target, Body: []byte(`{}`)}); res.Err != nil {
				t.Fatal(res.Err) // takes the bucket's only token
			}
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan Result)
			go func() { done <- v.send(ctx, c, Write{Path: target, Body: []byte(`{}`)}) }()
			clk.BlockUntil(t, 1) // waiting for the pacer
			cancel()
			res := <-done // without the clock moving
			clk.Advance(time.Hour)
			if !errors.Is(res.Err, context.Canceled) || res.Attempts != 0 || res.Status != 0 {
				t.Errorf("Result %+v; want Attempts 0, Status 0, Err wrapping context.Canceled", res)
			}
			if strings.Contains(res.Err.Error(), "retry") {
				t.Errorf("Err %q speaks of a retry for a request never sent", res.Err)
			}
			if n := ss.Requests(); n != 1 {
				t.Errorf("%d requests reached the server, want 1 (none after the cancel)", n)
			}
		})
	}
}

// TestCancelDuringSharedPause: a request held back by a run of another
// request's 429s (the pacer's shared pause) is not sent once cancelled.
func TestCancelDuringSharedPause(t *testing.T) {
	for _, v := range ways {
		t.Run(v.name, func(t *testing.T) {
			clk := newFakeClock(false)
			throttle := outcome{429, []string{"Retry-After", "60"}, ""}
			c, ss := newWayClient(t, v, []outcome{throttle, throttle, throttle, {204, nil, ""}}, nil,
				func(cfg *Config) { cfg.Clock = clk; cfg.MaxRetries = 3 })
			first := make(chan Result, 1)
			go func() { first <- v.send(context.Background(), c, Write{Path: target, Body: []byte(`{}`)}) }()
			for range 2 {
				clk.BlockUntil(t, 1) // a 429; the first waits 60 s
				clk.Advance(time.Minute)
			}
			clk.BlockUntil(t, 1) // the third 429 in a row: everyone waits 60 s
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan Result)
			go func() { done <- v.send(ctx, c, Write{Path: target, Body: []byte(`{}`)}) }()
			clk.BlockUntil(t, 2) // the second waits on the shared pause
			cancel()
			if res := <-done; !errors.Is(res.Err, context.Canceled) || res.Attempts != 0 {
				t.Errorf("cancelled Result %+v; want Attempts 0 and context.Canceled", res)
			}
			clk.Advance(time.Minute)
			if res := <-first; res.Err != nil || res.Attempts != 4 {
				t.Errorf("first Result %+v; want success on its third retry", res)
			}
			if n := ss.Requests(); n != 4 {
				t.Errorf("%d requests, want 4: the first's attempts only", n)
			}
		})
	}
}

// TestCancelDuringRetryWait: a request waiting for its Retry-After (or
// its backoff, after no answer) sends no retry once cancelled, and keeps
// what its last attempt got.
func TestCancelDuringRetryWait(t *testing.T) {
	tests := []struct {
		name       string
		first      outcome
		wait       time.Duration
		wantStatus int
		wantGot    string
	}{
		{"Retry-After", outcome{429, []string{"Retry-After", "3600", "request-id", "rid-1"}, ""}, time.Hour, 429, "attempt 1 got 429"},
		{"backoff after no answer", outcome{0, nil, ""}, 50 * time.Millisecond, 0, "attempt 1 got no answer"},
	}
	for _, tt := range tests {
		for _, v := range ways {
			t.Run(tt.name+"/"+v.name, func(t *testing.T) {
				clk := newFakeClock(false)
				c, ss := newWayClient(t, v, []outcome{tt.first, {204, nil, ""}}, nil, func(cfg *Config) { cfg.Clock = clk })
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan Result)
				go func() { done <- v.send(ctx, c, Write{Path: target, Body: []byte(`{}`)}) }()
				clk.BlockUntil(t, 1)
				if got := clk.Pending(); len(got) != 1 || got[0] != tt.wait {
					t.Errorf("pending %v, want [%v]", got, tt.wait)
				}
				cancel()
				res := <-done
				clk.Advance(2 * time.Hour)
				if !errors.Is(res.Err, context.Canceled) || res.Attempts != 1 || res.Status != tt.wantStatus {
					t.Errorf("Result %+v; want Attempts 1, Status %d, context.Canceled", res, tt.wantStatus)
				}
				if msg := res.Err.Error(); !strings.Contains(msg, "stopped before its retry") || !strings.Contains(msg, tt.wantGot) {
					t.Errorf("Err %q; want it to say it was stopped before its retry and that %s", msg, tt.wantGot)
				}
				var e *APIError
				if errors.As(res.Err, &e) {
					t.Errorf("a stopped request reports %v as an APIError", res.Err)
				}
				if tt.wantStatus == 429 && (res.RequestID != "rid-1" || res.Throttled != 1) {
					t.Errorf("RequestID %q Throttled %d; want the 429's rid-1 and 1", res.RequestID, res.Throttled)
				}
				if n := ss.Requests(); n != 1 {
					t.Errorf("%d requests, want 1 (no retry after the cancel)", n)
				}
			})
		}
	}
}

// TestCancelInFlight: an attempt on the wire when ctx is cancelled runs
// to its answer, and the Result is that answer's; only a retry it asks
// for is not sent.
func TestCancelInFlight(t *testing.T) {
	tests := []struct {
		name       string
		answer     outcome
		wantErr    func(error) bool
		wantStatus int
	}{
		{"success", outcome{204, []string{"request-id", "rid-ok"}, ""}, func(err error) bool { return err == nil }, 204},
		{"final error", outcome{404, nil, errBody404}, func(err error) bool {
			var e *APIError
			return errors.As(err, &e) && e.Status == 404
		}, 404},
		{"asks for a retry", outcome{503, []string{"Retry-After", "1"}, ""}, func(err error) bool {
			return errors.Is(err, context.Canceled) && strings.Contains(err.Error(), "stopped before its retry (attempt 1 got 503)")
		}, 503},
	}
	for _, tt := range tests {
		for _, v := range ways {
			t.Run(tt.name+"/"+v.name, func(t *testing.T) {
				arrived, release := make(chan struct{}, 4), make(chan struct{})
				hook := func(*http.Request) { arrived <- struct{}{}; <-release }
				c, ss := newWayClient(t, v, []outcome{tt.answer, {204, nil, ""}}, hook, nil)
				ctx, cancel := context.WithCancel(context.Background())
				done := make(chan Result)
				go func() { done <- v.send(ctx, c, Write{Path: target, Body: []byte(`{}`)}) }()
				<-arrived
				cancel()
				// Give a client that wrongly aborts on cancel the time to do it.
				time.Sleep(20 * time.Millisecond)
				close(release)
				res := <-done
				if !tt.wantErr(res.Err) || res.Status != tt.wantStatus || res.Attempts != 1 {
					t.Errorf("Result %+v (Err %v); want Status %d after 1 attempt", res, res.Err, tt.wantStatus)
				}
				if tt.name == "success" && res.RequestID != "rid-ok" {
					t.Errorf("RequestID %q, want the answer's rid-ok", res.RequestID)
				}
				if n := ss.Requests(); n != 1 {
					t.Errorf("%d requests, want 1", n)
				}
			})
		}
	}
}

// TestCancelInFlightBoundedByTimeout: an attempt on the wire when ctx is
// cancelled still ends at RequestTimeout when no answer comes, and no
// retry follows.
func TestCancelInFlightBoundedByTimeout(t *testing.T) {
	for _, v := range ways {
		t.Run(v.name, func(t *testing.T) {
			arrived := make(chan struct{}, 4)
			hook := func(r *http.Request) { arrived <- struct{}{}; <-r.Context().Done() }
			c, ss := newWayClient(t, v, []outcome{{204, nil, ""}}, hook, func(cfg *Config) { cfg.RequestTimeout = 100 * time.Millisecond })
			ctx, cancel := context.WithCancel(context.Background())
			done := make(chan Result)
			go func() { done <- v.send(ctx, c, Write{Path: target, Body: []byte(`{}`)}) }()
			<-arrived
			cancel()
			res := <-done
			if !errors.Is(res.Err, context.Canceled) || res.Status != 0 || res.Attempts != 1 ||
				!strings.Contains(res.Err.Error(), "stopped before its retry (attempt 1 got no answer)") {
				t.Errorf("Result %+v (Err %v); want stopped before its retry after no answer", res, res.Err)
			}
			if n := ss.Requests(); n != 1 {
				t.Errorf("%d requests, want 1", n)
			}
		})
	}
}

// TestCancelBeforeAnything: a ctx already cancelled sends nothing, by any
// entry point.
func TestCancelBeforeAnything(t *testing.T) {
	c, sc, _ := newTestClient(t, nil, reply(200, `{"value":[]}`))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if res := c.Send(ctx, Write{Path: target, Body: []byte(`{}`)}); !errors.Is(res.Err, context.Canceled) || res.Attempts != 0 {
		t.Errorf("Send = %+v", res)
	}
	rs := c.SendBatch(ctx, []Write{{Path: target, Body: []byte(`{}`)}, {Path: target + "x", Body: []byte(`{}`)}})
	for i, res := range rs {
		if !errors.Is(res.Err, context.Canceled) || res.Attempts != 0 {
			t.Errorf("SendBatch item %d = %+v", i, res)
		}
	}
	if res := c.Get(ctx, target); !errors.Is(res.Err, context.Canceled) || res.Attempts != 0 {
		t.Errorf("Get = %+v", res)
	}
	if err := c.List(ctx, "/deviceAppManagement/mobileApps/a/deviceStatuses", nil); !errors.Is(err, context.Canceled) {
		t.Errorf("List = %v", err)
	}
	if n := len(sc.Requests()); n != 0 {
		t.Errorf("%d requests sent, want 0", n)
	}
}
