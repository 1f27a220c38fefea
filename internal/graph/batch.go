package graph

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"

	"github.com/google/uuid"
)

// MaxBatch is the most requests Graph accepts in one $batch POST.
const MaxBatch = 20

// errMissingItem is the error of a $batch item the answer did not mention.
var errMissingItem = errors.New("graph: $batch answer has no response for this item")

// SendBatch sends ws as JSON $batch POSTs of at most MaxBatch items and
// returns one Result per Write, index-aligned with ws. Each item is paced
// through the write limiter on its own (Graph counts every item against
// the quota). Items that fail transiently (429 with its own Retry-After,
// 5xx, missing from the answer) are sent again, alone or with other
// retried items, in a later POST; a POST that fails as a whole gives its
// answer to each of its items. Each item goes through the same retry
// state machine as a Send, so an item ends exactly as a Send answered
// the same way would, cancellation included: once ctx is done no POST
// leaves, and a POST on the wire runs to its answer.
func (c *Client) SendBatch(ctx context.Context, ws []Write) []Result {
	rs := make([]*request, len(ws))
	for i, w := range ws {
		r := c.writeRequest(w)
		if !r.done {
			r.id = strconv.Itoa(i + 1)
			if err := r.encodeItem(); err != nil {
				r.res.Err, r.done = err, true
			}
		}
		rs[i] = r
	}
	c.run(ctx, rs, MaxBatch, c.sendBatch)
	out := make([]Result, len(rs))
	for i, r := range rs {
		out[i] = r.res
	}
	return out
}

// encodeItem encodes r as a $batch item into r.item.
func (r *request) encodeItem() error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // send the body as given
	err := enc.Encode(struct {
		ID      string            `json:"id"`
		Method  string            `json:"method"`
		URL     string            `json:"url"`
		Headers map[string]string `json:"headers"`
		Body    json.RawMessage   `json:"body,omitempty"`
	}{
		ID: r.id, Method: r.method, URL: r.path, Body: r.body,
		Headers: map[string]string{"Content-Type": "application/json", "client-request-id": r.res.ClientRequestID},
	})
	if err != nil {
		// Unreachable: writeRequest checked the body with json.Valid.
		return fmt.Errorf("graph: %s %s: encode $batch item: %w", r.method, r.path, err)
	}
	r.item = bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
	return nil
}

// sendBatch is the sender of $batch items: one POST for the group, whose
// answer it splits into one attempt per item.
func (c *Client) sendBatch(ctx context.Context, group []*request, tok string) []attempt {
	var body bytes.Buffer
	body.WriteString(`{"requests":[`)
	for i, r := range group {
		if i > 0 {
			body.WriteByte(',')
		}
		body.Write(r.item)
	}
	body.WriteString("]}")
	c.count(true, len(group))
	post := c.roundTrip(ctx, http.MethodPost, c.base+"/$batch", body.Bytes(), uuid.NewString(), tok)
	return c.itemAttempts(group, post)
}

// itemAttempts splits the answer to a $batch POST into its items'
// attempts. A POST that got no answer, or an error status, gives that to
// every item; a 2xx gives each item its own response, matched by id, or
// no answer when the POST's answer does not mention it.
func (c *Client) itemAttempts(group []*request, post attempt) []attempt {
	out := make([]attempt, len(group))
	if post.status < 200 || post.status > 299 {
		for i := range out {
			out[i] = post
		}
		return out
	}
	outerID := post.header.Get("request-id")
	got, derr := decodeBatchResponse(post.body)
	if post.err != nil {
		// Accepted, but what became of each item is in the body.
		derr = fmt.Errorf("graph: $batch answer %d: body unreadable: %w", post.status, post.err)
	}
	byID := make(map[string]batchItem, len(got))
	for _, it := range got {
		if _, dup := byID[it.ID]; !dup {
			byID[it.ID] = it
		}
	}
	for i, r := range group {
		it, ok := byID[r.id]
		switch {
		case !ok && derr != nil:
			out[i] = attempt{err: derr, requestID: outerID}
		case !ok:
			out[i] = attempt{err: errMissingItem, requestID: outerID}
		default:
			if it.Status == http.StatusTooManyRequests {
				c.throttled.Add(1)
			}
			out[i] = attempt{status: it.Status, header: it.Header, body: it.Body, requestID: outerID}
		}
	}
	return out
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
