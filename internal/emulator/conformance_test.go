package emulator

import (
	"bytes"
	"context"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// The conformance tests put the emulator in front of two clients: the
// official Graph JavaScript client (TestGraphJSClient, when node and npm
// are on PATH) and plain net/http (TestGraphRawHTTP, always). Both make
// the same calls against the same three TLS emulators and must see the
// same things: PATCH answered 200 and 204, paging over several pages, a
// $batch with a 404 and a chain of 424s, a fractional Retry-After honoured
// with the same client-request-id, and Graph's error shape.

// graphClientVersion is the pinned @microsoft/microsoft-graph-client.
const graphClientVersion = "3.0.7"

const conformanceToken = "conformance-token"

// conformance is the three emulators the clients talk to.
type conformance struct {
	ok, noContent, retry *Server
	roots                map[string]string // "ok", "noContent", "retry": API roots
	certs                []byte            // the three certificates, PEM
	retryLog             *requestLog
}

// requestLog records what one server saw, in order.
type requestLog struct {
	mu      sync.Mutex
	entries []logEntry
}

type logEntry struct {
	method, crid, retryAttempt, retryAfter string
	status                                 int
}

func (l *requestLog) wrap(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := &statusRecorder{ResponseWriter: w, status: 200}
		next.ServeHTTP(rec, r)
		l.mu.Lock()
		defer l.mu.Unlock()
		l.entries = append(l.entries, logEntry{r.Method, r.Header.Get("client-request-id"), r.Header.Get("Retry-Attempt"), w.Header().Get("Retry-After"), rec.status})
	})
}

func (l *requestLog) all() []logEntry {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]logEntry(nil), l.entries...)
}

type statusRecorder struct {
	http.ResponseWriter
	status int
}

func (r *statusRecorder) WriteHeader(code int) {
	r.status = code
	r.ResponseWriter.WriteHeader(code)
}

// conformanceState is app "app" with five direct statuses, listed in
// three pages of two.
func conformanceState() *State {
	app := App{ID: "app"}
	for i := range 5 {
		app.DeviceStatuses = append(app.DeviceStatuses, Status{ID: fmt.Sprintf("s%d", i)})
	}
	return &State{MobileApps: []App{app}}
}

const (
	confList    = "/deviceAppManagement/mobileApps/app/deviceStatuses"
	confStatus  = confList + "/s0"
	confStatus2 = confList + "/s1"
	confMissing = confList + "/missing"
)

// startConformance starts the three TLS emulators: a plain one paging by
// two, one answering PATCH with 204, and one whose write window holds one
// PATCH per 1.5 s and answers 429 with a fractional Retry-After.
func startConformance(t *testing.T) *conformance {
	t.Helper()
	c := &conformance{roots: map[string]string{}, retryLog: &requestLog{}}
	base := Options{TLS: true, Tokens: []string{conformanceToken}, PageSize: 2}
	serve := func(name string, opt Options, wrap func(http.Handler) http.Handler) *Server {
		s, err := New(conformanceState(), opt)
		if err != nil {
			t.Fatal(err)
		}
		ts := httptest.NewUnstartedServer(wrap(s))
		ts.TLS = s.TLSConfig()
		ts.StartTLS()
		t.Cleanup(func() {
			s.Close()
			ts.Close()
		})
		c.roots[name] = ts.URL + "/beta"
		c.certs = append(c.certs, s.CertPEM()...)
		return s
	}
	same := func(h http.Handler) http.Handler { return h }
	c.ok = serve("ok", base, same)
	noContent := base
	noContent.NoContent = true
	c.noContent = serve("noContent", noContent, same)
	retry := base
	retry.WriteLimit, retry.Window, retry.RetryAfter = 1, 1500*time.Millisecond, RetryAfterFractional
	c.retry = serve("retry", retry, c.retryLog.wrap)
	return c
}

// conformanceResult is what a client saw; conformance.js prints it as
// JSON.
type conformanceResult struct {
	Patch200 struct {
		Status     int
		DeviceName string
		RequestID  string
	}
	Patch204 struct {
		Status int
		Body   string
	}
	PageIDs []string
	Batch   map[string]struct {
		Status int
		Code   string
	}
	Retry struct {
		Status     int
		DeviceName string
	}
	NotFound struct {
		Status                           int
		Code, RequestID, ClientRequestID string
	}
}

// check fails t unless r is what Graph's behaviour promises, and the
// servers saw what they should have. sdk says the official client made
// the calls, which marks its retries with a Retry-Attempt header.
func (c *conformance) check(t *testing.T, r conformanceResult, sdk bool) {
	t.Helper()
	if r.Patch200.Status != 200 || r.Patch200.DeviceName != "client-200" || r.Patch200.RequestID == "" {
		t.Errorf("PATCH answered 200: %+v", r.Patch200)
	}
	if r.Patch204.Status != 204 || r.Patch204.Body != "" {
		t.Errorf("PATCH answered 204: %+v", r.Patch204)
	}
	if m, _ := c.noContent.Object("app", "", "s0"); m["deviceName"] != "client-204" {
		t.Errorf("the 204 PATCH was not applied: %v", m)
	}
	if diff := cmp.Diff([]string{"s0", "s1", "s2", "s3", "s4"}, r.PageIDs); diff != "" {
		t.Errorf("paged ids (-want +got):\n%s", diff)
	}
	wantBatch := map[string][2]any{"1": {404, "ResourceNotFound"}, "2": {424, "FailedDependency"}, "3": {424, "FailedDependency"}}
	gotBatch := map[string][2]any{}
	for id, it := range r.Batch {
		gotBatch[id] = [2]any{it.Status, it.Code}
	}
	if diff := cmp.Diff(wantBatch, gotBatch); diff != "" {
		t.Errorf("$batch items (-want +got):\n%s", diff)
	}
	if r.Retry.Status != 200 || r.Retry.DeviceName != "second" {
		t.Errorf("retried PATCH: %+v", r.Retry)
	}
	if r.NotFound.Status != 404 || r.NotFound.Code != "ResourceNotFound" || r.NotFound.RequestID == "" || r.NotFound.ClientRequestID == "" {
		t.Errorf("404: %+v", r.NotFound)
	}
	st := c.ok.Stats()
	if st.Reads != 3+1+1 || st.EarlyRetries != 0 {
		t.Errorf("ok server: %d reads (want 3 pages, 1 GET, 1 batch item), %d early retries", st.Reads, st.EarlyRetries)
	}
	c.checkRetry(t, sdk)
}

// checkRetry checks the retry server's log: PATCH 200, PATCH 429 with a
// fractional Retry-After, then the same client-request-id again, on time.
func (c *conformance) checkRetry(t *testing.T, sdk bool) {
	t.Helper()
	log := c.retryLog.all()
	if len(log) != 3 {
		t.Fatalf("retry server saw %d requests, want 3: %+v", len(log), log)
	}
	first, throttled, again := log[0], log[1], log[2]
	if first.status != 200 || throttled.status != 429 || again.status != 200 {
		t.Errorf("statuses %d, %d, %d; want 200, 429, 200", first.status, throttled.status, again.status)
	}
	if !strings.Contains(throttled.retryAfter, ".") {
		t.Errorf("Retry-After %q is not fractional", throttled.retryAfter)
	}
	if throttled.crid == "" || again.crid != throttled.crid || first.crid == throttled.crid {
		t.Errorf("client-request-ids %q, %q, %q: the retry must reuse its request's, the next request not", first.crid, throttled.crid, again.crid)
	}
	if sdk && again.retryAttempt != "1" {
		t.Errorf("Retry-Attempt %q on the retry, want 1", again.retryAttempt)
	}
	if n := c.retry.Stats().EarlyRetries; n != 0 {
		t.Errorf("%d retries came before their Retry-After", n)
	}
}

// TestGraphJSClient runs Microsoft's Graph JavaScript client against the
// emulator over TLS. It installs the pinned client with npm into the user
// cache directory once, and is skipped under -short or without node and
// npm.
func TestGraphJSClient(t *testing.T) {
	if testing.Short() {
		t.Skip("-short: the Graph JavaScript client conformance test runs npm and node")
	}
	node, errNode := exec.LookPath("node")
	npm, errNpm := exec.LookPath("npm")
	if errNode != nil || errNpm != nil {
		t.Skipf("node or npm not on PATH (%v, %v): the Graph JavaScript client conformance test is skipped", errNode, errNpm)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	modules := installGraphClient(t, ctx, npm)
	c := startConformance(t)
	ca := filepath.Join(t.TempDir(), "emulators.pem")
	if err := os.WriteFile(ca, c.certs, 0o600); err != nil {
		t.Fatal(err)
	}
	cfg, _ := json.Marshal(map[string]string{
		"token": conformanceToken, "ok": c.roots["ok"], "noContent": c.roots["noContent"], "retry": c.roots["retry"],
		"list": confList, "status": confStatus, "status2": confStatus2, "missing": confMissing,
	})
	cmd := exec.CommandContext(ctx, node, filepath.Join("testdata", "graphclient", "conformance.js"))
	cmd.Env = append(os.Environ(), "NODE_PATH="+modules, "NODE_EXTRA_CA_CERTS="+ca, "CONFORMANCE="+string(cfg))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	start := time.Now()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("node: %v\n%s", err, stderr.Bytes())
	}
	t.Logf("the Graph JavaScript client %s ran in %v and saw %s", graphClientVersion, time.Since(start).Round(time.Millisecond), bytes.TrimSpace(out))
	var r conformanceResult
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("node printed %q: %v", out, err)
	}
	c.check(t, r, true)
}

// installGraphClient returns the node_modules directory holding the pinned
// Graph JavaScript client, installing it under os.UserCacheDir on first
// use. It installs into a temporary directory and renames it into place,
// so that an interrupted install is never mistaken for a finished one.
func installGraphClient(t *testing.T, ctx context.Context, npm string) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		cache = os.TempDir()
	}
	dir := filepath.Join(cache, "bulkpatch", "graph-client-"+graphClientVersion)
	modules := filepath.Join(dir, "node_modules")
	if _, err := os.Stat(filepath.Join(modules, "@microsoft", "microsoft-graph-client", "package.json")); err == nil {
		return modules
	}
	if err := os.MkdirAll(filepath.Dir(dir), 0o755); err != nil {
		t.Fatal(err)
	}
	tmp, err := os.MkdirTemp(filepath.Dir(dir), "install-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(tmp)
	cmd := exec.CommandContext(ctx, npm, "install", "--prefix", tmp, "--no-audit", "--no-fund", "--no-package-lock",
		"--ignore-scripts", "--loglevel=error", "@microsoft/microsoft-graph-client@"+graphClientVersion)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("npm install @microsoft/microsoft-graph-client@%s: %v\n%s(go test -short skips this test)", graphClientVersion, err, out)
	}
	if err := os.Rename(tmp, dir); err != nil {
		if _, statErr := os.Stat(modules); statErr != nil { // not another test's install winning the race
			t.Fatal(err)
		}
	}
	t.Logf("installed @microsoft/microsoft-graph-client@%s in %s", graphClientVersion, dir)
	return modules
}

// TestGraphRawHTTP makes the conformance calls with net/http, checking
// the status, headers and error shape of each answer on the way.
func TestGraphRawHTTP(t *testing.T) {
	c := startConformance(t)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(c.certs)
	client := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}}
	rc := rawClient{t: t, client: client}
	var r conformanceResult

	p := rc.do("PATCH", c.roots["ok"]+confStatus, `{"deviceName":"client-200"}`, "")
	r.Patch200.Status, r.Patch200.RequestID = p.status, p.header.Get("request-id")
	r.Patch200.DeviceName, _ = p.json(t)["deviceName"].(string)
	if !strings.HasPrefix(p.header.Get("Content-Type"), "application/json") {
		t.Errorf("200 Content-Type %q", p.header.Get("Content-Type"))
	}
	p = rc.do("PATCH", c.roots["noContent"]+confStatus, `{"deviceName":"client-204"}`, "")
	r.Patch204.Status, r.Patch204.Body = p.status, string(p.body)

	for next := c.roots["ok"] + confList; next != ""; {
		page := rc.do("GET", next, "", "").json(t)
		for _, v := range page["value"].([]any) {
			r.PageIDs = append(r.PageIDs, v.(map[string]any)["id"].(string))
		}
		next, _ = page["@odata.nextLink"].(string)
	}

	r.Batch = rc.batch(c.roots["ok"])
	rc.do("PATCH", c.roots["retry"]+confStatus, `{"deviceName":"first"}`, "")
	r.Retry.Status, r.Retry.DeviceName = rc.retryingPatch(c.roots["retry"]+confStatus, `{"deviceName":"second"}`)

	nf := rc.do("GET", c.roots["ok"]+confMissing, "", "nf-1")
	checkErrorShape(t, nf)
	r.NotFound.Status, r.NotFound.Code = nf.status, nf.errorCode(t)
	r.NotFound.RequestID, r.NotFound.ClientRequestID = nf.header.Get("request-id"), nf.header.Get("client-request-id")
	if r.NotFound.ClientRequestID != "nf-1" {
		t.Errorf("client-request-id %q not echoed", r.NotFound.ClientRequestID)
	}
	c.check(t, r, false)
}

// rawClient makes the conformance calls as a careful plain HTTP client.
type rawClient struct {
	t      *testing.T
	client *http.Client
	n      int
}

func (rc *rawClient) do(method, url, body, crid string) reply {
	rc.t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	if err != nil {
		rc.t.Fatal(err)
	}
	if crid == "" {
		rc.n++
		crid = fmt.Sprint("raw-", rc.n)
	}
	req.Header.Set("Authorization", "Bearer "+conformanceToken)
	req.Header.Set("client-request-id", crid)
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := rc.client.Do(req)
	if err != nil {
		rc.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		rc.t.Fatal(err)
	}
	if resp.Header.Get("request-id") == "" || resp.Header.Get("client-request-id") != crid {
		rc.t.Errorf("%s %s: request-id %q, client-request-id %q (sent %q)", method, url, resp.Header.Get("request-id"), resp.Header.Get("client-request-id"), crid)
	}
	return reply{resp.StatusCode, resp.Header, bytes.TrimSpace(b)}
}

// batch posts the 404-and-chain $batch and returns its items' outcomes.
func (rc *rawClient) batch(root string) map[string]struct {
	Status int
	Code   string
} {
	body, _ := json.Marshal(map[string]any{"requests": []any{
		item("1", "GET", confMissing, ""),
		item("2", "PATCH", confStatus, `{"deviceName":"never"}`, "1"),
		item("3", "GET", confStatus, "", "2"),
	}})
	r := rc.do("POST", root+"/$batch", string(body), "")
	var br batchReply
	if err := json.Unmarshal(r.body, &br); r.status != 200 || err != nil {
		rc.t.Fatalf("$batch: %d %s", r.status, r.body)
	}
	out := map[string]struct {
		Status int
		Code   string
	}{}
	for _, it := range br.Responses {
		checkErrorShape(rc.t, reply{body: it.Body})
		out[it.ID] = struct {
			Status int
			Code   string
		}{it.Status, reply{body: it.Body}.errorCode(rc.t)}
	}
	return out
}

// retryingPatch sends a PATCH and, on 429, waits the Retry-After it was
// given, to the millisecond, and sends it again with the same
// client-request-id.
func (rc *rawClient) retryingPatch(url, body string) (int, string) {
	rc.t.Helper()
	r := rc.do("PATCH", url, body, "retry-me")
	for attempt := 0; r.status == 429 && attempt < 3; attempt++ {
		checkErrorShape(rc.t, r)
		d, err := time.ParseDuration(r.header.Get("Retry-After") + "s")
		if err != nil {
			rc.t.Fatalf("Retry-After %q: %v", r.header.Get("Retry-After"), err)
		}
		time.Sleep(d)
		r = rc.do("PATCH", url, body, "retry-me")
	}
	name, _ := r.json(rc.t)["deviceName"].(string)
	return r.status, name
}
