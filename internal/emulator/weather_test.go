package emulator

import (
	"encoding/json"
	"net"
	"net/http"
	"testing"
	"time"
)

// startIn serves s in weather w on loopback and returns the API root.
func startIn(t *testing.T, opt Options, w Weather) (*Server, string) {
	t.Helper()
	s, err := New(seedState(t), opt)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hs := &http.Server{Handler: s.In(w), ReadHeaderTimeout: time.Minute}
	go func() { _ = hs.Serve(ln) }()
	t.Cleanup(func() {
		s.Close()
		hs.Close()
	})
	return s, "http://" + ln.Addr().String() + "/beta"
}

// TestWeatherUnavailable: with Unavailable, ServerError answers 503 (with
// Retry-After some of the time, and counted against an early retry) and
// 504, never 500 or 502, for plain writes and $batch items alike, in
// Graph's error shape.
func TestWeatherUnavailable(t *testing.T) {
	s, base := startIn(t, Options{Seed: 3, Faults: Faults{ServerError: 1}, RetryAfter: RetryAfterFractional}, Weather{Unavailable: true, Seed: 3})
	seen := map[int]int{}
	withRA := 0
	for i := range 60 {
		r := do(t, "PATCH", base+direct, `{"deviceName":"x"}`, "client-request-id", "crid-"+string(rune('a'+i%26))+string(rune('a'+i/26)))
		checkErrorShape(t, r)
		seen[r.status]++
		if r.status == 503 {
			if code := r.errorCode(t); code != "ServiceUnavailable" {
				t.Errorf("503 with code %q", code)
			}
			if r.header.Get("Retry-After") != "" {
				withRA++
			}
		}
	}
	if seen[500] != 0 || seen[502] != 0 || seen[503] == 0 || seen[504] == 0 || seen[503] < 2*seen[504] {
		t.Errorf("statuses %v; want 503s (about 3 in 4) and 504s only", seen)
	}
	if withRA == 0 || withRA == seen[503] {
		t.Errorf("%d of %d 503s carried Retry-After; want some, not all", withRA, seen[503])
	}
	if st := s.Stats(); st.ByStatus[500] != 0 || st.ByStatus[502] != 0 || st.ByStatus[503] != seen[503] {
		t.Errorf("Stats.ByStatus %v, want the 503s counted as 503s", st.ByStatus)
	}
	// An early retry of a 503 with Retry-After counts.
	for i := range 40 {
		crid := "early-" + string(rune('a'+i))
		r := do(t, "PATCH", base+direct, `{"deviceName":"x"}`, "client-request-id", crid)
		if r.status == 503 && r.header.Get("Retry-After") != "" {
			do(t, "PATCH", base+direct, `{"deviceName":"x"}`, "client-request-id", crid)
			if n := s.Stats().EarlyRetries; n != 1 {
				t.Errorf("%d early retries after resending at once, want 1", n)
			}
			break
		}
	}

	// A $batch POST meets ServerError too, before its items: half of
	// them get through.
	_, base = startIn(t, Options{Seed: 4, Faults: Faults{ServerError: 0.5}}, Weather{Unavailable: true, Seed: 4})
	body := `{"requests":[` +
		`{"id":"1","method":"PATCH","url":"/deviceAppManagement/mobileApps/app1/deviceStatuses/s1","headers":{"Content-Type":"application/json"},"body":{"deviceName":"b"}},` +
		`{"id":"2","method":"PATCH","url":"/deviceAppManagement/mobileApps/app1/deviceStatuses/s2","headers":{"Content-Type":"application/json"},"body":{"deviceName":"b"}}]}`
	items := map[int]int{}
	for range 30 {
		r := do(t, "POST", base+"/$batch", body)
		if r.status != 200 {
			if r.status == 500 || r.status == 502 {
				t.Errorf("$batch POST answered %d", r.status)
			}
			continue
		}
		var br batchResponse
		if err := json.Unmarshal(r.body, &br); err != nil {
			t.Fatal(err)
		}
		for _, it := range br.Responses {
			items[it.Status]++
		}
	}
	if items[500] != 0 || items[502] != 0 || items[503] == 0 {
		t.Errorf("$batch item statuses %v; want 503s and 504s only", items)
	}
}

// TestWeatherLatency: every request waits within Latency ± Jitter.
func TestWeatherLatency(t *testing.T) {
	_, base := startIn(t, Options{}, Weather{Latency: 30 * time.Millisecond, Jitter: 20 * time.Millisecond, Seed: 1})
	for range 10 {
		start := time.Now()
		if r := do(t, "GET", base+direct, ""); r.status != 200 {
			t.Fatalf("GET: %d", r.status)
		}
		if d := time.Since(start); d < 10*time.Millisecond {
			t.Errorf("answered in %v, before the least latency (10ms)", d)
		}
	}
}
