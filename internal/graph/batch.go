package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"github.com/google/uuid"
)

// MaxBatch is the most requests Graph accepts in one $batch POST.
const MaxBatch = 20

// errMissingItem is the error of a $batch item the answer did not mention.
var errMissingItem = errors.New("graph: $batch answer has no response for this item")

// batchState follows one Write through the $batch rounds.
type batchState struct {
	id        string // $batch item id: index in ws, 1-based
	method    string
	path      string
	body      json.RawMessage
	res       Result
	start     time.Time
	notBefore time.Time
	retries   int
	refreshed bool
	done      bool
}

// SendBatch sends ws as JSON $batch POSTs of at most MaxBatch items and
// returns one Result per Write, index-aligned with ws. Each item is paced
// through the write limiter on its own (Graph counts every item against
// the quota). Items that fail transiently (429 with its own Retry-After,
// 5xx, missing from the answer) are sent again, alone or with other
// retried items, in a later POST; a POST that fails as a whole retries
// all its items. Per-item semantics match Send.
func (c *Client) SendBatch(ctx context.Context, ws []Write) []Result {
	st := make([]*batchState, len(ws))
	for i, w := range ws {
		s := &batchState{id: strconv.Itoa(i + 1)}
		s.res.ClientRequestID = w.ClientRequestID
		if s.res.ClientRequestID == "" {
			s.res.ClientRequestID = uuid.NewString()
		}
		st[i] = s
		k, err := c.writeCall(w)
		if err != nil {
			s.res.Err, s.done = err, true
			continue
		}
		s.method, s.path, s.body = k.method, k.path, json.RawMessage(w.Body)
	}
	for {
		var ready []*batchState
		var earliest time.Time
		now := c.clock.Now()
		for _, s := range st {
			switch {
			case s.done:
			case !s.notBefore.After(now):
				ready = append(ready, s)
			case earliest.IsZero() || s.notBefore.Before(earliest):
				earliest = s.notBefore
			}
		}
		if len(ready) == 0 && earliest.IsZero() {
			break
		}
		var err error
		if len(ready) == 0 {
			err = sleep(ctx, c.clock, earliest.Sub(now))
		}
		for len(ready) > 0 && err == nil {
			n := min(len(ready), MaxBatch)
			err = c.sendBatch(ctx, ready[:n])
			ready = ready[n:]
		}
		if err != nil {
			for _, s := range st {
				if !s.done {
					s.res.Err = fmt.Errorf("graph: %s %s: %w", s.method, s.path, err)
					c.finish(s)
				}
			}
			break
		}
	}
	out := make([]Result, len(st))
	for i, s := range st {
		out[i] = s.res
	}
	return out
}

// finish settles s.
func (c *Client) finish(s *batchState) {
	s.done = true
	if !s.start.IsZero() {
		s.res.Duration = c.clock.Now().Sub(s.start)
	}
}

type batchRequest struct {
	ID      string            `json:"id"`
	Method  string            `json:"method"`
	URL     string            `json:"url"`
	Headers map[string]string `json:"headers"`
	Body    json.RawMessage   `json:"body,omitempty"`
}

// sendBatch sends one $batch POST for items and settles or reschedules
// each of them. It returns an error only when ctx ended.
func (c *Client) sendBatch(ctx context.Context, items []*batchState) error {
	for range items {
		if err := c.writes.wait(ctx); err != nil {
			return err
		}
	}
	tok, err := c.token(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		for _, s := range items {
			s.res.Err = err
			c.finish(s)
		}
		return nil
	}
	reqs := make([]batchRequest, len(items))
	for i, s := range items {
		reqs[i] = batchRequest{
			ID: s.id, Method: s.method, URL: s.path, Body: s.body,
			Headers: map[string]string{"Content-Type": "application/json", "client-request-id": s.res.ClientRequestID},
		}
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // send the bodies as given
	if err := enc.Encode(struct {
		Requests []batchRequest `json:"requests"`
	}{reqs}); err != nil {
		// Unreachable: every body was checked with json.Valid.
		for _, s := range items {
			s.res.Err = fmt.Errorf("graph: encode $batch: %w", err)
			c.finish(s)
		}
		return nil
	}

	now := c.clock.Now()
	for _, s := range items {
		if s.start.IsZero() {
			s.start = now
		}
		s.res.Attempts++
		if s.res.Attempts > 1 {
			c.retries.Add(1)
		}
	}
	c.count(true, len(items), false)
	k := call{method: http.MethodPost, url: c.base + "/$batch", path: "/$batch", crid: uuid.NewString(), write: true}
	ans, err := c.roundTrip(ctx, k.method, k.url, buf.Bytes(), k.crid, tok)
	now = c.clock.Now()
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		c.logAttempt(ctx, k, Result{ClientRequestID: k.crid, Attempts: items[0].res.Attempts}, 0, err)
		for _, s := range items {
			s.res.Status = 0
			c.itemFailed(ctx, s, 0, 0, err, now)
		}
		return nil
	}
	outerID := ans.header.Get("request-id")
	c.logAttempt(ctx, k, Result{Status: ans.status, RequestID: outerID, ClientRequestID: k.crid, Attempts: items[0].res.Attempts}, 0, nil)

	if ans.status != http.StatusOK {
		apiErr := c.apiError(ans, now)
		if ans.status == http.StatusTooManyRequests {
			c.throttled.Add(1)
		}
		refresh := false
		var maxWait time.Duration
		for _, s := range items {
			s.res.Status, s.res.RequestID = ans.status, apiErr.RequestID
			if ans.status == http.StatusTooManyRequests {
				s.res.Throttled++
			}
			if ans.status == http.StatusUnauthorized && c.tokens != nil && !s.refreshed {
				refresh = true
				continue
			}
			maxWait = max(maxWait, c.itemFailed(ctx, s, ans.status, apiErr.RetryAfter, apiErr, now))
		}
		c.noteThrottle(c.writes, ans.status, apiErr.RetryAfter, maxWait, now)
		if refresh {
			return c.refreshItems(ctx, items, tok, apiErr)
		}
		return nil
	}

	got, derr := decodeBatchResponse(ans.body)
	byID := make(map[string]batchItem, len(got))
	for _, it := range got {
		if _, dup := byID[it.ID]; !dup {
			byID[it.ID] = it
		}
	}
	var (
		refresh   bool
		throttled bool
		maxWait   time.Duration
		maxRA     time.Duration
		lastErr   *APIError
	)
	for _, s := range items {
		it, ok := byID[s.id]
		if !ok {
			e := errMissingItem
			if derr != nil {
				e = derr
			}
			s.res.Status = 0
			s.res.RequestID = outerID
			c.itemFailed(ctx, s, 0, 0, e, now)
			continue
		}
		s.res.Status = it.Status
		s.res.RequestID = it.Header.Get("request-id")
		if s.res.RequestID == "" {
			s.res.RequestID = outerID
		}
		if it.Status == http.StatusOK || it.Status == http.StatusNoContent {
			s.res.Err = nil
			if it.Status == http.StatusOK && len(it.Body) > 0 && it.Body[0] == '{' {
				s.res.Body = it.Body
			}
			c.finish(s)
			continue
		}
		apiErr := c.apiError(&answer{status: it.Status, header: it.Header, body: it.Body}, now)
		// Item header, else the item body's innerError, else the POST's.
		if apiErr.RequestID == "" {
			apiErr.RequestID = s.res.RequestID
		}
		s.res.RequestID = apiErr.RequestID
		if apiErr.ClientRequestID == "" {
			apiErr.ClientRequestID = s.res.ClientRequestID
		}
		if it.Status == http.StatusUnauthorized && c.tokens != nil && !s.refreshed {
			refresh, lastErr = true, apiErr
			s.res.Err = apiErr
			continue
		}
		if it.Status == http.StatusTooManyRequests {
			throttled = true
			s.res.Throttled++
			c.throttled.Add(1)
			maxRA = max(maxRA, apiErr.RetryAfter)
		}
		wait := c.itemFailed(ctx, s, it.Status, apiErr.RetryAfter, apiErr, now)
		if it.Status == http.StatusTooManyRequests {
			maxWait = max(maxWait, wait)
		}
	}
	if throttled {
		// One cut and one pause for the whole answer: its 429s all say
		// the same thing about the tenant.
		c.noteThrottle(c.writes, http.StatusTooManyRequests, maxRA, maxWait, now)
	}
	if refresh {
		return c.refreshItems(ctx, items, tok, lastErr)
	}
	return nil
}

// itemFailed settles s with err when it may not be retried, else
// schedules its retry. It returns the wait scheduled, 0 when settled.
func (c *Client) itemFailed(ctx context.Context, s *batchState, status int, ra time.Duration, err error, now time.Time) time.Duration {
	s.res.Err = err
	if !shouldRetry(ctx, status, err2(status, err)) || s.retries >= c.maxRetries {
		c.finish(s)
		return 0
	}
	s.retries++
	var wait time.Duration
	if status == 0 {
		wait = backoff(s.retries, c.jitter())
	} else {
		wait = c.retryWait(status, ra, s.retries)
	}
	s.notBefore = now.Add(wait)
	return wait
}

// err2 returns the error shouldRetry should see: none when an answer
// (status) came, err when none did.
func err2(status int, err error) error {
	if status != 0 {
		return nil
	}
	return err
}

// refreshItems refreshes the token rejected with a 401 once and makes the
// items that got it (and were not refreshed yet) ready to resend at once;
// the others keep their 401 as final.
func (c *Client) refreshItems(ctx context.Context, items []*batchState, rejected string, apiErr *APIError) error {
	t, err := c.tokens.Refresh(ctx, rejected)
	_, err = checkToken("refresh", t, err)
	if err != nil && ctx.Err() != nil {
		return ctx.Err()
	}
	for _, s := range items {
		if s.done || s.res.Status != http.StatusUnauthorized || s.refreshed {
			continue
		}
		s.refreshed = true
		if err != nil {
			s.res.Err = err
			c.finish(s)
			continue
		}
		s.res.Err = apiErr
		s.notBefore = time.Time{}
	}
	return nil
}

// batchItem is one response of a $batch answer.
type batchItem struct {
	ID     string
	Status int
	Header http.Header
	Body   json.RawMessage // nil when absent or null
}

// decodeBatchResponse decodes a $batch answer. It never panics and is
// lenient per item: a response that is not an object, has no usable id
// or a status outside 100..599 is dropped (its item then counts as
// missing); header values may be strings or scalars. It fails only when
// body is not an object with a "responses" array.
func decodeBatchResponse(body []byte) ([]batchItem, error) {
	var env struct {
		Responses []json.RawMessage `json:"responses"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		return nil, fmt.Errorf("graph: decode $batch answer: %w", err)
	}
	if env.Responses == nil {
		return nil, errors.New(`graph: decode $batch answer: no "responses" array`)
	}
	items := make([]batchItem, 0, len(env.Responses))
	for _, raw := range env.Responses {
		var r struct {
			ID      json.RawMessage `json:"id"`
			Status  json.RawMessage `json:"status"`
			Headers json.RawMessage `json:"headers"`
			Body    json.RawMessage `json:"body"`
		}
		if json.Unmarshal(raw, &r) != nil {
			continue
		}
		it := batchItem{ID: jsonText(r.ID), Header: http.Header{}}
		st, err := strconv.Atoi(jsonText(r.Status))
		if it.ID == "" || err != nil || st < 100 || st > 599 {
			continue
		}
		it.Status = st
		var hs map[string]json.RawMessage
		if json.Unmarshal(r.Headers, &hs) == nil {
			for k, v := range hs {
				if s := jsonText(v); s != "" {
					it.Header.Set(k, s)
				}
			}
		}
		if b := bytes.TrimSpace(r.Body); len(b) > 0 && string(b) != "null" {
			it.Body = b
		}
		items = append(items, it)
	}
	return items, nil
}
