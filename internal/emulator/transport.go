package emulator

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"syscall"
	"time"
)

// Transport is an http.RoundTripper that answers each request by calling
// Handler in the goroutine of RoundTrip, with no network in between. It
// lets a client reach an emulator in-process, for instance under
// testing/synctest, where a goroutine blocked on a socket is not durably
// blocked and the bubble's clock would never advance: a Server created in
// the bubble then waits out its Latency, hangs and limit windows on the
// bubble's fake clock, as does the client.
//
// It answers as a loopback connection would:
//   - the request's context ends the wait of a latency or a hang, and
//     RoundTrip then returns the context's error;
//   - a dropped connection (a reset fault, or Close during a hang) is an
//     error that wraps syscall.ECONNRESET;
//   - otherwise the whole answer is buffered and returned, with the Date
//     and Content-Length a net/http server would add.
//
// A panic in Handler other than http.ErrAbortHandler is not recovered.
// The zero value has no Handler and answers every request with an error.
type Transport struct {
	// Handler serves the requests: a *Server, or a handler wrapping one
	// (to record or count what it is sent).
	Handler http.Handler
}

// RoundTrip implements http.RoundTripper.
func (t *Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	body, err := readBody(req)
	if err != nil {
		return nil, err
	}
	if t.Handler == nil {
		return nil, fmt.Errorf("emulator: Transport has no Handler")
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	sr, err := serverRequest(req, body)
	if err != nil {
		return nil, err
	}
	w := &responseRecorder{header: make(http.Header)}
	if dropped := serveRecovering(t.Handler, w, sr); dropped {
		return nil, fmt.Errorf("emulator: %s %s: connection dropped by the server: %w", req.Method, req.URL.Redacted(), syscall.ECONNRESET)
	}
	if !w.wrote {
		// A handler that answered nothing gave up because the client
		// left (its context ended); over a network the client would
		// have seen its own context's error.
		if err := ctx.Err(); err != nil {
			return nil, err
		}
		w.WriteHeader(http.StatusOK) // what net/http sends for a handler that wrote nothing
	}
	return w.response(req), nil
}

// readBody reads and closes the request body, as a RoundTripper must.
func readBody(req *http.Request) ([]byte, error) {
	if req.Body == nil || req.Body == http.NoBody {
		return nil, nil
	}
	defer req.Body.Close()
	b, err := io.ReadAll(req.Body)
	if err != nil {
		return nil, fmt.Errorf("emulator: reading the request body: %w", err)
	}
	return b, nil
}

// serverRequest is req as a net/http server would hand it to its
// handler: the URL holds only the path and query, Host the authority.
func serverRequest(req *http.Request, body []byte) (*http.Request, error) {
	u, err := url.ParseRequestURI(req.URL.RequestURI())
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	sr := req.Clone(req.Context())
	sr.URL = u
	sr.RequestURI = req.URL.RequestURI()
	sr.Host = req.Host
	if sr.Host == "" {
		sr.Host = req.URL.Host
	}
	sr.Header.Del("Host")
	sr.RemoteAddr = "127.0.0.1:1"
	sr.Proto, sr.ProtoMajor, sr.ProtoMinor = "HTTP/1.1", 1, 1
	sr.ContentLength = int64(len(body))
	sr.Body = io.NopCloser(bytes.NewReader(body))
	sr.GetBody = nil
	return sr, nil
}

// serveRecovering runs h and reports whether it dropped the connection,
// which a handler does by panicking with http.ErrAbortHandler.
func serveRecovering(h http.Handler, w http.ResponseWriter, r *http.Request) (dropped bool) {
	defer func() {
		if v := recover(); v != nil {
			if v != http.ErrAbortHandler {
				panic(v)
			}
			dropped = true
		}
	}()
	h.ServeHTTP(w, r)
	return false
}

// responseRecorder buffers a handler's answer. It is not a Hijacker, so
// the emulator drops a connection by aborting the handler.
type responseRecorder struct {
	header http.Header // what the handler sets
	sent   http.Header // header as it was when the status was written
	status int
	wrote  bool
	body   bytes.Buffer
}

func (w *responseRecorder) Header() http.Header { return w.header }

func (w *responseRecorder) WriteHeader(status int) {
	if w.wrote || status < 200 { // informational answers are not the answer
		return
	}
	w.wrote, w.status = true, status
	w.sent = w.header.Clone() // later changes to Header() do not reach the answer
}

func (w *responseRecorder) Write(p []byte) (int, error) {
	w.WriteHeader(http.StatusOK)
	return w.body.Write(p)
}

func (w *responseRecorder) response(req *http.Request) *http.Response {
	h := w.sent
	if h.Get("Date") == "" {
		h.Set("Date", time.Now().UTC().Format(http.TimeFormat))
	}
	if w.body.Len() > 0 && h.Get("Content-Type") == "" {
		h.Set("Content-Type", http.DetectContentType(w.body.Bytes()))
	}
	h.Set("Content-Length", strconv.Itoa(w.body.Len()))
	return &http.Response{
		Status:        strconv.Itoa(w.status) + " " + http.StatusText(w.status),
		StatusCode:    w.status,
		Proto:         "HTTP/1.1",
		ProtoMajor:    1,
		ProtoMinor:    1,
		Header:        h,
		Body:          io.NopCloser(bytes.NewReader(w.body.Bytes())),
		ContentLength: int64(w.body.Len()),
		Request:       req,
	}
}
