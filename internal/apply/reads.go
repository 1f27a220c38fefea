package apply

import (
	"context"
	"iter"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// verdict is what reading a row's live object said.
type verdict uint8

const (
	notRead    verdict = iota // invalid, or not read
	toUpdate                  // the live object differs: write the row
	unchanged                 // already as asked: nothing to write
	readFailed                // the read failed: the row fails, unwritten
)

// Reads is what a reconcile pass found for every row of an input, by the
// row's position in the input's Rows: 2 bits a row, so that a run can act
// on it after the reads (and a confirmation) without reading again or
// keeping the rows. The few rows whose read failed keep their Result.
type Reads struct {
	bits   []byte
	failed map[int]graph.Result
	// Update, Unchanged and Failed count the rows read.
	Update, Unchanged, Failed int
}

func (r *Reads) set(i int, v verdict) {
	for len(r.bits) <= i/4 {
		r.bits = append(r.bits, 0)
	}
	r.bits[i/4] |= byte(v) << (2 * (i % 4))
}

func (r *Reads) at(i int) verdict {
	if r == nil || i/4 >= len(r.bits) {
		return notRead
	}
	return verdict(r.bits[i/4]>>(2*(i%4))) & 3
}

// ReadAll reads the live object of every valid row of rows (those skip
// returns true for are left alone), up to concurrency at a time, and
// returns what differs row by row. A run-fatal answer (RunFatal: the
// route is gone, the sign-in or the permission fails) stops it at once
// with a *StopError, before anything is written; a read that fails for
// one row only is kept as that row's failure.
func ReadAll(ctx context.Context, live *Live, rows iter.Seq2[input.Row, error], concurrency int, skip func(input.Row) bool) (*Reads, error) {
	r := &Reads{failed: make(map[int]graph.Result)}
	// pos maps the lines of the rows being read to their position in
	// rows; an entry lives only while its row is in Reconcile's window.
	pos := make(map[int]int)
	toRead := func(yield func(input.Row, error) bool) {
		n := 0
		for row, err := range rows {
			if err == nil {
				i := n
				n++
				if len(row.Problems) > 0 || row.Action == plan.ActionUnchanged || skip != nil && skip(row) {
					continue
				}
				pos[row.Line] = i
			}
			if !yield(row, err) {
				return
			}
		}
	}
	err := Reconcile(ctx, live, toRead, concurrency, func(row input.Row, changes []plan.Change, res graph.Result) error {
		i := pos[row.Line]
		delete(pos, row.Line)
		switch {
		case res.Err != nil && ctx.Err() != nil:
			return ctx.Err()
		case res.Err != nil:
			if stop := RunFatal(row.Op.Res, res.Err); stop != nil {
				return stop
			}
			r.set(i, readFailed)
			r.failed[i] = res
			r.Failed++
		case len(changes) > 0:
			r.set(i, toUpdate)
			r.Update++
		default:
			r.set(i, unchanged)
			r.Unchanged++
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	return r, nil
}
