package main

// End-to-end tests of crash safety: kill -9 and SIGINT during apply, then
// --resume; one apply per results file; what --resume does with journals
// left by a clean finish, by another input, or torn by a kill.

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// waitLimit bounds every wait in these tests, so a hang fails the test
// instead of stalling the whole run; it is not a timing threshold.
const waitLimit = 90 * time.Second

// proc is a bulkpatch process started by a test.
type proc struct {
	cmd            *exec.Cmd
	done           chan struct{}
	stdout, stderr bytes.Buffer // read only after done
}

// startBinary runs the real bulkpatch binary in dir with exactly the
// environment vars (nothing of the test process leaks in). The process is
// killed when the test ends, if it is still running.
func startBinary(t *testing.T, dir string, vars map[string]string, args ...string) *proc {
	t.Helper()
	p := &proc{cmd: exec.Command(binary(t), args...), done: make(chan struct{})}
	p.cmd.Dir = dir
	p.cmd.Env = []string{"HOME=" + dir, "TMPDIR=" + dir}
	for k, v := range vars {
		p.cmd.Env = append(p.cmd.Env, k+"="+v)
	}
	p.cmd.Stdout, p.cmd.Stderr = &p.stdout, &p.stderr
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		p.cmd.Wait()
		close(p.done)
	}()
	t.Cleanup(func() {
		if !p.exited() {
			p.cmd.Process.Kill()
			<-p.done
		}
	})
	return p
}

func (p *proc) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// wait waits for the process to end and returns its exit code (-1 when a
// signal ended it).
func (p *proc) wait(t *testing.T) int {
	t.Helper()
	select {
	case <-p.done:
	case <-time.After(waitLimit):
		p.cmd.Process.Kill()
		<-p.done
		t.Fatalf("bulkpatch %s did not finish\nstderr:\n%s", strings.Join(p.cmd.Args[1:], " "), p.stderr.String())
	}
	return p.cmd.ProcessState.ExitCode()
}

// output describes a finished process for failure messages.
func (p *proc) output() string {
	return fmt.Sprintf("bulkpatch %s\nstdout:\n%s\nstderr:\n%s", strings.Join(p.cmd.Args[1:], " "), p.stdout.String(), p.stderr.String())
}

// appliedWrites is the number of PATCHes that took effect on srv.
func appliedWrites(srv *emulator.Server) int {
	n := 0
	for _, c := range srv.Stats().WritesApplied {
		n += c
	}
	return n
}

// waitUntil polls cond until it holds or the process p (when not nil)
// ends first; it reports whether cond held.
func waitUntil(t *testing.T, p *proc, cond func() bool) bool {
	t.Helper()
	deadline := time.Now().Add(waitLimit)
	for !cond() {
		if p != nil && p.exited() {
			return cond()
		}
		if time.Now().After(deadline) {
			t.Fatal("gave up waiting")
		}
		time.Sleep(2 * time.Millisecond)
	}
	return true
}

// cancelWhen cancels ctx's run as a first Ctrl-C would, once cond holds:
// an in-process interrupt.
func cancelWhen(t *testing.T, cond func() bool) (context.Context, func()) {
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		deadline := time.Now().Add(waitLimit)
		for !cond() && ctx.Err() == nil && time.Now().Before(deadline) {
			time.Sleep(2 * time.Millisecond)
		}
		cancel()
	}()
	return ctx, func() { cancel(); wg.Wait() }
}

// checkLines fails the test unless the results hold each of the lines
// 2..rows+1 exactly once, each with one of the outcomes allowed. It
// returns the outcome of each line.
func checkLines(t *testing.T, rows []map[string]string, n int, allowed ...string) map[int]string {
	t.Helper()
	got := map[int]string{}
	for _, r := range rows {
		line, err := strconv.Atoi(r["line"])
		if err != nil {
			t.Errorf("results row with line %q", r["line"])
			continue
		}
		if prev, dup := got[line]; dup {
			t.Errorf("line %d is in the results twice (%s, %s)", line, prev, r["outcome"])
		}
		got[line] = r["outcome"]
		if !slices.Contains(allowed, r["outcome"]) {
			t.Errorf("line %d: outcome %q (%s %s), want one of %q", line, r["outcome"], r["http_status"], r["error_message"], allowed)
		}
	}
	for line := 2; line <= n+1; line++ {
		if _, ok := got[line]; !ok {
			t.Errorf("line %d is missing from the results", line)
		}
	}
	if len(got) != n {
		t.Errorf("results hold %d lines, want %d", len(got), n)
	}
	return got
}

// lastJournalRecord returns the last line of a journal file.
func lastJournalRecord(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(string(b), "\n"), "\n")
	return lines[len(lines)-1]
}

// TestE2EKillResume kills the real binary with SIGKILL at random moments
// several times, each time resuming, against an emulator that drops,
// fails and throttles writes. The end state must be right, the results
// must list every row once, and the writes applied beyond one per row
// must be explained by the kills and the faults.
//
// Real processes cannot share a fake clock, so the runs are paced fast
// and the faults' 429s and 503s carry no Retry-After (neither is what is
// tested here), and the test runs beside the others.
func TestE2EKillResume(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                      string
		kills, concurrency, batch int
	}{
		{"one request per row", 4, 8, 0},
		// A $batch in flight holds up to batch rows, and a connection
		// reset after applying one re-applies all of its rows.
		{"batched", 3, 4, 10},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			killResume(t, tt.kills, tt.concurrency, tt.batch)
		})
	}
}

func killResume(t *testing.T, kills, concurrency, batch int) {
	f := generate(t, 2, 200, 2, 50, 0) // 400 direct rows, 200 nested: 600
	srv, vars := emulate(t, f.state, emulator.Options{
		Latency: 5 * time.Millisecond,
		Seed:    4,
		// 429s and 503s without Retry-After: the client backs off for
		// well under a second instead of pausing for whole seconds.
		// What is tested here is crash safety; honouring Retry-After is
		// TestResilienceFaultProfile's, on a fake clock.
		RetryAfter: emulator.RetryAfterNone,
		Faults: emulator.Faults{
			ResetBeforeApply:   0.01,
			ResetAfterApply:    0.01,
			ServerError:        0.01,
			ThrottleAfterApply: 0.003,
		},
	})
	dir := t.TempDir()
	in := f.write(t, dir)
	results := filepath.Join(dir, "input.results.csv")
	args := []string{"apply", in, "--yes", "--rate", "1000", "--concurrency", strconv.Itoa(concurrency),
		"--batch", strconv.Itoa(batch), "--progress", "never"}
	rng := rand.New(rand.NewPCG(20260101, 1))

	// Every run is the same command line, as cron runs it: an
	// interrupted run's journal is continued without being asked.
	for k := range kills {
		p := startBinary(t, dir, vars, args...)
		// Kill once it applied between 30 and 110 more rows.
		target := appliedWrites(srv) + 30 + rng.IntN(80)
		if !waitUntil(t, p, func() bool { return appliedWrites(srv) >= target }) {
			t.Fatalf("run %d ended before it could be killed (exit %d)\n%s", k+1, p.cmd.ProcessState.ExitCode(), p.output())
		}
		if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		<-p.done
		if ws, ok := p.cmd.ProcessState.Sys().(syscall.WaitStatus); !ok || !ws.Signaled() {
			t.Fatalf("run %d was not ended by the kill: %v\n%s", k+1, p.cmd.ProcessState, p.output())
		}
		t.Logf("kill %d after %d writes applied in all", k+1, appliedWrites(srv))
	}

	p := startBinary(t, dir, vars, args...)
	if code := p.wait(t); code != exitOK {
		t.Fatalf("final run: exit %d, want 0\n%s", code, p.output())
	}
	f.checkState(t, srv)
	_, rows := readResults(t, results)
	// unchanged: a row written just before a kill, whose record the
	// kill lost, is read again and found done.
	outcomes := checkLines(t, rows, f.rows, "applied", "skipped", "unchanged")
	skipped := 0
	for _, o := range outcomes {
		if o == "skipped" {
			skipped++
		}
	}
	if skipped == 0 {
		t.Error("the final resume skipped no row: the killed runs' progress was lost")
	}

	st := srv.Stats()
	extra := appliedWrites(srv) - f.rows
	perRequest := max(batch, 1) // rows a request carries
	inFlight := concurrency * perRequest
	retried := st.Faults["resetAfterApply"]*perRequest + st.Faults["throttleAfterApply"]
	if limit := inFlight*kills + retried; extra < 0 || extra > limit {
		t.Errorf("%d writes applied beyond one per row; at most %d rows in flight at %d kills plus %d rows of faulted requests that were retried allow %d",
			extra, inFlight, kills, retried, limit)
	}
	t.Logf("%d rows, %d writes applied beyond one per row, faults %v, %d skipped by the final resume", f.rows, extra, st.Faults, skipped)

	if _, err := os.Stat(results + ".lock"); !os.IsNotExist(err) {
		t.Errorf("the lock file is still there after a clean finish: %v", err)
	}
	if last := lastJournalRecord(t, results+".journal"); !strings.HasPrefix(last, `{"complete"`) {
		t.Errorf("the journal does not end with a clean finish: %s", last)
	}
}

// TestE2EInterruptResume sends SIGINT to the real binary mid-run: rows in
// flight finish, the results say which rows were applied and which not,
// the exit code is 130, and --resume completes the job without sending
// any row twice.
func TestE2EInterruptResume(t *testing.T) {
	t.Parallel()
	f := generate(t, 2, 150, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{Latency: 2 * time.Millisecond})
	dir := t.TempDir()
	in := f.write(t, dir)
	results := filepath.Join(dir, "input.results.csv")

	p := startBinary(t, dir, vars, "apply", in, "--yes", "--rate", "50", "--concurrency", "4", "--progress", "never")
	if !waitUntil(t, p, func() bool { return appliedWrites(srv) >= 25 }) {
		t.Fatalf("the run ended before it could be interrupted\n%s", p.output())
	}
	if err := p.cmd.Process.Signal(os.Interrupt); err != nil {
		t.Fatal(err)
	}
	if code := p.wait(t); code != exitInterrupted {
		t.Fatalf("interrupted apply: exit %d, want %d\n%s", code, exitInterrupted, p.output())
	}
	if !strings.Contains(p.stderr.String(), "run the same command again to continue") {
		t.Errorf("the interrupted run does not say how to continue:\n%s", p.stderr.String())
	}
	_, rows := readResults(t, results)
	checkLines(t, rows, f.rows, "applied", "not_attempted")
	counts := countOutcomes(rows)
	firstApplied := counts["applied"]
	if firstApplied != appliedWrites(srv) || counts["not_attempted"] == 0 {
		t.Errorf("after the interrupt: %v in the results, %d writes applied; want every applied write in the results and some rows not attempted",
			counts, appliedWrites(srv))
	}

	p = startBinary(t, dir, vars, "apply", in, "--yes", "--resume", "--rate", "1000", "--progress", "never")
	if code := p.wait(t); code != exitOK {
		t.Fatalf("resume: exit %d, want 0\n%s", code, p.output())
	}
	f.checkState(t, srv)
	_, rows = readResults(t, results)
	checkLines(t, rows, f.rows, "applied", "skipped")
	if got := countOutcomes(rows); got["skipped"] != firstApplied || got["applied"] != f.rows-firstApplied {
		t.Errorf("resume outcomes %v, want %d skipped and %d applied", got, firstApplied, f.rows-firstApplied)
	}
	for key, n := range srv.Stats().WritesApplied {
		if n != 1 {
			t.Errorf("object %s was written %d times, want once", key, n)
		}
	}
}

// TestE2EOverlappingApplies starts a slow apply and then a second one on
// the same results file: the second must stop at once, naming the first,
// without sending anything. Once the first dies, its lock is taken over.
func TestE2EOverlappingApplies(t *testing.T) {
	t.Parallel()
	f := generate(t, 1, 60, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)
	results := filepath.Join(dir, "input.results.csv")

	first := startBinary(t, dir, vars, "apply", in, "--yes", "--rate", "2", "--progress", "never")
	lockHeld := func() bool {
		b, err := os.ReadFile(results + ".lock")
		return err == nil && bytes.HasSuffix(b, []byte("\n")) && appliedWrites(srv) > 0
	}
	if !waitUntil(t, first, lockHeld) {
		t.Fatalf("the first apply ended early\n%s", first.output())
	}
	pid := strconv.Itoa(first.cmd.Process.Pid)

	// The second run talks to an emulator of its own, so that anything it
	// sent would show.
	other, otherVars := emulate(t, f.state, emulator.Options{})
	for _, extra := range [][]string{nil, {"--resume"}, {"--reconcile"}} {
		args := append([]string{"apply", in, "--yes"}, extra...)
		r := cli(t, context.Background(), otherVars, args...)
		if r.code != exitUsage {
			t.Errorf("%q while another apply runs: exit %d, want %d\n%s", args, r.code, exitUsage, r.stderr)
		}
		if !strings.Contains(r.stderr, "process "+pid) {
			t.Errorf("%q: the message does not name process %s:\n%s", args, pid, r.stderr)
		}
	}
	if st := other.Stats(); st.Requests != 0 {
		t.Errorf("the refused applies sent %d requests", st.Requests)
	}
	if _, err := os.Stat(results); !os.IsNotExist(err) {
		t.Errorf("a refused apply touched the running one's results file: %v", err)
	}
	// Not even an invalid input's results may be written meanwhile.
	bad := filepath.Join(dir, "bad.csv")
	os.WriteFile(bad, []byte("mobileAppId,mobileAppInstallStatusId,installState\napp-00,ds-00-00000,nope\n"), 0o600)
	if r := cli(t, context.Background(), otherVars, "apply", bad, "--results", results, "--yes"); r.code != exitUsage {
		t.Errorf("an invalid input aimed at the running apply's results: exit %d, want %d\n%s", r.code, exitUsage, r.stderr)
	}
	if _, err := os.Stat(results); !os.IsNotExist(err) {
		t.Errorf("a refused apply wrote the running one's results file: %v", err)
	}
	if first.exited() {
		t.Fatalf("the first apply ended while the second was refused\n%s", first.output())
	}

	// A lock left by a dead process is taken over.
	first.cmd.Process.Kill()
	<-first.done
	r := cli(t, context.Background(), vars, "apply", in, "--yes", "--resume", "--rate", "1000", "--progress", "never")
	if r.code != exitOK {
		t.Fatalf("resume after the first apply died: exit %d\n%s", r.code, r.stderr)
	}
	f.checkState(t, srv)
}

// missingRow is an input line addressing an object the emulator does not
// have: it fails with 404 on every run, so the journal is never complete.
const missingRow = "app-00,,ds-missing,installed,noAdditionalDetails,0,9.9\n"

// TestE2EResumeJournals checks --resume against the journals a run can
// leave behind. Those of a clean finish and of an input edited since are
// in testdata/scenarios/apply_resume_after_finish.txtar and
// apply_resume.txtar.
func TestE2EResumeJournals(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	fast := []string{"--yes", "--rate", "1000", "--progress", "never"}

	t.Run("a run that never starts keeps the journal", func(t *testing.T) {
		f := generate(t, 2, 100, 0, 0, 0)
		srv, vars := emulate(t, f.state, emulator.Options{Latency: time.Millisecond})
		dir := t.TempDir()
		in := f.write(t, dir)
		results := filepath.Join(dir, "input.results.csv")
		ictx, stop := cancelWhen(t, func() bool { return appliedWrites(srv) >= 20 })
		r := cli(t, ictx, vars, "apply", in, "--yes", "--rate", "100", "--progress", "never")
		stop()
		if r.code != exitInterrupted {
			t.Fatalf("interrupted apply: exit %d, want 130\n%s", r.code, r.stderr)
		}
		firstApplied := appliedWrites(srv)

		// Forgetting --resume matters only once a run really starts:
		// unconfirmed (no terminal, no --yes), or unable to sign in.
		badAuth := map[string]string{"BULKPATCH_GRAPH_URL": vars["BULKPATCH_GRAPH_URL"], "BULKPATCH_AUTH": "no-such-kind"}
		for _, c := range []struct {
			vars map[string]string
			args []string
		}{
			{vars, []string{"apply", in}},
			{badAuth, []string{"apply", in, "--yes"}},
		} {
			if r := cli(t, ctx, c.vars, c.args...); r.code != exitUsage {
				t.Errorf("%q: exit %d, want %d\n%s", c.args, r.code, exitUsage, r.stderr)
			}
		}
		if got := appliedWrites(srv); got != firstApplied {
			t.Errorf("the runs that did not start sent %d writes", got-firstApplied)
		}

		r = cli(t, ctx, vars, append([]string{"apply", in, "--resume"}, fast...)...)
		if r.code != exitOK {
			t.Fatalf("resume: exit %d\n%s", r.code, r.stderr)
		}
		_, rows := readResults(t, results)
		checkLines(t, rows, f.rows, "applied", "skipped")
		if got := countOutcomes(rows); got["skipped"] != firstApplied {
			t.Errorf("resume outcomes %v, want the %d rows applied before skipped", got, firstApplied)
		}
	})

	t.Run("torn last journal line", func(t *testing.T) {
		f := generate(t, 1, 30, 0, 0, 0)
		srv, vars := emulate(t, f.state, emulator.Options{})
		dir := t.TempDir()
		in := filepath.Join(dir, "input.csv")
		os.WriteFile(in, append(slices.Clone(f.csv), missingRow...), 0o600)
		results := filepath.Join(dir, "input.results.csv")
		if r := cli(t, ctx, vars, append([]string{"apply", in}, fast...)...); r.code != exitRowsFailed {
			t.Fatalf("apply with a missing object: exit %d, want 1\n%s", r.code, r.stderr)
		}
		// Tear the last record in half, as a kill in mid-write would.
		jpath := results + ".journal"
		last := lastJournalRecord(t, jpath)
		var rec struct {
			Row struct {
				Line    int    `json:"line"`
				Outcome string `json:"outcome"`
			} `json:"row"`
		}
		if err := json.Unmarshal([]byte(last), &rec); err != nil || rec.Row.Line == 0 {
			t.Fatalf("the journal's last line is not a row: %s", last)
		}
		fi, err := os.Stat(jpath)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.Truncate(jpath, fi.Size()-1-int64(len(last)/2)); err != nil {
			t.Fatal(err)
		}

		r := cli(t, ctx, vars, append([]string{"apply", in, "--resume"}, fast...)...)
		if r.code != exitRowsFailed {
			t.Fatalf("resume: exit %d, want 1 (the missing object fails again)\n%s", r.code, r.stderr)
		}
		_, rows := readResults(t, results)
		outcomes := checkLines(t, rows, f.rows+1, "unchanged", "skipped", "failed")
		missingLine := f.rows + 2
		for line, o := range outcomes {
			want := "skipped"
			switch line {
			case missingLine:
				want = "failed"
			case rec.Row.Line:
				// Its record was lost, so the row runs again: apply reads
				// it first, finds the earlier write, and sends nothing.
				want = "unchanged"
			}
			if o != want {
				t.Errorf("line %d: %s, want %s", line, o, want)
			}
		}
		f.checkState(t, srv)
	})

	t.Run("saved plan interrupted and resumed", func(t *testing.T) {
		f := generate(t, 2, 100, 0, 0, 0)
		srv, vars := emulate(t, f.state, emulator.Options{Latency: time.Millisecond})
		dir := t.TempDir()
		in := f.write(t, dir)
		pl := filepath.Join(dir, "p.json")
		results := filepath.Join(dir, "input.results.csv")
		if r := cli(t, ctx, vars, "plan", in, "--out", pl); r.code != exitOK {
			t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
		}
		ictx, stop := cancelWhen(t, func() bool { return appliedWrites(srv) >= 20 })
		r := cli(t, ictx, vars, "apply", "--plan", pl, "--rate", "100", "--progress", "never")
		stop()
		if r.code != exitInterrupted {
			t.Fatalf("interrupted apply --plan: exit %d, want 130\n%s", r.code, r.stderr)
		}
		_, rows := readResults(t, results)
		firstApplied := countOutcomes(rows)["applied"]
		if firstApplied != appliedWrites(srv) {
			t.Errorf("%d rows applied in the results, %d writes applied", firstApplied, appliedWrites(srv))
		}

		r = cli(t, ctx, vars, "apply", "--plan", pl, "--resume", "--rate", "1000", "--progress", "never")
		if r.code != exitOK {
			t.Fatalf("apply --plan --resume: exit %d\n%s", r.code, r.stderr)
		}
		f.checkState(t, srv)
		_, rows = readResults(t, results)
		checkLines(t, rows, f.rows, "applied", "skipped")
		if got := countOutcomes(rows); got["skipped"] != firstApplied {
			t.Errorf("outcomes %v, want %d skipped", got, firstApplied)
		}
		for key, n := range srv.Stats().WritesApplied {
			if n != 1 {
				t.Errorf("object %s was written %d times, want once", key, n)
			}
		}
	})
}

// TestE2EInputChangedDuringApply edits the input while an apply works
// from it. A spreadsheet's save (a new file renamed over the old) while
// the confirmation prompt waits must not reach the run: it applies what
// was validated, summarised and confirmed, which is what the journal's
// hash names. A write into the file itself during the run cannot be
// hidden, so the run must say so and not mark its journal complete.
func TestE2EInputChangedDuringApply(t *testing.T) {
	t.Parallel()
	t.Run("saved as a new file at the prompt", func(t *testing.T) {
		f := generate(t, 1, 50, 0, 0, 0)
		srv, vars := emulate(t, f.state, emulator.Options{})
		dir := t.TempDir()
		in := f.write(t, dir)

		stdin, answer := io.Pipe()
		var stdout, stderr syncBuffer
		e := &env{stdin: stdin, stdout: &stdout, stderr: &stderr, stdinTTY: true,
			getenv: func(k string) string { return vars[k] }}
		done := make(chan int, 1)
		go func() {
			done <- e.run(context.Background(), []string{"apply", in, "--rate", "1000", "--progress", "never"})
		}()
		waitUntil(t, nil, func() bool { return strings.Contains(stderr.String(), "Type yes") })
		tmp := filepath.Join(dir, "~input.csv")
		if err := os.WriteFile(tmp, bytes.ReplaceAll(f.csv, []byte(",1."), []byte(",7.")), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := os.Rename(tmp, in); err != nil {
			t.Fatal(err)
		}
		answer.Write([]byte("yes\n"))
		if code := <-done; code != exitOK {
			t.Fatalf("apply: exit %d\n%s", code, stderr.String())
		}
		f.checkState(t, srv)
	})

	t.Run("written in place during the run", func(t *testing.T) {
		fakeClock(t, func(t *testing.T) {
			f := generate(t, 2, 150, 0, 0, 0)
			srv, ce := emulateInProcess(t, f.state, emulator.Options{Latency: time.Millisecond})
			dir := t.TempDir()
			in := f.write(t, dir)
			results := filepath.Join(dir, "input.results.csv")

			done := make(chan result, 1)
			go func() {
				done <- ce.run(t, context.Background(), "apply", in, "--yes", "--rate", "150", "--progress", "never")
			}()
			waitUntil(t, nil, func() bool { return appliedWrites(srv) >= 20 })
			if err := os.WriteFile(in, bytes.ReplaceAll(f.csv, []byte(",1."), []byte(",7.")), 0o600); err != nil {
				t.Fatal(err)
			}
			r := <-done
			if r.code == exitOK || !strings.Contains(r.stderr, "was changed while bulkpatch was using it") {
				t.Errorf("input written in place during the run: exit %d, want a failure naming it\n%s", r.code, r.stderr)
			}
			if last := lastJournalRecord(t, results+".journal"); strings.HasPrefix(last, `{"complete"`) {
				t.Error("the journal was marked complete")
			}
		})
	})
}
