package emulator

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
)

const benchBody = `{"installState":"installed","installStateDetail":"noAdditionalDetails","errorCode":0,"lastSyncDateTime":"2026-01-15T08:30:00Z","deviceName":"PC-1"}`

// BenchmarkServeHTTPPatch measures the emulator's own cost per PATCH, in
// process, without the network: what an end-to-end benchmark of bulkpatch
// pays for the emulator on top of the HTTP stack.
func BenchmarkServeHTTPPatch(b *testing.B) {
	s, err := New(seedState(b), Options{})
	if err != nil {
		b.Fatal(err)
	}
	body := []byte(benchBody)
	b.ReportAllocs()
	for b.Loop() {
		req := httptest.NewRequest("PATCH", "http://graph.test/beta"+direct, bytes.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		if rec.Code != 200 {
			b.Fatalf("status %d: %s", rec.Code, rec.Body)
		}
	}
}

// BenchmarkLoopbackPatch measures one PATCH round trip over loopback with a
// keep-alive client: the emulator plus net/http on both ends.
func BenchmarkLoopbackPatch(b *testing.B) {
	_, base := start(b, nil, Options{NoContent: true})
	client := &http.Client{}
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequest("PATCH", base+direct, bytes.NewReader([]byte(benchBody)))
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		resp, err := client.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != 204 {
			b.Fatalf("status %d", resp.StatusCode)
		}
	}
}
