package emulator

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// maxBatch is Graph's limit on requests in one $batch.
const maxBatch = 20

type batchRequest struct {
	Requests []batchItem `json:"requests"`
}

type batchItem struct {
	ID        string            `json:"id"`
	Method    string            `json:"method"`
	URL       string            `json:"url"`
	Headers   map[string]string `json:"headers"`
	Body      json.RawMessage   `json:"body"`
	DependsOn []string          `json:"dependsOn"`
}

type batchResponse struct {
	Responses []itemResponse `json:"responses"`
}

type itemResponse struct {
	ID      string            `json:"id"`
	Status  int               `json:"status"`
	Headers map[string]string `json:"headers,omitempty"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// batch is a parsed $batch: its items, methods upper-cased, and for each
// the indexes of the items it depends on.
type batch struct {
	items []batchItem
	deps  [][]int
}

// serveBatch answers POST /$batch. The POST is a request of its own: its
// Content-Type is checked, it is throttled as a whole while the request
// window is full, and it may meet faults (the write shares when it holds
// a write, else the read shares). Each item is then evaluated as a request
// of its own (quota, validation, item-level faults) and the responses come
// back shuffled, as Graph may return them in any order.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, post *call) {
	b, f, a, ok := s.openBatch(post)
	if !ok {
		s.deliver(w, r, post, a)
		return
	}
	switch f {
	case faultResetBefore:
		abortConn(w)
		return
	case faultHang:
		s.deliver(w, r, post, a)
		return
	}
	var responses []itemResponse
	if s.opt.Lenient {
		responses = s.runSequential(post, b)
	} else {
		responses = s.runConcurrent(post, b)
	}
	if f == faultResetAfter {
		// The items' answers never reach the client: neither do the
		// Retry-Afters among them, so a retry is not early against them.
		s.mu.Lock()
		for _, it := range b.items {
			s.book.forget(headerValue(it.Headers, "client-request-id"))
		}
		s.mu.Unlock()
		abortConn(w)
		return
	}
	s.mu.Lock()
	s.rng.Shuffle(len(responses), func(i, j int) { responses[i], responses[j] = responses[j], responses[i] })
	s.mu.Unlock()
	body, err := json.Marshal(batchResponse{responses})
	if err != nil { // cannot happen: every item body is JSON the emulator wrote
		abortConn(w)
		return
	}
	w.Header().Set("Content-Type", jsonType)
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(body)
}

// openBatch decides what becomes of the POST itself: its parsed items and
// the fault it meets, or the answer that ends it (ok false; also for a
// hang, whose answer says how long).
func (s *Server) openBatch(post *call) (batch, fault, answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	s.stats.BatchPosts++
	if post.method != http.MethodPost {
		return batch{}, noFault, post.methodNotAllowed(now), false
	}
	if !s.opt.Lenient {
		if a, ok := s.checkContentType(post, now); !ok {
			return batch{}, noFault, a, false
		}
	}
	b, a, ok := parseBatch(post, now, !s.opt.Lenient)
	if !ok {
		return b, noFault, a, false
	}
	if wait := s.all.wait(now); wait > 0 && !s.opt.Lenient {
		return b, noFault, s.throttle(post, now, wait), false
	}
	write := false
	for _, it := range b.items {
		write = write || it.Method != http.MethodGet
	}
	ft, kinds := s.faultsFor(write), envelopeFaults
	if s.opt.Lenient {
		if kinds = lenientEnvelope; !write {
			kinds = nil
		}
	}
	switch f := s.roll(ft, kinds); f {
	case noFault:
		return b, f, answer{}, true
	case faultHang:
		s.count(ft, f)
		return b, f, answer{action: hang, hangFor: ft.f.HangFor}, false
	case faultServerError:
		s.count(ft, f)
		return b, f, s.serverError(post), false
	default:
		s.count(ft, f)
		return b, f, answer{}, true
	}
}

// parseBatch checks the batch as a whole, as Graph does before running any
// item. foldIDs compares ids ignoring case, as Graph does.
func parseBatch(post *call, now time.Time, foldIDs bool) (batch, answer, bool) {
	reject := func(format string, args ...any) (batch, answer, bool) {
		return batch{}, post.badRequest(now, fmt.Sprintf(format, args...)), false
	}
	var br batchRequest
	if err := json.Unmarshal(post.body, &br); err != nil || len(br.Requests) == 0 {
		return reject("Invalid batch payload format.")
	}
	if len(br.Requests) > maxBatch {
		return reject("The number of requests in the batch (%d) exceeds the limit of %d.", len(br.Requests), maxBatch)
	}
	fold := func(id string) string {
		if foldIDs {
			return strings.ToLower(id)
		}
		return id
	}
	index := make(map[string]int, len(br.Requests))
	for i := range br.Requests {
		it := &br.Requests[i]
		it.Method = strings.ToUpper(it.Method)
		switch {
		case it.ID == "":
			return reject("Invalid batch payload format: request %d has no id.", i)
		case it.Method == "":
			return reject("Invalid batch payload format: request id : %s has no method.", it.ID)
		case it.URL == "":
			return reject("Invalid batch payload format: request id : %s has no url.", it.ID)
		}
		if _, dup := index[fold(it.ID)]; dup {
			return reject("Request id '%s' is used more than once; ids must be unique within a batch.", it.ID)
		}
		index[fold(it.ID)] = i
		hasBody := len(it.Body) > 0 && string(it.Body) != "null"
		if isWrite(it.Method) && (headerValue(it.Headers, "Content-Type") == "" || !hasBody) {
			return reject("Write request id : %s does not contain Content-Type header or body.", it.ID)
		}
	}
	b := batch{items: br.Requests, deps: make([][]int, len(br.Requests))}
	for i, it := range br.Requests {
		for _, d := range it.DependsOn {
			j, ok := index[fold(d)]
			if !ok {
				return reject("Request id : %s depends on request id : %s, which is not in this batch.", it.ID, d)
			}
			b.deps[i] = append(b.deps[i], j)
		}
	}
	if _, ok := dependencyOrder(b.deps, nil); !ok {
		return reject("The dependsOn references in the batch form a cycle.")
	}
	return b, answer{}, true
}

func isWrite(method string) bool {
	return method == http.MethodPost || method == http.MethodPut || method == http.MethodPatch
}

// headerValue looks a header up in a batch item's headers, ignoring case.
func headerValue(h map[string]string, name string) string {
	for k, v := range h {
		if strings.EqualFold(k, name) {
			return v
		}
	}
	return ""
}

// dependencyOrder orders items so that each comes after those it depends
// on; ok is false on a cycle. With rng nil, items otherwise keep their
// order in the batch; with an RNG, each next item is drawn from those
// whose dependencies are placed, as concurrent evaluation could meet them.
func dependencyOrder(deps [][]int, rng *rand.Rand) (order []int, ok bool) {
	placed := make([]bool, len(deps))
	for len(order) < len(deps) {
		var ready []int
		for i := range deps {
			if !placed[i] && allPlaced(deps[i], placed) {
				ready = append(ready, i)
				if rng == nil {
					break
				}
			}
		}
		if len(ready) == 0 {
			return nil, false
		}
		next := ready[0]
		if rng != nil {
			next = ready[rng.IntN(len(ready))]
		}
		placed[next] = true
		order = append(order, next)
	}
	return order, true
}

func allPlaced(deps []int, placed []bool) bool {
	for _, d := range deps {
		if !placed[d] {
			return false
		}
	}
	return true
}

// runConcurrent evaluates the items as Graph does, concurrently, yet
// reproducibly: first, in an order drawn from the seeded RNG, it decides
// each item's outcome (a failed dependency's 424, quota, faults,
// validation), which takes every random choice; then it carries the items
// out in goroutines, each after the items it depends on.
func (s *Server) runConcurrent(post *call, b batch) []itemResponse {
	n := len(b.items)
	ds := make([]decision, n)
	s.mu.Lock()
	order, _ := dependencyOrder(b.deps, s.rng)
	succeeds := make([]bool, n)
	for _, i := range order {
		ds[i] = s.decideItem(post, b, i, succeeds)
		succeeds[i] = !ds[i].final && ds[i].fault != faultThrottleAfter
	}
	s.mu.Unlock()

	out := make([]itemResponse, n)
	done := make([]chan struct{}, n)
	for i := range done {
		done[i] = make(chan struct{})
	}
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			defer close(done[i])
			for _, d := range b.deps[i] {
				<-done[d] // dependencies always finish: the batch has no cycle
			}
			out[i] = s.performItem(b.items[i].ID, ds[i])
		})
	}
	wg.Wait()
	return out
}

// runSequential evaluates the items one by one in dependency order,
// otherwise in request order: the behaviour before concurrency, kept for
// Lenient.
func (s *Server) runSequential(post *call, b batch) []itemResponse {
	order, _ := dependencyOrder(b.deps, nil)
	succeeds := make([]bool, len(b.items))
	out := make([]itemResponse, 0, len(b.items))
	for _, i := range order {
		s.mu.Lock()
		d := s.decideItem(post, b, i, succeeds)
		s.mu.Unlock()
		resp := s.performItem(b.items[i].ID, d)
		succeeds[i] = resp.Status >= 200 && resp.Status <= 299
		out = append(out, resp)
	}
	return out
}

// decideItem decides item i, whose dependencies are decided. Callers hold
// s.mu.
func (s *Server) decideItem(post *call, b batch, i int, succeeds []bool) decision {
	it := b.items[i]
	c := itemCall(post, it)
	s.noteArrival(c)
	now := s.now()
	for _, d := range b.deps[i] {
		if !succeeds[d] {
			return finalDecision(c, c.fail(now, 424, "FailedDependency",
				fmt.Sprintf("The request depends on request id : %s, which failed.", b.items[d].ID)))
		}
	}
	u, err := url.Parse(it.URL)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return finalDecision(c, c.badRequest(now, fmt.Sprintf("Invalid request URL '%s': batch request URLs must be relative to the version root.", it.URL)))
	}
	segs, bad, ok := splitPath(u.EscapedPath())
	if !ok {
		return finalDecision(c, c.segmentNotFound(now, bad))
	}
	c.segs, c.query = segs, u.Query()
	c.self = c.root + "/" + strings.TrimPrefix(u.EscapedPath(), "/")
	return s.decide(c, true)
}

// performItem carries out an item's decision and counts its status.
func (s *Server) performItem(id string, d decision) itemResponse {
	s.mu.Lock()
	defer s.mu.Unlock()
	a := s.perform(d)
	s.stats.ByStatus[a.status]++
	return itemResponse{ID: id, Status: a.status, Headers: a.header, Body: a.body}
}

// itemCall turns a batch item into a call, sharing the POST's host,
// version and token: item urls are relative and carry no version.
func itemCall(post *call, it batchItem) *call {
	return &call{
		method:          it.Method,
		contentType:     headerValue(it.Headers, "Content-Type"),
		clientRequestID: headerValue(it.Headers, "client-request-id"),
		requestID:       uuid.NewString(),
		root:            post.root,
		v1:              post.v1,
		forbidden:       post.forbidden,
		body:            it.Body,
	}
}
