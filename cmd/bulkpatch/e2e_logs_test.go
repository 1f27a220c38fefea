package main

// Logs are fit for operators: JSON events with the documented fields, short
// text lines, no colour or prompt without a terminal, Graph's messages
// bounded.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// hzJSONLines parses stderr as one JSON object per line.
func hzJSONLines(t testing.TB, stderr string) []map[string]any {
	t.Helper()
	var events []map[string]any
	for i, line := range strings.Split(strings.TrimRight(stderr, "\n"), "\n") {
		var m map[string]any
		if err := json.Unmarshal([]byte(line), &m); err != nil {
			t.Errorf("stderr line %d is not a JSON object: %q", i+1, line)
			continue
		}
		events = append(events, m)
	}
	return events
}

func hzHasKeys(t testing.TB, ev map[string]any, keys ...string) {
	t.Helper()
	for _, k := range append([]string{"time", "level", "msg"}, keys...) {
		if _, ok := ev[k]; !ok {
			t.Errorf("event %q has no %q: %v", ev["msg"], k, ev)
		}
	}
}

// TestHardeningLogs checks the operator's view: with --log-format json
// stderr is one JSON event per line with the documented fields (README,
// "Logs"), with text it is a few short lines, and neither colours nor
// prompts when no terminal is there.
func TestHardeningLogs(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	token := hzSecret(t, "TOKEN")
	f := generate(t, 2, 3, 0, 0, 0)
	input := f.write(t, dir)
	st := generate(t, 2, 3, 0, 0, 0).state
	hzDropStatuses(st, "app-01") // 3 of 6 rows fail with 404
	_, _, vars := hzServe(t, st, emulator.Options{}, token)
	c := &hzLeakChecker{t: t, secrets: []string{token}}
	results := filepath.Join(dir, "r.csv")

	r := c.run(ctx, vars, exitRowsFailed, hzArgs([]string{"apply", input, "--yes", "--log-format", "json", "--results", results}, hzFast)...)
	events := hzJSONLines(t, r.stderr)
	var msgs []string
	for _, ev := range events {
		msgs = append(msgs, fmt.Sprint(ev["msg"]))
		switch ev["msg"] {
		case "run starting":
			hzHasKeys(t, ev, "input", "rows", "results", "graph", "auth", "rate", "concurrency", "batch", "reconcile", "resume", "resumed_rows")
			if ev["auth"] != "token" || ev["rows"] != float64(6) {
				t.Errorf("run starting: auth %v, rows %v", ev["auth"], ev["rows"])
			}
		case "row failed":
			hzHasKeys(t, ev, "line", "http_status", "error_code", "error_message", "attempts", "request_id")
			if ev["level"] != "WARN" || ev["http_status"] != float64(404) {
				t.Errorf("row failed: %v", ev)
			}
		case "run finished":
			hzHasKeys(t, ev, "results", "elapsed_ms", "writes", "throttled")
		}
	}
	want := []string{"run starting", "row failed", "row failed", "row failed", "run finished"}
	if !slices.Equal(msgs, want) {
		t.Errorf("JSON events %q, want %q", msgs, want)
	}

	// Debug: one event per attempt, never a header.
	r = c.run(ctx, hzWith(vars, "BULKPATCH_DEBUG", "1"), exitRowsFailed,
		hzArgs([]string{"apply", input, "--yes", "--log-format", "json", "--results", results + ".2"}, hzFast)...)
	attempts := 0
	for _, ev := range hzJSONLines(t, r.stderr) {
		if ev["msg"] == "graph attempt" {
			attempts++
			hzHasKeys(t, ev, "method", "path", "status", "attempt", "request_id", "client_request_id")
		}
	}
	if attempts != 6 {
		t.Errorf("%d graph attempt events, want 6", attempts)
	}
	if l := strings.ToLower(r.stderr); strings.Contains(l, "authorization") || strings.Contains(l, "bearer") {
		t.Errorf("debug logs mention the Authorization header:\n%s", r.stderr)
	}

	// Text: short lines for people, no timestamps (cron adds its own).
	r = c.run(ctx, vars, exitRowsFailed, hzArgs([]string{"apply", input, "--yes", "--results", results + ".3"}, hzFast)...)
	lines := strings.Split(strings.TrimRight(r.stderr, "\n"), "\n")
	if len(lines) != 5 {
		t.Errorf("text logs: %d lines, want 5 (start, 3 failures, finish):\n%s", len(lines), r.stderr)
	}
	for _, l := range lines {
		if !strings.HasPrefix(l, "level=") || strings.Contains(l, "time=") {
			t.Errorf("text log line %q: want level=… without time=", l)
		}
	}

	// No colour without a terminal, with or without NO_COLOR, even with
	// the progress bar forced on; and no prompt either.
	for _, v := range []map[string]string{vars, hzWith(vars, "NO_COLOR", "1")} {
		c.run(ctx, v, exitRowsFailed, "apply", input, "--yes", "--progress", "always", "--results", results)
		c.run(ctx, v, exitInvalid, "validate", hzWriteFile(t, filepath.Join(dir, "bad.csv"), hzInvalidInput))
	}
	noToken := hzWith(vars, "BULKPATCH_TOKEN", "", "BULKPATCH_AUTH", "")
	for _, tt := range []struct {
		args []string
		vars map[string]string
		want []int
	}{
		{[]string{"apply", input, "--results", results}, vars, []int{exitUsage}},
		// A sign-in that cannot work: a usage or an auth failure, as long
		// as nobody is asked.
		{[]string{"apply", input, "--yes", "--auth", "device-code", "--results", results}, noToken, []int{exitUsage, exitAuth}},
		{[]string{"export", "--app", "app-00", "--auth", "device-code"}, noToken, []int{exitUsage, exitAuth}},
	} {
		args := tt.args
		stdin := &hzReadSpy{}
		var stdout, stderr bytes.Buffer
		e := &env{stdin: stdin, stdout: &stdout, stderr: &stderr, getenv: func(k string) string { return tt.vars[k] }}
		if code := e.run(ctx, args); !slices.Contains(tt.want, code) {
			t.Errorf("%q without a terminal: exit %d, want one of %v\n%s", args, code, tt.want, stderr.String())
		}
		if stdin.reads > 0 || !strings.Contains(stderr.String(), "terminal") {
			t.Errorf("%q without a terminal: %d reads of stdin; stderr:\n%s", args, stdin.reads, stderr.String())
		}
	}
}

// hzReadSpy is a stdin that counts reads.
type hzReadSpy struct{ reads int }

func (s *hzReadSpy) Read([]byte) (int, error) {
	s.reads++
	return 0, io.EOF
}

// TestHardeningLogsBoundGraphMessages: Graph (or a proxy in front of it)
// may answer with an error message of any size; a log event repeats at
// most a short piece of it, in both formats.
func TestHardeningLogsBoundGraphMessages(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	huge := strings.Repeat("very long message ", 20_000) // 360 kB
	ts := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		json.NewEncoder(w).Encode(map[string]any{"error": map[string]string{"code": "BadRequest", "message": huge}})
	}))
	defer ts.Close()
	input := generate(t, 1, 2, 0, 0, 0).write(t, dir)
	vars := map[string]string{"BULKPATCH_GRAPH_URL": ts.URL + "/beta", "BULKPATCH_TOKEN": "test-token", "BULKPATCH_AUTH": "token"}
	for _, format := range []string{"text", "json"} {
		r := cli(t, ctx, vars, hzArgs([]string{"apply", input, "--yes", "--log-format", format}, hzFast)...)
		if r.code != exitRowsFailed {
			t.Fatalf("%s: exit %d, want %d\n%s", format, r.code, exitRowsFailed, hzTail(r.stderr))
		}
		for _, l := range strings.Split(r.stderr, "\n") {
			if len(l) > 2000 {
				t.Errorf("%s: a log line of %d bytes: %.200s…", format, len(l), l)
			}
		}
	}
}
