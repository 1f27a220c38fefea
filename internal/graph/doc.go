// Package graph is bulkpatch's Microsoft Graph HTTP client. It takes
// escaped request paths below the API root (package resource builds them
// from ids) and knows no route of its own: it refuses a path that cannot
// be sent safely, adds the bearer token, paces reads and writes, sends
// writes alone or in JSON $batch POSTs, retries what is transient through
// one retry state machine, follows collection pages, and decodes Graph's
// error bodies into *APIError.
//
// One *Client is meant to be shared by all workers of a run: its pacer
// (a schedule of slots, a rate controller, a shared pause after a run of
// 429s) only protects the tenant's quota if every request goes through it. All waiting runs
// on an injectable Clock so tests can drive retries without sleeping.
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

// Write is one write request to send.
type Write struct {
	// Method is the HTTP method: PATCH when empty; POST for actions such
	// as updateDeviceProperties; PUT and DELETE are accepted too.
	Method string
	// Path is the escaped path below the API root, starting with "/",
	// e.g. "/deviceManagement/managedDevices/abc" (package resource builds
	// it), without a query: a write takes none. A path that cannot be
	// sent safely is refused with an error wrapping ErrInvalidID.
	Path string
	// Body is the JSON body to send, exactly; empty sends none. A body
	// that is not valid JSON is refused before sending.
	Body []byte
	// ClientRequestID is sent as client-request-id on every attempt; when
	// empty the client generates a GUID for this logical request.
	ClientRequestID string
}

// Result is what became of one logical request after all its attempts.
// A 429 or a reset followed by success is a success: Err is nil and
// Attempts and Throttled tell the story.
type Result struct {
	Status          int             // HTTP status of the last attempt's answer (a batch item's own status), even when its body was lost; 0 when the last attempt got none
	Attempts        int             // attempts made, 1 when the first one settled it; 0 when nothing was sent
	Throttled       int             // how many attempts were answered 429
	RequestID       string          // request-id of the last answer that carried one (header, else the error body's innerError, else for a $batch item the POST's)
	ClientRequestID string          // client-request-id sent, the same on every attempt
	Duration        time.Duration   // from the first attempt to the end, on the client's Clock
	Body            json.RawMessage // the JSON Graph returned with a 200 (Get insists on an object); nil for 204 or a body that is not JSON
	// Note is a short remark on a success that is not quite what was
	// expected, e.g. "answer body unreadable: cut short: unexpected EOF"
	// for a write Graph accepted (200) but whose answer's body was lost.
	// Empty otherwise.
	Note string
	// Err is nil on success; an *APIError when Graph's last answer was an
	// error status; a *TokenError when no token could be had; an error
	// wrapping ErrInvalidID when the path was refused before sending; an
	// error wrapping ctx.Err() when the caller's context ended before the
	// request settled (Attempts 0: nothing was sent; else it was stopped
	// before its retry, and Status is the last answer's); else the
	// transport error of the last attempt (no answer came).
	Err error
}
