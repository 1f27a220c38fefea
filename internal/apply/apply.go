// Package apply runs validated operations against Graph: it paces them
// through one shared client, keeps up to Concurrency rows in flight,
// records every finished row durably before counting it done, and stops
// the run (not just a row) when Graph says every further row would fail
// the same way.
package apply

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"iter"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// Graph is what a run needs from Microsoft Graph. *graph.Client
// satisfies it; tests may substitute their own.
type Graph interface {
	Patch(ctx context.Context, w graph.Write) graph.Result
	PatchBatch(ctx context.Context, ws []graph.Write) []graph.Result
	Get(ctx context.Context, t graph.Target) graph.Result
	List(ctx context.Context, appID, userStatusID string, fn func(obj json.RawMessage) error) error
}

// Recorder keeps finished rows durably (a *journal.Journal). Record is
// called from several goroutines at once.
type Recorder interface {
	Record(r report.Row) error
}

// Item is one row to apply.
type Item struct {
	Op     plan.Op
	Body   []byte   // the exact PATCH body
	Props  []string // the property cells as sent, for the results file
	Action string   // from a reconciled plan: "unchanged" rows are not written; otherwise ""
}

// Options tunes a run. The zero value runs one row at a time, unbatched,
// with no time limit.
type Options struct {
	Concurrency int           // rows (or batches) in flight at most; <1 means 1
	Batch       int           // rows per $batch request; <2 means one request per row
	MaxDuration time.Duration // stop dispatching after this long, on Clock; 0: no limit
	// SameFailures stops the run when this many rows in a row failed with
	// the same status and code that is not specific to a row (throttling
	// or server errors that outlived every retry, no answer at all).
	// 0 means 20; negative disables the check.
	SameFailures int
	Reconcile    *Live // when set, rows already in the desired state are not written
	// RequestContext, when set, is the context requests run under, so
	// that cancelling the run's context (first Ctrl-C) stops dispatching
	// while rows in flight finish. nil: context.WithoutCancel(ctx). A
	// run-fatal answer (AuthFailed, Systemic) cancels the requests still
	// in progress: rows not yet sent are then left not attempted.
	RequestContext context.Context
	Clock          func() time.Time // nil: time.Now
}

// StopReason says why a run ended before dispatching every row.
type StopReason int

// The reasons a run stops early, each with its own exit code in main.
const (
	Finished    StopReason = iota // every row was dispatched
	Interrupted                   // the run's context was cancelled
	TimeUp                        // Options.MaxDuration passed
	AuthFailed                    // 401 after a token refresh, or 403
	Systemic                      // the endpoint is gone, or every recent row failed alike
)

// StopError explains an early stop. Err is the Graph error that caused
// it, when there is one.
type StopError struct {
	Reason StopReason
	Msg    string
	Err    error
}

func (e *StopError) Error() string { return e.Msg }
func (e *StopError) Unwrap() error { return e.Err }

// Runner applies items. Its fields are set once before Run.
type Runner struct {
	Graph    Graph
	Recorder Recorder                          // nil: rows are not journaled
	Done     func(line int) (report.Row, bool) // rows an earlier run finished (--resume); nil: none
	OnRow    func(r report.Row)                // called once per row as it settles, from any goroutine
	Options  Options
}

// Run dispatches items in order and returns the rows this run settled,
// by input line. Rows that are never dispatched are absent from the map:
// the caller reports them as not attempted. The error is a *StopError
// when the run stopped early, or the error of items or the recorder.
func (r *Runner) Run(ctx context.Context, items iter.Seq2[Item, error]) (map[int]report.Row, error) {
	o := r.Options
	now := o.Clock
	if now == nil {
		now = time.Now
	}
	reqCtx := o.RequestContext
	if reqCtx == nil {
		reqCtx = context.WithoutCancel(ctx)
	}
	// stopCtx ends dispatching: Ctrl-C, --max-duration or a run-fatal answer.
	stopCtx, stop := context.WithCancelCause(ctx)
	defer stop(nil)
	// A run-fatal answer also ends the requests of this run: those still
	// waiting for their turn at the pacer would only meet the same answer
	// (a batch can wait many seconds for its share of the rate).
	reqCtx, abort := context.WithCancel(reqCtx)
	defer abort()

	s := &settler{runner: r, now: now, stop: stop, abort: abort, aborted: reqCtx.Done(),
		rows: make(map[int]report.Row), same: o.SameFailures}
	if s.same == 0 {
		s.same = 20
	}
	start := now()
	// halted reports whether no further row may be sent. The time limit is
	// checked here, on the Clock, rather than by a timer, so that a run
	// whose every row was dispatched in time never reports TimeUp.
	halted := func() bool {
		if stopCtx.Err() != nil {
			return true
		}
		if o.MaxDuration > 0 && now().Sub(start) >= o.MaxDuration {
			stop(&StopError{Reason: TimeUp, Msg: fmt.Sprintf("stopped after --max-duration %v; rerun with --resume to continue", o.MaxDuration)})
			return true
		}
		return false
	}
	g := new(errgroup.Group)
	g.SetLimit(max(o.Concurrency, 1))
	batchSize := o.Batch
	if batchSize < 2 {
		batchSize = 1
	}
	var pending []Item
	flush := func() {
		if len(pending) == 0 {
			return
		}
		batch := pending
		pending = nil
		// g.Go waits for a free slot; the run may halt meanwhile.
		g.Go(func() error {
			if halted() {
				s.left.Store(true)
				return nil
			}
			s.send(reqCtx, s.reconcile(reqCtx, batch))
			return nil
		})
	}

	var itemsErr error
	for it, err := range items {
		if err != nil {
			itemsErr = err
			break
		}
		if r.Done != nil {
			if prev, ok := r.Done(it.Op.Line); ok {
				// Settled even after a halt: the results file should say
				// "skipped" for a row an earlier run did, not "not_attempted".
				prev.Outcome = report.Skipped
				prev.Props = it.Props
				s.settle(prev, false)
				continue
			}
		}
		if halted() {
			s.left.Store(true)
			if r.Done == nil {
				break
			}
			continue
		}
		if it.Action == plan.ActionUnchanged {
			s.settle(s.row(it, report.Unchanged, graph.Result{}), true)
			continue
		}
		pending = append(pending, it)
		if len(pending) >= batchSize {
			flush()
		}
	}
	if len(pending) > 0 {
		if halted() {
			s.left.Store(true)
		} else {
			flush()
		}
	}
	g.Wait()

	if s.recordErr != nil {
		return s.rows, s.recordErr
	}
	if itemsErr != nil {
		return s.rows, itemsErr
	}
	if cause := context.Cause(stopCtx); cause != nil {
		var se *StopError
		if errors.As(cause, &se) && (se.Reason == AuthFailed || se.Reason == Systemic || s.left.Load()) {
			return s.rows, se
		}
		if s.left.Load() && ctx.Err() != nil {
			return s.rows, &StopError{Reason: Interrupted, Msg: "interrupted: rows in flight finished; rerun with --resume to continue", Err: cause}
		}
	}
	return s.rows, nil
}

// settler turns graph results into rows, records them and watches for
// run-fatal patterns. It is shared by every worker.
type settler struct {
	runner *Runner
	now    func() time.Time
	stop   context.CancelCauseFunc
	// abort cancels the requests of the run, after a run-fatal answer;
	// aborted is closed then.
	abort   context.CancelFunc
	aborted <-chan struct{}
	// left records that some row was never sent because the run halted:
	// only then do an interruption or the time limit change the outcome.
	left      atomic.Bool
	same      int
	mu        sync.Mutex
	rows      map[int]report.Row
	lastKey   string
	sameCount int
	recordErr error
}

// reconcile reads the live object of each item, when the run reconciles,
// and returns the items that still need writing; the others are settled
// as unchanged, or as failed when the read failed. Workers do this, not
// the dispatcher, so reads run as concurrently as writes.
func (s *settler) reconcile(ctx context.Context, items []Item) []Item {
	live := s.runner.Options.Reconcile
	if live == nil {
		return items
	}
	var todo []Item
	for _, it := range items {
		// Reading first costs a tenth of a write in quota; a row that
		// already matches is never written.
		skip, res := live.check(ctx, it)
		switch {
		case res.Err != nil && s.isAborted():
			s.left.Store(true) // the read was cut short: the row was not attempted
		case res.Err != nil:
			s.settleResult(it, res)
		case skip:
			s.settle(s.row(it, report.Unchanged, res), true)
		default:
			todo = append(todo, it)
		}
	}
	return todo
}

func (s *settler) send(ctx context.Context, items []Item) {
	if len(items) == 0 {
		return
	}
	if len(items) == 1 {
		it := items[0]
		res := s.runner.Graph.Patch(ctx, write(it))
		s.settleResult(it, res)
		return
	}
	ws := make([]graph.Write, len(items))
	for i, it := range items {
		ws[i] = write(it)
	}
	results := s.runner.Graph.PatchBatch(ctx, ws)
	for i, it := range items {
		s.settleResult(it, results[i])
	}
}

func write(it Item) graph.Write {
	return graph.Write{
		Target: graph.Target{AppID: it.Op.AppID, UserStatusID: it.Op.UserStatusID, StatusID: it.Op.StatusID},
		Body:   it.Body,
	}
}

func (s *settler) settleResult(it Item, res graph.Result) {
	if res.Err != nil && s.isAborted() && errors.Is(res.Err, context.Canceled) {
		if res.Attempts == 0 {
			// Cancelled before it was sent: not attempted.
			s.left.Store(true)
			return
		}
		res.Err = fmt.Errorf("abandoned when the run stopped (the write may have taken effect; --resume sends it again): %w", res.Err)
	}
	outcome := report.Applied
	if res.Err != nil {
		outcome = report.Failed
	}
	s.settle(s.row(it, outcome, res), true)
	if res.Err != nil {
		s.watch(res.Err)
	} else {
		s.mu.Lock()
		s.lastKey, s.sameCount = "", 0
		s.mu.Unlock()
	}
}

// isAborted reports whether a run-fatal answer cancelled the requests.
func (s *settler) isAborted() bool {
	select {
	case <-s.aborted:
		return true
	default:
		return false
	}
}

// fatal stops the run for an answer every further row would get too, and
// cancels the requests still waiting to be sent.
func (s *settler) fatal(e *StopError) {
	s.stop(e)
	s.abort()
}

// row builds the results row for an item.
func (s *settler) row(it Item, outcome report.Outcome, res graph.Result) report.Row {
	row := report.Row{
		Line:                     it.Op.Line,
		MobileAppID:              it.Op.AppID,
		UserAppInstallStatusID:   it.Op.UserStatusID,
		MobileAppInstallStatusID: it.Op.StatusID,
		Outcome:                  outcome,
		HTTPStatus:               res.Status,
		Attempts:                 res.Attempts,
		RequestID:                res.RequestID,
		ClientRequestID:          res.ClientRequestID,
		Duration:                 res.Duration,
		FinishedAt:               s.now(),
		Props:                    it.Props,
	}
	if res.Err != nil {
		var ae *graph.APIError
		if errors.As(res.Err, &ae) {
			row.ErrorCode = ae.Code
			row.ErrorMessage = ae.Message
		} else {
			row.ErrorMessage = res.Err.Error()
		}
	}
	return row
}

// settle stores a row, and journals it unless it only repeats what an
// earlier run recorded.
func (s *settler) settle(row report.Row, journal bool) {
	if journal && s.runner.Recorder != nil {
		if err := s.runner.Recorder.Record(row); err != nil {
			s.mu.Lock()
			if s.recordErr == nil {
				s.recordErr = fmt.Errorf("recording progress: %w", err)
			}
			s.mu.Unlock()
			// Without a durable record a resume could not trust this
			// run: stop dispatching.
			s.stop(err)
		}
	}
	s.mu.Lock()
	s.rows[row.Line] = row
	s.mu.Unlock()
	if s.runner.OnRow != nil {
		s.runner.OnRow(row)
	}
}

// watch stops the run on answers that every further row would get too.
func (s *settler) watch(err error) {
	if graph.IsSegmentRemoved(err) {
		s.fatal(&StopError{Reason: Systemic, Err: err, Msg: segmentRemovedMsg})
		return
	}
	var te *graph.TokenError
	if errors.As(err, &te) {
		s.fatal(&StopError{Reason: AuthFailed, Err: err, Msg: "could not get a token: " + err.Error()})
		return
	}
	var ae *graph.APIError
	if errors.As(err, &ae) {
		switch ae.Status {
		case 401:
			s.fatal(&StopError{Reason: AuthFailed, Err: err, Msg: "Graph rejected the token again after a fresh one was fetched (401 " + ae.Code + "): check that the token is for " +
				"this tenant and cloud (--cloud), that it has not been revoked, and that the clock of this machine is right"})
			return
		case 403:
			s.fatal(&StopError{Reason: AuthFailed, Err: err, Msg: "Graph refused the request (403 " + ae.Code + "): the signed-in identity needs the permission " +
				"DeviceManagementApps.ReadWrite.All (delegated, or application for app-only sign-in) with admin consent"})
			return
		}
	}
	if s.same < 0 {
		return
	}
	key := systemicKey(err)
	s.mu.Lock()
	defer s.mu.Unlock()
	if key == "" {
		s.lastKey, s.sameCount = "", 0
		return
	}
	if key == s.lastKey {
		s.sameCount++
	} else {
		s.lastKey, s.sameCount = key, 1
	}
	if s.sameCount >= s.same {
		s.fatal(&StopError{Reason: Systemic, Err: err, Msg: fmt.Sprintf(
			"stopped: the last %d rows all failed the same way (%s) after their retries; the endpoint looks unavailable, so the rest were not attempted",
			s.sameCount, key)})
	}
}

// systemicKey names failures that say nothing about the row itself, or
// returns "" for row-specific ones (bad body, unknown object).
func systemicKey(err error) string {
	var ae *graph.APIError
	if errors.As(err, &ae) {
		if ae.Status == 429 || ae.Status >= 500 {
			return fmt.Sprintf("%d %s", ae.Status, ae.Code)
		}
		return ""
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, graph.ErrInvalidID) {
		return "" // the caller's own end, or an id refused before sending
	}
	// No answer at all after every retry: connection refused, DNS, TLS,
	// timeouts. Which one does not matter; that it repeats does.
	return "no answer from Graph"
}

const segmentRemovedMsg = `stopped: this tenant's Graph does not serve the deviceStatuses/userStatuses routes ` +
	`("Resource not found for the segment ..."). Microsoft removed these navigation properties from mobileApp ` +
	`in many tenants in 2023 (userAppInstallStatus was deprecated from May 2023); the documentation pages were left up. ` +
	`No further rows were sent: they would all fail the same way. Install status is now reported through Intune's ` +
	`reports API (deviceManagement/reports) instead.`
