package apply

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

// settler turns graph results into rows, records them and watches for
// run-fatal patterns. It is shared by every worker.
type settler struct {
	runner *Runner
	now    func() time.Time
	stop   context.CancelCauseFunc
	// left records that some row was never sent because the run halted:
	// only then do an interruption or the time limit change the outcome.
	left atomic.Bool
	same int

	mu        sync.Mutex
	lastKey   string
	sameCount int
	recordErr *StopError
}

// done reports whether an earlier run finished it; such a row is settled
// as skipped, without being sent or recorded again.
func (s *settler) done(it item) (bool, error) {
	rec := s.runner.Recorder
	if rec == nil {
		return false, nil
	}
	done, err := rec.Done(it.Line, it.id)
	if err != nil || !done {
		return false, err
	}
	if f := s.runner.OnRow; f != nil {
		f(report.Row{Line: it.Line, Key: it.Key, Outcome: report.Skipped})
	}
	return true, nil
}

// notAttempted notes that a row was left unsent because the run halted.
func (s *settler) notAttempted() { s.left.Store(true) }

// send writes items: one request, or one $batch for several.
func (s *settler) send(ctx context.Context, items []item) {
	ws := make([]graph.Write, 0, len(items))
	sendable := items[:0:0]
	for _, it := range items {
		w, err := it.write()
		if err != nil {
			s.settleResult(it, graph.Result{Err: err})
			continue
		}
		ws = append(ws, w)
		sendable = append(sendable, it)
	}
	switch len(ws) {
	case 0:
	case 1:
		s.settleResult(sendable[0], s.runner.Graph.Send(ctx, ws[0]))
	default:
		results := s.runner.Graph.SendBatch(ctx, ws)
		for i, it := range sendable {
			s.settleResult(it, results[i])
		}
	}
}

// settleResult settles it from what its request got, and watches the
// answer for run-fatal patterns.
func (s *settler) settleResult(it item, res graph.Result) {
	if res.Err != nil && errors.Is(res.Err, context.Canceled) && res.Attempts == 0 {
		// Stopped before anything was sent: not attempted, not recorded.
		s.notAttempted()
		return
	}
	outcome := report.Applied
	if res.Err != nil {
		outcome = report.Failed
	}
	s.settle(s.row(it, outcome, res), it.id)
	if res.Err != nil {
		s.watch(it, res.Err)
	} else {
		s.mu.Lock()
		s.lastKey, s.sameCount = "", 0
		s.mu.Unlock()
	}
}

// row builds the results row for an item.
func (s *settler) row(it item, outcome report.Outcome, res graph.Result) report.Row {
	row := report.Row{
		Line:            it.Line,
		Key:             it.Key,
		Outcome:         outcome,
		HTTPStatus:      res.Status,
		Attempts:        res.Attempts,
		RequestID:       res.RequestID,
		ClientRequestID: res.ClientRequestID,
		Duration:        res.Duration,
		FinishedAt:      s.now(),
	}
	if res.Err != nil {
		row.ErrorCode, row.ErrorMessage = describe(res.Err)
	}
	return row
}

// describe returns the error code and message a failed row shows.
func describe(err error) (code, msg string) {
	var ae *graph.APIError
	if errors.As(err, &ae) {
		return ae.Code, ae.Message
	}
	return "", err.Error()
}

// settle records a row durably, then counts it. Once the journal has
// failed, the run stops at once; rows still settling are kept in memory
// for the results file.
func (s *settler) settle(row report.Row, id uint64) {
	r := s.runner
	if r.Recorder != nil {
		if err := r.Recorder.Record(row, id); err != nil {
			s.keepUnrecorded(row)
			s.mu.Lock()
			first := s.recordErr == nil
			if first {
				s.recordErr = &StopError{Reason: JournalFailed, Err: err, Msg: "stopped at once: a finished row could not be recorded (" + err.Error() +
					"); rows that finish from now on are not in the journal, so the next run sends them again"}
			}
			e := s.recordErr
			s.mu.Unlock()
			if first {
				s.stop(e)
			}
		}
	}
	if r.OnRow != nil {
		r.OnRow(row)
	}
}

func (s *settler) keepUnrecorded(row report.Row) {
	r := s.runner
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.unrecorded == nil {
		r.unrecorded = make(map[int]report.Row)
	}
	r.unrecorded[row.Line] = row
}

// fatal stops the run for an answer every further row would get too.
// Requests waiting for their turn are not sent; those on the wire finish.
func (s *settler) fatal(e *StopError) { s.stop(e) }

// watch stops the run on answers that every further row would get too.
func (s *settler) watch(it item, err error) {
	if e := RunFatal(it.Op.Res, err); e != nil {
		s.fatal(e)
		return
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

// outcome says how a run that dispatched what it could ended.
func (s *settler) outcome(ctx, stopCtx context.Context) error {
	cause := context.Cause(stopCtx)
	if cause == nil {
		return nil
	}
	var se *StopError
	if errors.As(cause, &se) && (se.Reason != TimeUp || s.left.Load()) {
		return se
	}
	if s.left.Load() && ctx.Err() != nil {
		return &StopError{Reason: Interrupted, Err: cause,
			Msg: "interrupted: requests on the wire finished, nothing new was sent; run the same command again to continue"}
	}
	return nil
}
