// Package emulator is an embedded Microsoft Graph for the Intune objects
// bulkpatch writes. It serves every resource internal/resource declares,
// from the declaration alone: each route template's object path (GET, and
// the write the resource declares: a PATCH of the object or a POST of an
// action), its collection (GET, paged with absolute @odata.nextLink), the
// entities on the way (an app, a user status: GET), and JSON $batch, under
// /beta and /v1.0.
//
// It is strict by default, as Graph is: a bearer token is required,
// /v1.0 lacks the beta-only types, writes need Content-Type
// application/json, query options are checked, $batch items run
// concurrently. It follows the live service where the service and its
// docs disagree: bodies are checked as Graph's OData reader checks them,
// errors have Graph's shape and headers, sliding-window quotas answer 429
// with a Retry-After in several real-world forms, and seeded faults drop,
// hold, fail or ignore requests reproducibly. Stats records what a client
// did, above all how often it retried before it was told it could. With
// Options.TLS it serves HTTPS with a certificate of its own, so that
// clients that insist on https (Microsoft's own SDKs) can be pointed at it.
//
// A typical test:
//
//	srv, _ := emulator.New(state, emulator.Options{WriteLimit: 100, ReadLimit: 1000, Window: 20 * time.Second})
//	base, _ := srv.Start("127.0.0.1:0") // e.g. http://127.0.0.1:41234/beta
//	defer srv.Close()
//	// ... run the client against base, with any bearer token ...
//	if st := srv.Stats(); st.EarlyRetries > 0 { ... }
package emulator

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Options configures a Server. The zero value serves strictly, without
// limits, faults or latency, accepting any bearer token.
type Options struct {
	// WriteLimit caps writes (PATCH, and any other non-GET method) and
	// ReadLimit caps all requests, writes included, in any sliding Window
	// across the whole tenant, like Intune's 100 writes and 1000 requests
	// per 20 s per app registration. 0 means no limit. Each $batch item
	// counts on its own; the $batch POST itself takes no slot, but is
	// answered 429 as a whole while ReadLimit's window is full (not under
	// Lenient). A throttled request takes no slot, so Retry-After is exact.
	WriteLimit, ReadLimit int
	Window                time.Duration // the span of both limits; required with either
	// RetryAfter is how 429s carry Retry-After: RetryAfterInteger (the
	// default: whole seconds, rounded up, at least 1), RetryAfterFractional
	// ("2.128", exact to the millisecond, rounded up), RetryAfterNone (no
	// header), RetryAfterMixed (per 429, by the seeded RNG: half without the
	// header, half fractional).
	RetryAfter string
	// NoContent makes a successful PATCH answer 204 with no body, as
	// Intune often does; otherwise it answers 200 with the object. An
	// action (a POST such as updateDeviceProperties) always answers 204.
	NoContent bool
	// Latency is added to every HTTP request before it is looked at.
	Latency time.Duration
	// Faults are injected into writes, and ReadFaults into reads, decided
	// by an RNG seeded with Seed; see Faults.
	Faults, ReadFaults Faults
	// Seed seeds the RNG behind faults, $batch evaluation and response
	// order, and RetryAfterMixed; the same seed and request order give the
	// same run.
	Seed int64
	// Tokens, when not empty, are the only bearer tokens accepted; any
	// other gets 401. When empty, any bearer token is accepted.
	Tokens []string
	// TokenUses, when positive, lets each bearer token serve that many
	// requests; later ones get 401 InvalidAuthenticationToken "Lifetime
	// validation failed, the token is expired.".
	TokenUses int
	// RequireToken answers 401 to requests without a bearer token under
	// Lenient too; without Lenient a token is always required.
	RequireToken bool
	// ForbiddenToken, when not empty, is a token that authenticates but
	// lacks the permission: 403 Forbidden in Intune's words, naming the
	// scopes the request needs (the resource's Permission).
	ForbiddenToken string
	// ApprovalRequired, when ApprovalCode or ApprovalHeader, answers every
	// write 403 as Intune does under Multi Admin Approval, in that
	// wording; reads are not affected. "" means no approval is required.
	ApprovalRequired string
	// RemovedSegment acts like the tenants whose Graph no longer serves
	// mobileApp's deviceStatuses and userStatuses (since 2023): requests
	// under them answer 400 "Resource not found for the segment
	// 'deviceStatuses'." (or 'userStatuses').
	RemovedSegment bool
	// PageSize is the number of objects per collection page, unless the
	// client asks for fewer with $top; 0 means 50. A full page always
	// carries an @odata.nextLink, so a collection whose size is a multiple
	// of the page size ends with an empty page, as Graph's can.
	PageSize int
	// TLS makes Start serve HTTPS with a freshly generated self-signed
	// certificate for 127.0.0.1, ::1 and localhost (see CertPEM, CertPool).
	TLS bool
	// Lenient restores the emulator's behaviour before it was strict, for
	// tests and scripts that relied on it: no token needed (unless
	// RequireToken or Tokens), /v1.0 served like /beta, writes and $batch
	// POSTs accepted without a Content-Type (a wrong one is 415), query
	// options other than $skiptoken ignored, $batch items run one by one in
	// dependency order with ids compared case-sensitively, and the $batch
	// POST neither throttled nor answered 5xx. Faults, 403s and approval
	// answer as without it.
	Lenient bool
	// Resources are the resources served; nil means resource.All(). A
	// test may serve a declaration of its own.
	Resources []*resource.Resource
	// Clock tells the time for limits, Retry-After bookkeeping and error
	// dates; nil means time.Now. Latency and hangs use real timers.
	Clock func() time.Time
}

// Server is the emulator. It is safe for concurrent use; create it with New.
type Server struct {
	opt   Options
	model *model
	seed  *State // the normalised seed: the shape Snapshot keeps
	cert  *certificate

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
// fails when st holds duplicate or empty ids, ill-typed values or unknown
// resources, or when opt is out of range.
func New(st *State, opt Options) (*Server, error) {
	if st == nil {
		st = &State{}
	}
	if err := opt.check(); err != nil {
		return nil, err
	}
	opt.defaults()
	rs := opt.Resources
	if rs == nil {
		rs = resource.All()
	}
	m, err := newModel(rs)
	if err != nil {
		return nil, err
	}
	seed := st.clone()
	store, err := newStore(m, seed)
	if err != nil {
		return nil, fmt.Errorf("emulator: %w", err)
	}
	s := &Server{
		opt:       opt,
		model:     m,
		seed:      seed,
		store:     store,
		stats:     newStats(),
		writes:    newWindow(opt.WriteLimit, opt.Window),
		all:       newWindow(opt.ReadLimit, opt.Window),
		rng:       rand.New(rand.NewPCG(uint64(opt.Seed), 0x62756c6b70617463)),
		tokenUses: make(map[[sha256.Size]byte]int),
		done:      make(chan struct{}),
	}
	if opt.TLS {
		if s.cert, err = newCertificate(time.Now()); err != nil {
			return nil, fmt.Errorf("emulator: %w", err)
		}
	}
	return s, nil
}

func (o *Options) defaults() {
	if o.RetryAfter == "" {
		o.RetryAfter = RetryAfterInteger
	}
	if o.PageSize == 0 {
		o.PageSize = defaultPageSize
	}
	if o.Faults.HangFor == 0 {
		o.Faults.HangFor = defaultHangFor
	}
	if o.ReadFaults.HangFor == 0 {
		o.ReadFaults.HangFor = defaultHangFor
	}
	if o.Clock == nil {
		o.Clock = time.Now
	}
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
	case o.ReadFaults.IgnoreWrite != 0:
		return errors.New("emulator: ReadFaults.IgnoreWrite: reads cannot be ignored")
	}
	switch o.RetryAfter {
	case "", RetryAfterInteger, RetryAfterFractional, RetryAfterNone, RetryAfterMixed:
	default:
		return fmt.Errorf("emulator: unknown RetryAfter mode %q (want integer, fractional, none or mixed)", o.RetryAfter)
	}
	switch o.ApprovalRequired {
	case "", ApprovalCode, ApprovalHeader:
	default:
		return fmt.Errorf("emulator: unknown ApprovalRequired mode %q (want code or header)", o.ApprovalRequired)
	}
	for _, t := range o.Tokens {
		if t == "" {
			return errors.New("emulator: an empty token in Tokens")
		}
	}
	if err := o.Faults.check(); err != nil {
		return err
	}
	return o.ReadFaults.check()
}

// Start listens on addr (e.g. "127.0.0.1:0") and serves in the background
// until Close. It returns the API root, e.g. "http://127.0.0.1:41234/beta",
// or "https://..." with Options.TLS.
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
	scheme := "http"
	serve := s.srv.Serve
	if s.cert != nil {
		scheme = "https"
		s.srv.TLSConfig = s.TLSConfig()
		serve = func(ln net.Listener) error { return s.srv.ServeTLS(ln, "", "") }
	}
	go func(served chan struct{}) {
		defer close(served)
		_ = serve(ln) // returns http.ErrServerClosed on Close
	}(s.served)
	return scheme + "://" + ln.Addr().String() + "/beta", nil
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

// CertPEM returns the PEM of the certificate the server presents with
// Options.TLS, for clients to trust (curl --cacert, NODE_EXTRA_CA_CERTS);
// nil without TLS.
func (s *Server) CertPEM() []byte {
	if s.cert == nil {
		return nil
	}
	return append([]byte(nil), s.cert.pem...)
}

// CertPool returns a pool holding only the server's certificate, for a Go
// client's tls.Config.RootCAs; nil without TLS.
func (s *Server) CertPool() *x509.CertPool {
	if s.cert == nil {
		return nil
	}
	pool := x509.NewCertPool()
	pool.AddCert(s.cert.leaf)
	return pool
}

// TLSConfig returns the server side of the TLS the server speaks with
// Options.TLS, for serving its handler from a listener of one's own; nil
// without TLS.
func (s *Server) TLSConfig() *tls.Config {
	if s.cert == nil {
		return nil
	}
	return &tls.Config{Certificates: []tls.Certificate{s.cert.tls}, MinVersion: tls.VersionTLS12}
}

// Snapshot returns a deep copy of the current state.
func (s *Server) Snapshot() *State {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.store.snapshot(s.seed)
}

// Object returns one mobileAppInstallStatus as Graph would show it: Lookup
// with the three ids; userStatusID "" selects the direct route.
func (s *Server) Object(appID, userStatusID, id string) (map[string]any, bool) {
	return s.Lookup(resource.MobileAppInstallStatus, resource.Key{appID, userStatusID, id})
}

// Lookup returns the object of r with key k as Graph would show it, "id"
// included, decoded into a map (numbers as float64).
func (s *Server) Lookup(r *resource.Resource, k resource.Key) (map[string]any, bool) {
	sv := s.model.served(r)
	if sv == nil {
		return nil, false
	}
	s.mu.Lock()
	var b []byte
	if obj := s.store.lookup(sv, k); obj != nil {
		b = appendObject(nil, "", obj, nil)
	}
	s.mu.Unlock()
	if b == nil {
		return nil, false
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		return nil, false // cannot happen: appendObject writes valid JSON
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
