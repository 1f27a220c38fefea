package graph

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
)

// A run of 429s that cuts the write rate is logged once at info level,
// so operators can see why a run goes slower than --rate; the single
// 429s before it are not.
func TestThrottleCutIsLogged(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= 3 {
			w.Header().Set("Retry-After", "0.01")
			w.WriteHeader(http.StatusTooManyRequests)
			w.Write([]byte(`{"error":{"code":"TooManyRequests","message":"slow down"}}`))
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	var logs bytes.Buffer
	c, err := New(Config{BaseURL: srv.URL + "/beta", WriteRate: 100, MaxRetries: 3,
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))})
	if err != nil {
		t.Fatal(err)
	}
	res := c.Send(context.Background(), Write{Path: "/deviceAppManagement/mobileApps/a/deviceStatuses/s", Body: []byte(`{}`)})
	if res.Err != nil || res.Attempts != 4 {
		t.Fatalf("Patch = attempts %d, err %v; want 4 attempts, success", res.Attempts, res.Err)
	}
	out := logs.String()
	if n := strings.Count(out, "throttled: rate lowered"); n != 1 {
		t.Fatalf("want one rate-lowered event, got %d in:\n%s", n, out)
	}
	for _, want := range []string{"requests=write", "status=429", "rate_before=100", "rate_after=50"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q:\n%s", want, out)
		}
	}
}

// The 429s of one $batch answer, whether each item's own or the POST's,
// are one throttled attempt, not a run: they neither cut the write rate
// nor pause anyone; each item waits its own Retry-After.
func TestBatchThrottleIsOneAttempt(t *testing.T) {
	for _, whole := range []bool{false, true} {
		var logs bytes.Buffer
		c, _, clk := newBatchClient(t, func(cfg *Config) {
			cfg.WriteRate = 100
			cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelInfo}))
		}, func(n int, items []sentItem, w http.ResponseWriter) []itemAnswer {
			if n > 1 {
				return ok204(items)
			}
			if whole {
				w.Header().Set("Retry-After", "1")
				w.WriteHeader(http.StatusTooManyRequests)
				return nil
			}
			out := ok204(items)
			for i := range out {
				out[i].Status, out[i].Headers = 429, map[string]string{"Retry-After": strconv.Itoa(i + 1)}
			}
			return out
		})
		res := c.SendBatch(context.Background(), writes(3))
		for i, r := range res {
			if r.Err != nil || r.Throttled != 1 || r.Attempts != 2 {
				t.Errorf("whole POST %v: item %d = %+v", whole, i, r)
			}
		}
		if n := strings.Count(logs.String(), "throttled: rate lowered"); n != 0 {
			t.Errorf("whole POST %v: %d rate-lowered events, want none:\n%s", whole, n, logs.String())
		}
		if r := c.Stats().WriteRate; r != 100 {
			t.Errorf("whole POST %v: WriteRate %v, want 100", whole, r)
		}
		if c.writes.paused().After(t0) {
			t.Errorf("whole POST %v: paused until %v", whole, c.writes.paused())
		}
		_ = clk
	}
}
