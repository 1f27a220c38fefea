package emulator

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// outcomes sends n sequential PATCHes and describes what became of each:
// its status, or "dropped" when the connection went away.
func outcomes(t *testing.T, opt Options, n int) ([]string, Stats) {
	t.Helper()
	s, base := start(t, nil, opt)
	var out []string
	for i := range n {
		r, err := send("PATCH", base+direct, fmt.Sprintf(`{"errorCode":%d}`, i), "client-request-id", fmt.Sprint("req-", i))
		switch {
		case err != nil:
			out = append(out, "dropped")
		case r.status >= 400:
			checkErrorShape(t, r)
			out = append(out, fmt.Sprint(r.status))
		default:
			out = append(out, fmt.Sprint(r.status))
		}
	}
	return out, s.Stats()
}

func TestFaultsReproducible(t *testing.T) {
	opt := Options{Seed: 7, Faults: Faults{ResetBeforeApply: 0.1, ResetAfterApply: 0.1, ServerError: 0.2, ThrottleAfterApply: 0.1}}
	a, sa := outcomes(t, opt, 60)
	b, sb := outcomes(t, opt, 60)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different outcomes (-first +second):\n%s", diff)
	}
	if diff := cmp.Diff(sa.Faults, sb.Faults); diff != "" {
		t.Errorf("same seed, different fault counts:\n%s", diff)
	}
	for _, name := range []string{"resetBeforeApply", "resetAfterApply", "serverError", "throttleAfterApply"} {
		if sa.Faults[name] == 0 {
			t.Errorf("60 writes met no %s fault: %v", name, sa.Faults)
		}
	}
	// Applied writes are the successes plus the faults that apply first.
	want := sa.ByStatus[200] + sa.Faults["resetAfterApply"] + sa.Faults["throttleAfterApply"]
	if got := sa.WritesApplied["app1/s1"]; got != want {
		t.Errorf("WritesApplied %d, want %d (200s + resetAfterApply + throttleAfterApply)", got, want)
	}
	opt.Seed = 8
	if c, _ := outcomes(t, opt, 60); slices.Equal(a, c) {
		t.Errorf("seeds 7 and 8 gave the same 60 outcomes")
	}
}

func TestEachFault(t *testing.T) {
	tests := []struct {
		name    string
		faults  Faults
		outcome string // of one PATCH
		applied int
	}{
		{"reset before apply", Faults{ResetBeforeApply: 1}, "dropped", 0},
		{"reset after apply", Faults{ResetAfterApply: 1}, "dropped", 1},
		{"throttle after apply", Faults{ThrottleAfterApply: 1}, "429", 1},
		{"hang until HangFor", Faults{Hang: 1, HangFor: 10 * time.Millisecond}, "504", 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, st := outcomes(t, Options{Faults: tt.faults}, 1)
			if out[0] != tt.outcome || st.WritesApplied["app1/s1"] != tt.applied {
				t.Errorf("outcome %s, applied %d; want %s, %d", out[0], st.WritesApplied["app1/s1"], tt.outcome, tt.applied)
			}
		})
	}
}

func TestServerErrors(t *testing.T) {
	s, base := start(t, nil, Options{Seed: 1, Faults: Faults{ServerError: 1}})
	seen := map[int]bool{}
	retryAfter503 := 0
	for range 40 {
		r := do(t, "PATCH", base+direct, `{"deviceName":"x"}`)
		checkErrorShape(t, r)
		seen[r.status] = true
		if r.status == 503 && r.header.Get("Retry-After") != "" {
			retryAfter503++
		}
		if r.status != 503 && r.header.Get("Retry-After") != "" {
			t.Errorf("%d with Retry-After", r.status)
		}
	}
	if !seen[500] || !seen[502] || !seen[503] || !seen[504] || len(seen) != 4 {
		t.Errorf("statuses seen %v, want exactly 500, 502, 503, 504", seen)
	}
	if retryAfter503 == 0 {
		t.Errorf("no 503 carried Retry-After")
	}
	if n := len(s.Stats().WritesApplied); n != 0 {
		t.Errorf("a failed write was applied")
	}
	// Reads meet no faults.
	if r := do(t, "GET", base+direct, ""); r.status != 200 {
		t.Errorf("read: %d, want 200", r.status)
	}
}

func TestThrottledWriteMeetsNoFault(t *testing.T) {
	clock := newFakeClock()
	s, base := start(t, nil, Options{WriteLimit: 1, Window: time.Minute, Clock: clock.Now, Faults: Faults{ResetBeforeApply: 1}})
	if _, err := send("PATCH", base+direct, `{}`); err == nil {
		t.Errorf("first write answered; want the connection dropped")
	}
	if r := do(t, "PATCH", base+direct, `{}`); r.status != 429 {
		t.Errorf("second write: %d, want 429 from the limiter", r.status)
	}
	if got := s.Stats().Faults["resetBeforeApply"]; got != 1 {
		t.Errorf("%d resets, want 1", got)
	}
}

func TestHangEndsWithClient(t *testing.T) {
	s, base := start(t, nil, Options{Faults: Faults{Hang: 1}})
	ctx, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(ctx, "PATCH", base+direct, strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+testToken)
	req.Header.Set("Content-Type", "application/json")
	errc := make(chan error, 1)
	go func() {
		resp, err := http.DefaultClient.Do(req)
		if err == nil {
			resp.Body.Close()
		}
		errc <- err
	}()
	for s.Stats().Faults["hang"] == 0 {
		time.Sleep(time.Millisecond)
	}
	cancel()
	if err := <-errc; err == nil {
		t.Fatal("a hung request was answered")
	}
	// The handler notices the client left and returns, long before HangFor.
	for s.Stats().InFlight != 0 {
		time.Sleep(time.Millisecond)
	}
	if len(s.Stats().WritesApplied) != 0 {
		t.Errorf("a hung write was applied")
	}
}

func TestBatchConnectionFaults(t *testing.T) {
	tests := []struct {
		name    string
		faults  Faults
		items   []map[string]any
		dropped bool
		applied int
	}{
		{"reset before", Faults{ResetBeforeApply: 1}, []map[string]any{item("1", "PATCH", direct, `{}`)}, true, 0},
		{"reset after", Faults{ResetAfterApply: 1}, []map[string]any{item("1", "PATCH", direct, `{}`), item("2", "GET", direct, "")}, true, 1},
		{"reads only meet none", Faults{ResetBeforeApply: 1}, []map[string]any{item("1", "GET", direct, "")}, false, 0},
		{"item throttled after apply", Faults{ThrottleAfterApply: 1}, []map[string]any{item("1", "PATCH", direct, `{}`)}, false, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base := start(t, nil, Options{Faults: tt.faults})
			b, _ := json.Marshal(map[string]any{"requests": tt.items})
			r, err := send("POST", base+"/$batch", string(b))
			if dropped := err != nil; dropped != tt.dropped {
				t.Fatalf("dropped %v (%v), want %v; answer %d %s", dropped, err, tt.dropped, r.status, r.body)
			}
			if got := s.Stats().WritesApplied["app1/s1"]; got != tt.applied {
				t.Errorf("applied %d, want %d", got, tt.applied)
			}
			if tt.faults.ThrottleAfterApply == 1 {
				var br batchReply
				if err := json.Unmarshal(r.body, &br); err != nil || br.Responses[0].Status != 429 || br.Responses[0].Headers["Retry-After"] == "" {
					t.Errorf("item answer %s, want 429 with Retry-After", r.body)
				}
			}
		})
	}
}

// TestReadFaults: reads meet faults of their own shares, counted under
// "read." names, and write shares leave them alone.
func TestReadFaults(t *testing.T) {
	s, base := start(t, nil, Options{Seed: 2, ReadFaults: Faults{ServerError: 1}})
	for _, p := range []string{direct, app1 + "/deviceStatuses", app1} {
		r := do(t, "GET", base+p, "")
		if r.status < 500 {
			t.Errorf("GET %s: %d, want a 5xx", p, r.status)
		}
		checkErrorShape(t, r)
	}
	if r := do(t, "PATCH", base+direct, `{"deviceName":"x"}`); r.status != 200 {
		t.Errorf("a write under read faults: %d", r.status)
	}
	if st := s.Stats(); st.Faults["read.serverError"] != 3 || st.Faults["serverError"] != 0 {
		t.Errorf("fault counts %v", st.Faults)
	}
	_, br := postBatch(t, base, item("1", "PATCH", direct, `{}`))
	if br.Responses[0].Status != 200 {
		t.Errorf("a write item under read faults: %d", br.Responses[0].Status)
	}
	// A $batch of reads is a read: its POST meets the read shares.
	b, _ := json.Marshal(map[string]any{"requests": []any{item("1", "GET", direct, "")}})
	if r := do(t, "POST", base+"/$batch", string(b)); r.status < 500 {
		t.Errorf("a $batch of reads: %d, want a 5xx for the POST", r.status)
	}
}

func TestReadFaultKinds(t *testing.T) {
	tests := []struct {
		name    string
		faults  Faults
		outcome string
	}{
		{"reset", Faults{ResetBeforeApply: 1}, "dropped"},
		{"reset after", Faults{ResetAfterApply: 1}, "dropped"},
		{"hang", Faults{Hang: 1, HangFor: 10 * time.Millisecond}, "504"},
		{"throttled", Faults{ThrottleAfterApply: 1}, "429"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, base := start(t, nil, Options{ReadFaults: tt.faults})
			got := "dropped"
			if r, err := send("GET", base+app1+"/deviceStatuses", ""); err == nil {
				got = fmt.Sprint(r.status)
				if r.status == 429 && r.header.Get("Retry-After") == "" {
					t.Errorf("a throttled read without Retry-After")
				}
			}
			if got != tt.outcome {
				t.Errorf("outcome %s, want %s", got, tt.outcome)
			}
			if n := len(s.Stats().Faults); n != 1 {
				t.Errorf("fault counts %v", s.Stats().Faults)
			}
		})
	}
	if _, err := New(nil, Options{ReadFaults: Faults{IgnoreWrite: 0.5}}); err == nil {
		t.Errorf("New accepted ReadFaults.IgnoreWrite")
	}
}

// TestIgnoreWrite: the write is answered as a success and not applied;
// only reading the object back tells.
func TestIgnoreWrite(t *testing.T) {
	for _, noContent := range []bool{false, true} {
		s, base := start(t, nil, Options{NoContent: noContent, Faults: Faults{IgnoreWrite: 1}})
		r := do(t, "PATCH", base+direct, `{"deviceName":"never"}`)
		switch {
		case noContent && r.status != 204:
			t.Errorf("204 mode: status %d", r.status)
		case !noContent && (r.status != 200 || r.json(t)["deviceName"] != "PC-1"):
			t.Errorf("200 mode: %d %s, want 200 with the object unchanged", r.status, r.body)
		}
		if m, _ := s.Object("app1", "", "s1"); m["deviceName"] != "PC-1" {
			t.Errorf("an ignored write was applied: %v", m["deviceName"])
		}
		_, br := postBatch(t, base, item("1", "PATCH", direct, `{"deviceName":"never"}`))
		if st := br.Responses[0].Status; st != 200 && st != 204 {
			t.Errorf("ignored item: %d", st)
		}
		st := s.Stats()
		if len(st.WritesApplied) != 0 || st.Faults["ignoreWrite"] != 2 {
			t.Errorf("WritesApplied %v, faults %v", st.WritesApplied, st.Faults)
		}
		// A bad body is still refused: the fault hides only the effect.
		if r := do(t, "PATCH", base+direct, `{"colour":1}`); r.status != 400 {
			t.Errorf("bad body under IgnoreWrite: %d", r.status)
		}
	}
}

// TestBatchEnvelopeThrottled: the POST is answered 429 as a whole while
// the request window is full, and takes no slot itself.
func TestBatchEnvelopeThrottled(t *testing.T) {
	clock := newFakeClock()
	s, base := start(t, nil, Options{ReadLimit: 2, Window: 10 * time.Second, Clock: clock.Now})
	_, br := postBatch(t, base, item("1", "GET", direct, ""), item("2", "GET", direct, ""))
	if diff := cmp.Diff(map[string]int{"1": 200, "2": 200}, br.statuses()); diff != "" {
		t.Fatalf("items (-want +got):\n%s", diff)
	}
	r, _ := postBatch(t, base, item("1", "GET", direct, ""))
	if r.status != 429 || r.errorCode(t) != "TooManyRequests" || r.header.Get("Retry-After") != "10" {
		t.Errorf("POST into a full window: %d %s (Retry-After %q)", r.status, r.body, r.header.Get("Retry-After"))
	}
	clock.Advance(10 * time.Second)
	if r, _ := postBatch(t, base, item("1", "GET", direct, "")); r.status != 200 {
		t.Errorf("after the window: %d", r.status)
	}
	if st := s.Stats(); st.Throttled != 1 || st.Reads != 3 {
		t.Errorf("throttled %d, reads %d; want 1, 3", st.Throttled, st.Reads)
	}
	_, lenient := start(t, nil, Options{Lenient: true, ReadLimit: 1, Window: time.Minute, Clock: clock.Now})
	postBatch(t, lenient, item("1", "GET", direct, ""))
	if r, br := postBatch(t, lenient, item("1", "GET", direct, "")); r.status != 200 || br.Responses[0].Status != 429 {
		t.Errorf("lenient: POST %d, item %v; want 200 with a 429 item", r.status, br.statuses())
	}
}

func TestBatchEnvelopeServerError(t *testing.T) {
	s, base := start(t, nil, Options{Seed: 5, Faults: Faults{ServerError: 1}})
	r, _ := postBatch(t, base, item("1", "PATCH", direct, `{"deviceName":"x"}`))
	if r.status < 500 {
		t.Fatalf("POST holding a write under ServerError 1: %d %s", r.status, r.body)
	}
	checkErrorShape(t, r)
	if n := len(s.Stats().WritesApplied); n != 0 {
		t.Errorf("a failed POST applied %d writes", n)
	}
}
