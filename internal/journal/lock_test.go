package journal

import (
	"bufio"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
)

// lockHelperEnv makes the test binary, re-executed by
// TestLockTakenOverAfterKill, hold the lock named by its value until it
// is killed (or its stdin closes, so it never outlives the test).
const lockHelperEnv = "BULKPATCH_JOURNAL_TEST_HOLD_LOCK"

func TestMain(m *testing.M) {
	if path := os.Getenv(lockHelperEnv); path != "" {
		os.Exit(holdLock(path))
	}
	os.Exit(m.Run())
}

func holdLock(path string) int {
	l, err := Acquire(path)
	if err != nil {
		os.Stdout.WriteString("error: " + err.Error() + "\n")
		return 1
	}
	os.Stdout.WriteString("locked\n")
	io.Copy(io.Discard, os.Stdin)
	l.Release()
	return 0
}

func lockPath(t *testing.T) string {
	return filepath.Join(t.TempDir(), "out.results.csv.lock")
}

func pidIn(t *testing.T, path string) int {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	pid, err := strconv.Atoi(strings.TrimSuffix(string(b), "\n"))
	if err != nil || !strings.HasSuffix(string(b), "\n") {
		t.Fatalf("lock file holds %q, want a pid and a newline", b)
	}
	return pid
}

func TestLockSameProcess(t *testing.T) {
	path := lockPath(t)
	l, err := Acquire(path)
	if err != nil {
		t.Fatal(err)
	}
	if got := pidIn(t, path); got != os.Getpid() {
		t.Errorf("lock file names pid %d, want %d", got, os.Getpid())
	}

	// flock locks belong to the open file description: a second open in
	// this process conflicts like another process would.
	l2, err := Acquire(path)
	var le *LockedError
	if !errors.As(err, &le) {
		l2.Release()
		t.Fatalf("second Acquire = %v, want *LockedError", err)
	}
	if le.PID != os.Getpid() || le.Path != path || le.Since.IsZero() {
		t.Errorf("LockedError = %+v, want pid %d, path %s and a start time", le, os.Getpid(), path)
	}
	if msg := le.Error(); !strings.Contains(msg, "process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("message %q does not name the process", msg)
	}

	if err := l.Release(); err != nil {
		t.Fatal(err)
	}
	if err := l.Release(); err != nil {
		t.Errorf("second Release = %v, want nil", err)
	}
	if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lock file after Release: %v, want it removed", err)
	}
	l3, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after Release = %v", err)
	}
	l3.Release()
}

// TestLockStaleFile: a lock file left behind (its pid long gone) is not a
// lock; only a held flock is.
func TestLockStaleFile(t *testing.T) {
	path := lockPath(t)
	if err := os.WriteFile(path, []byte("999999999\nand more junk than a pid\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	l, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire over a stale lock file = %v", err)
	}
	defer l.Release()
	if got := pidIn(t, path); got != os.Getpid() {
		t.Errorf("lock file names pid %d, want %d", got, os.Getpid())
	}
}

func TestLockedErrorMessage(t *testing.T) {
	tests := []struct {
		err  LockedError
		want string
	}{
		{LockedError{Path: "r.csv.lock", PID: 1234}, "results file is being written by process 1234 (lock file r.csv.lock)"},
		{LockedError{Path: "r.csv.lock"}, "results file is being written by another process (lock file r.csv.lock)"},
	}
	for _, tt := range tests {
		if got := tt.err.Error(); got != tt.want {
			t.Errorf("Error() = %q, want %q", got, tt.want)
		}
	}
}

// TestLockTakenOverAfterKill runs a second process that takes the lock and
// is then killed with SIGKILL: its lock must be reported while it lives
// and be free the moment it is dead, with no cleanup.
func TestLockTakenOverAfterKill(t *testing.T) {
	path := lockPath(t)
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), lockHelperEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer cmd.Process.Kill()

	line, err := bufio.NewReader(stdout).ReadString('\n')
	if line != "locked\n" {
		t.Fatalf("helper said %q (%v), want locked", line, err)
	}

	_, err = Acquire(path)
	var le *LockedError
	if !errors.As(err, &le) || le.PID != cmd.Process.Pid {
		t.Fatalf("Acquire while held = %v, want *LockedError naming pid %d", err, cmd.Process.Pid)
	}

	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait() // "signal: killed"

	l, err := Acquire(path)
	if err != nil {
		t.Fatalf("Acquire after the holder was killed = %v", err)
	}
	defer l.Release()
	if got := pidIn(t, path); got != os.Getpid() {
		t.Errorf("lock file names pid %d, want ours (%d)", got, os.Getpid())
	}
}

// TestAcquireInput: the same input through another name is the same lock.
func TestAcquireInput(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.csv")
	hard := filepath.Join(dir, "hard.csv")
	if os.Symlink(in, link) != nil || os.Link(in, hard) != nil {
		t.Skip("no links here")
	}
	l, err := AcquireInput(in)
	if err != nil {
		t.Fatal(err)
	}
	for _, other := range []string{in, link, hard} {
		_, err := AcquireInput(other)
		var le *LockedError
		if !errors.As(err, &le) || le.Input != other || !strings.Contains(err.Error(), "is being applied by process") {
			t.Errorf("AcquireInput(%s) = %v, want a LockedError naming the holder", other, err)
		}
	}
	l.Release()
	l2, err := AcquireInput(link)
	if err != nil {
		t.Fatalf("after Release: %v", err)
	}
	l2.Release()
}
