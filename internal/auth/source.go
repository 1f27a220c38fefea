package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

const (
	// refreshMargin is how long before expiry a token is replaced, so a
	// request never leaves with a token that dies in flight. Tokens that
	// live shorter than twice this are replaced at half their life.
	refreshMargin = 5 * time.Minute
	// retryEarlyRefresh is how long a failed early refresh is not retried
	// while the current token still works: a broken token command must
	// not run once per request.
	retryEarlyRefresh = 30 * time.Second
)

// fetcher obtains a token from one kind of credential. force says Graph
// rejected the last token, so any cache of the credential's own must be
// bypassed. A fetcher is only ever called by one goroutine at a time.
type fetcher interface {
	fetch(ctx context.Context, force bool) (token, error)
}

// Source hands out bearer tokens for Graph. It keeps the current token,
// replaces it 5 minutes before it expires, and after a 401 fetches a new
// one once for all the workers that saw it. It is safe for concurrent use.
type Source struct {
	kind    string
	fetcher fetcher
	now     func() time.Time
	// remedy says why no other token came and what the user can do; it
	// ends ErrRejected and ErrExpired messages.
	remedy string

	// sem admits one fetch at a time; callers wait on it honouring their
	// ctx (a device-code sign-in can take minutes).
	sem chan struct{}

	mu        sync.Mutex // guards what follows
	cur       token
	obtained  time.Time // when cur arrived
	holdUntil time.Time // a failed early refresh is not retried before this
	attempts  uint64    // fetches started: a waiter compares to share the outcome of the fetch it waited for
	lastErr   error     // outcome of the latest fetch, nil on success or when its caller gave up
	deadToken string    // a rejected token that could not be replaced...
	deadErr   error     // ...and why; Token and Refresh return it from then on
}

func newSource(kind string, f fetcher, now func() time.Time, remedy string) *Source {
	return &Source{kind: kind, fetcher: f, now: now, remedy: remedy, sem: make(chan struct{}, 1)}
}

// Kind returns the kind of credential in use, e.g. "azure-cli"; when
// Options.Kind was auto, the one auto chose.
func (s *Source) Kind() string { return s.kind }

// Token returns the current token, fetching one when there is none or it
// expires within 5 minutes (within half its lifetime, for tokens issued
// for less than 10 minutes). Concurrent callers share one fetch; callers
// waiting for it honour ctx. If an early refresh fails while the token is
// still valid, Token keeps returning it and tries again 30 s later.
// Errors are *Error, except the caller's own ctx.Err().
func (s *Source) Token(ctx context.Context) (string, error) {
	s.mu.Lock()
	tok, done, err := s.cached()
	seen := s.attempts
	s.mu.Unlock()
	if done {
		return tok, err
	}

	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()

	s.mu.Lock()
	if tok, done, err := s.cached(); done {
		s.mu.Unlock()
		return tok, err
	}
	if s.attempts != seen && s.lastErr != nil {
		// The fetch we waited for failed just now; trying again at once
		// would only repeat it for every waiting worker.
		err := s.lastErr
		s.mu.Unlock()
		return "", err
	}
	s.attempts++
	s.mu.Unlock()

	fresh, err := s.fetcher.fetch(ctx, false)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	if err == nil {
		err = s.checkUsable(fresh, now)
	}
	if err != nil {
		if ownEnd(ctx, err) {
			s.lastErr = nil
			return "", err // the caller gave up: not a sign-in failure, and no one else's
		}
		err = s.wrap(err)
		s.lastErr = err
		if s.cur.value != "" && s.alive(now) {
			// Early refresh failed but the token still works: keep using
			// it, and try again a little later.
			s.holdUntil = now.Add(retryEarlyRefresh)
			return s.cur.value, nil
		}
		return "", err
	}
	s.store(fresh, now)
	return fresh.value, nil
}

// Refresh is called when Graph rejected the token rejected. If that is
// still the current token it fetches a new one, bypassing any cache of
// the credential; if another caller already replaced it, it returns the
// replacement. So many workers hitting one 401 cause one fetch. When no
// different token can be had, it returns an *Error wrapping ErrRejected,
// and so do later calls for the same token.
func (s *Source) Refresh(ctx context.Context, rejected string) (string, error) {
	s.mu.Lock()
	if tok, done := s.replaced(rejected); done {
		s.mu.Unlock()
		return tok, nil
	}
	s.mu.Unlock()

	if err := s.acquire(ctx); err != nil {
		return "", err
	}
	defer s.release()

	s.mu.Lock()
	if tok, done := s.replaced(rejected); done {
		s.mu.Unlock()
		return tok, nil
	}
	if s.deadErr != nil && s.deadToken == rejected {
		err := s.deadErr
		s.mu.Unlock()
		return "", err
	}
	s.attempts++
	s.mu.Unlock()

	fresh, err := s.fetcher.fetch(ctx, true)

	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	switch {
	case errors.Is(err, errCannotRenew):
		err = fmt.Errorf("%w; %s", ErrRejected, s.remedy)
	case err == nil && fresh.value == rejected:
		err = fmt.Errorf("%w; %s", ErrRejected, s.remedy)
	case err == nil:
		err = s.checkUsable(fresh, now)
	}
	if err != nil {
		if ownEnd(ctx, err) {
			s.lastErr = nil
			return "", err
		}
		err = s.wrap(err)
		s.lastErr = err
		// The current token is known bad and could not be replaced:
		// remember that, so the other workers stop here too instead of
		// sending more doomed requests or fetching once each.
		s.deadToken, s.deadErr = rejected, err
		s.cur = token{value: rejected}
		return "", err
	}
	s.store(fresh, now)
	return fresh.value, nil
}

// cached returns the answer Token can give without fetching, if any.
// s.mu must be held.
func (s *Source) cached() (tok string, done bool, err error) {
	if s.cur.value == "" {
		return "", false, nil
	}
	if s.deadErr != nil && s.cur.value == s.deadToken {
		return "", true, s.deadErr
	}
	now := s.now()
	if !s.due(now) || (now.Before(s.holdUntil) && s.alive(now)) {
		return s.cur.value, true, nil
	}
	return "", false, nil
}

// replaced returns the current token when it differs from rejected and is
// usable: someone refreshed already. s.mu must be held.
func (s *Source) replaced(rejected string) (string, bool) {
	if s.cur.value == "" || s.cur.value == rejected {
		return "", false
	}
	if s.deadErr != nil && s.cur.value == s.deadToken {
		return "", false
	}
	if !s.alive(s.now()) {
		return "", false
	}
	return s.cur.value, true
}

// due reports whether the current token should be replaced by now.
func (s *Source) due(now time.Time) bool {
	if s.cur.expiresOn.IsZero() {
		return false // unknown expiry: only Refresh replaces it
	}
	margin := refreshMargin
	if half := s.cur.expiresOn.Sub(s.obtained) / 2; half < margin {
		margin = half
	}
	return !now.Before(s.cur.expiresOn.Add(-margin))
}

// alive reports whether the current token has not expired yet.
func (s *Source) alive(now time.Time) bool {
	return s.cur.expiresOn.IsZero() || now.Before(s.cur.expiresOn)
}

// checkUsable refuses a token that expired before it arrived.
func (s *Source) checkUsable(t token, now time.Time) error {
	if !t.expiresOn.IsZero() && !now.Before(t.expiresOn) {
		return fmt.Errorf("%w (at %s); %s", ErrExpired, t.expiresOn.UTC().Format(time.RFC3339), s.remedy)
	}
	return nil
}

func (s *Source) store(t token, now time.Time) {
	s.cur, s.obtained = t, now
	s.holdUntil = time.Time{}
	s.lastErr = nil
}

func (s *Source) wrap(err error) error {
	var e *Error
	if errors.As(err, &e) {
		return err
	}
	return &Error{Kind: s.kind, Err: err}
}

func (s *Source) acquire(ctx context.Context) error {
	select {
	case s.sem <- struct{}{}:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

func (s *Source) release() { <-s.sem }

// ownEnd reports whether err only says that ctx, the caller's own
// context, ended. Such an error is returned as it is, not as a sign-in
// failure, and other callers do not inherit it.
func ownEnd(ctx context.Context, err error) bool {
	return ctx.Err() != nil && (errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded))
}

// errCannotRenew is what a fetcher that can never fetch a different token
// (the static one) returns when forced.
var errCannotRenew = errors.New("cannot fetch another token")
