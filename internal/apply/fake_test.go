package apply

// A fake Graph, recorder and clock for the runner's tests: they answer
// from functions the test supplies and count what the runner did.

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sync"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/report"
	"github.com/bulkpatch/bulkpatch/internal/schema"
)

// fakeGraph answers writes with patch (nil: 204 for everything) and
// reads from objects. It counts calls and the most of them at once.
type fakeGraph struct {
	patch   func(ctx context.Context, w graph.Write) graph.Result
	objects map[string]json.RawMessage // by status id
	getErr  error                      // when set, every read fails with it

	mu          sync.Mutex
	writes      []string // status ids, in the order they were sent
	batches     []int    // sizes of the PatchBatch calls
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
	f.mu.Lock()
	f.writes = append(f.writes, w.StatusID)
	f.mu.Unlock()
	if f.patch == nil {
		return graph.Result{Status: 204, Attempts: 1, RequestID: "req-" + w.StatusID}
	}
	return f.patch(ctx, w)
}

func (f *fakeGraph) Patch(ctx context.Context, w graph.Write) graph.Result {
	f.enter()
	defer f.leave()
	return f.answer(ctx, w)
}

func (f *fakeGraph) PatchBatch(ctx context.Context, ws []graph.Write) []graph.Result {
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

func (f *fakeGraph) Get(ctx context.Context, t graph.Target) graph.Result {
	f.mu.Lock()
	f.reads++
	f.mu.Unlock()
	if f.getErr != nil {
		return graph.Result{Err: f.getErr, Attempts: 1}
	}
	obj, ok := f.objects[t.StatusID]
	if !ok {
		return graph.Result{Status: 404, Attempts: 1, Err: &graph.APIError{Status: 404, Code: "ResourceNotFound", Message: "Resource Not Found"}}
	}
	return graph.Result{Status: 200, Attempts: 1, Body: obj}
}

func (f *fakeGraph) List(ctx context.Context, appID, userStatusID string, fn func(obj json.RawMessage) error) error {
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

// recorder keeps the rows the runner journals; failAt > 0 makes the
// failAt-th Record call (and every later one) fail.
type recorder struct {
	failAt int
	mu     sync.Mutex
	calls  int
	lines  []int
}

var errDiskFull = errors.New("disk full")

func (r *recorder) Record(row report.Row) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.calls++
	if r.failAt > 0 && r.calls >= r.failAt {
		return errDiskFull
	}
	r.lines = append(r.lines, row.Line)
	return nil
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

// makeItems returns n rows on input lines 2..n+1, each setting
// installState to installed on status s0001, s0002, ...
func makeItems(n int) []Item {
	items := make([]Item, n)
	for i := range items {
		op := plan.Op{Line: i + 2, AppID: "app", StatusID: fmt.Sprintf("s%04d", i+1)}
		op.Props[schema.PropertyIndex("installState")] = plan.Value{Intent: plan.Set, Str: "installed"}
		items[i] = Item{Op: op, Body: op.AppendBody(nil), Props: []string{"installed"}}
	}
	return items
}

func seq(items []Item) iter.Seq2[Item, error] {
	return func(yield func(Item, error) bool) {
		for _, it := range items {
			if !yield(it, nil) {
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
