//go:build !windows

package auth

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// counterScript writes a shell script that counts its runs in a file next
// to it and prints "tok-N" (or what format makes of N). It returns the
// command to run and a function reading the count.
func counterScript(t *testing.T, body string) (string, func() int) {
	t.Helper()
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	script := filepath.Join(dir, "token.sh")
	src := "#!/bin/sh\n" +
		"n=$(cat \"" + count + "\" 2>/dev/null || echo 0)\n" +
		"n=$((n+1))\n" +
		"echo $n > \"" + count + "\"\n" + body + "\n"
	if err := os.WriteFile(script, []byte(src), 0o700); err != nil {
		t.Fatal(err)
	}
	return "'" + script + "'", func() int {
		b, err := os.ReadFile(count)
		if err != nil {
			return 0
		}
		var n int
		fmt.Sscan(string(b), &n)
		return n
	}
}

func commandSource(t *testing.T, command string, clock *fakeClock) *Source {
	t.Helper()
	src, err := New(Options{Kind: KindTokenCommand, TokenCommand: command, Getenv: envFunc(nil), Clock: clock.now})
	if err != nil {
		t.Fatal(err)
	}
	return src
}

func TestTokenCommandRefresh(t *testing.T) {
	command, runs := counterScript(t, `echo "tok-$n"`)
	src := commandSource(t, command, &fakeClock{t: time.Now()})
	ctx := context.Background()

	tok, err := src.Token(ctx)
	if err != nil || tok != "tok-1" {
		t.Fatalf("Token = %q, %v; want tok-1", tok, err)
	}
	if tok, err := src.Token(ctx); err != nil || tok != "tok-1" || runs() != 1 {
		t.Fatalf("second Token = %q, %v after %d runs; want tok-1 after 1", tok, err, runs())
	}

	// Eight workers hit the same 401: the command runs once more.
	const workers = 8
	got := make([]string, workers)
	errs := make([]error, workers)
	var wg sync.WaitGroup
	for i := range workers {
		wg.Go(func() { got[i], errs[i] = src.Refresh(ctx, "tok-1") })
	}
	wg.Wait()
	for i := range workers {
		if errs[i] != nil || got[i] != "tok-2" {
			t.Errorf("Refresh #%d = %q, %v; want tok-2", i, got[i], errs[i])
		}
	}
	if n := runs(); n != 2 {
		t.Errorf("command ran %d times, want 2", n)
	}
	// A late worker reporting the old token gets the new one, no run.
	if tok, err := src.Refresh(ctx, "tok-1"); err != nil || tok != "tok-2" || runs() != 2 {
		t.Errorf("late Refresh = %q, %v after %d runs; want tok-2 after 2", tok, err, runs())
	}
	if tok, err := src.Refresh(ctx, "tok-2"); err != nil || tok != "tok-3" || runs() != 3 {
		t.Errorf("Refresh(tok-2) = %q, %v after %d runs; want tok-3 after 3", tok, err, runs())
	}
}

func TestTokenCommandJSONExpiry(t *testing.T) {
	base := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	// Each run's token expires an hour after the previous one's.
	command, runs := counterScript(t, fmt.Sprintf(`printf '{"accessToken":"tok-%%s","expires_on":%%s,"tokenType":"Bearer"}\n' "$n" $((%d + n*3600))`, base.Unix()))
	clock := &fakeClock{t: base}
	src := commandSource(t, command, clock)
	ctx := context.Background()

	if tok, err := src.Token(ctx); err != nil || tok != "tok-1" {
		t.Fatalf("Token = %q, %v; want tok-1", tok, err)
	}
	clock.advance(54 * time.Minute)
	if tok, err := src.Token(ctx); err != nil || tok != "tok-1" || runs() != 1 {
		t.Fatalf("Token 6 min before expiry = %q, %v after %d runs; want tok-1, 1 run", tok, err, runs())
	}
	clock.advance(2 * time.Minute)
	if tok, err := src.Token(ctx); err != nil || tok != "tok-2" || runs() != 2 {
		t.Fatalf("Token 4 min before expiry = %q, %v after %d runs; want tok-2, 2 runs", tok, err, runs())
	}
}

func TestTokenCommandSameTokenAgain(t *testing.T) {
	command, runs := counterScript(t, `echo same-token`)
	src := commandSource(t, command, &fakeClock{t: time.Now()})
	ctx := context.Background()
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	for range 3 {
		_, err = src.Refresh(ctx, tok)
		if !errors.Is(err, ErrRejected) || strings.Contains(err.Error(), "same-token") {
			t.Fatalf("Refresh error = %v, want ErrRejected without the token", err)
		}
	}
	if n := runs(); n != 2 {
		t.Errorf("command ran %d times, want 2: one refresh per rejected token", n)
	}
	if _, err := src.Token(ctx); !errors.Is(err, ErrRejected) {
		t.Errorf("Token after a failed Refresh: error = %v, want ErrRejected", err)
	}
}

func TestTokenCommandErrors(t *testing.T) {
	tests := []struct {
		name, body string
		raw        bool // body is the whole command, not a script
		want       []string
		notWant    []string
	}{
		{name: "exit status and stderr, never stdout",
			body: `echo "stdout-secret-token"; echo "  " >&2; echo "  login expired: run login  " >&2; echo second >&2; exit 3`,
			want: []string{"exit status 3", ": login expired: run login"}, notWant: []string{"stdout-secret-token", "second"}},
		{name: "long stderr is cut",
			body: `for i in $(seq 60); do printf 'abcd ' >&2; done; echo >&2; exit 1`,
			want: []string{"exit status 1: " + strings.Repeat("abcd ", 40)}, notWant: []string{strings.Repeat("abcd ", 40) + "a"}},
		{name: "no stderr", body: `exit 2`, want: []string{"failed with exit status 2"}},
		{name: "killed by a signal", body: `kill -9 $$`, raw: true, want: []string{"signal: killed"}},
		{name: "nothing printed", body: `true`, want: []string{"printed nothing"}},
		{name: "not a token", body: `echo "two words-secret"`, want: []string{"not a token"}, notWant: []string{"words-secret"}},
		{name: "expired JSON", body: `echo '{"accessToken":"old-secret","expires_on":1000000000}'`,
			want: []string{"expired", "2001-09-09T01:46:40Z"}, notWant: []string{"old-secret"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			command := tt.body
			if !tt.raw {
				command, _ = counterScript(t, tt.body)
			}
			src := commandSource(t, command, &fakeClock{t: time.Now()})
			_, err := src.Token(context.Background())
			var ae *Error
			if !errors.As(err, &ae) || ae.Kind != KindTokenCommand {
				t.Fatalf("Token error = %v, want an *Error of kind token-command", err)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q does not contain %q", err, w)
				}
			}
			for _, w := range tt.notWant {
				if strings.Contains(err.Error(), w) {
					t.Errorf("error %q contains %q", err, w)
				}
			}
			if strings.Contains(err.Error(), command) {
				t.Errorf("error %q contains the command line", err)
			}
		})
	}
}

func TestTokenCommandTimeout(t *testing.T) {
	// The script's child keeps stdout open; the timeout must kill the
	// whole process group, not just the shell.
	dir := t.TempDir()
	pidFile := filepath.Join(dir, "pid")
	command, _ := counterScript(t, `echo "waiting" >&2; sleep 30 & echo $! > '`+pidFile+`'; wait; echo tok`)
	// 1 s, not less: on a loaded machine the shell may not have written
	// its stderr line yet when a shorter timeout kills it.
	f := &commandFetcher{command: command, timeout: time.Second, loc: time.UTC}
	_, err := f.fetch(context.Background(), false)
	if err == nil || !strings.Contains(err.Error(), "did not finish within 1s: waiting") {
		t.Fatalf("error = %v, want a timeout with the stderr line", err)
	}
	b, err := os.ReadFile(pidFile)
	if err != nil {
		t.Fatal(err)
	}
	var pid int
	if _, err := fmt.Sscan(string(b), &pid); err != nil {
		t.Fatal(err)
	}
	// SIGKILL is delivered asynchronously; poll until the child is gone
	// (or a zombie), failing only if it is still running much later.
	deadline := time.Now().Add(10 * time.Second)
	for !processGone(pid) {
		if time.Now().After(deadline) {
			syscall.Kill(pid, syscall.SIGKILL)
			t.Fatalf("the command's child %d survived the timeout", pid)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// processGone reports whether pid no longer runs: it does not exist, or
// it is a zombie nobody reaped yet (containers without an init).
func processGone(pid int) bool {
	if syscall.Kill(pid, 0) != nil {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return false
	}
	i := strings.LastIndexByte(string(stat), ')')
	return i >= 0 && i+2 < len(stat) && stat[i+2] == 'Z'
}

func TestTokenCommandHonoursContext(t *testing.T) {
	command, _ := counterScript(t, `sleep 30; echo tok`)
	src := commandSource(t, command, &fakeClock{t: time.Now()})
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(50 * time.Millisecond); cancel() }()
	_, err := src.Token(ctx)
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("Token error = %v, want context.Canceled", err)
	}
	// The cancellation was the caller's: the next caller runs the command
	// again instead of inheriting the error.
	command2, runs := counterScript(t, `echo tok-$n`)
	src.fetcher.(*commandFetcher).command = command2
	if tok, err := src.Token(context.Background()); err != nil || tok != "tok-1" || runs() != 1 {
		t.Fatalf("Token after a cancelled one = %q, %v (%d runs)", tok, err, runs())
	}
}

// fakeAz puts an az script on PATH that logs its arguments and prints a
// token the way `az account get-access-token -o json` does.
func fakeAz(t *testing.T, tokenExpr string) (args func() string) {
	t.Helper()
	dir := t.TempDir()
	count := filepath.Join(dir, "count")
	argLog := filepath.Join(dir, "args")
	src := "#!/bin/sh\n" +
		"echo \"$@\" >> '" + argLog + "'\n" +
		"n=$(cat '" + count + "' 2>/dev/null || echo 0); n=$((n+1)); echo $n > '" + count + "'\n" +
		`printf '{"accessToken":"%s","expiresOn":"2099-01-01 00:00:00.000000","expires_on":4070908800,"subscription":"s","tenant":"t","tokenType":"Bearer"}\n' "` + tokenExpr + `"` + "\n"
	if err := os.WriteFile(filepath.Join(dir, "az"), []byte(src), 0o700); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
	return func() string {
		b, _ := os.ReadFile(argLog)
		return string(b)
	}
}

func TestAzureCLI(t *testing.T) {
	args := fakeAz(t, "az-tok-$n")
	usgov, _ := LookupCloud("usgov")
	src, err := New(Options{Cloud: usgov, TenantID: "contoso.example", Getenv: envFunc(nil)}) // auto finds az on PATH
	if err != nil {
		t.Fatal(err)
	}
	if src.Kind() != KindAzureCLI {
		t.Fatalf("auto chose %q, want azure-cli", src.Kind())
	}
	ctx := context.Background()
	if tok, err := src.Token(ctx); err != nil || tok != "az-tok-1" {
		t.Fatalf("Token = %q, %v; want az-tok-1", tok, err)
	}
	// The CLI takes no claims; Refresh simply asks it again.
	if tok, err := src.Refresh(ctx, "az-tok-1"); err != nil || tok != "az-tok-2" {
		t.Fatalf("Refresh = %q, %v; want az-tok-2", tok, err)
	}
	want := "account get-access-token -o json --resource https://graph.microsoft.us --tenant contoso.example\n"
	if got := args(); got != want+want {
		t.Errorf("az was called with\n%s\nwant twice\n%s", got, want)
	}
}

func TestAzureCLISameTokenAgain(t *testing.T) {
	fakeAz(t, "az-cached")
	src, err := New(Options{Kind: KindAzureCLI, Getenv: envFunc(nil)})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := src.Token(ctx)
	if err != nil {
		t.Fatal(err)
	}
	_, err = src.Refresh(ctx, tok)
	if !errors.Is(err, ErrRejected) || !strings.Contains(err.Error(), "az login") || strings.Contains(err.Error(), "az-cached") {
		t.Fatalf("Refresh error = %v, want ErrRejected advising az login, without the token", err)
	}
}

func TestFirstLineRedactsTokens(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJ0aWQiOiJ0In0.c2lnbmF0dXJlc2lnbmF0dXJl"
	for in, want := range map[string]string{
		"error: token " + jwt + " rejected\nsecond line": "error: token [redacted] rejected",
		"az: login required":                             "az: login required",
		"key: " + strings.Repeat("A", 40):                "key: [redacted]",
		"bidi \u202eevil":                                "bidi ?evil",
	} {
		if got := firstLine([]byte(in)); got != want {
			t.Errorf("firstLine(%q) = %q, want %q", in, got, want)
		}
	}
}
