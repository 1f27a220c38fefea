// Package apply runs checked rows against Graph: it paces them through
// one shared client, keeps up to Concurrency rows in flight, reads each
// object first when reconciling, records every finished row durably
// before counting it, and stops the run (not just a row) when Graph says
// every further row would fail the same way. It also writes the results
// file, from the journal, once a run ends.
//
// The same reconciliation engine (Live) serves apply, plan --reconcile
// (Reconcile) and export, and one classifier (RunFatal) decides which
// answers stop a run for all of them.
package apply

import (
	"context"
	"encoding/json"
	"fmt"
	"iter"
	"sync"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// Graph is what a run needs from Microsoft Graph. *graph.Client
// satisfies it; tests may substitute their own. Cancelling the context of
// a call stops it from sending anything new; an attempt already on the
// wire finishes.
type Graph interface {
	Send(ctx context.Context, w graph.Write) graph.Result
	SendBatch(ctx context.Context, ws []graph.Write) []graph.Result
	Get(ctx context.Context, path string) graph.Result
	List(ctx context.Context, path string, fn func(obj json.RawMessage) error) error
}

// Recorder keeps finished rows durably and reads them back (a
// *journal.Journal). Its methods are called from several goroutines at
// once.
type Recorder interface {
	Record(r report.Row, id uint64) error
	Done(line int, id uint64) (bool, error)
	Row(line int, id uint64) (journal.Entry, bool, error)
}

// Options tunes a run. The zero value runs one row at a time, unbatched,
// with no time limit.
type Options struct {
	Concurrency int           // rows (or batches) in flight at most; <1 means 1
	Batch       int           // rows per $batch request; <2 means one request per row
	MaxDuration time.Duration // stop dispatching after this long, on Clock; 0: no limit
	// SameFailures stops the run when this many rows in a row failed with
	// the same failure that is not specific to a row (throttling or
	// server errors that outlived every retry, no answer at all).
	// 0 means 20; negative disables the check.
	SameFailures int
	// NoAnswer stops the run when Graph has given no HTTP answer at all
	// (refused, no such host, TLS failure, timeouts) for this long, while
	// requests kept trying. 0 means 20 s; negative disables the check.
	// It needs a Graph that implements Reachability.
	NoAnswer time.Duration
	// Reads, when set, is what a reconcile pass (ReadAll) found: rows
	// already in the desired state are settled unchanged and rows whose
	// read failed are settled failed, none of them written.
	Reads *Reads
	Clock func() time.Time // nil: time.Now
}

// Reachability is implemented by a Graph that can tell whether it is
// getting answers (*graph.Client does). Unanswered returns when the
// current run of attempts without any HTTP answer began (zero when the
// last attempt was answered) and the last such attempt's error.
type Reachability interface {
	Unanswered() (since time.Time, err error)
}

// Counter is implemented by a Graph that counts its requests
// (*graph.Client does): a Job puts the counts in its summary.
type Counter interface {
	Stats() graph.Stats
}

// StopReason says why a run ended before dispatching every row.
type StopReason int

// The reasons a run stops early, each with its own exit code in main.
const (
	Finished         StopReason = iota // every row was dispatched
	Interrupted                        // the run's context was cancelled
	TimeUp                             // Options.MaxDuration passed
	AuthFailed                         // 401 after a token refresh, or 403
	ApprovalRequired                   // Intune Multi Admin Approval refused a write
	Systemic                           // the endpoint is gone or unreachable, or every recent row failed alike
	JournalFailed                      // a finished row could not be recorded
)

// StopError explains an early stop. Err is the error that caused it,
// when there is one.
type StopError struct {
	Reason StopReason
	Msg    string
	Err    error
}

func (e *StopError) Error() string { return e.Msg }
func (e *StopError) Unwrap() error { return e.Err }

// Runner applies rows. Its fields are set once before Run.
type Runner struct {
	Graph    Graph
	Recorder Recorder           // nil: rows are neither journaled nor resumed
	OnRow    func(r report.Row) // called once per row as it settles, from any goroutine
	Options  Options

	// unrecorded holds rows that settled after the journal failed, so the
	// results file can still say what became of them (at most the rows
	// that were in flight).
	mu         sync.Mutex
	unrecorded map[int]report.Row
}

// Run dispatches the valid rows of rows in order (rows with problems are
// skipped: check the input first). Rows an earlier run finished, as the
// Recorder says, are settled as skipped without being sent. The error is
// a *StopError when the run stopped early, or the error of rows.
func (r *Runner) Run(ctx context.Context, rows iter.Seq2[input.Row, error]) error {
	o := r.Options
	now := o.Clock
	if now == nil {
		now = time.Now
	}
	// stopCtx ends dispatching: Ctrl-C, --max-duration or a run-fatal
	// answer. Requests run under it too: graph sends nothing new once it
	// is done, and lets attempts already on the wire finish.
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	s := &settler{runner: r, now: now, stop: stop, same: o.SameFailures}
	if s.same == 0 {
		s.same = 20
	}
	defer r.watchAnswers(stopCtx, s)()

	start := now()
	halted := func() bool {
		if stopCtx.Err() != nil {
			return true
		}
		// Checked here, on the Clock, rather than by a timer, so that a
		// run whose every row was dispatched in time never reports TimeUp.
		if o.MaxDuration > 0 && now().Sub(start) >= o.MaxDuration {
			stop(&StopError{Reason: TimeUp, Msg: fmt.Sprintf("stopped after --max-duration %v; run the same command again to continue", o.MaxDuration)})
			return true
		}
		return false
	}
	rowsErr := r.dispatch(stopCtx, s, rows, halted)
	if s.recordErr != nil {
		return s.recordErr
	}
	if rowsErr != nil {
		return rowsErr
	}
	return s.outcome(ctx, stopCtx)
}

// dispatch sends every valid row of rows, up to Concurrency at once, and
// returns the error of rows, if any.
func (r *Runner) dispatch(ctx context.Context, s *settler, rows iter.Seq2[input.Row, error], halted func() bool) error {
	o := r.Options
	g := new(errgroup.Group)
	g.SetLimit(max(o.Concurrency, 1))
	batchSize := max(o.Batch, 1)
	var pending []item
	flush := func() {
		batch := pending
		pending = nil
		// g.Go waits for a free slot; the run may halt meanwhile.
		g.Go(func() error {
			if halted() {
				s.notAttempted()
				return nil
			}
			s.send(ctx, batch)
			return nil
		})
	}
	var rowsErr error
	i := -1 // the row's position in rows, as Reads numbers them
	for row, err := range rows {
		if err != nil {
			rowsErr = err
			break
		}
		i++
		if len(row.Problems) > 0 {
			continue
		}
		it := item{Row: row, id: journal.RowID(row.Key, row.Body)}
		if done, err := s.done(it); err != nil || done {
			if err != nil {
				rowsErr = err
				break
			}
			continue
		}
		if halted() {
			s.notAttempted()
			break
		}
		switch o.Reads.at(i) {
		case unchanged:
			s.settle(s.row(it, report.Unchanged, graph.Result{Status: 200}), it.id)
			continue
		case readFailed:
			s.settleResult(it, o.Reads.failed[i])
			continue
		}
		if it.Action == plan.ActionUnchanged {
			s.settle(s.row(it, report.Unchanged, graph.Result{}), it.id)
			continue
		}
		if pending = append(pending, it); len(pending) >= batchSize {
			flush()
		}
	}
	if len(pending) > 0 && rowsErr == nil {
		if halted() {
			s.notAttempted()
		} else {
			flush()
		}
	}
	g.Wait()
	return rowsErr
}

// watchAnswers stops the run when Graph has answered nothing at all for
// Options.NoAnswer while requests kept trying: then every row waits out
// its retries for nothing (a host that does not resolve, a port that
// refuses). It returns the function that ends the watch.
func (r *Runner) watchAnswers(ctx context.Context, s *settler) func() {
	return watchAnswers(ctx, r.Graph, r.Options.NoAnswer, s.now, s.fatal)
}

// watchAnswers calls stop, once, when g (a Reachability) has had no
// answer for limit (0: 20 s; negative: never), checking on a ticker until
// ctx ends or the returned function is called.
func watchAnswers(ctx context.Context, g Graph, limit time.Duration, now func() time.Time, stop func(*StopError)) func() {
	ra, ok := g.(Reachability)
	if limit == 0 {
		limit = 20 * time.Second
	}
	if !ok || limit < 0 {
		return func() {}
	}
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		t := time.NewTicker(min(limit/4, time.Second))
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			since, err := ra.Unanswered()
			if !since.IsZero() && now().Sub(since) >= limit {
				stop(unreachable(err, now().Sub(since)))
				return
			}
		}
	})
	return func() { close(done); wg.Wait() }
}

// item is a row on its way through the runner, with its journal identity.
type item struct {
	input.Row
	id uint64
}

// write returns the request that applies it, or the reason its ids
// cannot be placed in a path (unreachable after plan's checks).
func (it item) write() (graph.Write, error) {
	method, path, err := it.Op.Res.WritePath(it.Key)
	return graph.Write{Method: method, Path: path, Body: it.Body}, err
}
