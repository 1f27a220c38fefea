package emulator

import (
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/google/uuid"
)

// ServeHTTP serves Graph's routes under /beta and /v1.0.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c := s.arrive(r)
	defer func() {
		s.mu.Lock()
		s.stats.InFlight--
		s.mu.Unlock()
	}()
	h := w.Header()
	h.Set("request-id", c.requestID)
	h.Set("client-request-id", c.echoID())
	if !s.sleep(r.Context(), s.opt.Latency) {
		s.giveUp(w)
		return
	}
	if a, ok := s.route(c, r); !ok {
		s.deliver(w, r, c, a)
		return
	}
	if a, ok := s.authenticate(c, r.Header.Get("Authorization")); !ok {
		s.deliver(w, r, c, a)
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if !errors.As(err, &tooBig) {
			return // the client went away mid-body: nobody to answer
		}
		s.deliver(w, r, c, s.locked(func(now time.Time) answer {
			return c.fail(now, 413, "RequestEntityTooLarge", "The request body exceeds the maximum size of 4 MB.")
		}))
		return
	}
	c.body = body
	if isBatch(c) {
		s.serveBatch(w, r, c)
		return
	}
	s.deliver(w, r, c, s.serve(c, false))
}

// arrive counts a request in and returns its call.
func (s *Server) arrive(r *http.Request) *call {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.stats.Requests++
	s.stats.InFlight++
	s.stats.MaxInFlight = max(s.stats.MaxInFlight, s.stats.InFlight)
	c := &call{
		method:          r.Method,
		query:           r.URL.Query(),
		contentType:     r.Header.Get("Content-Type"),
		clientRequestID: r.Header.Get("client-request-id"),
		requestID:       uuid.NewString(),
	}
	s.noteArrival(c)
	return c
}

// route reads the version and the path segments of r into c.
func (s *Server) route(c *call, r *http.Request) (answer, bool) {
	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	escaped := r.URL.EscapedPath()
	segs, bad, ok := splitPath(escaped)
	switch {
	case !ok:
		return s.locked(func(now time.Time) answer { return c.segmentNotFound(now, bad) }), false
	case len(segs) == 0 || !(strings.EqualFold(segs[0], "beta") || strings.EqualFold(segs[0], "v1.0")):
		version := ""
		if len(segs) > 0 {
			version = segs[0]
		}
		return s.locked(func(now time.Time) answer {
			return c.badRequest(now, fmt.Sprintf("Invalid version: %s", version))
		}), false
	}
	c.v1 = strings.EqualFold(segs[0], "v1.0")
	c.root = scheme + "://" + r.Host + "/" + url.PathEscape(segs[0])
	c.self = scheme + "://" + r.Host + escaped
	c.segs = segs[1:]
	return answer{}, true
}

// locked runs f with s.mu held and the current time.
func (s *Server) locked(f func(now time.Time) answer) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return f(s.now())
}

// noteArrival counts c as an early retry if its client-request-id was told
// to wait longer. Callers hold s.mu.
func (s *Server) noteArrival(c *call) {
	if c.clientRequestID != "" && s.book.early(c.clientRequestID, s.now()) {
		s.stats.EarlyRetries++
	}
}

// serve answers one plain request: decided and carried out under one hold
// of s.mu, since nothing in it waits.
func (s *Server) serve(c *call, item bool) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.perform(s.decide(c, item))
}

// deliver sends a to the client, or drops or holds the connection as a
// asks.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request, c *call, a answer) {
	switch a.action {
	case abort:
		abortConn(w)
		return
	case hang:
		if !s.sleep(r.Context(), a.hangFor) {
			s.giveUp(w)
			return
		}
		a = s.locked(func(now time.Time) answer {
			return c.fail(now, 504, "GatewayTimeout", gatewayTimeoutMessage)
		})
	}
	s.mu.Lock()
	s.stats.ByStatus[a.status]++
	s.mu.Unlock()
	h := w.Header()
	for k, v := range a.header {
		h.Set(k, v)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.body) // a write error means the client left
}

// isBatch reports whether c is a $batch POST.
func isBatch(c *call) bool { return len(c.segs) == 1 && c.segs[0] == "$batch" }

// giveUp ends a request that was waiting when the client left or the server
// closed: a closing server drops the connection rather than answer.
func (s *Server) giveUp(w http.ResponseWriter) {
	select {
	case <-s.done:
		abortConn(w)
	default: // the client is gone; there is nobody to answer
	}
}
