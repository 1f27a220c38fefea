package emulator

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Weather is test support for a bad day that Options alone cannot
// describe: latency that differs from request to request, and server
// errors that are mostly 503 Service Unavailable, as Intune's are on a
// bad day. The zero value changes nothing.
type Weather struct {
	// Latency and Jitter: each request waits Latency ± Jitter, drawn
	// uniformly and never less than 0, before the server looks at it (so
	// that it also reaches the limiter late), on top of Options.Latency.
	Latency, Jitter time.Duration
	// Unavailable answers every 500 and 502 that Faults.ServerError
	// draws (for a plain request, a $batch POST or an item) as 503
	// ServiceUnavailable instead, with a Retry-After half the time, as
	// the emulator's own 503s: a ServerError share s then answers 3s/4
	// with 503 and s/4 with 504. The server's Stats count the 503s.
	Unavailable bool
	// Seed seeds the draws of latency and Retry-After.
	Seed uint64
}

// In returns a handler serving s in weather w. Use it in place of s
// itself (with srv := &http.Server{Handler: s.In(w)}, or in front of a
// handler of one's own that wraps s).
func (s *Server) In(w Weather) http.Handler {
	return &weathered{s: s, w: w, rng: rand.New(rand.NewPCG(w.Seed, 0x5eed))}
}

type weathered struct {
	s *Server
	w Weather

	mu  sync.Mutex
	rng *rand.Rand
}

func (h *weathered) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if d := h.latency(); !h.s.sleep(r.Context(), d) {
		h.s.giveUp(w)
		return
	}
	if !h.w.Unavailable {
		h.s.ServeHTTP(w, r)
		return
	}
	rec := &held{ResponseWriter: w, header: http.Header{}}
	h.s.ServeHTTP(rec, r)
	if rec.hijacked {
		return // the server dropped the connection
	}
	status, body := rec.status, rec.body.Bytes()
	switch {
	case status == http.StatusInternalServerError || status == http.StatusBadGateway:
		h.recount(status)
		status, body = h.unavailable(rec.header, body, r.Header.Get("client-request-id"))
	case status == http.StatusOK && r.Method == http.MethodPost && isBatchPath(r.URL.EscapedPath()):
		body = h.batch(body)
	}
	for k, v := range rec.header {
		w.Header()[k] = v
	}
	if status == 0 {
		status = http.StatusOK
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

// latency draws one request's wait.
func (h *weathered) latency() time.Duration {
	if h.w.Jitter <= 0 {
		return h.w.Latency
	}
	h.mu.Lock()
	d := h.w.Latency - h.w.Jitter + time.Duration(h.rng.Int64N(int64(2*h.w.Jitter)+1))
	h.mu.Unlock()
	return max(d, 0)
}

// recount counts as a 503 an answer the server counted as old.
func (h *weathered) recount(old int) {
	h.s.mu.Lock()
	defer h.s.mu.Unlock()
	h.s.stats.ByStatus[old]--
	h.s.stats.ByStatus[http.StatusServiceUnavailable]++
}

// unavailable turns an error answer into a 503 in Graph's words, with
// Retry-After half the time (as the emulator's own), recorded against the
// request's client-request-id so that an early retry is counted.
func (h *weathered) unavailable(header http.Header, body []byte, crid string) (int, []byte) {
	var e graphError
	if json.Unmarshal(body, &e) == nil {
		e.Error.Code = "ServiceUnavailable"
		e.Error.Message = "The service is temporarily unavailable. Please retry later."
		if b, err := json.Marshal(e); err == nil {
			body = b
		}
	}
	h.mu.Lock()
	retry := h.rng.IntN(2) == 0
	wait := 500*time.Millisecond + time.Duration(h.rng.Int64N(int64(4500*time.Millisecond)))
	h.mu.Unlock()
	if retry {
		s := h.s
		a := answer{header: map[string]string{}}
		s.mu.Lock()
		s.setRetryAfter(&call{clientRequestID: crid}, &a, s.now(), wait)
		s.mu.Unlock()
		for k, v := range a.header {
			header.Set(k, v)
		}
	}
	return http.StatusServiceUnavailable, body
}

// batch turns the 500 and 502 items of a $batch answer into 503s.
func (h *weathered) batch(body []byte) []byte {
	var br batchResponse
	if json.Unmarshal(body, &br) != nil {
		return body
	}
	changed := false
	for i := range br.Responses {
		it := &br.Responses[i]
		if it.Status != http.StatusInternalServerError && it.Status != http.StatusBadGateway {
			continue
		}
		hdr := http.Header{}
		var crid string
		if m := map[string]any{}; json.Unmarshal(it.Body, &m) == nil {
			if e, ok := m["error"].(map[string]any); ok {
				if in, ok := e["innerError"].(map[string]any); ok {
					crid, _ = in["client-request-id"].(string)
				}
			}
		}
		h.recount(it.Status)
		it.Status, it.Body = h.unavailable(hdr, it.Body, crid)
		if it.Headers == nil {
			it.Headers = map[string]string{}
		}
		if ra := hdr.Get("Retry-After"); ra != "" {
			it.Headers["Retry-After"] = ra
		}
		changed = true
	}
	if !changed {
		return body
	}
	b, err := json.Marshal(br)
	if err != nil {
		return body
	}
	return b
}

// isBatchPath reports whether an escaped path is a version root's $batch.
func isBatchPath(p string) bool {
	return strings.Count(p, "/") == 2 && strings.HasSuffix(p, "/$batch")
}

// held holds an answer back until the weather has looked at it; a
// connection the server drops goes straight through.
type held struct {
	http.ResponseWriter
	header   http.Header
	status   int
	body     bytes.Buffer
	hijacked bool
}

func (w *held) Header() http.Header { return w.header }

func (w *held) WriteHeader(status int) {
	if w.status == 0 {
		w.status = status
	}
}

func (w *held) Write(b []byte) (int, error) {
	if w.status == 0 {
		w.status = http.StatusOK
	}
	return w.body.Write(b)
}

func (w *held) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	hj, ok := w.ResponseWriter.(http.Hijacker)
	if !ok {
		return nil, nil, errors.New("emulator: connection cannot be hijacked")
	}
	w.hijacked = true
	return hj.Hijack()
}
