package main

// End-to-end tests that no output destroys an input, that nothing is sent
// before every output can be written, and that one input is applied by
// one run at a time.

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// TestGuardOutputsOntoInputs points every output of every command at an
// input, by its path, through a symlink and through a hard link: each is
// refused with exit 2 before anything is sent, and the input is intact.
func TestGuardOutputsOntoInputs(t *testing.T) {
	f := generate(t, 1, 3, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	apply := func(in string, extra ...string) []string {
		return append([]string{"apply", in, "--yes", "--progress", "never"}, extra...)
	}
	tests := []struct {
		name  string
		input string                        // the input's file name
		args  func(in, out string) []string // out names the input, one way or another
	}{
		{"apply --results", "in.csv", func(in, out string) []string { return apply(in, "--results", out) }},
		{"plan --out", "in.csv", func(in, out string) []string { return []string{"plan", in, "--out", out} }},
		{"plan --reconcile --out", "in.csv", func(in, out string) []string { return []string{"plan", in, "--reconcile", "--out", out} }},
		// The journal and the lock sit beside the results: results
		// "in" would put them on in.journal and in.lock.
		{"journal", "in.journal", func(in, out string) []string {
			return apply(in, "--results", strings.TrimSuffix(out, ".journal"))
		}},
		{"lock", "in.lock", func(in, out string) []string {
			return apply(in, "--results", strings.TrimSuffix(out, ".lock"))
		}},
	}
	for _, tt := range tests {
		for _, how := range []string{"path", "symlink", "hard link"} {
			t.Run(tt.name+" by "+how, func(t *testing.T) {
				dir := t.TempDir()
				in := filepath.Join(dir, tt.input)
				if err := os.WriteFile(in, f.csv, 0o600); err != nil {
					t.Fatal(err)
				}
				out := in
				if how != "path" {
					// Another name for the input, with the same suffix
					// the journal and lock cases strip.
					out = filepath.Join(dir, "other"+filepath.Ext(tt.input))
					link := os.Symlink
					if how == "hard link" {
						link = os.Link
					}
					if err := link(in, out); err != nil {
						t.Fatal(err)
					}
				}
				before := srv.Stats().Requests
				r := cli(t, t.Context(), vars, tt.args(in, out)...)
				if r.code != exitUsage {
					t.Errorf("exit %d, want %d\n%s", r.code, exitUsage, r.stderr)
				}
				if n := srv.Stats().Requests - before; n != 0 {
					t.Errorf("%d requests sent before the refusal", n)
				}
				if b, err := os.ReadFile(in); err != nil || !bytes.Equal(b, f.csv) {
					t.Errorf("the input changed (%v):\n%s", err, b)
				}
			})
		}
	}

	t.Run("apply --plan --results onto the plan", func(t *testing.T) {
		dir := t.TempDir()
		in := f.write(t, dir)
		pl := filepath.Join(dir, "plan.json")
		if r := cli(t, t.Context(), vars, "plan", in, "--out", pl); r.code != exitOK {
			t.Fatalf("plan: exit %d\n%s", r.code, r.stderr)
		}
		saved, _ := os.ReadFile(pl)
		before := srv.Stats().Requests
		r := cli(t, t.Context(), vars, "apply", "--plan", pl, "--results", pl, "--progress", "never")
		if r.code != exitUsage || srv.Stats().Requests != before {
			t.Errorf("exit %d after %d requests, want %d after none\n%s", r.code, srv.Stats().Requests-before, exitUsage, r.stderr)
		}
		if b, _ := os.ReadFile(pl); !bytes.Equal(b, saved) {
			t.Error("the plan changed")
		}
	})
}

// TestGuardResultsNotWritable gives --results paths that cannot be
// created: each is refused with exit 2 before the first request.
func TestGuardResultsNotWritable(t *testing.T) {
	f := generate(t, 1, 3, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)
	paths := map[string]string{
		"a directory":         dir,
		"a missing directory": filepath.Join(dir, "missing", "results.csv"),
		"under a file":        filepath.Join(in, "results.csv"),
	}
	if runtime.GOOS == "linux" {
		// sysfs refuses new files even to root.
		paths["a directory nobody may write"] = "/sys/bulkpatch-results.csv"
	}
	if os.Geteuid() != 0 {
		ro := filepath.Join(dir, "read-only")
		if err := os.Mkdir(ro, 0o500); err != nil {
			t.Fatal(err)
		}
		paths["a read-only directory"] = filepath.Join(ro, "results.csv")
	}
	for name, results := range paths {
		t.Run(name, func(t *testing.T) {
			r := cli(t, t.Context(), vars, "apply", in, "--yes", "--progress", "never", "--results", results)
			if r.code != exitUsage || !strings.Contains(r.stderr, "--results") {
				t.Errorf("exit %d, want %d naming --results\n%s", r.code, exitUsage, r.stderr)
			}
			if n := srv.Stats().Requests; n != 0 {
				t.Errorf("%d requests sent", n)
			}
		})
	}
}

// TestGuardJournalWriteFails runs the real binary under a file-size limit
// that cuts the journal short mid-run: the run stops at once with exit 7,
// the message does not claim the journal is complete, and every write
// Graph received is either in the journal or among the few in flight when
// the write failed.
func TestGuardJournalWriteFails(t *testing.T) {
	if runtime.GOOS != "linux" {
		t.Skip("needs a shell with ulimit -f")
	}
	const concurrency = 2
	f := generate(t, 1, 400, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)
	results := filepath.Join(dir, "results.csv")
	// ulimit -f counts 512-byte blocks: 8 KiB of journal is far fewer
	// than 400 rows.
	cmd := exec.Command("sh", "-c", `ulimit -f 16 && exec "$0" "$@"`, binary(t),
		"apply", in, "--yes", "--progress", "never", "--rate", "1000", "--concurrency", fmt.Sprint(concurrency), "--results", results)
	cmd.Env = []string{"HOME=" + dir, "TMPDIR=" + dir}
	for k, v := range vars {
		cmd.Env = append(cmd.Env, k+"="+v)
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := cmd.ProcessState.ExitCode()
	if code != exitJournal {
		t.Fatalf("exit %d (%v), want %d\n%s", code, err, exitJournal, stderr.String())
	}
	msg := stderr.String()
	if strings.Contains(msg, "still has every") || !strings.Contains(msg, "journal") {
		t.Errorf("the message must say the journal failed and not claim it is complete:\n%s", msg)
	}
	writes := srv.Stats().Writes
	if writes == 0 || writes >= f.rows {
		t.Fatalf("%d writes of %d rows: the limit did not cut the run short", writes, f.rows)
	}
	b, err := os.ReadFile(results + ".journal")
	if err != nil {
		t.Fatal(err)
	}
	// Every write Graph received is recorded, or was among the few in
	// flight when the journal failed: none went out after the stop.
	records := 0
	for _, l := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(l, `{"row":`) && strings.HasSuffix(l, "}") {
			records++
		}
	}
	if records == 0 || writes > records+concurrency+1 {
		t.Errorf("%d writes went out, %d recorded: more than the %d in flight went out after the journal failed", writes, records, concurrency+1)
	}
	t.Logf("%d writes, %d recorded; message:\n%s", writes, records, msg)
}

// TestGuardOneRunPerInput starts a second apply of the same input, with
// other results, while the first holds it at its confirmation prompt:
// the second exits 2 naming the first, and Graph sees each row once.
func TestGuardOneRunPerInput(t *testing.T) {
	f := generate(t, 1, 20, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)

	// The first run, at a "terminal": it holds the input while it asks.
	stdinR, stdinW := io.Pipe()
	stderrR, stderrW := io.Pipe()
	first := &env{
		stdin: stdinR, stdout: io.Discard, stderr: stderrW, stdinTTY: true,
		getenv: func(k string) string { return vars[k] },
	}
	done := make(chan int, 1)
	go func() {
		done <- first.run(t.Context(), []string{"apply", in, "--progress", "never", "--rate", "1000", "--results", filepath.Join(dir, "first.csv")})
		stderrW.Close()
	}()
	var out1 strings.Builder
	sc := bufio.NewScanner(stderrR)
	sc.Split(bufio.ScanWords)
	for sc.Scan() && !strings.HasSuffix(out1.String(), "Type yes to apply: ") {
		out1.WriteString(sc.Text() + " ")
		if strings.Contains(out1.String(), "Type yes to") {
			break
		}
	}
	go io.Copy(&out1, stderrR) // the rest of the first run's messages

	r := cli(t, t.Context(), vars, "apply", in, "--yes", "--progress", "never", "--rate", "1000", "--results", filepath.Join(dir, "second.csv"))
	if r.code != exitUsage || !strings.Contains(r.stderr, "process "+strconv.Itoa(os.Getpid())) {
		t.Errorf("second apply: exit %d, want %d naming the first run (process %d)\n%s", r.code, exitUsage, os.Getpid(), r.stderr)
	}
	fmt.Fprintln(stdinW, "yes")
	if code := <-done; code != exitOK {
		t.Fatalf("first apply: exit %d", code)
	}
	if st := srv.Stats(); st.Writes != f.rows {
		t.Errorf("Graph received %d writes for %d rows", st.Writes, f.rows)
	}
}

// TestGuardTamperedJournal moves a journal record to another input line:
// the next run refuses the journal, says how to recover, and sends
// nothing.
func TestGuardTamperedJournal(t *testing.T) {
	f := generate(t, 1, 6, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{})
	dir := t.TempDir()
	in := f.write(t, dir)
	results := filepath.Join(dir, "results.csv")
	args := []string{"apply", in, "--yes", "--progress", "never", "--rate", "1000", "--results", results}
	if r := cli(t, t.Context(), vars, args...); r.code != exitOK {
		t.Fatalf("apply: exit %d\n%s", r.code, r.stderr)
	}
	jpath := results + ".journal"
	b, err := os.ReadFile(jpath)
	if err != nil {
		t.Fatal(err)
	}
	// Keep the header and the records of lines 2 and 3 only, as a crash
	// would, then say line 2's record is line 4's.
	var kept []string
	for _, l := range strings.SplitAfter(string(b), "\n") {
		if strings.HasPrefix(l, `{"header":`) || strings.Contains(l, `"line":2,`) || strings.Contains(l, `"line":3,`) {
			kept = append(kept, l)
		}
	}
	if len(kept) != 3 {
		t.Fatalf("journal lines %q: want a header and the records of lines 2 and 3", kept)
	}
	tampered := strings.Replace(strings.Join(kept, ""), `"line":2,`, `"line":4,`, 1)
	if err := os.WriteFile(jpath, []byte(tampered), 0o600); err != nil {
		t.Fatal(err)
	}
	before := srv.Stats().Requests
	r := cli(t, t.Context(), vars, append(args, "--resume")...)
	if r.code == exitOK || !strings.Contains(r.stderr, "line 4") || !strings.Contains(r.stderr, "--fresh") {
		t.Errorf("resume with a tampered journal: exit %d, want a refusal naming line 4 and the way out (--fresh)\n%s", r.code, r.stderr)
	}
	if n := srv.Stats().Requests - before; n != 0 {
		t.Errorf("%d requests sent on a tampered journal", n)
	}
}
