package emulator

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"strings"
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

// serveBatch answers POST /$batch: each item is evaluated as a request of
// its own (quota, validation, item-level faults), in dependency order, and
// the responses come back shuffled, as Graph may return them in any order.
// Connection-level faults apply to the POST as a whole.
func (s *Server) serveBatch(w http.ResponseWriter, r *http.Request, post *call) {
	s.mu.Lock()
	s.stats.BatchPosts++
	s.mu.Unlock()
	if post.method != http.MethodPost {
		s.deliver(w, r, post, s.locked(func(now time.Time) answer {
			return post.fail(now, 405, "BadRequest", fmt.Sprintf("The requested resource does not support http method '%s'.", post.method))
		}))
		return
	}
	var items []batchItem
	var order []int
	a := s.locked(func(now time.Time) answer {
		var a answer
		items, order, a = parseBatch(post, now)
		return a
	})
	if items == nil {
		s.deliver(w, r, post, a)
		return
	}

	f := noFault
	for _, it := range items {
		if it.Method != http.MethodGet {
			s.mu.Lock()
			f = s.roll(postFaults)
			if f != noFault {
				s.stats.Faults[faultNames[f]]++
			}
			s.mu.Unlock()
			break
		}
	}
	switch f {
	case faultResetBefore:
		abortConn(w)
		return
	case faultHang:
		s.deliver(w, r, post, answer{action: hang})
		return
	}

	responses := s.runBatch(post, items, order)
	if f == faultResetAfter {
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

// parseBatch checks the batch as a whole, as Graph does before running any
// item, and returns the items (methods upper-cased) with the order to run
// them in; on a problem it returns nil items and the 400 answer.
func parseBatch(post *call, now time.Time) ([]batchItem, []int, answer) {
	reject := func(format string, args ...any) ([]batchItem, []int, answer) {
		return nil, nil, post.fail(now, 400, "BadRequest", fmt.Sprintf(format, args...))
	}
	var br batchRequest
	if err := json.Unmarshal(post.body, &br); err != nil || len(br.Requests) == 0 {
		return reject("Invalid batch payload format.")
	}
	if len(br.Requests) > maxBatch {
		return reject("The number of requests in the batch (%d) exceeds the limit of %d.", len(br.Requests), maxBatch)
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
		if _, dup := index[it.ID]; dup {
			return reject("Request id '%s' is used more than once; ids must be unique within a batch.", it.ID)
		}
		index[it.ID] = i
		hasBody := len(it.Body) > 0 && string(it.Body) != "null"
		if isWrite(it.Method) && (headerValue(it.Headers, "Content-Type") == "" || !hasBody) {
			return reject("Write request id : %s does not contain Content-Type header or body.", it.ID)
		}
	}
	for _, it := range br.Requests {
		for _, d := range it.DependsOn {
			if _, ok := index[d]; !ok {
				return reject("Request id : %s depends on request id : %s, which is not in this batch.", it.ID, d)
			}
		}
	}
	order, ok := dependencyOrder(br.Requests, index)
	if !ok {
		return reject("The dependsOn references in the batch form a cycle.")
	}
	return br.Requests, order, answer{}
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
// on, otherwise keeping their order in the batch; ok is false on a cycle.
func dependencyOrder(items []batchItem, index map[string]int) (order []int, ok bool) {
	state := make([]int8, len(items)) // 0 new, 1 visiting, 2 done
	var visit func(i int) bool
	visit = func(i int) bool {
		switch state[i] {
		case 1:
			return false
		case 2:
			return true
		}
		state[i] = 1
		for _, d := range items[i].DependsOn {
			if !visit(index[d]) {
				return false
			}
		}
		state[i] = 2
		order = append(order, i)
		return true
	}
	for i := range items {
		if !visit(i) {
			return nil, false
		}
	}
	return order, true
}

// runBatch evaluates the items in order; an item whose dependency did not
// succeed is not run and gets 424.
func (s *Server) runBatch(post *call, items []batchItem, order []int) []itemResponse {
	status := make(map[string]int, len(items))
	out := make([]itemResponse, 0, len(items))
	for _, i := range order {
		it := items[i]
		c := itemCall(post, it)
		s.mu.Lock()
		s.noteArrival(c)
		s.mu.Unlock()
		var a answer
		if dep := failedDependency(it, status); dep != "" {
			a = s.locked(func(now time.Time) answer {
				return c.fail(now, 424, "FailedDependency", fmt.Sprintf("The request depends on request id : %s, which failed.", dep))
			})
		} else {
			a = s.serveItem(c, it)
		}
		s.mu.Lock()
		s.stats.ByStatus[a.status]++
		s.mu.Unlock()
		status[it.ID] = a.status
		out = append(out, itemResponse{ID: it.ID, Status: a.status, Headers: a.header, Body: a.body})
	}
	return out
}

func failedDependency(it batchItem, status map[string]int) string {
	for _, d := range it.DependsOn {
		if st := status[d]; st < 200 || st > 299 {
			return d
		}
	}
	return ""
}

// itemCall turns a batch item into a call, sharing the POST's host and
// version: item urls are relative and carry no version.
func itemCall(post *call, it batchItem) *call {
	c := &call{
		method:          it.Method,
		contentType:     headerValue(it.Headers, "Content-Type"),
		clientRequestID: headerValue(it.Headers, "client-request-id"),
		requestID:       uuid.NewString(),
		root:            post.root,
		body:            it.Body,
	}
	return c
}

// serveItem resolves an item's url and serves it.
func (s *Server) serveItem(c *call, it batchItem) answer {
	u, err := url.Parse(it.URL)
	if err != nil || u.Scheme != "" || u.Host != "" {
		return s.locked(func(now time.Time) answer {
			return c.fail(now, 400, "BadRequest", fmt.Sprintf("Invalid request URL '%s': batch request URLs must be relative to the version root.", it.URL))
		})
	}
	segs, bad, ok := splitPath(u.EscapedPath())
	if !ok {
		return s.locked(func(now time.Time) answer { return c.segmentNotFound(now, bad) })
	}
	c.segs, c.query = segs, u.Query()
	c.self = c.root + "/" + strings.TrimPrefix(u.EscapedPath(), "/")
	return s.serve(c, itemFaults)
}
