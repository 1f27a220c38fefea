// Package graph is bulkpatch's Microsoft Graph client for the
// mobileAppInstallStatus routes: it builds safe URLs from opaque ids, adds
// the bearer token, paces reads and writes, retries what is transient and
// decodes Graph's error bodies into *APIError.
package graph

import (
	"context"
	"encoding/json"
	"time"
)

// TokenSource supplies bearer tokens. Implementations must be safe for
// concurrent use; the client shares one among all workers.
type TokenSource interface {
	// Token returns the current token, fetching one if there is none or
	// it is about to expire.
	Token(ctx context.Context) (string, error)
	// Refresh is called when Graph rejected token as expired or invalid.
	// It fetches a new token only if token is still the current one, so
	// that many workers hitting the same 401 cause a single refresh, and
	// returns the token to retry with.
	Refresh(ctx context.Context, rejected string) (string, error)
}

// Target addresses one mobileAppInstallStatus. UserStatusID selects the
// nested route .../userStatuses/{UserStatusID}/deviceStatuses/{StatusID};
// empty, the direct route .../deviceStatuses/{StatusID}.
type Target struct {
	AppID        string
	UserStatusID string
	StatusID     string
}

// Write is one PATCH to send.
type Write struct {
	Target
	Body []byte // the JSON object to send, exactly
	// ClientRequestID is sent as client-request-id on every attempt; when
	// empty the client generates a GUID for this logical request.
	ClientRequestID string
}

// Result is what became of one logical request after all its attempts.
type Result struct {
	Status          int             // HTTP status of the last answer (a batch item's own status); 0 when none came
	Attempts        int             // attempts made, 1 when the first one settled it
	Throttled       int             // how many attempts were answered 429
	RequestID       string          // request-id of the last answer
	ClientRequestID string          // client-request-id sent
	Duration        time.Duration   // from the first attempt to the end
	Body            json.RawMessage // the object Graph returned (200); nil for 204
	Err             error           // nil on success; *APIError for an error answer; else why no answer came
}
