package graph

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func TestDecodeError(t *testing.T) {
	tests := []struct {
		name   string
		status int
		header http.Header
		body   string
		want   APIError
	}{
		{
			name: "graph shape", status: 404, body: errBody404,
			want: APIError{Status: 404, Code: "ResourceNotFound", Message: "The object does not exist.",
				RequestID: "inner-rid", ClientRequestID: "inner-crid", Date: "2026-01-02T03:04:05"},
		},
		{
			name: "headers win over innerError", status: 404, body: errBody404,
			header: http.Header{"Request-Id": {"hdr-rid"}, "Client-Request-Id": {"hdr-crid"}, "Date": {"Fri, 02 Jan 2026 03:04:05 GMT"}},
			want: APIError{Status: 404, Code: "ResourceNotFound", Message: "The object does not exist.",
				RequestID: "hdr-rid", ClientRequestID: "hdr-crid", Date: "2026-01-02T03:04:05"},
		},
		{
			name: "innererror lower case", status: 400,
			body: `{"error":{"code":"BadRequest","message":"m","innererror":{"request-id":"r1","date":"d1"}}}`,
			want: APIError{Status: 400, Code: "BadRequest", Message: "m", RequestID: "r1", Date: "d1"},
		},
		{
			name: "empty code", status: 400,
			body: `{"error":{"code":"","message":"Resource not found for the segment 'deviceStatuses'."}}`,
			want: APIError{Status: 400, Message: "Resource not found for the segment 'deviceStatuses'."},
		},
		{
			name: "odata v3 message object", status: 400,
			body: `{"error":{"code":"X","message":{"lang":"en-US","value":"old style"}}}`,
			want: APIError{Status: 400, Code: "X", Message: "old style"},
		},
		{
			name: "numeric code", status: 500, body: `{"error":{"code":42,"message":"m"}}`,
			want: APIError{Status: 500, Code: "42", Message: "m"},
		},
		{
			name: "non-JSON body", status: 502, body: "<html><body>Bad gateway\n from proxy</body></html>",
			header: http.Header{"Date": {"Fri, 02 Jan 2026 03:04:05 GMT"}},
			want:   APIError{Status: 502, Message: "<html><body>Bad gateway from proxy</body></html>", Date: "Fri, 02 Jan 2026 03:04:05 GMT"},
		},
		{
			name: "empty body", status: 503, header: http.Header{"Retry-After": {"2.128"}},
			want: APIError{Status: 503, Message: "Service Unavailable", RetryAfter: 2128 * time.Millisecond},
		},
		{
			name: "JSON without error member", status: 429, body: `{"value":[]}`,
			header: http.Header{"Retry-After": {"Fri, 02 Jan 2026 03:04:15 GMT"}, "Date": {"Fri, 02 Jan 2026 03:04:05 GMT"}},
			want:   APIError{Status: 429, Message: "Too Many Requests", RetryAfter: 10 * time.Second, Date: "Fri, 02 Jan 2026 03:04:05 GMT"},
		},
		{
			name: "error is not an object", status: 400, body: `{"error":"nope"}`,
			want: APIError{Status: 400, Message: "Bad Request"},
		},
		{
			name: "requestId camel case", status: 403,
			body: `{"error":{"code":"Forbidden","message":"m","innerError":{"requestId":"r2"}}}`,
			want: APIError{Status: 403, Code: "Forbidden", Message: "m", RequestID: "r2"},
		},
	}
	for _, tt := range tests {
		h := tt.header
		if h == nil {
			h = http.Header{}
		}
		got := decodeError(tt.status, h, []byte(tt.body))
		if diff := cmp.Diff(tt.want, *got); diff != "" {
			t.Errorf("%s: decodeError mismatch (-want +got):\n%s", tt.name, diff)
		}
	}
}

func TestAPIErrorString(t *testing.T) {
	tests := []struct {
		e    APIError
		want string
	}{
		{APIError{Status: 404, Code: "ResourceNotFound", Message: "gone", RequestID: "r1"}, "graph: 404 ResourceNotFound: gone (request-id r1)"},
		{APIError{Status: 400, Message: "bad"}, "graph: 400: bad"},
		{APIError{Status: 500}, "graph: 500"},
		{APIError{Status: 400, Message: "two\nlines\r\n\tand tabs"}, "graph: 400: two lines and tabs"},
		{APIError{Status: 400, Message: strings.Repeat("x", 5000)}, "graph: 400: " + strings.Repeat("x", maxMessage) + "…"},
	}
	for _, tt := range tests {
		if got := tt.e.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

func TestIsSegmentRemoved(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want bool
	}{
		{"deviceStatuses", &APIError{Status: 400, Message: "Resource not found for the segment 'deviceStatuses'."}, true},
		{"userStatuses", &APIError{Status: 400, Code: "BadRequest", Message: "Resource not found for the segment 'userStatuses'."}, true},
		{"wrapped", fmt.Errorf("row 3: %w", &APIError{Status: 400, Message: "Resource not found for the segment 'deviceStatuses'."}), true},
		{"case differs", &APIError{Status: 400, Message: "resource not found for the segment 'devicestatuses'"}, true},
		{"other segment", &APIError{Status: 400, Message: "Resource not found for the segment 'mobileApps'."}, false},
		{"404 is a row error", &APIError{Status: 404, Message: "Resource not found for the segment 'deviceStatuses'."}, false},
		{"other 400", &APIError{Status: 400, Message: "Invalid JSON"}, false},
		{"not an APIError", errors.New("Resource not found for the segment 'deviceStatuses'"), false},
		{"nil", nil, false},
	}
	for _, tt := range tests {
		if got := IsSegmentRemoved(tt.err); got != tt.want {
			t.Errorf("%s: IsSegmentRemoved = %v, want %v", tt.name, got, tt.want)
		}
	}
}

// TestIntuneMessageUnwrapped: Intune's JSON inside error.message is
// decoded to its text, operation id included.
func TestIntuneMessageUnwrapped(t *testing.T) {
	inner := `{"_version": 3, "Message": "Resource Not Found - Operation ID (for customer support): 0f1e2d3c-0000-0000-0000-000000000000 - Activity ID: 858f9c72 - Url: https://fef.msua06.manage.microsoft.com/x", "CustomApiErrorPhrase": "", "RetryAfter": null, "ErrorSourceService": "", "HttpHeaders": "{}"}`
	body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "ResourceNotFound", "message": inner}})
	e := decodeError(404, http.Header{}, body)
	if !strings.HasPrefix(e.Message, "Resource Not Found - Operation ID (for customer support): 0f1e2d3c") || strings.Contains(e.Message, "_version") {
		t.Errorf("Message = %q", e.Message)
	}
	for _, m := range []string{"plain text", `{"not":"intune"}`, `{"Message": 5}`, "{broken"} {
		body, _ := json.Marshal(map[string]any{"error": map[string]any{"code": "X", "message": m}})
		if got := decodeError(400, http.Header{}, body).Message; got != m {
			t.Errorf("message %q became %q", m, got)
		}
	}
}
