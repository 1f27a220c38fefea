package graph

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
)

func BenchmarkPatch(b *testing.B) {
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("request-id", "rid")
		w.WriteHeader(http.StatusNoContent)
	}))
	// Count connections: a client that failed to drain or close bodies
	// would open one per request and show here.
	var conns atomic.Int64
	srv.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	defer srv.Close()
	c, err := New(Config{BaseURL: srv.URL + "/beta", Tokens: &fakeTokens{tok: "secret-token-a"}, MaxRetries: 3})
	if err != nil {
		b.Fatal(err)
	}
	w := Write{Path: target, Body: []byte(`{"installState":"installed","errorCode":0}`)}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		if res := c.Send(ctx, w); res.Err != nil {
			b.Fatal(res.Err)
		}
	}
	b.ReportMetric(float64(conns.Load()), "conns")
}
