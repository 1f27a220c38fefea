package apply

import (
	"context"
	"fmt"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// ReconcilePlan makes the reconciled plan of a valid input on out (plan
// --reconcile), out already started: it reads the live object of every
// row, up to concurrency at a time (st.Collections lets it list shared
// collections), and adds the row with what differs. A row whose object
// cannot be read is handed to unreadable and added as unreadable (to be
// sent as it is); a run-fatal answer stops the plan with its *StopError;
// an interrupted plan is an error that says the plan was not saved.
func ReconcilePlan(ctx context.Context, g Graph, src *input.Source, st input.Stats, concurrency int,
	out *plan.Output, unreadable func(r input.Row, err error)) error {
	live := NewLive(g, st.Collections)
	err := Reconcile(ctx, live, src.Rows(), concurrency, func(r input.Row, changes []plan.Change, res graph.Result) error {
		if res.Err == nil {
			return out.Reconciled(&r.Op, r.Body, changes)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stop := RunFatal(src.Res, res.Err); stop != nil {
			return stop
		}
		unreadable(r, res.Err)
		return out.Unreadable(&r.Op, r.Body)
	})
	if err != nil && ctx.Err() != nil {
		return fmt.Errorf("interrupted: the plan is not finished and was not saved: %w", ctx.Err())
	}
	return err
}
