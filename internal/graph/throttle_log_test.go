package graph

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
)

// A 429 that cuts the write rate is logged once at info level, so
// operators can see why a run goes slower than --rate.
func TestThrottleCutIsLogged(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
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
	if res.Err != nil || res.Attempts != 2 {
		t.Fatalf("Patch = attempts %d, err %v; want 2 attempts, success", res.Attempts, res.Err)
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
