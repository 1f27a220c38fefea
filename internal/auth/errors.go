package auth

import "errors"

// Sentinel errors, tested with errors.Is.
var (
	// ErrUnknownKind is wrapped by New when Options.Kind names no kind: a
	// usage error.
	ErrUnknownKind = errors.New("unknown auth kind")
	// ErrRejected is wrapped by Refresh when Graph rejected a token and
	// the credential cannot supply a different one (a static token, or a
	// tool that handed back the same token).
	ErrRejected = errors.New("graph rejected the token")
	// ErrExpired is wrapped when a credential hands out a token that has
	// already expired.
	ErrExpired = errors.New("the token has expired")
)

// Error reports that bulkpatch could not sign in: the chosen credential is
// misconfigured (from New) or could not produce a usable token (from Token
// and Refresh). Callers treat it as an authentication failure. It never
// holds a token or secret.
type Error struct {
	Kind string // the kind of credential, e.g. "azure-cli"; "" when auto found none
	Err  error
}

// Error implements error.
func (e *Error) Error() string {
	if e.Kind == "" {
		return "sign-in: " + e.Err.Error()
	}
	return "sign-in via " + e.Kind + ": " + e.Err.Error()
}

// Unwrap returns the underlying error.
func (e *Error) Unwrap() error { return e.Err }
