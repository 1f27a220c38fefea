package emulator

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// item builds one $batch request item as JSON.
func item(id, method, url, body string, dependsOn ...string) map[string]any {
	it := map[string]any{"id": id, "method": method, "url": url}
	if body != "" {
		it["body"] = json.RawMessage(body)
		it["headers"] = map[string]string{"Content-Type": "application/json"}
	}
	if dependsOn != nil {
		it["dependsOn"] = dependsOn
	}
	return it
}

type batchReply struct {
	Responses []struct {
		ID      string            `json:"id"`
		Status  int               `json:"status"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body"`
	} `json:"responses"`
}

func postBatch(t *testing.T, base string, items ...map[string]any) (reply, batchReply) {
	t.Helper()
	b, err := json.Marshal(map[string]any{"requests": items})
	if err != nil {
		t.Fatal(err)
	}
	r := do(t, "POST", base+"/$batch", string(b))
	var br batchReply
	if r.status == 200 {
		if err := json.Unmarshal(r.body, &br); err != nil {
			t.Fatalf("batch answer %s: %v", r.body, err)
		}
	}
	return r, br
}

// statuses maps item id to status.
func (br batchReply) statuses() map[string]int {
	m := make(map[string]int)
	for _, r := range br.Responses {
		m[r.ID] = r.Status
	}
	return m
}

func TestBatchShuffledAndComplete(t *testing.T) {
	s, base := start(t, nil, Options{Seed: 1})
	var items []map[string]any
	var ids []string
	for i := range 20 {
		id := fmt.Sprint(i + 1)
		ids = append(ids, id)
		if i%2 == 0 {
			items = append(items, item(id, "GET", app1+"/deviceStatuses/s1", ""))
		} else {
			items = append(items, item(id, "PATCH", app1+"/deviceStatuses/s2", `{"userName":"u`+id+`"}`))
		}
	}
	r, br := postBatch(t, base, items...)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	var got []string
	for _, resp := range br.Responses {
		got = append(got, resp.ID)
		if resp.Status != 200 {
			t.Errorf("item %s: status %d %s", resp.ID, resp.Status, resp.Body)
		}
		var obj map[string]any
		if err := json.Unmarshal(resp.Body, &obj); err != nil || obj["id"] == nil {
			t.Errorf("item %s: body %s is not an object", resp.ID, resp.Body)
		}
	}
	if slices.Equal(got, ids) {
		t.Errorf("responses came back in request order; want them shuffled")
	}
	slices.SortFunc(got, func(a, b string) int {
		x, _ := strconv.Atoi(a)
		y, _ := strconv.Atoi(b)
		return x - y
	})
	if diff := cmp.Diff(ids, got); diff != "" {
		t.Errorf("response ids (-want +got):\n%s", diff)
	}
	st := s.Stats()
	if st.BatchPosts != 1 || st.Requests != 1 || st.Reads != 10 || st.Writes != 10 || st.ByStatus[200] != 20 || st.WritesApplied["app1/s2"] != 10 {
		t.Errorf("stats %+v", st)
	}
	// Items run concurrently, as Graph runs them: the ten writes to s2 land
	// in any order. (Under Lenient they run in request order: see below.)
	if m, _ := s.Object("app1", "", "s2"); !slices.Contains(ids, strings.TrimPrefix(fmt.Sprint(m["userName"]), "u")) {
		t.Errorf("userName %v is none of the items' values", m["userName"])
	}
}

// TestBatchLenientRunsInRequestOrder keeps the old evaluation for those
// who relied on it: one item after the other, in request order.
func TestBatchLenientRunsInRequestOrder(t *testing.T) {
	s, base := start(t, nil, Options{Lenient: true})
	var items []map[string]any
	for i := range 20 {
		items = append(items, item(fmt.Sprint(i+1), "PATCH", app1+"/deviceStatuses/s2", fmt.Sprintf(`{"userName":"u%d"}`, i+1)))
	}
	if r, _ := postBatch(t, base, items...); r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	if m, _ := s.Object("app1", "", "s2"); m["userName"] != "u20" {
		t.Errorf("items did not run in request order: userName %v, want u20", m["userName"])
	}
}

func TestBatchSameSeedSameOrder(t *testing.T) {
	order := func() []string {
		_, base := start(t, nil, Options{Seed: 42})
		var items []map[string]any
		for i := range 10 {
			items = append(items, item(fmt.Sprint(i), "GET", app1+"/deviceStatuses/s1", ""))
		}
		_, br := postBatch(t, base, items...)
		var ids []string
		for _, r := range br.Responses {
			ids = append(ids, r.ID)
		}
		return ids
	}
	if a, b := order(), order(); !slices.Equal(a, b) {
		t.Errorf("same seed, different orders: %v and %v", a, b)
	}
}

func TestBatchItemsCountAgainstLimits(t *testing.T) {
	clock := newFakeClock()
	s, base := start(t, nil, Options{WriteLimit: 3, Window: 20 * time.Second, RetryAfter: RetryAfterFractional, Clock: clock.Now})
	var items []map[string]any
	for i := range 5 {
		items = append(items, item(fmt.Sprint(i), "PATCH", direct, `{"deviceName":"x"}`))
		items[i]["headers"].(map[string]string)["client-request-id"] = fmt.Sprint("item-", i)
	}
	r, br := postBatch(t, base, items...)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	// Items are evaluated concurrently: which two meet the full window is
	// up to the seeded order, not their place in the batch.
	count := map[int]int{}
	throttled := -1
	for _, resp := range br.Responses {
		count[resp.Status]++
		if resp.Status != 429 {
			continue
		}
		throttled, _ = strconv.Atoi(resp.ID)
		if resp.Headers["Retry-After"] != "20" {
			t.Errorf("item %s: Retry-After %q, want 20", resp.ID, resp.Headers["Retry-After"])
		}
		checkErrorShape(t, reply{body: resp.Body})
	}
	if count[200] != 3 || count[429] != 2 {
		t.Fatalf("item statuses %v, want three 200 and two 429", count)
	}
	st := s.Stats()
	if st.Throttled != 2 || st.ByStatus[429] != 2 || st.ByStatus[200] != 3 || st.Writes != 5 {
		t.Errorf("stats: throttled %d, by status %v, writes %d", st.Throttled, st.ByStatus, st.Writes)
	}
	// A throttled item retried early, alone, counts as an early retry.
	clock.Advance(time.Second)
	_, br = postBatch(t, base, items[throttled])
	if br.Responses[0].Status != 429 || s.Stats().EarlyRetries != 1 {
		t.Errorf("early item retry: status %d, EarlyRetries %d; want 429, 1", br.Responses[0].Status, s.Stats().EarlyRetries)
	}
	clock.Advance(19 * time.Second)
	_, br = postBatch(t, base, items[throttled])
	if br.Responses[0].Status != 200 || s.Stats().EarlyRetries != 1 {
		t.Errorf("on-time item retry: status %d, EarlyRetries %d; want 200, 1", br.Responses[0].Status, s.Stats().EarlyRetries)
	}
}

func TestBatchDependsOn(t *testing.T) {
	s, base := start(t, nil, Options{})
	r, br := postBatch(t, base,
		item("4", "GET", direct, "", "1"),
		item("1", "PATCH", direct, `{"installState":"Installed"}`),
		item("2", "PATCH", app1+"/deviceStatuses/s2", `{"deviceName":"never"}`, "1"),
		item("3", "GET", direct, "", "2"),
		item("5", "PATCH", app1+"/deviceStatuses/s2", `{"deviceName":"ok"}`),
		item("6", "GET", app1+"/deviceStatuses/s2", "", "5"),
	)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := map[string]int{"1": 400, "2": 424, "3": 424, "4": 424, "5": 200, "6": 200}
	if diff := cmp.Diff(want, br.statuses()); diff != "" {
		t.Errorf("item statuses (-want +got):\n%s", diff)
	}
	for _, resp := range br.Responses {
		if resp.Status == 424 {
			var e graphError
			if err := json.Unmarshal(resp.Body, &e); err != nil || e.Error.Code != "FailedDependency" {
				t.Errorf("item %s: 424 body %s", resp.ID, resp.Body)
			}
		}
		if resp.ID == "6" && !strings.Contains(string(resp.Body), `"deviceName":"ok"`) {
			t.Errorf("item 6 ran before the item it depends on: %s", resp.Body)
		}
	}
	if m, _ := s.Object("app1", "", "s2"); m["deviceName"] != "ok" {
		t.Errorf("s2 deviceName %v: the 424 item must not run", m["deviceName"])
	}
	if st := s.Stats(); st.ByStatus[424] != 3 || st.Writes != 2 {
		t.Errorf("stats: 424s %d, writes %d; want 3, 2 (424 items never reach the service)", st.ByStatus[424], st.Writes)
	}
}

func TestBatchRejectedWhole(t *testing.T) {
	_, base := start(t, nil, Options{})
	var many []map[string]any
	for i := range 21 {
		many = append(many, item(fmt.Sprint(i), "GET", direct, ""))
	}
	noType := item("1", "PATCH", direct, `{}`)
	delete(noType, "headers")
	tests := []struct {
		name    string
		items   []map[string]any
		raw     string
		message string // substring
	}{
		{name: "21 requests", items: many, message: "exceeds the limit of 20"},
		{name: "duplicate ids", items: []map[string]any{item("a", "GET", direct, ""), item("a", "GET", direct, "")}, message: "unique"},
		{name: "write without content type", items: []map[string]any{noType}, message: "Write request id : 1 does not contain Content-Type header or body."},
		{name: "write without body", items: []map[string]any{item("1", "PATCH", direct, "")}, message: "Write request id : 1 does not contain Content-Type header or body."},
		{name: "unknown dependency", items: []map[string]any{item("1", "GET", direct, "", "9")}, message: "not in this batch"},
		{name: "cycle", items: []map[string]any{item("1", "GET", direct, "", "2"), item("2", "GET", direct, "", "1")}, message: "cycle"},
		{name: "self dependency", items: []map[string]any{item("1", "GET", direct, "", "1")}, message: "cycle"},
		{name: "no id", items: []map[string]any{item("", "GET", direct, "")}, message: "Invalid batch payload format"},
		{name: "not json", raw: `{"requests":`, message: "Invalid batch payload format."},
		{name: "empty", raw: `{"requests":[]}`, message: "Invalid batch payload format."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var r reply
			if tt.raw != "" {
				r = do(t, "POST", base+"/$batch", tt.raw)
			} else {
				r, _ = postBatch(t, base, tt.items...)
			}
			if r.status != 400 || r.errorCode(t) != "BadRequest" {
				t.Fatalf("status %d %s, want 400 BadRequest", r.status, r.body)
			}
			if !strings.Contains(r.errorMessage(t), tt.message) {
				t.Errorf("message %q, want it to contain %q", r.errorMessage(t), tt.message)
			}
		})
	}
}

func TestBatchItemRouting(t *testing.T) {
	_, base := start(t, nil, Options{PageSize: 1})
	r, br := postBatch(t, base,
		item("versioned", "GET", "/beta"+direct, ""),
		item("absolute", "GET", "https://graph.microsoft.com/beta"+direct, ""),
		item("no slash", "GET", strings.TrimPrefix(direct, "/"), ""),
		item("escaped", "PATCH", app1+"/deviceStatuses/a%2Fb", `{"deviceName":"via batch"}`),
		item("lowercase method", "get", nested, ""),
		item("page", "GET", app1+"/deviceStatuses", ""),
	)
	if r.status != 200 {
		t.Fatalf("status %d: %s", r.status, r.body)
	}
	want := map[string]int{"versioned": 400, "absolute": 400, "no slash": 200, "escaped": 200, "lowercase method": 200, "page": 200}
	if diff := cmp.Diff(want, br.statuses()); diff != "" {
		t.Errorf("item statuses (-want +got):\n%s", diff)
	}
	for _, resp := range br.Responses {
		switch resp.ID {
		case "versioned":
			if !strings.Contains(string(resp.Body), "Resource not found for the segment 'beta'.") {
				t.Errorf("versioned item body %s", resp.Body)
			}
		case "page":
			var page struct {
				NextLink string `json:"@odata.nextLink"`
			}
			_ = json.Unmarshal(resp.Body, &page)
			if !strings.HasPrefix(page.NextLink, base+app1+"/deviceStatuses?$skiptoken=") {
				t.Errorf("item nextLink %q is not absolute under %s", page.NextLink, base)
			}
		}
	}
}
