package apply

// A fake Graph, recorder and clock for the runner's tests: they answer
// from functions the test supplies and count what the runner did.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"path"
	"sync"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// fakeGraph answers writes with send (nil: 204 for everything) and reads
// from objects. It counts calls and the most of them at once. The object
// a request is for is the last segment of its path (the status id).
type fakeGraph struct {
	send    func(ctx context.Context, id string) graph.Result
	objects map[string]json.RawMessage // by status id
	getErr  error                      // when set, every read fails with it

	mu          sync.Mutex
	writes      []string // status ids, in the order they were sent
	batches     []int    // sizes of the SendBatch calls
	reads       int
	inFlight    int
	maxInFlight int
}

func (f *fakeGraph) enter() {
	f.mu.Lock()
	f.inFlight++
	f.maxInFlight = max(f.maxInFlight, f.inFlight)
	f.mu.Unlock()
}

func (f *fakeGraph) leave() {
	f.mu.Lock()
	f.inFlight--
	f.mu.Unlock()
}

func (f *fakeGraph) answer(ctx context.Context, w graph.Write) graph.Result {
	id := path.Base(w.Path)
	f.mu.Lock()
	f.writes = append(f.writes, id)
	f.mu.Unlock()
	if f.send == nil {
		return graph.Result{Status: 204, Attempts: 1, RequestID: "req-" + id}
	}
	return f.send(ctx, id)
}

func (f *fakeGraph) Send(ctx context.Context, w graph.Write) graph.Result {
	f.enter()
	defer f.leave()
	return f.answer(ctx, w)
}

func (f *fakeGraph) SendBatch(ctx context.Context, ws []graph.Write) []graph.Result {
	f.enter()
	defer f.leave()
	f.mu.Lock()
	f.batches = append(f.batches, len(ws))
	f.mu.Unlock()
	res := make([]graph.Result, len(ws))
	for i, w := range ws {
		res[i] = f.answer(ctx, w)
	}
	return res
}

func (f *fakeGraph) Get(ctx context.Context, p string) graph.Result {
	if ctx.Err() != nil { // as the client: nothing is sent once ctx is done
		return graph.Result{Err: ctx.Err()}
	}
	f.mu.Lock()
	f.reads++
	f.mu.Unlock()
	if f.getErr != nil {
		return graph.Result{Err: f.getErr, Attempts: 1}
	}
	obj, ok := f.objects[path.Base(p)]
	if !ok {
		return graph.Result{Status: 404, Attempts: 1, Err: &graph.APIError{Status: 404, Code: "ResourceNotFound", Message: "Resource Not Found"}}
	}
	return graph.Result{Status: 200, Attempts: 1, Body: obj}
}

func (f *fakeGraph) List(ctx context.Context, p string, fn func(obj json.RawMessage) error) error {
	f.mu.Lock()
	f.reads++
	f.mu.Unlock()
	if f.getErr != nil {
		return f.getErr
	}
	for _, obj := range f.objects {
		if err := fn(obj); err != nil {
			return err
		}
	}
	return nil
}

func (f *fakeGraph) sent() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]string(nil), f.writes...)
}

// recorder keeps the rows the runner journals, in memory; failAt > 0
// makes the failAt-th Record call (and every later one) fail. done lists
// the lines an earlier run finished.
type recorder struct {
	failAt int
	done   map[int]report.Row

	mu    sync.Mutex
	calls int
	lines []int
	rows  map[int]report.Row
}

var errDiskFull = errors.New("disk full")

func (r *recorder) Record(row report.Row, id uint64) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failAt > 0 && r.calls >= r.failAt {
		return errDiskFull
	}
	r.lines = append(r.lines, row.Line)
	if r.rows == nil {
		r.rows = make(map[int]report.Row)
	}
	r.rows[row.Line] = row
	return nil
}

func (r *recorder) Done(line int, id uint64) (bool, error) {
	_, ok := r.done[line]
	return ok, nil
}

func (r *recorder) Row(line int, id uint64) (journal.Entry, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if row, ok := r.rows[line]; ok {
		return journal.Entry{Row: row}, true, nil
	}
	if row, ok := r.done[line]; ok {
		return journal.Entry{Row: row, Earlier: true}, true, nil
	}
	return journal.Entry{}, false, nil
}

// settled returns the rows recorded so far, by line.
func (r *recorder) settled() map[int]report.Row {
	r.mu.Lock()
	defer r.mu.Unlock()
	m := make(map[int]report.Row, len(r.rows))
	for k, v := range r.rows {
		m[k] = v
	}
	return m
}

// run runs r over rows with a fresh recorder unless r has one, and
// returns the rows it settled by line.
func run(t *testing.T, ctx context.Context, r *Runner, rows []input.Row) (map[int]report.Row, error) {
	t.Helper()
	rec, ok := r.Recorder.(*recorder)
	if !ok {
		rec = &recorder{}
		r.Recorder = rec
	}
	err := r.Run(ctx, seq(rows))
	return rec.settled(), err
}

// fakeClock is a settable clock, safe for concurrent use.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// makeRows returns n rows on input lines 2..n+1, each setting
// installState to installed on status s0001, s0002, ...
func makeRows(n int) []input.Row {
	res := resource.MobileAppInstallStatus
	rows := make([]input.Row, n)
	for i := range rows {
		key := resource.Key{"app", "", fmt.Sprintf("s%04d", i+1)}
		op := plan.Op{Line: i + 2, Res: res, Key: key}
		op.Props[res.PropertyIndex("installState")] = plan.Value{Intent: plan.Set, Str: "installed"}
		rows[i] = input.Row{Line: op.Line, Key: key, Op: op, Body: op.AppendBody(nil), Cells: []string{"installed"}}
	}
	return rows
}

func seq(rows []input.Row) iter.Seq2[input.Row, error] {
	return func(yield func(input.Row, error) bool) {
		for _, r := range rows {
			if !yield(r, nil) {
				return
			}
		}
	}
}

// recv takes one value from ch. The long limit only keeps a broken
// runner from hanging the test binary; no result depends on it.
func recv[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(time.Minute):
		t.Fatalf("waited a minute for %s", what)
		panic("unreachable")
	}
}

func apiErr(status int, code, msg string) graph.Result {
	return graph.Result{Status: status, Attempts: 1, Err: &graph.APIError{Status: status, Code: code, Message: msg}}
}
