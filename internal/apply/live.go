package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// Group identifies one collection of statuses: an app's deviceStatuses,
// or one user status's deviceStatuses under an app.
type Group struct {
	AppID        string
	UserStatusID string
}

// GroupOf returns the collection an operation's object lives in.
func GroupOf(op *plan.Op) Group { return Group{op.AppID, op.UserStatusID} }

// ListThreshold is how many input rows a collection needs before Live
// lists it instead of reading each object: listing costs one read per
// page (Graph pages hold dozens of objects), a GET one read per row.
const ListThreshold = 10

// Live reads the current objects for reconciliation, choosing per
// collection between listing it (many rows share it) and one GET per
// row. It is safe for concurrent use. A listed collection is kept in
// memory for the rest of the run (raw JSON, one entry per object).
type Live struct {
	g      Graph
	counts map[Group]int

	mu     sync.Mutex
	groups map[Group]*listing
}

type listing struct {
	once    sync.Once
	objects map[string]json.RawMessage
	err     error
	res     graph.Result
}

// NewLive returns a reader of live state. counts holds, per collection,
// how many input rows address it (from the validation pass).
func NewLive(g Graph, counts map[Group]int) *Live {
	return &Live{g: g, counts: counts, groups: make(map[Group]*listing)}
}

// Fetch returns the live object an op addresses. A failed read comes back
// as a Result with Err set, like a failed write.
func (l *Live) Fetch(ctx context.Context, op *plan.Op) (json.RawMessage, graph.Result) {
	grp := GroupOf(op)
	t := graph.Target{AppID: op.AppID, UserStatusID: op.UserStatusID, StatusID: op.StatusID}
	if l.counts[grp] < ListThreshold {
		res := l.g.Get(ctx, t)
		return res.Body, res
	}
	l.mu.Lock()
	ls, ok := l.groups[grp]
	if !ok {
		ls = &listing{}
		l.groups[grp] = ls
	}
	l.mu.Unlock()
	ls.once.Do(func() {
		ls.objects = make(map[string]json.RawMessage)
		ls.err = l.g.List(ctx, grp.AppID, grp.UserStatusID, func(obj json.RawMessage) error {
			var head struct {
				ID string `json:"id"`
			}
			if err := json.Unmarshal(obj, &head); err != nil {
				return fmt.Errorf("decoding a listed object: %w", err)
			}
			ls.objects[head.ID] = obj
			return nil
		})
	})
	if ls.err != nil {
		return nil, graph.Result{Err: ls.err, Attempts: 1}
	}
	obj, ok := ls.objects[op.StatusID]
	if !ok {
		// Not in the listing: ask for it directly, so a missing object
		// gets Graph's own 404 in the results.
		res := l.g.Get(ctx, t)
		return res.Body, res
	}
	return obj, graph.Result{Status: 200}
}

// check reads the live object for it and reports whether it already
// matches. A read failure is returned in res.Err.
func (l *Live) check(ctx context.Context, it Item) (bool, graph.Result) {
	live, res := l.Fetch(ctx, &it.Op)
	if res.Err != nil {
		return false, res
	}
	changes, err := plan.Diff(&it.Op, live)
	if err != nil {
		res.Err = fmt.Errorf("comparing with the live object: %w", err)
		return false, res
	}
	return len(changes) == 0, graph.Result{}
}
