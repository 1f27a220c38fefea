package apply

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// checkedSource opens csv as a checked input.
func checkedSource(t *testing.T, csv string) (*input.Source, input.Stats) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "in.csv")
	if err := os.WriteFile(p, []byte(csv), 0o600); err != nil {
		t.Fatal(err)
	}
	src, err := input.Open(p, input.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { src.Close() })
	st, err := src.Check(func(msg string) { t.Errorf("problem: %s", msg) })
	if err != nil {
		t.Fatal(err)
	}
	return src, st
}

const planCSV = "mobileAppId,mobileAppInstallStatusId,installState\n" +
	"app,s1,installed\n" +
	"app,s2,failed\n" +
	"app,s3,installed\n"

func TestReconcilePlan(t *testing.T) {
	src, st := checkedSource(t, planCSV)
	fg := &fakeGraph{objects: map[string]json.RawMessage{
		"s1": json.RawMessage(`{"id":"s1","installState":"installed"}`),
		"s2": json.RawMessage(`{"id":"s2","installState":"installed"}`),
		// s3 is gone: 404
	}}
	out := &plan.Output{W: new(bytes.Buffer)}
	if err := out.Start(src.PlanHeader("test", "https://graph.example/beta", true)); err != nil {
		t.Fatal(err)
	}
	var unread []int
	err := ReconcilePlan(t.Context(), fg, src, st, 2, out, func(r input.Row, err error) { unread = append(unread, r.Line) })
	if err != nil {
		t.Fatal(err)
	}
	if out.Counts.Update != 1 || out.Unread != 1 || len(unread) != 1 || unread[0] != 4 {
		t.Errorf("counts %+v, unread %d %v; want 1 update, line 4 unreadable", out.Counts, out.Unread, unread)
	}
	if len(fg.sent()) != 0 {
		t.Errorf("a plan wrote %v", fg.sent())
	}
}

func TestReconcilePlanStops(t *testing.T) {
	src, st := checkedSource(t, planCSV)
	fatal := &fakeGraph{getErr: &graph.APIError{Status: 403, Code: "Forbidden", Message: "no"}}
	out := &plan.Output{W: new(bytes.Buffer)}
	out.Start(src.PlanHeader("test", "", true))
	err := ReconcilePlan(t.Context(), fatal, src, st, 1, out, func(input.Row, error) { t.Error("a run-fatal read reported as one row's") })
	var se *StopError
	if !errors.As(err, &se) {
		t.Errorf("ReconcilePlan = %v, want a *StopError", err)
	}

	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	err = ReconcilePlan(ctx, &fakeGraph{}, src, st, 1, out, func(input.Row, error) {})
	if !errors.Is(err, context.Canceled) || !strings.Contains(err.Error(), "was not saved") {
		t.Errorf("interrupted: %v", err)
	}
}
