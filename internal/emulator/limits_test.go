package emulator

import (
	"encoding/json"
	"testing"
	"time"
)

func TestRetryAfterValue(t *testing.T) {
	tests := []struct {
		mode     string
		wait     time.Duration
		want     string
		promised time.Duration
	}{
		{RetryAfterInteger, time.Nanosecond, "1", time.Second},
		{RetryAfterInteger, time.Second, "1", time.Second},
		{RetryAfterInteger, 1001 * time.Millisecond, "2", 2 * time.Second},
		{RetryAfterInteger, 18250 * time.Millisecond, "19", 19 * time.Second},
		{RetryAfterFractional, 2128 * time.Millisecond, "2.128", 2128 * time.Millisecond},
		{RetryAfterFractional, 249*time.Millisecond + time.Microsecond, "0.25", 250 * time.Millisecond},
		{RetryAfterFractional, 2 * time.Second, "2", 2 * time.Second},
		{RetryAfterFractional, 0, "0.001", time.Millisecond},
	}
	for _, tt := range tests {
		got, promised := retryAfterValue(tt.mode, tt.wait)
		if got != tt.want || promised != tt.promised {
			t.Errorf("retryAfterValue(%s, %v) = %q, %v; want %q, %v", tt.mode, tt.wait, got, promised, tt.want, tt.promised)
		}
	}
}

// TestWriteWindow fills a 2-per-20s write window and checks the 429 and its
// Retry-After in each mode, then that the slot frees exactly on time.
func TestWriteWindow(t *testing.T) {
	tests := []struct {
		mode string
		want string // Retry-After 1.75 s into a 20 s window: 18.25 s
	}{
		{"", "19"},
		{RetryAfterInteger, "19"},
		{RetryAfterFractional, "18.25"},
		{RetryAfterNone, ""},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			clock := newFakeClock()
			s, base := start(t, nil, Options{WriteLimit: 2, Window: 20 * time.Second, RetryAfter: tt.mode, Clock: clock.Now})
			patch := func() reply { return do(t, "PATCH", base+direct, `{"deviceName":"x"}`) }
			if r := patch(); r.status != 200 {
				t.Fatalf("first write: %d", r.status)
			}
			clock.Advance(1500 * time.Millisecond)
			if r := patch(); r.status != 200 {
				t.Fatalf("second write: %d", r.status)
			}
			clock.Advance(250 * time.Millisecond)
			r := patch()
			if r.status != 429 || r.errorCode(t) != "TooManyRequests" {
				t.Fatalf("third write: %d %s, want 429 TooManyRequests", r.status, r.body)
			}
			_, has := r.header["Retry-After"]
			if got := r.header.Get("Retry-After"); got != tt.want || has != (tt.want != "") {
				t.Errorf("Retry-After %q (present %v), want %q", got, has, tt.want)
			}
			// Reads are not writes: they still pass.
			if r := do(t, "GET", base+direct, ""); r.status != 200 {
				t.Errorf("read during a full write window: %d", r.status)
			}
			clock.Advance(18249 * time.Millisecond)
			if r := patch(); r.status != 429 {
				t.Errorf("write 1 ms before the slot frees: %d, want 429", r.status)
			}
			clock.Advance(time.Millisecond)
			if r := patch(); r.status != 200 {
				t.Errorf("write exactly when the slot frees: %d, want 200", r.status)
			}
			st := s.Stats()
			if st.Throttled != 2 || st.Writes != 5 || st.ByStatus[429] != 2 || st.WritesApplied["app1/s1"] != 3 {
				t.Errorf("stats: throttled %d writes %d 429s %d applied %d; want 2 5 2 3",
					st.Throttled, st.Writes, st.ByStatus[429], st.WritesApplied["app1/s1"])
			}
		})
	}
}

// TestMixedRetryAfter checks that mixed mode sends both forms of 429: with
// no Retry-After and with a fractional one.
func TestMixedRetryAfter(t *testing.T) {
	clock := newFakeClock()
	_, base := start(t, nil, Options{WriteLimit: 1, Window: 10 * time.Second, RetryAfter: RetryAfterMixed, Seed: 3, Clock: clock.Now})
	do(t, "PATCH", base+direct, `{}`)
	clock.Advance(2500 * time.Millisecond)
	var without, fractional int
	for range 40 {
		r := do(t, "PATCH", base+direct, `{}`)
		if r.status != 429 {
			t.Fatalf("status %d, want 429", r.status)
		}
		switch v, ok := r.header["Retry-After"]; {
		case !ok:
			without++
		case v[0] == "7.5":
			fractional++
		default:
			t.Errorf("Retry-After %q, want 7.5 or none", v[0])
		}
	}
	if without == 0 || fractional == 0 {
		t.Errorf("mixed mode sent %d without and %d fractional; want both", without, fractional)
	}
}

func TestReadLimitCountsAllRequests(t *testing.T) {
	clock := newFakeClock()
	s, base := start(t, nil, Options{ReadLimit: 3, Window: time.Second, Clock: clock.Now})
	var got []int
	for _, m := range []string{"GET", "PATCH", "GET", "GET", "PATCH"} {
		got = append(got, do(t, m, base+direct, `{}`).status)
	}
	want := []int{200, 200, 200, 429, 429}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("statuses %v, want %v", got, want)
		}
	}
	if st := s.Stats(); st.Reads != 3 || st.Writes != 2 || st.Throttled != 2 {
		t.Errorf("reads %d writes %d throttled %d; want 3 2 2", st.Reads, st.Writes, st.Throttled)
	}
	// Routing errors never reach the service and take no quota.
	if r := do(t, "GET", base+"/nowhere", ""); r.status != 400 {
		t.Errorf("unknown segment: %d, want 400", r.status)
	}
}

func TestEarlyRetries(t *testing.T) {
	clock := newFakeClock()
	s, base := start(t, nil, Options{WriteLimit: 1, Window: 10 * time.Second, RetryAfter: RetryAfterFractional, Clock: clock.Now})
	patch := func(id string) int {
		return do(t, "PATCH", base+direct, `{}`, "client-request-id", id).status
	}
	steps := []struct {
		advance time.Duration
		id      string
		status  int
		early   int // EarlyRetries after the step
	}{
		{0, "A", 200, 0},
		{0, "B", 429, 0},                       // told: not before t=10s
		{5 * time.Second, "B", 429, 1},         // back at 5s: early, told again until 10s
		{0, "C", 429, 1},                       // a new request is never early
		{4999 * time.Millisecond, "B", 429, 2}, // 1 ms early still counts
		{time.Millisecond, "B", 200, 2},        // exactly on time
		{0, "B", 429, 2},                       // B's promise is spent once it came back on time
	}
	for i, st := range steps {
		clock.Advance(st.advance)
		if got := patch(st.id); got != st.status {
			t.Fatalf("step %d (%s): status %d, want %d", i, st.id, got, st.status)
		}
		if got := s.Stats().EarlyRetries; got != st.early {
			t.Fatalf("step %d (%s): EarlyRetries %d, want %d", i, st.id, got, st.early)
		}
	}
}

func TestRetryBookSweep(t *testing.T) {
	var b retryBook
	now := time.Unix(0, 0)
	for i := range 5000 {
		b.told(string(rune('a'+i%26))+string(rune(i)), now, now.Add(time.Second))
		now = now.Add(time.Millisecond)
	}
	if n := len(b.notBefore); n >= 3000 {
		t.Errorf("book holds %d entries; expired ones are not swept", n)
	}
	if !b.early(string(rune('a'+4999%26))+string(rune(4999)), now) {
		t.Errorf("the newest promise was swept")
	}
}

// TestEarlyRetriesLostAnswer: when a $batch POST's connection drops after
// its items were answered, the Retry-After among those answers never
// reached the client, so a retry is not early against it.
func TestEarlyRetriesLostAnswer(t *testing.T) {
	clock := newFakeClock()
	s, base := start(t, nil, Options{WriteLimit: 1, Window: 10 * time.Second, RetryAfter: RetryAfterFractional,
		Clock: clock.Now, Faults: Faults{ResetAfterApply: 1}})
	withID := func(id, crid string) map[string]any {
		it := item(id, "PATCH", direct, `{}`)
		it["headers"] = map[string]string{"Content-Type": "application/json", "client-request-id": crid}
		return it
	}
	b, err := json.Marshal(map[string]any{"requests": []any{withID("1", "A"), withID("2", "B")}})
	if err != nil {
		t.Fatal(err)
	}
	if r, err := send("POST", base+"/$batch", string(b)); err == nil {
		t.Fatalf("the POST was answered %d; want its connection dropped", r.status)
	}
	if got := s.Stats().Throttled; got != 1 {
		t.Fatalf("%d items throttled, want 1 (told a Retry-After the client never saw)", got)
	}
	for _, crid := range []string{"A", "B"} { // at once; their own answers may be dropped too
		send("PATCH", base+direct, `{}`, "client-request-id", crid)
	}
	if got := s.Stats().EarlyRetries; got != 0 {
		t.Errorf("EarlyRetries %d after a retry against a lost answer, want 0", got)
	}
}
