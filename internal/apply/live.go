package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"strings"
	"sync"

	"golang.org/x/sync/errgroup"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// How many input rows a collection needs before Live lists it instead of
// reading each object: listing costs one read per page (Graph pages hold
// dozens to hundreds of objects), a GET one read per row. A nested
// collection (an app's statuses) is small; a top-level one (the tenant's
// managed devices) may hold far more objects than the input has rows.
const (
	ListThreshold         = 10
	TopLevelListThreshold = 500
)

// Live reads the current objects for reconciliation, choosing per
// collection between listing it (many rows share it) and one GET per
// row. It is safe for concurrent use. A listed collection is kept in
// memory (raw JSON, one entry per object) until every row of the input
// that addresses it has been read.
type Live struct {
	g Graph

	mu       sync.Mutex
	counts   map[resource.Key]int // rows per collection not yet read
	listings map[resource.Key]*listing
}

// listing is one collection's objects, read once by the first row that
// needs them while the collection's other rows wait on done (or their
// context: a wait on a lock could not be given up).
type listing struct {
	done    chan struct{}              // closed once objects and err are set
	objects map[string]json.RawMessage // by the object's id, lower-cased
	err     error
}

// NewLive returns a reader of live state. counts holds, per collection
// (resource.Resource.Collection of a row's key), how many input rows
// address it, from the check pass; Live takes it over.
func NewLive(g Graph, counts map[resource.Key]int) *Live {
	if counts == nil {
		counts = make(map[resource.Key]int)
	}
	return &Live{g: g, counts: counts, listings: make(map[resource.Key]*listing)}
}

// Fetch returns the live object op addresses. A failed read comes back as
// a Result with Err set, like a failed write.
func (l *Live) Fetch(ctx context.Context, op *plan.Op) (json.RawMessage, graph.Result) {
	coll := op.Res.Collection(op.Key)
	l.mu.Lock()
	n := l.counts[coll]
	ls := l.listings[coll]
	threshold := ListThreshold
	if coll == (resource.Key{}) {
		threshold = TopLevelListThreshold
	}
	lists := false // this row reads the listing for the others
	if ls == nil && n >= threshold {
		ls = &listing{done: make(chan struct{})}
		l.listings[coll] = ls
		lists = true
	}
	if l.counts[coll]--; l.counts[coll] <= 0 {
		delete(l.counts, coll)
		delete(l.listings, coll) // the last row of the collection: free the listing after this read
	}
	l.mu.Unlock()
	if ls == nil {
		return l.get(ctx, op)
	}
	if lists {
		ls.objects, ls.err = l.list(ctx, op)
		close(ls.done)
	}
	select {
	case <-ls.done:
	case <-ctx.Done():
		return nil, graph.Result{Err: ctx.Err()}
	}
	if ls.err != nil {
		return nil, graph.Result{Err: ls.err, Attempts: 1}
	}
	obj, ok := ls.objects[strings.ToLower(op.Key[op.Res.IDKey()])]
	if !ok {
		// Not in the listing: ask for it directly, so a missing object
		// gets Graph's own 404 in the results.
		return l.get(ctx, op)
	}
	return obj, graph.Result{Status: 200}
}

func (l *Live) get(ctx context.Context, op *plan.Op) (json.RawMessage, graph.Result) {
	p, err := op.Res.ObjectPath(op.Key)
	if err != nil {
		return nil, graph.Result{Err: err}
	}
	res := l.g.Get(ctx, p+op.Res.Query())
	return res.Body, res
}

// list reads the whole collection op's object lives in, keyed by id.
func (l *Live) list(ctx context.Context, op *plan.Op) (map[string]json.RawMessage, error) {
	p, err := op.Res.CollectionPath(op.Key)
	if err != nil {
		return nil, err
	}
	objects := make(map[string]json.RawMessage)
	err = l.g.List(ctx, p+op.Res.Query(), func(obj json.RawMessage) error {
		var head struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(obj, &head); err != nil {
			return fmt.Errorf("decoding a listed object: %w", err)
		}
		// Graph compares ids case-insensitively; so does the lookup.
		objects[strings.ToLower(head.ID)] = append(json.RawMessage(nil), obj...)
		return nil
	})
	return objects, err
}

// Check reads the live object for op and returns what differs from what
// op would send (nothing: the object is already as asked). A read failure
// is returned in the Result's Err.
func (l *Live) Check(ctx context.Context, op *plan.Op) ([]plan.Change, graph.Result) {
	live, res := l.Fetch(ctx, op)
	if res.Err != nil {
		return nil, res
	}
	changes, err := plan.Diff(op, live)
	if err != nil {
		res.Err = fmt.Errorf("comparing with the live object: %w", err)
		return nil, res
	}
	return changes, res
}

// Reconcile reads the live object of every row, up to concurrency at a
// time, and calls fn in input order with what differs, or with the read's
// failure in the Result. fn's error ends the pass and is returned; so is
// the error of rows, or ctx's once it is done. A run-fatal answer
// (RunFatal) cancels the reads still waiting and ends the pass with its
// *StopError: every other read would meet it too.
func Reconcile(ctx context.Context, live *Live, rows iter.Seq2[input.Row, error], concurrency int,
	fn func(input.Row, []plan.Change, graph.Result) error) error {
	type slot struct {
		row     input.Row
		changes []plan.Change
		res     graph.Result
	}
	window := max(concurrency*8, 16)
	var batch []slot
	run := func() error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(max(concurrency, 1))
		for i := range batch {
			s := &batch[i]
			g.Go(func() error {
				s.changes, s.res = live.Check(gctx, &s.row.Op)
				if stop := RunFatal(s.row.Op.Res, s.res.Err); stop != nil {
					return stop
				}
				return nil
			})
		}
		if err := g.Wait(); err != nil {
			return err
		}
		for _, s := range batch {
			if err := fn(s.row, s.changes, s.res); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return ctx.Err()
	}
	for row, err := range rows {
		if err != nil {
			return err
		}
		if len(row.Problems) > 0 {
			continue
		}
		batch = append(batch, slot{row: row})
		if len(batch) == window {
			if err := run(); err != nil {
				return err
			}
		}
	}
	return run()
}
