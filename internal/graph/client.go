package graph

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"math"
	"math/rand/v2"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// DefaultBaseURL is the API root used when Config.BaseURL is empty.
const DefaultBaseURL = "https://graph.microsoft.com/beta"

// maxBody bounds how much of any answer the client reads. The largest
// legitimate answers are collection pages and $batch answers of 20
// objects, far below it.
const maxBody = 32 << 20

// Config configures a Client. The zero value is usable: it talks to
// DefaultBaseURL without an Authorization header, paces nothing and
// retries nothing.
type Config struct {
	// BaseURL is the API root including the version, e.g.
	// "https://graph.microsoft.com/beta" or "http://127.0.0.1:8089/beta".
	// Empty means DefaultBaseURL. http:// is accepted only for loopback
	// hosts (127.0.0.0/8, ::1, "localhost"); userinfo, a query or a
	// fragment are refused.
	BaseURL string
	// HTTPClient sends the requests. Nil means a client with its own
	// tuned *http.Transport (proxy from the environment, 64 idle
	// connections per host), no overall Timeout (RequestTimeout bounds
	// each attempt) and no redirects followed (a 3xx is an *APIError).
	HTTPClient *http.Client
	// RootCAs, when set, are the certificate authorities the default
	// client trusts instead of the system's (see CertPool: the system's
	// plus an emulator's self-signed certificate). Verification is never
	// turned off. Ignored with HTTPClient.
	RootCAs *x509.CertPool
	// Tokens supplies bearer tokens. Nil means no Authorization header.
	Tokens TokenSource
	// WriteRate is the most writes per second for the whole client: each
	// PATCH attempt and each item of a $batch POST counts one. It is a
	// ceiling: the client paces 2% below it (a margin against jitter on
	// the way to a sliding-window quota), cuts its actual rate to what the
	// server was seen to accept when 429s come in a run (a single 429
	// delays only its own request), and returns towards the ceiling once
	// they stop (see ratectl). 0 means unlimited.
	WriteRate float64
	// ReadRate is the same for GETs, each page of a List counting one.
	// 0 means unlimited.
	ReadRate float64
	// MaxRetries is how many times one logical request is sent again
	// after a transient failure (429, 5xx, timeout, reset). Negative
	// means 0. The single immediate resend after a token refresh (401)
	// does not count against it.
	MaxRetries int
	// RequestTimeout bounds each attempt, from sending to the last byte
	// of the answer. 0 means no per-attempt limit.
	RequestTimeout time.Duration
	// MaxInFlight is the most HTTP requests on the wire at once for the
	// whole client (a $batch POST is one, whatever its items). A request
	// takes its place once paced, waiting as long as its context allows;
	// one that waits out a Retry-After or a backoff holds none. 0 means
	// no limit (the callers' own concurrency is the limit).
	MaxInFlight int
	// Clock is the source of time for every wait. Nil means real time.
	Clock Clock
	// Rand returns a jitter draw in [0,1); it may be called from many
	// goroutines at once (the client serialises the calls). Nil means
	// math/rand/v2.
	Rand func() float64
	// Logger receives one debug record per attempt (method, URL path,
	// status, attempt, wait, ids). Tokens and headers are never logged.
	// Nil means no logging.
	Logger *slog.Logger
	// UserAgent is sent as User-Agent. Empty means "bulkpatch".
	UserAgent string
}

// Client is a Microsoft Graph client.
// It is safe for concurrent use; share one among all workers so that
// pacing and throttling pauses apply to the whole run.
type Client struct {
	base       string   // API root, no trailing slash
	baseURL    *url.URL // parsed base, for origin checks
	hc         *http.Client
	tokens     TokenSource
	maxRetries int
	timeout    time.Duration
	maxBody    int64 // maxBody; tests lower it
	clock      Clock
	log        *slog.Logger
	userAgent  string

	randMu sync.Mutex
	rand   func() float64

	writes *pacer
	reads  *pacer
	// onWire holds a token per HTTP request on the wire, at most
	// Config.MaxInFlight; nil: no limit.
	onWire chan struct{}

	requests, writesSent, readsSent, throttled, retries, unanswered atomic.Int64

	attempts atomic.Uint64 // numbers the HTTP requests run sends, for the rate controller

	reach reach // whether attempts are getting answers
}

// New returns a Client for cfg, or an error for a BaseURL or rate it
// cannot use safely.
func New(cfg Config) (*Client, error) {
	base := cfg.BaseURL
	if base == "" {
		base = DefaultBaseURL
	}
	u, err := checkBaseURL(base)
	if err != nil {
		return nil, err
	}
	for _, r := range []struct {
		name string
		v    float64
	}{{"WriteRate", cfg.WriteRate}, {"ReadRate", cfg.ReadRate}} {
		if r.v < 0 || math.IsNaN(r.v) || math.IsInf(r.v, 0) {
			return nil, fmt.Errorf("graph: %s %v: want a finite number >= 0", r.name, r.v)
		}
	}
	if cfg.RequestTimeout < 0 {
		return nil, fmt.Errorf("graph: RequestTimeout %v: want >= 0", cfg.RequestTimeout)
	}
	if cfg.MaxInFlight < 0 {
		return nil, fmt.Errorf("graph: MaxInFlight %d: want >= 0", cfg.MaxInFlight)
	}
	c := &Client{
		base:       strings.TrimSuffix(u.String(), "/"),
		baseURL:    u,
		hc:         cfg.HTTPClient,
		tokens:     cfg.Tokens,
		maxRetries: max(cfg.MaxRetries, 0),
		timeout:    cfg.RequestTimeout,
		maxBody:    maxBody,
		clock:      cfg.Clock,
		log:        cfg.Logger,
		userAgent:  cfg.UserAgent,
		rand:       cfg.Rand,
	}
	if c.hc == nil {
		c.hc = defaultHTTPClient(cfg.RootCAs)
	}
	if c.clock == nil {
		c.clock = realClock{}
	}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.userAgent == "" {
		c.userAgent = "bulkpatch"
	}
	if c.rand == nil {
		c.rand = rand.Float64
	}
	c.writes = newPacer(c.clock, cfg.WriteRate)
	c.reads = newPacer(c.clock, cfg.ReadRate)
	if cfg.MaxInFlight > 0 {
		c.onWire = make(chan struct{}, cfg.MaxInFlight)
	}
	return c, nil
}

// checkBaseURL parses base and refuses what could leak a token or
// confuse URL building. Its errors show only the scheme, host and path:
// a URL someone pasted may carry a token in its user info, query or
// fragment, and the message goes to logs.
func checkBaseURL(base string) (*url.URL, error) {
	u, err := url.Parse(base)
	if err != nil {
		return nil, fmt.Errorf("graph: base URL is not a valid URL: %s", parseProblem(err))
	}
	bad := func(why string) (*url.URL, error) {
		return nil, fmt.Errorf("graph: base URL %q: %s", shownURL(u), why)
	}
	switch {
	case u.Scheme != "https" && u.Scheme != "http":
		return bad("want an https:// URL")
	case u.Opaque != "" || u.Host == "":
		return bad("has no host")
	case u.User != nil:
		return bad("must not carry user info")
	case u.RawQuery != "" || u.ForceQuery:
		return bad("must not have a query")
	case u.Fragment != "" || strings.Contains(base, "#"):
		return bad("must not have a fragment")
	case u.Scheme == "http" && !isLoopback(u.Hostname()):
		return bad("http:// is allowed only for loopback hosts; use https://")
	}
	return u, nil
}

// parseProblem says what url.Parse disliked without repeating the input:
// url.Error quotes all of it, and some of its inner errors quote a part
// (a port, say) that may be the secret.
func parseProblem(err error) string {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return "it cannot be parsed"
	}
	var esc url.EscapeError
	var host url.InvalidHostError
	switch msg := ue.Err.Error(); {
	case errors.As(ue.Err, &esc):
		return "a % is not followed by two hex digits"
	case errors.As(ue.Err, &host):
		return msg // quotes one character
	case !strings.Contains(msg, `"`):
		return msg
	}
	return "it cannot be parsed"
}

// shownURL is u without user info, query and fragment, for messages.
func shownURL(u *url.URL) string {
	v := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, RawPath: u.RawPath}
	if u.User != nil || u.RawQuery != "" || u.ForceQuery || u.Fragment != "" {
		return v.String() + "…"
	}
	return v.String()
}

// isLoopback reports whether host names this machine for certain, so that
// a token sent over plain http never leaves it.
func isLoopback(host string) bool {
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

func defaultHTTPClient(roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	if roots != nil {
		t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	}
	t.MaxIdleConns = 128
	t.MaxIdleConnsPerHost = 64
	return &http.Client{
		Transport: t,
		// Graph does not redirect these routes; following one could
		// replay a PATCH somewhere unexpected.
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// CertPool returns the system's certificate authorities plus those in
// the PEM file at path (--ca-cert: the certificate an emulator started
// with --tls --tls-cert-out wrote), for Config.RootCAs.
func CertPool(path string) (*x509.CertPool, error) {
	pem, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading the CA certificate: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("%s holds no PEM certificate", path)
	}
	return pool, nil
}

// Stats counts what a Client sent and saw since it was made.
type Stats struct {
	Requests   int64   // HTTP requests sent; a $batch POST counts one
	Writes     int64   // write items sent: each PATCH attempt, each item of each $batch POST
	Reads      int64   // GET attempts, each page of a List included
	Throttled  int64   // 429 answers seen, $batch items included
	Retries    int64   // attempts after a logical request's first, for any reason
	Unanswered int64   // attempts that got no HTTP answer at all (refused, no such host, TLS, timeouts)
	WriteRate  float64 // current adaptive write rate in writes/s; 0 when unlimited
}

// Stats returns the client's counters. It is safe to call concurrently
// with requests in flight.
func (c *Client) Stats() Stats {
	return Stats{
		Requests:   c.requests.Load(),
		Writes:     c.writesSent.Load(),
		Reads:      c.readsSent.Load(),
		Throttled:  c.throttled.Load(),
		Retries:    c.retries.Load(),
		Unanswered: c.unanswered.Load(),
		WriteRate:  c.writes.rate(),
	}
}

// TokenError reports that no bearer token could be had: the token source
// failed, returned nothing usable, or failed to refresh after a 401.
type TokenError struct {
	Op  string // "get" or "refresh"
	Err error  // the token source's error; nil when the token was unusable
}

func (e *TokenError) Error() string {
	if e.Err == nil {
		return "graph: " + e.Op + " token: token source returned an empty or malformed token"
	}
	return "graph: " + e.Op + " token: " + e.Err.Error()
}

func (e *TokenError) Unwrap() error { return e.Err }

// token returns the token to send, "" when the client has no TokenSource.
func (c *Client) token(ctx context.Context) (string, error) {
	if c.tokens == nil {
		return "", nil
	}
	t, err := c.tokens.Token(ctx)
	return checkToken("get", t, err)
}

func checkToken(op, t string, err error) (string, error) {
	if err != nil {
		return "", &TokenError{Op: op, Err: err}
	}
	if t == "" || strings.ContainsFunc(t, func(r rune) bool { return r <= ' ' || r == 0x7f }) {
		// A header value with control characters would be refused by
		// net/http anyway; refusing here keeps the value out of any error.
		return "", &TokenError{Op: op}
	}
	return t, nil
}

func (c *Client) jitter() float64 {
	c.randMu.Lock()
	defer c.randMu.Unlock()
	return c.rand()
}

// Send sends one write request, retrying what is transient, and reports
// how it ended. It never returns a half-filled Result: Err is nil exactly
// when Graph answered 200 or 204.
//
// Cancelling ctx stops the request from starting any new attempt: a wait
// for the pacer, a Retry-After, a backoff or a token ends at once, and no
// retry is sent. An attempt already on the wire is not cut short: it runs
// to its answer, bounded by Config.RequestTimeout, because the write may
// have taken effect and only the answer says so. Hence:
//   - cancelled before its first attempt, the Result has Attempts 0 and
//     an Err wrapping ctx.Err(): nothing was sent;
//   - cancelled while waiting to retry (or while its attempt was on the
//     wire, when that attempt's answer asks for a retry), the Result has
//     the last answer's Status and an Err wrapping ctx.Err() that says it
//     was stopped before its retry: the write failed and may be resumed;
//   - cancelled while its attempt was on the wire, and answered with
//     success or a final error, the Result is that answer's, as if ctx
//     had not been cancelled.
func (c *Client) Send(ctx context.Context, w Write) Result {
	r := c.writeRequest(w)
	c.run(ctx, []*request{r}, 1, c.sendAlone)
	return r.res
}

// writeRequest returns the request that sends w; when w cannot be sent it
// is already finished with the reason, and nothing will be sent.
func (c *Client) writeRequest(w Write) *request {
	r := &request{res: Result{ClientRequestID: w.ClientRequestID}}
	if r.res.ClientRequestID == "" {
		r.res.ClientRequestID = uuid.NewString()
	}
	m, err := writeMethod(w.Method)
	if err != nil {
		r.res.Err, r.done = err, true
		return r
	}
	p, _, err := checkPath(w.Path)
	switch {
	case err != nil:
	case strings.Contains(w.Path, "?"):
		// Writes take no query; a '?' here is more likely an id that
		// was not escaped.
		err = invalidPath(p, "has a query; a write takes none")
	case len(w.Body) > 0 && !json.Valid(w.Body):
		err = fmt.Errorf("graph: %s %s: body is not valid JSON", m, p)
	}
	if err != nil {
		r.res.Err, r.done = err, true
		return r
	}
	r.method, r.path, r.url, r.body = m, p, c.base+p, w.Body
	return r
}

// readRequest returns the request that GETs rawURL; path is what logs
// and errors name.
func readRequest(rawURL, path string) *request {
	return &request{method: http.MethodGet, path: path, url: rawURL, read: true,
		res: Result{ClientRequestID: uuid.NewString()}}
}

// sendAlone is the sender of a request sent on its own.
func (c *Client) sendAlone(ctx context.Context, group []*request, tok string) []attempt {
	r := group[0]
	c.count(!r.read, 1)
	return []attempt{c.roundTrip(ctx, r.method, r.url, r.body, r.res.ClientRequestID, tok)}
}

// url returns the absolute URL of an escaped path and raw query.
func (c *Client) url(path, query string) string {
	if query == "" {
		return c.base + path
	}
	return c.base + path + "?" + query
}

// Get reads one object at path, an escaped path below the API root that
// may end in "?" and a query (e.g. $select). On success Result.Body holds
// the object; an answer without a JSON object (a 204, or a 200 with
// anything else) is an error, since a caller comparing states must not
// mistake it for an empty object. Cancelling ctx works as for Send.
func (c *Client) Get(ctx context.Context, path string) Result {
	p, q, err := checkPath(path)
	if err != nil {
		return Result{ClientRequestID: uuid.NewString(), Err: err}
	}
	r := readRequest(c.url(p, q), p)
	c.run(ctx, []*request{r}, 1, c.sendAlone)
	res := r.res
	if res.Err == nil && !isObject(res.Body) {
		res.Err = fmt.Errorf("graph: GET %s: answer %d carries no JSON object (request-id %s)", p, res.Status, res.RequestID)
		res.Body = nil
	}
	return res
}

// isObject reports whether b, already known to be valid JSON or nil, is an
// object.
func isObject(b []byte) bool {
	b = bytes.TrimLeft(b, " \t\r\n")
	return len(b) > 0 && b[0] == '{'
}

// count updates the counters for one HTTP request carrying items write
// items (or one read when !write).
func (c *Client) count(write bool, items int) {
	c.requests.Add(1)
	if write {
		c.writesSent.Add(int64(items))
	} else {
		c.readsSent.Add(1)
	}
}

// roundTrip makes one attempt. An attempt that got no answer has status 0
// and the reason in err; one whose answer's body could not be read (cut
// short, too slow, too large) has the status and headers, and the reason
// in err.
//
// A write's attempt runs under ctx without its cancellation (and
// deadline), bounded by the per-attempt timeout alone: once a write is on
// the wire, the caller's stopping must not turn an answer that would have
// said what happened into a guess. Callers decide whether to start an
// attempt; they do not abort one. A read (GET) changes nothing, so
// stopping abandons it at once.
func (c *Client) roundTrip(ctx context.Context, method, rawURL string, body []byte, crid, tok string) attempt {
	actx, cancel := ctx, context.CancelFunc(func() {})
	if method != http.MethodGet {
		actx = context.WithoutCancel(ctx)
	}
	if c.timeout > 0 {
		actx, cancel = context.WithTimeout(actx, c.timeout)
	}
	defer cancel()
	var rd io.Reader
	if len(body) > 0 {
		rd = bytes.NewReader(body)
	}
	req, err := http.NewRequestWithContext(actx, method, rawURL, rd)
	if err != nil {
		return attempt{err: fmt.Errorf("graph: build request: %w", err)}
	}
	if tok != "" {
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json")
	req.Header.Set("User-Agent", c.userAgent)
	req.Header.Set("client-request-id", crid)
	resp, err := c.hc.Do(req)
	if err != nil {
		// The error repeats the URL; keep a nextLink's query (paging
		// state) out of results and logs, as the path is enough.
		var ue *url.Error
		if errors.As(err, &ue) {
			ue.URL, _, _ = strings.Cut(ue.URL, "?")
		}
		return attempt{err: c.attemptError(actx, err)}
	}
	defer resp.Body.Close()
	// The status counts from here, whatever becomes of the body: a 2xx
	// whose body is lost is still a write Graph accepted.
	a := attempt{status: resp.StatusCode, header: resp.Header}
	if a.status == http.StatusTooManyRequests {
		c.throttled.Add(1)
	}
	b, err := io.ReadAll(io.LimitReader(resp.Body, c.maxBody+1))
	switch {
	case err != nil && errors.Is(actx.Err(), context.DeadlineExceeded):
		a.err = fmt.Errorf("not complete within %v: %w", c.timeout, err)
	case err != nil:
		a.err = fmt.Errorf("cut short: %w", err)
	case int64(len(b)) > c.maxBody:
		a.err = fmt.Errorf("%w (more than %d bytes)", errBodyTooLarge, c.maxBody)
	default:
		// A server (or a proxy) that echoes the request back would put the
		// token into error messages, results, journal and logs. A string
		// too short to be a secret (a test's token "t") would only mangle
		// the answer.
		if len(tok) >= minSecret && bytes.Contains(b, []byte(tok)) {
			b = bytes.ReplaceAll(b, []byte(tok), []byte("[redacted]"))
		}
		a.body = b
	}
	return a
}

// minSecret is the shortest token the client redacts from answers.
const minSecret = 16

// attemptError names a per-attempt timeout as such.
func (c *Client) attemptError(actx context.Context, err error) error {
	if errors.Is(actx.Err(), context.DeadlineExceeded) {
		return fmt.Errorf("graph: no answer within %v: %w", c.timeout, err)
	}
	return err
}
