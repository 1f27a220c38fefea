package main

// Huge or malformed inputs cost bounded memory: 2 GB files with huge
// cells, endless lines, millions of columns or too many rows are refused
// early with a clear message, and --max-rows holds on every command.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// hzRepeat yields n bytes of pat repeated, holding none of them.
type hzRepeat struct {
	pat []byte
	n   int64
	off int
}

func (r *hzRepeat) Read(p []byte) (int, error) {
	if r.n <= 0 {
		return 0, io.EOF
	}
	if len(r.pat) < 32<<10 {
		// Copy in big pieces: a byte at a time, 8 MiB cost half a
		// second under the race detector.
		r.pat = bytes.Repeat(r.pat, (32<<10)/len(r.pat)+1)
	}
	m := int(min(int64(len(p)), r.n))
	for i := 0; i < m; {
		c := copy(p[i:m], r.pat[r.off:])
		i += c
		r.off = (r.off + c) % len(r.pat)
	}
	r.n -= int64(m)
	return m, nil
}

// hzLazy is prefix, pat repeated to n bytes, then suffix.
func hzLazy(prefix, pat string, n int64, suffix string) io.Reader {
	return io.MultiReader(strings.NewReader(prefix), &hzRepeat{pat: []byte(pat), n: n}, strings.NewReader(suffix))
}

// hzRows yields a header and then distinct valid rows until n bytes.
type hzRows struct {
	buf  []byte
	i    int
	left int64
}

func (r *hzRows) Read(p []byte) (int, error) {
	// Rows are made a buffer at a time: one row per Read, the 8 MiB
	// written by hzBigFile cost seconds under the race detector.
	for len(r.buf) < len(p) && r.left > 0 {
		n := len(r.buf)
		if r.i == 0 {
			r.buf = append(r.buf, "mobileAppId,mobileAppInstallStatusId,installState\n"...)
		} else {
			r.buf = append(r.buf, "app-1,ds-"...)
			r.buf = strconv.AppendInt(r.buf, int64(r.i), 10)
			r.buf = append(r.buf, ",installed\n"...)
		}
		r.i++
		r.left -= int64(len(r.buf) - n)
	}
	if len(r.buf) == 0 {
		return 0, io.EOF
	}
	n := copy(p, r.buf)
	r.buf = append(r.buf[:0], r.buf[n:]...)
	return n, nil
}

const hzTwoGB = 2 << 30

// hzBigFile makes a file of size bytes that starts with what r yields
// and costs almost no disk: the first 8 MiB are written, the rest is a
// hole. Every input here is refused within its first 2 MiB, so what the
// hole holds (zero bytes) is never looked at unless something reads far
// more than it should.
func hzBigFile(t testing.TB, path string, r io.Reader, size int64) string {
	t.Helper()
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := io.Copy(f, io.LimitReader(r, 8<<20)); err != nil {
		t.Fatal(err)
	}
	if err := f.Truncate(size); err != nil {
		t.Fatal(err)
	}
	// Where holes are not supported the file would really take 2 GB of
	// disk: give it back and skip.
	if fi, err := f.Stat(); err == nil {
		if st, ok := fi.Sys().(*syscall.Stat_t); ok && st.Blocks*512 > 64<<20 {
			f.Truncate(0)
			t.Skipf("this file system stores holes as data (%d MiB for %s)", st.Blocks*512>>20, path)
		}
	}
	return path
}

// hzLimitInputs are inputs no spreadsheet should hold: each must be
// refused with exit 3 and the message given.
var hzLimitInputs = []struct {
	name  string
	input func() io.Reader
	args  []string
	want  string
}{
	{"huge quoted cell", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,\"", "x", hzTwoGB, "\"\n") }, nil, "record too large"},
	{"endless line", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,", "x", hzTwoGB, "\n") }, nil, "record too large"},
	{"header without end", func() io.Reader { return hzLazy("mobileAppId,mobileAppInstallStatusId", "x", hzTwoGB, "") }, nil, "record too large"},
	{"millions of header columns", func() io.Reader { return hzLazy("mobileAppId,mobileAppInstallStatusId", ",x", 6_000_000, "\n") }, nil, "too many columns"},
	{"millions of cells in a row", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,x", ",", 3_000_000, "\n") }, nil, "record too large"},
	{"100,000 cells in a row", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,x", ",", 100_000, "\napp,id2,y\n") }, nil, "wrong number of fields"},
	{"deep quoting", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,\"", `""`, hzTwoGB, "\"\n") }, nil, "record too large"},
	{"unterminated quote", func() io.Reader { return hzLazy(hzLimitHeader+"app,id,\"x", "y\n", hzTwoGB, "") }, nil, "record too large"},
	{"2 GB of rows", func() io.Reader { return &hzRows{left: hzTwoGB} }, []string{"--max-rows", "1000"}, "more than --max-rows 1000"},
}

const hzLimitHeader = "mobileAppId,mobileAppInstallStatusId,deviceName\n"

// TestHardeningLimits gives validate and apply 2 GB files with huge
// cells, endless lines, millions of columns, deep quoting or too many
// rows: each is refused with exit 3 and a clear message that does not
// repeat the huge cell, and apply sends nothing.
func TestHardeningLimits(t *testing.T) {
	t.Parallel()
	rec, _, vars := hzServe(t, &emulator.State{}, emulator.Options{}, "test-token")
	for _, tt := range hzLimitInputs {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			path := hzBigFile(t, filepath.Join(dir, "input.csv"), tt.input(), hzTwoGB)
			// plan reads the input as validate does; apply also shows
			// that nothing is sent.
			for _, cmd := range [][]string{
				{"validate", path},
				hzArgs([]string{"apply", path, "--yes", "--results", filepath.Join(dir, "r.csv")}, hzFast),
			} {
				r := cli(t, context.Background(), vars, append(cmd, tt.args...)...)
				if r.code != exitInvalid || !strings.Contains(r.stderr, tt.want) {
					t.Errorf("%s: exit %d, want %d with %q:\n%s", cmd[0], r.code, exitInvalid, tt.want, hzTail(r.stderr))
				}
				if len(r.stderr) > 64<<10 {
					t.Errorf("%s: %d bytes of messages: a huge cell must not be repeated", cmd[0], len(r.stderr))
				}
			}
		})
	}
	t.Cleanup(func() {
		if reqs, _ := rec.take(); len(reqs) > 0 {
			t.Errorf("refused inputs sent %d requests: %q", len(reqs), reqs[:min(5, len(reqs))])
		}
	})
}

// TestHardeningLimitsMemory checks in a real process that refusing a
// 2 GB input costs bounded memory: the runtime's GC trace shows the
// largest heap, and the peak resident size stays far below the input.
func TestHardeningLimitsMemory(t *testing.T) {
	t.Parallel()
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := binary(t)
	heapRE := regexp.MustCompile(`(\d+)->(\d+)->(\d+) MB`)
	for _, tt := range hzLimitInputs {
		path := hzBigFile(t, filepath.Join(t.TempDir(), "input.csv"), tt.input(), hzTwoGB)
		cmd := exec.Command(bin, append([]string{"validate", path}, tt.args...)...)
		cmd.Env = []string{"PATH=" + os.Getenv("PATH"), "GODEBUG=gctrace=1"}
		out, err := cmd.CombinedOutput()
		var ee *exec.ExitError
		if !errors.As(err, &ee) || ee.ExitCode() != exitInvalid {
			t.Errorf("%s: %v, want exit %d\n%s", tt.name, err, exitInvalid, hzTail(string(out)))
			continue
		}
		peak := 0
		for _, m := range heapRE.FindAllStringSubmatch(string(out), -1) {
			for _, v := range m[1:3] {
				var mb int
				fmt.Sscan(v, &mb)
				peak = max(peak, mb)
			}
		}
		var rss int64
		if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = int64(ru.Maxrss) << 10 // KiB on Linux
		}
		t.Logf("%s: largest heap %d MB, peak resident %d MiB", tt.name, peak, rss>>20)
		// A row of a million empty cells (1 MiB of commas, the record
		// limit) is the worst case: encoding/csv and gocsv keep some 70
		// bytes per cell, some 80 MB, whatever the size of the file.
		if peak > 128 || rss > 512<<20 {
			t.Errorf("%s: heap %d MB, resident %d MiB; want bounded (128 MB, 512 MiB) for a 2 GB input", tt.name, peak, rss>>20)
		}
	}
}

// TestHardeningMaxRows checks --max-rows on every command that reads the
// input: at the limit the file is fine, one row over it is refused with
// exit 3 and nothing is sent.
func TestHardeningMaxRows(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	dir := t.TempDir()
	f := generate(t, 1, 5, 0, 0, 0)
	input := f.write(t, dir)
	rec, _, vars := hzServe(t, f.state, emulator.Options{}, "test-token")
	for _, cmd := range [][]string{
		{"validate", input},
		{"plan", input},
		{"plan", input, "--out", filepath.Join(dir, "p.json")},
		hzArgs([]string{"plan", input, "--reconcile"}, hzFast),
		hzArgs([]string{"apply", input, "--yes"}, hzFast),
	} {
		r := cli(t, ctx, vars, append(cmd, "--max-rows", "4")...)
		if r.code != exitInvalid || !strings.Contains(r.stderr, "--max-rows 4") {
			t.Errorf("%s --max-rows 4 (of 5): exit %d, want %d naming the limit\n%s", cmd[0], r.code, exitInvalid, hzTail(r.stderr))
		}
		if reqs, _ := rec.take(); len(reqs) > 0 {
			t.Errorf("%s --max-rows 4: sent %d requests", cmd[0], len(reqs))
		}
		if r := cli(t, ctx, vars, append(cmd, "--max-rows", "5")...); r.code != exitOK {
			t.Errorf("%s --max-rows 5 (of 5): exit %d, want 0\n%s", cmd[0], r.code, hzTail(r.stderr))
		}
		rec.take()
	}
	if r := cli(t, ctx, vars, "validate", input, "--max-rows", "-1"); r.code != exitOK && r.code != exitUsage {
		t.Errorf("--max-rows -1: exit %d", r.code)
	}
}
