package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"
)

// gatedFetcher hands out "tok-N" once gate is closed, counting calls.
type gatedFetcher struct {
	gate    chan struct{}
	entered chan struct{} // receives once per call, when the call starts
	mu      sync.Mutex
	calls   int
	forced  int
}

func (f *gatedFetcher) fetch(ctx context.Context, force bool) (token, error) {
	f.mu.Lock()
	f.calls++
	n := f.calls
	if force {
		f.forced++
	}
	f.mu.Unlock()
	f.entered <- struct{}{}
	select {
	case <-f.gate:
	case <-ctx.Done():
		return token{}, ctx.Err()
	}
	return token{value: fmt.Sprintf("tok-%d", n)}, nil
}

func TestTokenSharesOneFetch(t *testing.T) {
	f := &gatedFetcher{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	src := newSource("test", f, time.Now, "")
	const callers = 8
	got := make([]string, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { got[i], errs[i] = src.Token(context.Background()) })
	}
	<-f.entered // one fetch is under way; the others wait or will find its token
	close(f.gate)
	wg.Wait()
	for i := range callers {
		if errs[i] != nil || got[i] != "tok-1" {
			t.Errorf("caller %d got %q, %v; want tok-1", i, got[i], errs[i])
		}
	}
	if f.calls != 1 {
		t.Errorf("%d fetches, want 1", f.calls)
	}
}

func TestWaitingCallerHonoursContext(t *testing.T) {
	f := &gatedFetcher{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	src := newSource("test", f, time.Now, "")
	done := make(chan error, 1)
	go func() {
		_, err := src.Token(context.Background())
		done <- err
	}()
	<-f.entered // the first caller holds the fetch slot

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := src.Token(ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting Token error = %v, want context.Canceled", err)
	}
	if _, err := src.Refresh(ctx, "x"); !errors.Is(err, context.Canceled) {
		t.Errorf("waiting Refresh error = %v, want context.Canceled", err)
	}
	close(f.gate)
	if err := <-done; err != nil {
		t.Errorf("first caller: %v", err)
	}
	if f.calls != 1 {
		t.Errorf("%d fetches, want 1", f.calls)
	}
}

func TestRefreshOfAnOldTokenDoesNotFetch(t *testing.T) {
	f := &gatedFetcher{gate: make(chan struct{}), entered: make(chan struct{}, 100)}
	close(f.gate)
	src := newSource("test", f, time.Now, "")
	ctx := context.Background()
	if tok, _ := src.Token(ctx); tok != "tok-1" {
		t.Fatalf("Token = %q", tok)
	}
	if tok, err := src.Refresh(ctx, "tok-1"); err != nil || tok != "tok-2" {
		t.Fatalf("Refresh(tok-1) = %q, %v; want tok-2", tok, err)
	}
	if tok, err := src.Refresh(ctx, "tok-1"); err != nil || tok != "tok-2" {
		t.Fatalf("second Refresh(tok-1) = %q, %v; want tok-2 without a fetch", tok, err)
	}
	if f.calls != 2 || f.forced != 1 {
		t.Errorf("%d fetches (%d forced), want 2 (1 forced)", f.calls, f.forced)
	}
}

// Source satisfies graph.TokenSource (restated here: auth does not import
// graph).
var _ interface {
	Token(ctx context.Context) (string, error)
	Refresh(ctx context.Context, rejected string) (string, error)
} = (*Source)(nil)
