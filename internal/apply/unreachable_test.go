package apply

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/graph"
)

// unreachableGraph gets no answer at all: every write waits out its
// retries (until ctx ends), and Unanswered says since when.
type unreachableGraph struct {
	fakeGraph
	mu    sync.Mutex
	since time.Time
}

func (g *unreachableGraph) Unanswered() (time.Time, error) {
	g.mu.Lock()
	defer g.mu.Unlock()
	return g.since, &net.OpError{Op: "dial", Net: "tcp", Err: &net.DNSError{Err: "no such host", Name: "graph.invalid", IsNotFound: true}}
}

// TestUnreachableStops: when Graph answers nothing at all, the run stops
// once NoAnswer has passed, however many rows are left and however long
// their retries would take, naming the cause.
func TestUnreachableStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &unreachableGraph{}
		g.since = time.Now()
		g.send = func(ctx context.Context, id string) graph.Result {
			// Retrying for minutes, as a row does on "no such host".
			select {
			case <-ctx.Done():
				return graph.Result{Attempts: 3, Err: fmt.Errorf("graph: PATCH x: stopped before its retry: %w", ctx.Err())}
			case <-time.After(10 * time.Minute):
				return graph.Result{Attempts: 11, Err: errors.New("dial tcp: lookup graph.invalid: no such host")}
			}
		}
		r := &Runner{Graph: g, Options: Options{Concurrency: 4, NoAnswer: 20 * time.Second}}
		start := time.Now()
		_, err := run(t, t.Context(), r, makeRows(1000))
		var se *StopError
		if !errors.As(err, &se) || se.Reason != Systemic {
			t.Fatalf("Run = %v, want a Systemic stop", err)
		}
		if took := time.Since(start); took > 25*time.Second {
			t.Errorf("stopped after %v, want within 25 s", took)
		}
		if !strings.Contains(se.Msg, "no such host") || !strings.Contains(se.Msg, "cannot reach") {
			t.Errorf("message %q does not name the cause", se.Msg)
		}
		if n := len(g.sent()); n != 4 {
			t.Errorf("%d rows tried, want the 4 in flight", n)
		}
	})
}

// TestAnsweredGraphIsNotUnreachable: a Graph that answers (even with
// errors) never trips the watch.
func TestAnsweredGraphIsNotUnreachable(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		g := &unreachableGraph{} // since stays zero: answers arrive
		g.send = func(ctx context.Context, id string) graph.Result {
			time.Sleep(time.Second)
			return apiErr(404, "ResourceNotFound", "gone")
		}
		r := &Runner{Graph: g, Options: Options{Concurrency: 1, NoAnswer: 5 * time.Second}}
		if _, err := run(t, t.Context(), r, makeRows(30)); err != nil {
			t.Fatalf("Run = %v, want none", err)
		}
	})
}
