// Package emulator is an embedded Microsoft Graph for the Intune
// mobileAppInstallStatus routes that bulkpatch writes: the two object
// paths (GET, PATCH), their two collections (GET, paged with absolute
// @odata.nextLink) and JSON $batch, under /beta and /v1.0.
//
// It follows the live service where the service and its docs disagree:
// PATCH bodies are checked as Graph's OData reader checks them, errors have
// Graph's shape and headers, sliding-window quotas answer 429 with a
// Retry-After in several real-world forms, and seeded faults drop, hold or
// fail writes reproducibly. Stats records what a client did, above all how
// often it retried before it was told it could.
//
// A typical test:
//
//	srv, _ := emulator.New(state, emulator.Options{WriteLimit: 100, ReadLimit: 1000, Window: 20 * time.Second})
//	base, _ := srv.Start("127.0.0.1:0") // e.g. http://127.0.0.1:41234/beta
//	defer srv.Close()
//	// ... run the client against base ...
//	if st := srv.Stats(); st.EarlyRetries > 0 { ... }
package emulator

import (
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
)

// Options configures a Server. The zero value serves without limits,
// faults, latency or token checks.
type Options struct {
	// WriteLimit caps writes (PATCH, and any other non-GET method) and
	// ReadLimit caps all requests, writes included, in any sliding Window
	// across the whole tenant, like Intune's 100 writes and 1000 requests
	// per 20 s per app registration. 0 means no limit. Each $batch item
	// counts on its own; the $batch POST itself does not. A throttled
	// request does not take a slot, so Retry-After is exact.
	WriteLimit, ReadLimit int
	Window                time.Duration
	// RetryAfter is how 429s carry Retry-After: RetryAfterInteger (the
	// default: whole seconds, rounded up, at least 1), RetryAfterFractional
	// ("2.128", exact to the millisecond, rounded up), RetryAfterNone (no
	// header), RetryAfterMixed (per 429, by the seeded RNG: half without the
	// header, half fractional).
	RetryAfter string
	// NoContent makes a successful PATCH answer 204 with no body, as
	// Intune often does; otherwise it answers 200 with the object.
	NoContent bool
	// Latency is added to every HTTP request before it is looked at.
	Latency time.Duration
	// Faults are injected into writes, decided by an RNG seeded with Seed.
	Faults Faults
	// Seed seeds the RNG behind faults, $batch response order and
	// RetryAfterMixed; the same seed and request order give the same run.
	Seed int64
	// TokenUses, when positive, lets each bearer token serve that many
	// requests; later ones get 401 InvalidAuthenticationToken "Lifetime
	// validation failed, the token is expired.".
	TokenUses int
	// RequireToken answers 401 to requests without a bearer token.
	RequireToken bool
	// ForbiddenToken, when not empty, is a token that authenticates but
	// lacks the permission: 403 Authorization_RequestDenied.
	ForbiddenToken string
	// RemovedSegment answers every request under .../deviceStatuses or
	// .../userStatuses with 400 "Resource not found for the segment
	// 'deviceStatuses'." (or 'userStatuses'), as many tenants have since 2023.
	RemovedSegment bool
	// PageSize is the number of objects per collection page; 0 means 50.
	// A full page always carries an @odata.nextLink, so a collection whose
	// size is a multiple of PageSize ends with an empty page, as Graph's can.
	PageSize int
	// Clock tells the time for limits, Retry-After bookkeeping and error
	// dates; nil means time.Now. Latency and hangs use real timers.
	Clock func() time.Time
}

// Server is the emulator. It is safe for concurrent use; create it with New.
type Server struct {
	opt Options

	mu        sync.Mutex // guards everything below
	store     *store
	stats     Stats
	writes    *window // nil: no write limit
	all       *window // nil: no request limit
	book      retryBook
	rng       *rand.Rand
	tokenUses map[[sha256.Size]byte]int // by hash: the emulator keeps no tokens
	srv       *http.Server
	served    chan struct{} // closed when srv.Serve has returned

	done      chan struct{} // closed by Close: ends hangs and latency
	closeOnce sync.Once
}

const (
	defaultPageSize = 50
	defaultHangFor  = 2 * time.Minute
	maxBody         = 4 << 20 // Graph's request size limit
)

// New returns a Server serving a copy of st (nil: an empty tenant). It
// fails when st holds duplicate or empty ids or ill-typed values, or when
// opt is out of range.
func New(st *State, opt Options) (*Server, error) {
	if st == nil {
		st = &State{}
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	if opt.RetryAfter == "" {
		opt.RetryAfter = RetryAfterInteger
	}
	if opt.PageSize == 0 {
		opt.PageSize = defaultPageSize
	}
	if opt.Faults.HangFor == 0 {
		opt.Faults.HangFor = defaultHangFor
	}
	if opt.Clock == nil {
		opt.Clock = time.Now
	}
	store, err := newStore(st)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	return &Server{
		opt:       opt,
		store:     store,
		stats:     newStats(),
		writes:    newWindow(opt.WriteLimit, opt.Window),
		all:       newWindow(opt.ReadLimit, opt.Window),
		rng:       rand.New(rand.NewPCG(uint64(opt.Seed), 0x62756c6b70617463)),
		tokenUses: make(map[[sha256.Size]byte]int),
		done:      make(chan struct{}),
	}, nil
}

func (o *Options) check() error {
	switch {
	case o.WriteLimit < 0 || o.ReadLimit < 0:
		return errors.New("emulator: negative limit")
	case (o.WriteLimit > 0 || o.ReadLimit > 0) && o.Window <= 0:
		return errors.New("emulator: a limit needs a positive Window")
	case o.Latency < 0:
		return errors.New("emulator: negative Latency")
	case o.TokenUses < 0:
		return errors.New("emulator: negative TokenUses")
	case o.PageSize < 0:
		return errors.New("emulator: negative PageSize")
	}
	switch o.RetryAfter {
	case "", RetryAfterInteger, RetryAfterFractional, RetryAfterNone, RetryAfterMixed:
	default:
		return fmt.Errorf("emulator: unknown RetryAfter mode %q (want integer, fractional, none or mixed)", o.RetryAfter)
	}
	return o.Faults.check()
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background
// until Close. It returns the API root, e.g. "http://127.0.0.1:41234/beta".
func (s *Server) Start(addr string) (baseURL string, err error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.srv != nil {
		return "", errors.New("emulator: already started")
	}
	select {
	case <-s.done:
		return "", errors.New("emulator: closed")
	default:
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("emulator: %w", err)
	}
	s.srv = &http.Server{Handler: s, ReadHeaderTimeout: time.Minute}
	s.served = make(chan struct{})
	go func(srv *http.Server, served chan struct{}) {
		defer close(served)
		_ = srv.Serve(ln) // returns http.ErrServerClosed on Close
	}(s.srv, s.served)
	return "http://" + ln.Addr().String() + "/beta", nil
}

// Close ends hangs and pending latency, and stops the listener Start
// opened, closing its connections. It is safe to call more than once.
func (s *Server) Close() error {
	var err error
	s.closeOnce.Do(func() {
		close(s.done)
		s.mu.Lock()
		srv, served := s.srv, s.served
		s.mu.Unlock()
		if srv != nil {
			err = srv.Close()
			<-served
		}
	})
	return err
}

// Snapshot returns a deep copy of the current state.
func (s *Server) Snapshot() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.state.clone()
}

// Object returns one object as Graph would show it, "id" included, decoded
// into a map (numbers as float64); userStatusID "" selects the direct route.
func (s *Server) Object(appID, userStatusID, id string) (map[string]any, bool) {
	s.mu.Lock()
	obj := s.store.objs[objKey{appID, userStatusID, id}]
	var b []byte
	if obj != nil {
		b = appendStatus(nil, "", obj)
	}
	s.mu.Unlock()
	if obj == nil {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false // cannot happen: appendStatus writes valid JSON
	}
	return m, true
}

// Stats returns a copy of the counters.
func (s *Server) Stats() Stats {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.stats.clone()
}

func (s *Server) now() time.Time { return s.opt.Clock() }

// ServeHTTP serves Graph's routes under /beta and /v1.0.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
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
	s.mu.Unlock()
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

	scheme := "http"
	if r.TLS != nil {
		scheme = "https"
	}
	escaped := r.URL.EscapedPath()
	segs, bad, ok := splitPath(escaped)
	switch {
	case !ok:
		s.deliver(w, r, c, s.locked(func(now time.Time) answer { return c.segmentNotFound(now, bad) }))
		return
	case len(segs) == 0 || !(strings.EqualFold(segs[0], "beta") || strings.EqualFold(segs[0], "v1.0")):
		version := ""
		if len(segs) > 0 {
			version = segs[0]
		}
		s.deliver(w, r, c, s.locked(func(now time.Time) answer {
			return c.fail(now, 400, "BadRequest", fmt.Sprintf("Invalid version: %s", version))
		}))
		return
	}
	c.root = scheme + "://" + r.Host + "/" + url.PathEscape(segs[0])
	c.self = scheme + "://" + r.Host + escaped
	c.segs = segs[1:]

	if a, ok := s.authorize(c, r.Header.Get("Authorization")); !ok {
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
	if len(c.segs) == 1 && c.segs[0] == "$batch" {
		s.serveBatch(w, r, c)
		return
	}
	s.deliver(w, r, c, s.serve(c, requestFaults))
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

// authorize checks the bearer token, counting its uses.
func (s *Server) authorize(c *call, header string) (answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	unauthorized := func(msg string) (answer, bool) {
		a := c.fail(now, 401, "InvalidAuthenticationToken", msg)
		a.header["WWW-Authenticate"] = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`
		return a, false
	}
	scheme, token, _ := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	switch {
	case header == "":
		if s.opt.RequireToken {
			return unauthorized("Access token is empty.")
		}
		return answer{}, true
	case !strings.EqualFold(scheme, "Bearer") || token == "":
		if s.opt.RequireToken {
			return unauthorized("CompactToken parsing failed with error code: 80049217")
		}
		return answer{}, true
	}
	if s.opt.TokenUses > 0 {
		h := sha256.Sum256([]byte(token))
		s.tokenUses[h]++
		if s.tokenUses[h] > s.opt.TokenUses {
			return unauthorized("Lifetime validation failed, the token is expired.")
		}
	}
	if s.opt.ForbiddenToken != "" && token == s.opt.ForbiddenToken {
		return c.fail(now, 403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation."), false
	}
	return answer{}, true
}

// deliver sends a to the client, or drops or holds the connection as a
// asks.
func (s *Server) deliver(w http.ResponseWriter, r *http.Request, c *call, a answer) {
	switch a.action {
	case abort:
		abortConn(w)
		return
	case hang:
		if !s.sleep(r.Context(), s.opt.Faults.HangFor) {
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

// giveUp ends a request that was waiting when the client left or the server
// closed: a closing server drops the connection rather than answer.
func (s *Server) giveUp(w http.ResponseWriter) {
	select {
	case <-s.done:
		abortConn(w)
	default: // the client is gone; there is nobody to answer
	}
}

// serve answers one plain request or $batch item, meeting at most one of
// the fault kinds given. The whole evaluation holds s.mu: nothing in it
// waits.
func (s *Server) serve(c *call, kinds []fault) answer {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	rt, a, ok := s.resolve(c, now)
	if !ok {
		return a
	}
	write := c.method != http.MethodGet
	if write {
		s.stats.Writes++
	} else {
		s.stats.Reads++
	}
	if wait := s.admit(write, now); wait > 0 {
		s.stats.Throttled++
		a := c.fail(now, 429, "TooManyRequests", throttleMessage)
		s.setRetryAfter(c, &a, now, wait)
		return a
	}
	f := noFault
	if write {
		f = s.roll(kinds)
	}
	switch f {
	case faultResetBefore:
		s.stats.Faults[faultNames[f]]++
		return answer{action: abort}
	case faultHang:
		s.stats.Faults[faultNames[f]]++
		return answer{action: hang}
	case faultServerError:
		s.stats.Faults[faultNames[f]]++
		return s.serverError(c)
	}
	a = s.execute(c, rt, now)
	if a.status >= 300 {
		return a
	}
	switch f {
	case faultResetAfter:
		s.stats.Faults[faultNames[f]]++
		return answer{action: abort}
	case faultThrottleAfter:
		s.stats.Faults[faultNames[f]]++
		s.stats.Throttled++
		a := c.fail(now, 429, "TooManyRequests", throttleMessage)
		s.setRetryAfter(c, &a, now, 250*time.Millisecond+time.Duration(s.rng.Int64N(int64(2750*time.Millisecond))))
		return a
	}
	return a
}
