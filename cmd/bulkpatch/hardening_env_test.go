package main

// Helpers of the whole-CLI hardening tests (issue 6), whose files are
// named for what they prove: e2e_secrets_test.go (secrets never leak),
// e2e_steering_test.go (hostile ids cannot steer requests),
// e2e_neutralise_test.go (outputs are safe to open in a spreadsheet),
// e2e_limits_test.go (huge or malformed inputs cost bounded memory),
// e2e_logs_test.go (logs are fit for operators), e2e_private_test.go
// (private files are private) and e2e_plainhttp_test.go (plain http stays
// on this machine).
//
// Their helpers are prefixed hz so they cannot collide with the other
// whole-CLI test files of this package.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// fast keeps the pacing out of the way: these tests are about what is
// sent and written, not how fast.
var hzFast = []string{"--rate", "1000", "--read-rate", "1000", "--max-retries", "1", "--progress", "never"}

func hzArgs(parts ...[]string) []string {
	var out []string
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

// hzRecorder records the escaped path of every request (and of every
// item inside a $batch body) before handing it to the emulator.
type hzRecorder struct {
	next http.Handler
	// authOK, when set, checks each Authorization header; failures are
	// counted, the header itself is never stored.
	authOK func(header string) bool

	mu      sync.Mutex
	reqs    []string // "METHOD /escaped/path", in arrival order
	items   []string // "METHOD url" of $batch items
	badAuth int
}

func (h *hzRecorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	var items []string
	if path == "/beta/$batch" {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		var b struct {
			Requests []struct {
				Method string `json:"method"`
				URL    string `json:"url"`
			} `json:"requests"`
		}
		if err := json.Unmarshal(body, &b); err != nil {
			items = append(items, "UNREADABLE $batch body")
		}
		for _, it := range b.Requests {
			items = append(items, it.Method+" "+it.URL)
		}
	}
	h.mu.Lock()
	h.reqs = append(h.reqs, r.Method+" "+path)
	h.items = append(h.items, items...)
	if h.authOK != nil && !h.authOK(r.Header.Get("Authorization")) {
		h.badAuth++
	}
	h.mu.Unlock()
	h.next.ServeHTTP(w, r)
}

// take returns and forgets what was recorded so far.
func (h *hzRecorder) take() (reqs, items []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	reqs, items = h.reqs, h.items
	h.reqs, h.items = nil, nil
	return reqs, items
}

// hzServe starts the emulator behind a recorder on a loopback httptest
// server and returns the environment pointing the CLI at it.
func hzServe(t testing.TB, st *emulator.State, opt emulator.Options, token string) (*hzRecorder, *emulator.Server, map[string]string) {
	t.Helper()
	srv, err := emulator.New(st, opt)
	if err != nil {
		t.Fatal(err)
	}
	rec := &hzRecorder{next: srv}
	ts := httptest.NewServer(rec)
	t.Cleanup(func() {
		srv.Close()
		ts.Close()
	})
	return rec, srv, map[string]string{
		"BULKPATCH_GRAPH_URL": ts.URL + "/beta",
		"BULKPATCH_TOKEN":     token,
		"BULKPATCH_AUTH":      "token",
	}
}

func hzWith(base map[string]string, kv ...string) map[string]string {
	m := make(map[string]string, len(base)+len(kv)/2)
	for k, v := range base {
		m[k] = v
	}
	for i := 0; i+1 < len(kv); i += 2 {
		if kv[i+1] == "" {
			delete(m, kv[i])
		} else {
			m[kv[i]] = kv[i+1]
		}
	}
	return m
}

func hzWriteFile(t testing.TB, path, content string) string {
	t.Helper()
	if err := os.WriteFile(path, []byte(content), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// hzCSV renders records as CSV with encoding/csv's quoting.
func hzCSV(t testing.TB, recs [][]string) string {
	t.Helper()
	var b bytes.Buffer
	w := csv.NewWriter(&b)
	if err := w.WriteAll(recs); err != nil {
		t.Fatal(err)
	}
	return b.String()
}

func hzTail(s string) string {
	if len(s) > 3000 {
		return "…" + s[len(s)-3000:]
	}
	return s
}

// hzDropStatuses removes the direct statuses of app from st, so rows that
// address them fail with 404.
func hzDropStatuses(st *emulator.State, app string) {
	for i := range st.MobileApps {
		if st.MobileApps[i].ID == app {
			st.MobileApps[i].DeviceStatuses = nil
		}
	}
}

// hzInvalidInput is a file with a bad row of every kind; validate and
// apply must stop on it with exit 3.
const hzInvalidInput = "mobileAppId,userAppInstallStatusId,mobileAppInstallStatusId,installState,errorCode,deviceName\n" +
	"app-00,,ds-00-00000,installed,0,ok\n" +
	"app-00,,../../deviceManagement,installed,0,=cmd|' /C calc'!A0\n" +
	"app-00,,ds-00-00001,Instaled,12x,@SUM(1+1)\n"
