package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Lister pages through a collection (a *graph.Client).
type Lister interface {
	List(ctx context.Context, path string, fn func(obj json.RawMessage) error) error
}

// NotFoundError reports a collection Graph does not have: the ids given
// are wrong (an unknown app, say), which is the user's input, not an
// outage.
type NotFoundError struct {
	What string // "no mobile app with id "x""
	Err  error  // Graph's 404
}

func (e *NotFoundError) Error() string { return "exporting: " + e.What + " (" + e.Err.Error() + ")" }
func (e *NotFoundError) Unwrap() error { return e.Err }

// Options are what Write does besides listing one collection.
type Options struct {
	Filter  string              // an OData $filter expression: only the objects it selects
	Nested  bool                // also every collection nested under the one given (an app's user statuses)
	Dialect csvio.WriterOptions // how the CSV is written
	Warn    func(msg string)    // receives each warning
}

// Write lists the collection coll of res through g and writes it to w as
// an input CSV, returning how many objects it wrote. With o.Nested, the
// collections under each entity that an optional key column of coll
// names (each user status of an app) follow in the same file, their rows
// with that column set. A 404 for a nested collection (a user status
// deleted while the export ran) is a warning. Its errors say why the
// export failed, with the exit code it means: when ctx is done, ctx's
// error, saying so; a *NotFoundError for a coll Graph does not have (the
// ids given are wrong); a run-fatal answer's *apply.StopError
// (apply.RunFatal); a *FilterError when Graph refuses o.Filter (400);
// anything else, Graph unavailable (an *apply.StopError with reason
// Systemic).
func Write(ctx context.Context, g Lister, res *resource.Resource, coll resource.Key, w io.Writer, o Options) (int, error) {
	n, err := write(ctx, g, res, coll, w, o)
	if err == nil {
		return n, nil
	}
	var nf *NotFoundError
	switch {
	case ctx.Err() != nil:
		return n, fmt.Errorf("interrupted: the export is not finished and was not saved: %w", ctx.Err())
	case errors.As(err, &nf):
		return n, err
	}
	if stop := apply.RunFatal(res, err); stop != nil {
		return n, stop
	}
	var ae *graph.APIError
	if o.Filter != "" && errors.As(err, &ae) && ae.Status == 400 {
		return n, &FilterError{Filter: o.Filter, Err: err}
	}
	return n, &apply.StopError{Reason: apply.Systemic, Err: err, Msg: "exporting: " + err.Error()}
}

// FilterError reports a --filter expression Graph refused (400): the
// user's input, to correct, not an outage to wait out.
type FilterError struct {
	Filter string
	Err    error // Graph's 400
}

func (e *FilterError) Error() string {
	return fmt.Sprintf("exporting: Graph refused the filter %q: %v", e.Filter, e.Err)
}
func (e *FilterError) Unwrap() error { return e.Err }

// write is Write, its errors as they came.
func write(ctx context.Context, g Lister, res *resource.Resource, coll resource.Key, w io.Writer, o Options) (int, error) {
	if o.Warn == nil {
		o.Warn = func(string) {}
	}
	cw := csvio.NewWriter(w, o.Dialect)
	x := New(res, coll, o.Warn)
	var nested []int
	if o.Nested {
		nested = Nested(res, coll)
	}
	for _, col := range nested {
		x.Nest(col)
	}
	if err := cw.Write(x.Header()); err != nil {
		return 0, err
	}
	n := 0
	write := func(obj json.RawMessage) error {
		row, err := x.Row(obj)
		if err != nil || row == nil {
			return err
		}
		n++
		return cw.Write(row)
	}
	err := list(ctx, g, res, coll, o.Filter, write)
	for _, col := range nested {
		if err != nil {
			break
		}
		err = eachNested(ctx, g, res, coll, col, func(sub resource.Key) error {
			x.Enter(sub)
			err := list(ctx, g, res, sub, o.Filter, write)
			if nf := (*NotFoundError)(nil); errors.As(err, &nf) {
				o.Warn(fmt.Sprintf("%s vanished while it was exported (%s); its objects are left out", res.Keys[col].Noun+" "+strconv.Quote(sub[col]), nf.Err))
				return nil
			}
			return err
		})
	}
	if err == nil {
		err = cw.Flush()
	}
	x.Summarize()
	return n, err
}

// Nested returns the key columns whose collections Options.Nested adds
// to coll's: the optional ones coll leaves empty.
func Nested(res *resource.Resource, coll resource.Key) []int {
	var cols []int
	for i := range res.Keys {
		if coll[i] == "" && i != res.IDKey() && !res.Required(i) {
			cols = append(cols, i)
		}
	}
	return cols
}

// eachNested lists the entities that key column col names under coll and
// calls fn with the collection under each, in the order Graph lists them.
func eachNested(ctx context.Context, g Lister, res *resource.Resource, coll resource.Key, col int, fn func(resource.Key) error) error {
	path, err := res.ParentsPath(coll, col)
	if err != nil {
		return err
	}
	var ids []string
	err = g.List(ctx, path, func(obj json.RawMessage) error {
		var e struct{ ID string }
		if err := json.Unmarshal(obj, &e); err != nil || e.ID == "" {
			return fmt.Errorf("listing %s: an entity without a string id (%.80s)", path, obj)
		}
		ids = append(ids, e.ID)
		return nil
	})
	if err != nil {
		return notFound(res, coll, err)
	}
	for _, id := range ids {
		sub := coll
		sub[col] = id
		if err := fn(sub); err != nil {
			return err
		}
	}
	return nil
}

// list lists one collection (only the objects filter selects, when set)
// and calls fn with each object.
func list(ctx context.Context, g Lister, res *resource.Resource, coll resource.Key, filter string, fn func(json.RawMessage) error) error {
	path, err := res.CollectionPath(coll)
	if err != nil {
		return err
	}
	return notFound(res, coll, g.List(ctx, path+res.ListQuery(filter), fn))
}

// notFound turns Graph's 404 for a listing under coll into a
// *NotFoundError.
func notFound(res *resource.Resource, coll resource.Key, err error) error {
	var ae *graph.APIError
	if errors.As(err, &ae) && ae.Status == 404 {
		return &NotFoundError{What: missing(res, coll), Err: err}
	}
	return err
}

// missing names the collection that Graph says does not exist: "no mobile
// app with id "a"", ", or no user status "u" under it".
func missing(res *resource.Resource, coll resource.Key) string {
	s := ""
	for i, k := range res.Keys {
		if coll[i] == "" {
			continue
		}
		if s == "" {
			s = fmt.Sprintf("no %s with id %q", k.Noun, coll[i])
		} else {
			s += fmt.Sprintf(", or no %s %q under it", k.Noun, coll[i])
		}
	}
	if s == "" {
		s = "no such collection"
	}
	return s
}
