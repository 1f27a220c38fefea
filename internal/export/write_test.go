package export

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// failing is a Lister whose every listing fails with err.
type failing struct{ err error }

func (f failing) List(context.Context, string, func(json.RawMessage) error) error { return f.err }

// TestWriteErrors checks that Write says why an export failed, with the
// exit code it means.
func TestWriteErrors(t *testing.T) {
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name   string
		ctx    context.Context
		err    error
		reason apply.StopReason // -1: not a stop
		want   string
	}{
		{"interrupted", cancelled, context.Canceled, -1, "interrupted: the export is not finished and was not saved: context canceled"},
		{"no such app", context.Background(), &graph.APIError{Status: 404, Code: "ResourceNotFound", Message: "gone"}, -1, `exporting: no mobile app with id "a"`},
		{"forbidden", context.Background(), &graph.APIError{Status: 403, Code: "Forbidden", Message: "no"}, apply.AuthFailed, "Graph refused the request (403 Forbidden"},
		{"unavailable", context.Background(), &graph.APIError{Status: 503, Code: "ServiceUnavailable", Message: "busy"}, apply.Systemic, "exporting: graph: 503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Write(tt.ctx, failing{tt.err}, resource.MobileAppInstallStatus, resource.Key{"a", "", ""}, io.Discard, Options{})
			if err == nil || !strings.HasPrefix(err.Error(), tt.want) {
				t.Fatalf("Write = %v, want %q…", err, tt.want)
			}
			var se *apply.StopError
			switch {
			case tt.reason < 0 && errors.As(err, &se):
				t.Errorf("Write = %#v, want no stop", se)
			case tt.reason >= 0 && (!errors.As(err, &se) || se.Reason != tt.reason):
				t.Errorf("Write = %v, want a stop for reason %v", err, tt.reason)
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("Write = %v, which hides %v", err, tt.err)
			}
		})
	}
}
