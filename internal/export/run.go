package export

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"

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

// Write lists the collection coll of res through g (only the objects
// filter, an OData $filter expression, selects, when set) and writes it to
// w as an input CSV in dialect, returning how many objects it wrote; warn
// receives each warning. A 404 for the collection is a *NotFoundError;
// other errors come back as the lister gave them.
func Write(ctx context.Context, g Lister, res *resource.Resource, coll resource.Key, filter string, w io.Writer,
	dialect csvio.WriterOptions, warn func(string)) (int, error) {
	path, err := res.CollectionPath(coll)
	if err != nil {
		return 0, err
	}
	path += res.ListQuery(filter)
	cw := csvio.NewWriter(w, dialect)
	x := New(res, coll, warn)
	if err := cw.Write(x.Header()); err != nil {
		return 0, err
	}
	n := 0
	err = g.List(ctx, path, func(obj json.RawMessage) error {
		row, err := x.Row(obj)
		if err != nil || row == nil {
			return err
		}
		n++
		return cw.Write(row)
	})
	if err == nil {
		err = cw.Flush()
	}
	x.Summarize()
	var ae *graph.APIError
	if errors.As(err, &ae) && ae.Status == 404 {
		return n, &NotFoundError{What: missing(res, coll), Err: err}
	}
	return n, err
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
