package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

func TestRowFailuresAreData(t *testing.T) {
	fg := &fakeGraph{send: func(_ context.Context, id string) graph.Result {
		if id == "s0002" || id == "s0005" {
			return apiErr(404, "ResourceNotFound", "Resource Not Found")
		}
		if id == "s0003" {
			return apiErr(400, "BadRequest", "Cannot convert the literal 'x'")
		}
		return graph.Result{Status: 204, Attempts: 2, Throttled: 1, RequestID: "r-" + id}
	}}
	rec := &recorder{}
	var mu sync.Mutex
	var onRow []int
	r := &Runner{Graph: fg, Recorder: rec, Options: Options{Concurrency: 3},
		OnRow: func(row report.Row) { mu.Lock(); onRow = append(onRow, row.Line); mu.Unlock() }}
	items := makeRows(8)
	rows, err := run(t, t.Context(), r, items)
	if err != nil {
		t.Fatalf("Run: %v; per-row failures must not end the run", err)
	}
	if len(rows) != len(items) {
		t.Fatalf("Run settled %d rows, want %d", len(rows), len(items))
	}
	for _, it := range items {
		row := rows[it.Op.Line]
		want := report.Applied
		switch it.Key[2] {
		case "s0002", "s0005", "s0003":
			want = report.Failed
		}
		if row.Outcome != want {
			t.Errorf("line %d (%s): outcome %s, want %s", it.Op.Line, it.Key[2], row.Outcome, want)
		}
		if row.Key != it.Key {
			t.Errorf("line %d: key %q, want %q", it.Op.Line, row.Key, it.Key)
		}
	}
	if got := rows[3]; got.HTTPStatus != 404 || got.ErrorCode != "ResourceNotFound" || got.ErrorMessage != "Resource Not Found" {
		t.Errorf("line 3 = %d %q %q, want 404 ResourceNotFound with Graph's message", got.HTTPStatus, got.ErrorCode, got.ErrorMessage)
	}
	if got := rows[2]; got.Attempts != 2 || got.RequestID != "r-s0001" || got.HTTPStatus != 204 {
		t.Errorf("line 2 = attempts %d, request id %q, status %d; want 2, r-s0001, 204", got.Attempts, got.RequestID, got.HTTPStatus)
	}
	if len(rec.lines) != len(items) {
		t.Errorf("journaled %d rows, want %d", len(rec.lines), len(items))
	}
	if len(onRow) != len(items) {
		t.Errorf("OnRow called %d times, want %d", len(onRow), len(items))
	}
}

func TestDoneRowsAreSkippedNotJournaled(t *testing.T) {
	fg := &fakeGraph{}
	rec := &recorder{done: map[int]report.Row{
		3: {Line: 3, Outcome: report.Applied, RequestID: "earlier", Attempts: 4},
		5: {Line: 5, Outcome: report.Unchanged},
	}}
	var skipped []int
	r := &Runner{Graph: fg, Recorder: rec, OnRow: func(row report.Row) {
		if row.Outcome == report.Skipped {
			skipped = append(skipped, row.Line)
		}
	}}
	items := makeRows(5)
	if _, err := run(t, t.Context(), r, items); err != nil {
		t.Fatal(err)
	}
	if got, want := fg.sent(), []string{"s0001", "s0003", "s0005"}; !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q: done rows must not be sent again", got, want)
	}
	if want := []int{2, 4, 6}; !slices.Equal(rec.lines, want) {
		t.Errorf("journaled lines %v, want %v: skipped rows repeat an earlier record", rec.lines, want)
	}
	if want := []int{3, 5}; !slices.Equal(skipped, want) {
		t.Errorf("OnRow saw skipped lines %v, want %v", skipped, want)
	}
	// The results say skipped, with the earlier run's details and this
	// run's cells.
	var out []report.Row
	if err := r.WriteResults(resultsFunc(func(row report.Row) error { out = append(out, row); return nil }), seq(items), &report.Summary{}); err != nil {
		t.Fatal(err)
	}
	for _, row := range out {
		if row.Line == 3 && (row.Outcome != report.Skipped || row.RequestID != "earlier" || row.Attempts != 4 || !slices.Equal(row.Props, []string{"installed"})) {
			t.Errorf("line 3 in the results = %+v, want skipped with the earlier run's details", row)
		}
	}
}

// resultsFunc adapts a function to Results.
type resultsFunc func(report.Row) error

func (f resultsFunc) Write(r report.Row) error { return f(r) }

func TestUnchangedActionIsNotWritten(t *testing.T) {
	fg := &fakeGraph{}
	rec := &recorder{}
	items := makeRows(4)
	items[1].Action = plan.ActionUnchanged
	items[2].Action = plan.ActionUpdate
	r := &Runner{Graph: fg, Recorder: rec}
	rows, err := run(t, t.Context(), r, items)
	if err != nil {
		t.Fatal(err)
	}
	if got, want := fg.sent(), []string{"s0001", "s0003", "s0004"}; !slices.Equal(got, want) {
		t.Errorf("sent %q, want %q", got, want)
	}
	if got := rows[3].Outcome; got != report.Unchanged {
		t.Errorf("line 3: outcome %s, want unchanged", got)
	}
	if got := rows[4].Outcome; got != report.Applied {
		t.Errorf("line 4 (update): outcome %s, want applied", got)
	}
	if len(rec.lines) != 4 {
		t.Errorf("journaled %v, want all 4 lines (unchanged is done too)", rec.lines)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	for _, limit := range []int{1, 3, 8} {
		t.Run(fmt.Sprint(limit), func(t *testing.T) {
			const n = 40
			arrived := make(chan struct{})
			release := make(chan struct{})
			fg := &fakeGraph{send: func(context.Context, string) graph.Result {
				arrived <- struct{}{}
				<-release
				return graph.Result{Status: 204, Attempts: 1}
			}}
			r := &Runner{Graph: fg, Options: Options{Concurrency: limit}}
			type out struct {
				rows map[int]report.Row
				err  error
			}
			res := make(chan out, 1)
			go func() {
				rows, err := run(t, t.Context(), r, makeRows(n))
				res <- out{rows, err}
			}()
			// Let a request finish only when limit of them are waiting,
			// so that a runner ignoring the limit has every chance to
			// send one more.
			outstanding, arrivals := 0, 0
			for finished := 0; finished < n; {
				if arrivals < n && outstanding < limit {
					recv(t, arrived, "a request")
					arrivals++
					outstanding++
					continue
				}
				release <- struct{}{}
				outstanding--
				finished++
			}
			o := recv(t, res, "Run to return")
			if o.err != nil || len(o.rows) != n {
				t.Fatalf("Run = %d rows, %v", len(o.rows), o.err)
			}
			if fg.maxInFlight != limit {
				t.Errorf("at most %d requests in flight, want exactly %d", fg.maxInFlight, limit)
			}
		})
	}
}

func TestBatching(t *testing.T) {
	tests := []struct {
		batch, rows int
		wantBatches []int // sizes of PatchBatch calls
		wantSingles int   // rows sent on their own
	}{
		{batch: 5, rows: 12, wantBatches: []int{5, 5, 2}},
		{batch: 5, rows: 11, wantBatches: []int{5, 5}, wantSingles: 1},
		{batch: 20, rows: 45, wantBatches: []int{20, 20, 5}},
		{batch: 1, rows: 3, wantSingles: 3},
		{batch: 0, rows: 3, wantSingles: 3},
	}
	for _, tt := range tests {
		t.Run(fmt.Sprintf("%d/%d", tt.batch, tt.rows), func(t *testing.T) {
			fg := &fakeGraph{}
			r := &Runner{Graph: fg, Options: Options{Batch: tt.batch}}
			items := makeRows(tt.rows)
			rows, err := run(t, t.Context(), r, items)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(fg.batches, tt.wantBatches) {
				t.Errorf("batches %v, want %v", fg.batches, tt.wantBatches)
			}
			sent := fg.sent()
			var want []string
			for _, it := range items {
				want = append(want, it.Key[2])
			}
			if !slices.Equal(sent, want) {
				t.Errorf("rows sent out of input order or not exactly once: %q", sent)
			}
			if singles := len(sent) - sum(fg.batches); singles != tt.wantSingles {
				t.Errorf("%d rows sent alone, want %d", singles, tt.wantSingles)
			}
			for _, it := range items {
				if rows[it.Op.Line].Outcome != report.Applied {
					t.Errorf("line %d: %s", it.Op.Line, rows[it.Op.Line].Outcome)
				}
			}
		})
	}
}

func sum(xs []int) int {
	n := 0
	for _, x := range xs {
		n += x
	}
	return n
}

func TestBatchItemsSettleOnTheirOwn(t *testing.T) {
	fg := &fakeGraph{send: func(_ context.Context, id string) graph.Result {
		if id == "s0002" {
			return apiErr(404, "ResourceNotFound", "gone")
		}
		return graph.Result{Status: 200, Attempts: 1}
	}}
	r := &Runner{Graph: fg, Options: Options{Batch: 4, Concurrency: 2}}
	rows, err := run(t, t.Context(), r, makeRows(4))
	if err != nil {
		t.Fatal(err)
	}
	for line, want := range map[int]report.Outcome{2: report.Applied, 3: report.Failed, 4: report.Applied, 5: report.Applied} {
		if rows[line].Outcome != want {
			t.Errorf("line %d: %s, want %s", line, rows[line].Outcome, want)
		}
	}
}

// TestStops checks every answer that ends the whole run. With one row in
// flight at a time the run must send nothing after the answer that
// stopped it.
func TestStops(t *testing.T) {
	segment := apiErr(400, "BadRequest", "Resource not found for the segment 'deviceStatuses'.")
	tests := []struct {
		name        string
		answer      func(n int) graph.Result // n: 1 for the first request
		same        int
		concurrency int
		wantReason  StopReason
		wantSent    int // exactly, with concurrency 1; at most, otherwise
		wantMsg     string
	}{
		{name: "segment removed", answer: func(int) graph.Result { return segment },
			wantReason: Systemic, wantSent: 1, wantMsg: "2023"},
		{name: "user statuses segment removed", answer: func(int) graph.Result {
			return apiErr(400, "BadRequest", "Resource not found for the segment 'userStatuses'.")
		}, wantReason: Systemic, wantSent: 1, wantMsg: "2023"},
		{name: "segment removed, 4 in flight", answer: func(int) graph.Result { return segment },
			concurrency: 4, wantReason: Systemic, wantSent: 4, wantMsg: "2023"},
		{name: "401 after refresh", answer: func(int) graph.Result {
			return apiErr(401, "InvalidAuthenticationToken", "Lifetime validation failed, the token is expired.")
		}, wantReason: AuthFailed, wantSent: 1, wantMsg: "--cloud"},
		{name: "403", answer: func(int) graph.Result {
			return apiErr(403, "Authorization_RequestDenied", "Insufficient privileges to complete the operation.")
		}, wantReason: AuthFailed, wantSent: 1, wantMsg: "DeviceManagementApps.ReadWrite.All"},
		{name: "no token", answer: func(int) graph.Result {
			return graph.Result{Err: &graph.TokenError{Op: "refresh", Err: errors.New("the token command failed")}}
		}, wantReason: AuthFailed, wantSent: 1, wantMsg: "the token command failed"},
		{name: "503 every time", answer: func(int) graph.Result {
			return apiErr(503, "ServiceUnavailable", "try later")
		}, same: 5, wantReason: Systemic, wantSent: 5, wantMsg: "server errors (5xx)"},
		{name: "429 every time, default count", answer: func(int) graph.Result {
			return apiErr(429, "TooManyRequests", "slow down")
		}, wantReason: Systemic, wantSent: 20, wantMsg: "last 20 rows"},
		{name: "no answer every time", answer: func(int) graph.Result {
			return graph.Result{Err: errors.New("read tcp: connection reset by peer")}
		}, same: 3, wantReason: Systemic, wantSent: 3, wantMsg: "no answer"},
		{name: "503 after a success run", answer: func(n int) graph.Result {
			if n <= 10 {
				return graph.Result{Status: 204, Attempts: 1}
			}
			return apiErr(503, "ServiceUnavailable", "try later")
		}, same: 4, wantReason: Systemic, wantSent: 14},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var mu sync.Mutex
			n := 0
			fg := &fakeGraph{send: func(context.Context, string) graph.Result {
				mu.Lock()
				n++
				k := n
				mu.Unlock()
				return tt.answer(k)
			}}
			conc := max(tt.concurrency, 1)
			r := &Runner{Graph: fg, Options: Options{Concurrency: conc, SameFailures: tt.same}}
			items := makeRows(60)
			rows, err := run(t, t.Context(), r, items)
			var se *StopError
			if !errors.As(err, &se) {
				t.Fatalf("Run error = %v, want a *StopError", err)
			}
			if se.Reason != tt.wantReason {
				t.Errorf("reason %d, want %d", se.Reason, tt.wantReason)
			}
			if !strings.Contains(se.Msg, tt.wantMsg) {
				t.Errorf("message %q does not mention %q", se.Msg, tt.wantMsg)
			}
			sent := len(fg.sent())
			if conc == 1 && sent != tt.wantSent || sent > tt.wantSent {
				t.Errorf("sent %d requests, want %d (concurrency %d)", sent, tt.wantSent, conc)
			}
			if len(rows) != sent {
				t.Errorf("%d rows settled for %d sent: the rest must be left to the caller as not attempted", len(rows), sent)
			}
			if conc == 1 {
				if _, ok := rows[sent+2]; ok {
					t.Errorf("line %d settled although the run stopped before it", sent+2)
				}
			}
		})
	}
}

func TestRowErrorsNeverLookSystemic(t *testing.T) {
	answers := []graph.Result{
		apiErr(404, "ResourceNotFound", "Resource Not Found"),
		apiErr(400, "BadRequest", "Invalid JSON. A token was not recognized"),
		apiErr(409, "Conflict", "conflict"),
		{Err: fmt.Errorf("graph: path %q: %w", "a/b", graph.ErrInvalidID)},
	}
	for _, a := range answers {
		t.Run(fmt.Sprint(a.Err), func(t *testing.T) {
			fg := &fakeGraph{send: func(context.Context, string) graph.Result { return a }}
			r := &Runner{Graph: fg, Options: Options{SameFailures: 3}}
			rows, err := run(t, t.Context(), r, makeRows(30))
			if err != nil {
				t.Fatalf("Run: %v; row-specific failures must never stop the run", err)
			}
			if len(fg.sent()) != 30 || len(rows) != 30 {
				t.Errorf("sent %d, settled %d; want 30 of each", len(fg.sent()), len(rows))
			}
		})
	}
}

func TestSystemicCountNeedsAnUnbrokenRun(t *testing.T) {
	// 503 503 503 404 503 503 503 200 503 ...: never 4 alike in a row.
	fg := &fakeGraph{send: func(_ context.Context, id string) graph.Result {
		var i int
		fmt.Sscanf(id, "s%d", &i)
		switch i % 8 {
		case 4:
			return apiErr(404, "ResourceNotFound", "x")
		case 0:
			return graph.Result{Status: 204, Attempts: 1}
		case 6:
			return apiErr(503, "ServiceUnavailable", "x")
		}
		return apiErr(504, "GatewayTimeout", "x") // 5xx of any kind count alike: runs of 3
	}}
	r := &Runner{Graph: fg, Options: Options{SameFailures: 4}}
	if _, err := run(t, t.Context(), r, makeRows(64)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := len(fg.sent()); got != 64 {
		t.Errorf("sent %d, want 64", got)
	}
}

// TestAlternatingServerErrorsStop: a gateway that answers 502, 503 and
// 504 in turn is one failure, not three, and stops the run.
func TestAlternatingServerErrorsStop(t *testing.T) {
	n := 0
	fg := &fakeGraph{send: func(context.Context, string) graph.Result {
		n++
		return apiErr(502+n%3, "", "gateway")
	}}
	r := &Runner{Graph: fg, Options: Options{SameFailures: 6}}
	_, err := run(t, t.Context(), r, makeRows(50))
	var se *StopError
	if !errors.As(err, &se) || se.Reason != Systemic || len(fg.sent()) != 6 {
		t.Errorf("Run = %v after %d requests, want a Systemic stop after 6", err, len(fg.sent()))
	}
}

func TestSameFailuresDisabled(t *testing.T) {
	fg := &fakeGraph{send: func(context.Context, string) graph.Result { return apiErr(503, "ServiceUnavailable", "x") }}
	r := &Runner{Graph: fg, Options: Options{SameFailures: -1}}
	if _, err := run(t, t.Context(), r, makeRows(50)); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := len(fg.sent()); got != 50 {
		t.Errorf("sent %d, want 50", got)
	}
}

func TestMaxDuration(t *testing.T) {
	tests := []struct {
		name     string
		rows     int
		wantSent int
		wantStop bool
	}{
		// Each request takes 25 s on the fake clock and the limit is
		// 60 s: rows dispatched at 0, 25 and 50 s go; the next waits
		// until 75 s and is not sent.
		{"stops", 10, 3, true},
		// The time passes while the last row is in flight: every row
		// was dispatched, so the run finished.
		{"last row", 3, 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := &fakeClock{t: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
			fg := &fakeGraph{send: func(context.Context, string) graph.Result {
				clk.Advance(25 * time.Second)
				return graph.Result{Status: 204, Attempts: 1}
			}}
			r := &Runner{Graph: fg, Options: Options{MaxDuration: time.Minute, Clock: clk.Now}}
			rows, err := run(t, t.Context(), r, makeRows(tt.rows))
			if got := len(fg.sent()); got != tt.wantSent || len(rows) != tt.wantSent {
				t.Errorf("sent %d, settled %d; want %d", got, len(rows), tt.wantSent)
			}
			var se *StopError
			if tt.wantStop {
				if !errors.As(err, &se) || se.Reason != TimeUp {
					t.Fatalf("Run error = %v, want TimeUp", err)
				}
				if !strings.Contains(se.Msg, "run the same command again") {
					t.Errorf("message %q does not say how to continue", se.Msg)
				}
			} else if err != nil {
				t.Errorf("Run error = %v, want none", err)
			}
			for line, row := range rows {
				if row.Outcome != report.Applied {
					t.Errorf("line %d: %s", line, row.Outcome)
				}
			}
		})
	}
}

// TestInterruptFinishesRowsInFlight: after the first signal nothing new
// is dispatched, the requests in flight settle (graph lets an attempt on
// the wire finish), and the run reports Interrupted.
func TestInterruptFinishesRowsInFlight(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	// Buffered: a runner that wrongly sends a third row must not block
	// on it.
	arrived := make(chan string, 10)
	release := make(chan struct{})
	fg := &fakeGraph{send: func(ctx context.Context, id string) graph.Result {
		arrived <- id
		<-release
		return graph.Result{Status: 204, Attempts: 1}
	}}
	r := &Runner{Graph: fg, Options: Options{Concurrency: 2}}
	type out struct {
		rows map[int]report.Row
		err  error
	}
	res := make(chan out, 1)
	go func() {
		rows, err := run(t, ctx, r, makeRows(10))
		res <- out{rows, err}
	}()
	recv(t, arrived, "the first request")
	recv(t, arrived, "the second request")
	cancel()
	close(release)
	o := recv(t, res, "Run to return")
	var se *StopError
	if !errors.As(o.err, &se) || se.Reason != Interrupted {
		t.Fatalf("Run error = %v, want Interrupted", o.err)
	}
	if !errors.Is(se, context.Canceled) {
		t.Errorf("the StopError does not wrap the cancellation: %v", se.Err)
	}
	if got := len(fg.sent()); got != 2 {
		t.Errorf("sent %d requests, want only the 2 in flight", got)
	}
	if len(o.rows) != 2 || o.rows[2].Outcome != report.Applied || o.rows[3].Outcome != report.Applied {
		t.Errorf("rows = %v, want lines 2 and 3 applied", o.rows)
	}
}

func TestInterruptAfterEveryRowWasSent(t *testing.T) {
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	arrived := make(chan struct{})
	release := make(chan struct{})
	fg := &fakeGraph{send: func(context.Context, string) graph.Result {
		arrived <- struct{}{}
		<-release
		return graph.Result{Status: 204, Attempts: 1}
	}}
	r := &Runner{Graph: fg, Options: Options{Concurrency: 2}}
	res := make(chan error, 1)
	go func() {
		_, err := run(t, ctx, r, makeRows(2))
		res <- err
	}()
	recv(t, arrived, "the first request")
	recv(t, arrived, "the second request")
	cancel()
	close(release)
	if err := recv(t, res, "Run to return"); err != nil {
		t.Errorf("Run error = %v; every row was sent and settled, so the run finished", err)
	}
}

func TestRecorderErrorStopsTheRun(t *testing.T) {
	fg := &fakeGraph{}
	rec := &recorder{failAt: 3}
	r := &Runner{Graph: fg, Recorder: rec}
	var seen []int
	r.OnRow = func(row report.Row) { seen = append(seen, row.Line) }
	_, err := run(t, t.Context(), r, makeRows(10))
	var se *StopError
	if !errors.As(err, &se) || se.Reason != JournalFailed || !errors.Is(err, errDiskFull) {
		t.Fatalf("Run error = %v, want a JournalFailed stop wrapping the recorder's error", err)
	}
	if !strings.Contains(se.Msg, "not in the journal") || strings.Contains(se.Msg, "every finished row") {
		t.Errorf("message %q does not say the journal is missing rows", se.Msg)
	}
	if got := len(fg.sent()); got != 3 {
		t.Errorf("sent %d requests, want 3 (none after the record failed)", got)
	}
	if len(seen) != 3 {
		t.Errorf("settled %d rows, want 3", len(seen))
	}
	// The row whose record failed is still in the results, as applied.
	out, _ := r.result(makeRows(3)[2])
	if out.Outcome != report.Applied {
		t.Errorf("the unrecorded row is %s in the results, want applied", out.Outcome)
	}
}

func TestItemsErrorEndsTheRun(t *testing.T) {
	bad := errors.New("input changed while running")
	items := func(yield func(input.Row, error) bool) {
		for _, it := range makeRows(3) {
			if !yield(it, nil) {
				return
			}
		}
		yield(input.Row{}, bad)
	}
	fg := &fakeGraph{}
	rec := &recorder{}
	r := &Runner{Graph: fg, Recorder: rec}
	err := r.Run(t.Context(), items)
	rows := rec.settled()
	if !errors.Is(err, bad) {
		t.Fatalf("Run error = %v, want %v", err, bad)
	}
	if len(rows) != 3 {
		t.Errorf("settled %d rows, want the 3 before the error", len(rows))
	}
}

func TestReconcile(t *testing.T) {
	items := makeRows(12)
	objects := map[string]json.RawMessage{}
	for i, it := range items {
		state := "installed" // matches: not written
		if i%3 == 0 {
			state = "failed"
		}
		objects[it.Key[2]] = json.RawMessage(fmt.Sprintf(`{"id":%q,"installState":%q}`, it.Key[2], state))
	}
	delete(objects, "s0012") // Graph's own 404 for a missing object
	// A GET per row, and a listing of the collection.
	for _, counts := range []int{3, 12} {
		t.Run(fmt.Sprint(counts), func(t *testing.T) {
			fg := &fakeGraph{objects: objects}
			live := NewLive(fg, map[resource.Key]int{{"app", "", ""}: counts})
			reads, err := ReadAll(t.Context(), live, seq(items), 3, nil)
			if err != nil {
				t.Fatal(err)
			}
			if reads.Update != 4 || reads.Unchanged != 7 || reads.Failed != 1 {
				t.Errorf("reads counted %d to update, %d unchanged, %d failed; want 4, 7, 1", reads.Update, reads.Unchanged, reads.Failed)
			}
			readsBefore := fg.reads
			r := &Runner{Graph: fg, Options: Options{Reads: reads, Concurrency: 3, Batch: 2}}
			rows, err := run(t, t.Context(), r, items)
			if fg.reads != readsBefore {
				t.Errorf("the run read %d objects again", fg.reads-readsBefore)
			}
			if err != nil {
				t.Fatal(err)
			}
			var wantSent []string
			for i, it := range items {
				want := report.Unchanged
				switch {
				case it.Key[2] == "s0012":
					want = report.Failed
				case i%3 == 0:
					want = report.Applied
					wantSent = append(wantSent, it.Key[2])
				}
				if got := rows[it.Op.Line].Outcome; got != want {
					t.Errorf("line %d: %s, want %s", it.Op.Line, got, want)
				}
			}
			sent := fg.sent()
			slices.Sort(sent)
			if !slices.Equal(sent, wantSent) {
				t.Errorf("wrote %q, want only the rows that differ: %q", sent, wantSent)
			}
			if got := rows[13].HTTPStatus; got != 404 {
				t.Errorf("missing object: status %d, want Graph's 404", got)
			}
		})
	}
}

// TestReadFailureStopsBeforeAnyWrite: a run-fatal answer to a read (a
// removed route, 403) stops the reads with nothing written.
func TestReadFailureStopsBeforeAnyWrite(t *testing.T) {
	for _, fatal := range []error{
		&graph.APIError{Status: 400, Code: "BadRequest", Message: "Resource not found for the segment 'deviceStatuses'."},
		&graph.APIError{Status: 403, Code: "Forbidden", Message: "no"},
	} {
		fg := &fakeGraph{getErr: fatal}
		live := NewLive(fg, map[resource.Key]int{{"app", "", ""}: 5})
		_, err := ReadAll(t.Context(), live, seq(makeRows(5)), 1, nil)
		var se *StopError
		if !errors.As(err, &se) || se.Reason != Systemic && se.Reason != AuthFailed {
			t.Fatalf("ReadAll = %v, want a run-fatal stop", err)
		}
		if fg.reads != 1 || len(fg.sent()) != 0 {
			t.Errorf("%d reads and %d writes, want 1 read and no write", fg.reads, len(fg.sent()))
		}
	}
}

// TestReadsPositions: verdicts are kept by the row's position, across
// invalid rows and rows a saved plan marked unchanged.
func TestReadsPositions(t *testing.T) {
	rows := makeRows(6)
	rows[1].Problems = []string{"line 3: bad"}
	rows[3].Action = "unchanged"
	objects := map[string]json.RawMessage{}
	for i, r := range rows {
		state := "installed"
		if i == 4 {
			state = "failed"
		}
		objects[r.Key[2]] = json.RawMessage(fmt.Sprintf(`{"id":%q,"installState":%q}`, r.Key[2], state))
	}
	fg := &fakeGraph{objects: objects}
	reads, err := ReadAll(t.Context(), NewLive(fg, nil), seq(rows), 2, nil)
	if err != nil {
		t.Fatal(err)
	}
	want := []verdict{unchanged, notRead, unchanged, notRead, toUpdate, unchanged}
	for i, w := range want {
		if got := reads.at(i); got != w {
			t.Errorf("row %d: verdict %d, want %d", i, got, w)
		}
	}
	if fg.reads != 4 {
		t.Errorf("%d reads, want 4 (not the invalid row, not the planned-unchanged one)", fg.reads)
	}
}

// TestFatalStopCancelsWaitingRequests: after a run-fatal answer the rows
// still waiting (at the pacer, in the real client) are not sent; a row
// cut off after it was sent is failed with a message that says so.
func TestFatalStopCancelsWaitingRequests(t *testing.T) {
	arrived := make(chan string, 10)
	release := make(chan struct{})
	fg := &fakeGraph{send: func(ctx context.Context, id string) graph.Result {
		arrived <- id
		switch id {
		case "s0001":
			<-release
			return apiErr(400, "BadRequest", "Resource not found for the segment 'deviceStatuses'.")
		case "s0002": // still waiting for its turn: nothing sent
			<-ctx.Done()
			return graph.Result{Err: fmt.Errorf("graph: PATCH x: %w", ctx.Err())}
		default: // sent, then stopped before its retry
			<-ctx.Done()
			return graph.Result{Status: 503, Attempts: 1, Err: fmt.Errorf("graph: PATCH x: stopped before its retry: %w", ctx.Err())}
		}
	}}
	r := &Runner{Graph: fg, Options: Options{Concurrency: 3}}
	type out struct {
		rows map[int]report.Row
		err  error
	}
	res := make(chan out, 1)
	go func() {
		rows, err := run(t, t.Context(), r, makeRows(10))
		res <- out{rows, err}
	}()
	for range 3 {
		recv(t, arrived, "a request")
	}
	close(release)
	o := recv(t, res, "Run to return")
	var se *StopError
	if !errors.As(o.err, &se) || se.Reason != Systemic {
		t.Fatalf("Run error = %v, want Systemic", o.err)
	}
	if got := len(fg.sent()); got != 3 {
		t.Errorf("%d requests, want the 3 in flight only", got)
	}
	if o.rows[2].Outcome != report.Failed || o.rows[2].HTTPStatus != 400 {
		t.Errorf("line 2 = %+v, want failed 400", o.rows[2])
	}
	if _, ok := o.rows[3]; ok {
		t.Errorf("line 3 was never sent but settled as %s; want it left not attempted", o.rows[3].Outcome)
	}
	if row := o.rows[4]; row.Outcome != report.Failed || !strings.Contains(row.ErrorMessage, "stopped before its retry") {
		t.Errorf("line 4 = %s %q, want failed with a message saying it was stopped", row.Outcome, row.ErrorMessage)
	}
	if len(o.rows) != 2 {
		t.Errorf("%d rows settled, want 2", len(o.rows))
	}
}
