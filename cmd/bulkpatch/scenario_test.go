package main

// Whole-CLI scenarios, in the style of golang.org/x/tools/cmd/deadcode:
// each testdata/scenarios/*.txtar file holds input files and, in its
// comment, the commands to run and what each must print and exit with.
//
// The comment is read line by line:
//
//	# a remark                      ignored
//	fakeclock                       run on a fake clock (see below); first, if at all
//	emulator seed.json [flags]      start an emulator holding the state in the
//	                                section seed.json (the JSON of `bulkpatch
//	                                emulator --seed`), with that command's flags;
//	                                the commands after it reach it in-process with
//	                                a static token ($GRAPH is its Graph root)
//	cp a.csv b.csv                  copy a file of $WORK (to edit an input
//	                                between two commands)
//	replace out.csv "old" "new"     edit a file of $WORK in place: the text
//	                                old, which must occur exactly once, becomes
//	                                new (each a word or Go-quoted), e.g. to
//	                                edit an exported file before planning it
//	bulkpatch validate $WORK/in.csv run a command; $WORK is the scenario's directory
//	exit 3                          the command's exit code (required)
//
// and, after a command, what it must have done:
//
//	stderr "line 3, column x"       stderr contains the Go-quoted text (also `raw`)
//	!stderr "..."                   stderr does not contain it
//	stdout "..." / !stdout "..."    the same for stdout
//	file out.json "..."             the file $WORK/out.json contains the text
//	!file out.json "..."            it does not
//	nofile out.json                 the file does not exist
//	perm out.json 0600              the file's permission bits
//	rows r.csv 5                    the CSV file (BOM allowed) has 5 records
//	                                after its header
//	csv r.csv 2 outcome=failed error_message~"not found"
//	                                its 2nd record after the header has these
//	                                cells: = equal to, ~ containing; a value may
//	                                be Go-quoted
//	outcomes r.csv applied=3 failed=1
//	                                its outcome column holds exactly these
//	                                counts (no other outcome)
//	sent requests=0 writes=2 throttled>=1 early=0
//	                                what the emulator received during the
//	                                command: requests, reads, writes, batches
//	                                ($batch POSTs), throttled (429s), early
//	                                (retries before their Retry-After), applied
//	                                (writes that took effect); = >= or <=
//	written app-1/ds-1 1            the object (app/status, or
//	                                app/user-status/status) was written, with
//	                                effect, that many times during the command
//	state app-1/ds-1 errorCode -1   the emulator's object has now the JSON
//	                                value given (null: none)
//
// An object of another resource is named RESOURCE:ID (its key values
// joined by "/" when it has several), as in `written managedDevice:md-1 1`
// or `state deviceCategory:dc-1 description null`.
//
// A file section named NAME.q holds Go-quoted strings, one per line, each
// optionally followed by "* N" to repeat it; their concatenation becomes
// NAME. That is how scenarios hold a BOM, CRLF line ends, invalid UTF-8,
// UTF-16 or a cell bigger than any sane file in the repository.
//
// A scenario runs on the real clock unless it says fakeclock: then it
// runs in a synctest bubble (fakeClock), where pacing, an emulator's
// limits, Retry-After pauses and latency cost no real time. Not with plan
// or apply --reconcile of 10 rows or more in one collection, though: those
// list the collection once for all its rows, under a sync.Once
// (apply.Live), and the rows waiting on it wait on a mutex, which the fake
// clock cannot see through; the first read of the listing that waits (the
// read pacer, a second page, a 429) stalls the bubble for good and the
// test times out.
//
// Expected outputs are written from the CLI contract; there is no
// -update flag on purpose.

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"

	"github.com/spf13/pflag"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// scenarioStep is one line of a scenario that does something: a
// bulkpatch command with what it must do, an emulator to start, a copy.
type scenarioStep struct {
	line   int      // in the .txtar file, for messages
	verb   string   // bulkpatch, emulator, cp or replace
	args   []string // after the verb
	exit   int
	checks []scenarioCheck
}

type scenarioCheck struct {
	line int
	kind string // stdout, stderr, file, nofile, perm, rows, csv, outcomes, sent, written, state
	neg  bool
	name string   // file name (file, nofile, perm, rows, csv, outcomes) or object key (written, state)
	want string   // text, mode, count, row number, property name
	args []string // csv cells, outcome counts, sent counts (NAME=VALUE and the like); state's JSON
}

func TestScenarios(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("testdata", "scenarios", "*.txtar"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no scenarios in testdata/scenarios")
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".txtar")
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			steps, fake, err := parseScenario(string(ar.Comment))
			if err != nil {
				t.Fatalf("%s:%v", file, err)
			}
			run := func(t *testing.T) {
				sc := &scenario{t: t, file: file, dir: t.TempDir()}
				sc.writeFiles(ar)
				for _, st := range steps {
					sc.run(st)
				}
			}
			if fake {
				fakeClock(t, run)
			} else {
				run(t)
			}
		})
	}
}

// scenario is one scenario being run.
type scenario struct {
	t    *testing.T
	file string
	dir  string
	srv  *emulator.Server // nil until an emulator line
	ce   cliEnv
}

func (sc *scenario) writeFiles(ar *txtar.Archive) {
	t := sc.t
	for _, f := range ar.Files {
		name, data := f.Name, f.Data
		if strings.HasSuffix(name, ".q") {
			name = strings.TrimSuffix(name, ".q")
			var err error
			if data, err = unquoteSection(data); err != nil {
				t.Fatalf("%s: section %s: %v", sc.file, f.Name, err)
			}
		}
		p := filepath.Join(sc.dir, filepath.FromSlash(name))
		if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, data, 0o600); err != nil {
			t.Fatal(err)
		}
	}
}

func (sc *scenario) expand(s string) string {
	return strings.NewReplacer("$WORK", sc.dir, "$GRAPH", inProcessURL).Replace(s)
}

func (sc *scenario) path(name string) string { return filepath.Join(sc.dir, filepath.FromSlash(name)) }

func (sc *scenario) run(st scenarioStep) {
	t := sc.t
	t.Helper()
	args := make([]string, len(st.args))
	for i, a := range st.args {
		args[i] = sc.expand(a)
	}
	where := fmt.Sprintf("%s:%d: %s %s", sc.file, st.line, st.verb, strings.Join(st.args, " "))
	switch st.verb {
	case "emulator":
		srv, err := startScenarioEmulator(sc.dir, args)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		t.Cleanup(func() { srv.Close() })
		sc.srv, sc.ce = srv, inProcess(srv)
		return
	case "cp":
		b, err := os.ReadFile(sc.path(args[0]))
		if err == nil {
			err = os.WriteFile(sc.path(args[1]), b, 0o600)
		}
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		return
	case "replace":
		// The arguments are taken as written: $WORK in a file's text is
		// no placeholder.
		if err := replaceOnce(sc.path(args[0]), st.args[1], st.args[2]); err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		return
	}
	var before emulator.Stats
	if sc.srv != nil {
		before = sc.srv.Stats()
	}
	r := sc.ce.run(t, t.Context(), args...)
	show := func() string {
		return fmt.Sprintf("\n--- stdout:\n%s--- stderr:\n%s", r.stdout, r.stderr)
	}
	if r.code != st.exit {
		t.Errorf("%s: exit %d, want %d%s", where, r.code, st.exit, show())
	}
	for _, c := range st.checks {
		at := fmt.Sprintf("%s:%d", sc.file, c.line)
		switch c.kind {
		case "stdout", "stderr":
			out := r.stdout
			if c.kind == "stderr" {
				out = r.stderr
			}
			want := sc.expand(c.want)
			if got := strings.Contains(out, want); got == c.neg {
				verb := "lacks"
				if c.neg {
					verb = "has"
				}
				t.Errorf("%s: %s %s %q%s", at, c.kind, verb, want, show())
			}
		case "sent", "written", "state":
			if sc.srv == nil {
				t.Errorf("%s: %s: no emulator was started", at, c.kind)
				continue
			}
			if err := sc.checkEmulator(c, before, sc.srv.Stats()); err != nil {
				t.Errorf("%s: %v", at, err)
			}
		default:
			if err := sc.checkFile(c); err != nil {
				t.Errorf("%s: %v", at, err)
			}
		}
	}
}

// replaceOnce replaces the only occurrence of old in the file at path by
// new; no occurrence, or several, is an error, so that a scenario never
// edits less, or more, than it says.
func replaceOnce(path, old, new string) error {
	b, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	if n := strings.Count(string(b), old); n != 1 {
		return fmt.Errorf("%s holds %q %d times, want once:\n%s", filepath.Base(path), old, n, b)
	}
	return os.WriteFile(path, []byte(strings.Replace(string(b), old, new, 1)), 0o600)
}

// scenarioObject reads the object of a written or state line:
// app/status or app/user-status/status for mobileAppInstallStatus, or
// RESOURCE:ID (key values joined by "/") for any resource.
func scenarioObject(name string) (*resource.Resource, resource.Key, error) {
	var k resource.Key
	rname, ids, ok := strings.Cut(name, ":")
	if !ok {
		switch parts := strings.Split(name, "/"); len(parts) {
		case 2:
			k[0], k[2] = parts[0], parts[1]
		case 3:
			k[0], k[1], k[2] = parts[0], parts[1], parts[2]
		default:
			return nil, k, fmt.Errorf("want an object as app/status, app/user-status/status or RESOURCE:ID, got %q", name)
		}
		return resource.MobileAppInstallStatus, k, nil
	}
	r, found := resource.Lookup(rname)
	if !found {
		return nil, k, fmt.Errorf("%q: no resource %q", name, rname)
	}
	parts := strings.Split(ids, "/")
	if len(parts) != len(r.Keys) || slices.Contains(parts, "") {
		return nil, k, fmt.Errorf("%q: %s wants %d non-empty key values joined by /", name, r.Name, len(r.Keys))
	}
	copy(k[:], parts)
	return r, k, nil
}

// startScenarioEmulator starts an emulator as `bulkpatch emulator` would
// from args (the seed file first), to be reached in-process.
func startScenarioEmulator(dir string, args []string) (*emulator.Server, error) {
	fs := pflag.NewFlagSet("emulator", pflag.ContinueOnError)
	fs.SetOutput(io.Discard)
	var f emulator.Config
	bindEmulator(fs, &f)
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	pos := fs.Args()
	if len(pos) != 1 {
		return nil, fmt.Errorf("emulator: want the seed file, got %q", pos)
	}
	f.Options.ReadFaults.HangFor = f.Options.Faults.HangFor // as the command does
	var refused []string
	fs.Visit(func(fl *pflag.Flag) {
		switch fl.Name {
		case "listen", "dump", "tls", "tls-cert-out", "seed":
			refused = append(refused, "--"+fl.Name)
		}
	})
	if len(refused) > 0 {
		return nil, fmt.Errorf("%s: not in a scenario, whose emulator is in-process and seeded from its first argument", strings.Join(refused, ", "))
	}
	st, err := emulator.LoadStateFile(filepath.Join(dir, filepath.FromSlash(pos[0])))
	if err != nil {
		return nil, err
	}
	return emulator.New(st, f.Options)
}

// sentCounts are the counters a sent line can name.
var sentCounts = map[string]func(emulator.Stats) int{
	"requests":  func(s emulator.Stats) int { return s.Requests },
	"reads":     func(s emulator.Stats) int { return s.Reads },
	"writes":    func(s emulator.Stats) int { return s.Writes },
	"batches":   func(s emulator.Stats) int { return s.BatchPosts },
	"throttled": func(s emulator.Stats) int { return s.Throttled },
	"early":     func(s emulator.Stats) int { return s.EarlyRetries },
	"applied": func(s emulator.Stats) int {
		n := 0
		for _, v := range s.WritesApplied {
			n += v
		}
		return n
	},
}

func (sc *scenario) checkEmulator(c scenarioCheck, before, after emulator.Stats) error {
	switch c.kind {
	case "sent":
		var bad []string
		for _, a := range c.args {
			name, op, want, _ := splitCount(a)
			got := sentCounts[name](after) - sentCounts[name](before)
			if !compare(got, op, want) {
				bad = append(bad, fmt.Sprintf("%s %d (want %s%d)", name, got, op, want))
			}
		}
		if len(bad) > 0 {
			return fmt.Errorf("the emulator received %s", strings.Join(bad, ", "))
		}
	case "written":
		want, _ := strconv.Atoi(c.want)
		r, k, _ := scenarioObject(c.name) // checked by parseCheck
		key := emulator.ObjectKey(r, k)
		if got := after.WritesApplied[key] - before.WritesApplied[key]; got != want {
			return fmt.Errorf("%s written %d times, want %d", c.name, got, want)
		}
	case "state":
		r, k, _ := scenarioObject(c.name) // checked by parseCheck
		obj, ok := sc.srv.Lookup(r, k)
		if !ok {
			return fmt.Errorf("the emulator has no object %s", c.name)
		}
		var want any
		if err := json.Unmarshal([]byte(c.args[0]), &want); err != nil {
			return fmt.Errorf("state %s %s: %s is not JSON: %v", c.name, c.want, c.args[0], err)
		}
		if got := obj[c.want]; !reflect.DeepEqual(got, want) {
			g, _ := json.Marshal(got)
			return fmt.Errorf("%s: %s is %s, want %s", c.name, c.want, g, c.args[0])
		}
	}
	return nil
}

func (sc *scenario) checkFile(c scenarioCheck) error {
	p := sc.path(c.name)
	switch c.kind {
	case "file":
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		if want := sc.expand(c.want); strings.Contains(string(b), want) == c.neg {
			return fmt.Errorf("%s: contains %q is %v, want %v\n%s", c.name, want, c.neg, !c.neg, b)
		}
	case "nofile":
		if _, err := os.Stat(p); !os.IsNotExist(err) {
			return fmt.Errorf("%s exists (or cannot be checked: %v)", c.name, err)
		}
	case "perm":
		fi, err := os.Stat(p)
		if err != nil {
			return err
		}
		if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != c.want {
			return fmt.Errorf("%s has mode %s, want %s", c.name, got, c.want)
		}
	case "rows", "csv", "outcomes":
		header, recs, err := readScenarioCSV(p)
		if err != nil {
			return err
		}
		return checkCSV(c, header, recs)
	}
	return nil
}

// readScenarioCSV reads a CSV file written by bulkpatch (a BOM allowed)
// into its header and records.
func readScenarioCSV(path string) ([]string, [][]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, err
	}
	b = bytes.TrimPrefix(b, []byte("\ufeff"))
	cr := csv.NewReader(bytes.NewReader(b))
	// The delimiter is the header's, when it has no comma: ; or tab.
	head, _, _ := bytes.Cut(b, []byte("\n"))
	for _, c := range []rune{';', '\t'} {
		if bytes.ContainsRune(head, c) && !bytes.ContainsRune(head, ',') {
			cr.Comma = c
		}
	}
	recs, err := cr.ReadAll()
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %v", filepath.Base(path), err)
	}
	if len(recs) == 0 {
		return nil, nil, fmt.Errorf("%s is empty", filepath.Base(path))
	}
	return recs[0], recs[1:], nil
}

func checkCSV(c scenarioCheck, header []string, recs [][]string) error {
	col := map[string]int{}
	for i, h := range header {
		col[h] = i
	}
	switch c.kind {
	case "rows":
		if want, _ := strconv.Atoi(c.want); len(recs) != want {
			return fmt.Errorf("%s has %d records, want %d", c.name, len(recs), want)
		}
	case "csv":
		n, _ := strconv.Atoi(c.want)
		if n < 1 || n > len(recs) {
			return fmt.Errorf("%s has no record %d (it has %d)", c.name, n, len(recs))
		}
		rec := recs[n-1]
		for _, a := range c.args {
			name, op, want := splitCell(a)
			i, ok := col[name]
			if !ok {
				return fmt.Errorf("%s has no column %s (it has %q)", c.name, name, header)
			}
			if got := rec[i]; op == "=" && got != want || op == "~" && !strings.Contains(got, want) {
				return fmt.Errorf("%s record %d: %s is %q, want %s %q\nrecord: %q", c.name, n, name, got, op, want, rec)
			}
		}
	case "outcomes":
		i, ok := col["outcome"]
		if !ok {
			return fmt.Errorf("%s has no outcome column", c.name)
		}
		got := map[string]int{}
		for _, rec := range recs {
			got[rec[i]]++
		}
		want := map[string]int{}
		for _, a := range c.args {
			name, _, n, _ := splitCount(a)
			want[name] = n
		}
		if !maps.Equal(got, want) {
			return fmt.Errorf("%s outcomes %v, want %v", c.name, got, want)
		}
	}
	return nil
}

// splitCount splits NAME=N, NAME>=N or NAME<=N.
func splitCount(s string) (name, op string, n int, err error) {
	for _, o := range []string{">=", "<=", "="} {
		if name, v, ok := strings.Cut(s, o); ok && name != "" {
			n, err = strconv.Atoi(v)
			if err != nil || n < 0 {
				return "", "", 0, fmt.Errorf("want %s%sN with N a count, got %q", name, o, s)
			}
			return name, o, n, nil
		}
	}
	return "", "", 0, fmt.Errorf("want NAME=N, NAME>=N or NAME<=N, got %q", s)
}

func compare(got int, op string, want int) bool {
	switch op {
	case ">=":
		return got >= want
	case "<=":
		return got <= want
	}
	return got == want
}

// splitCell splits a parsed NAME=VALUE or NAME~VALUE (see scenarioFields).
func splitCell(s string) (name, op, value string) {
	i := strings.IndexAny(s, "=~")
	return s[:i], s[i : i+1], s[i+1:]
}

// scenarioFields splits a line into fields at spaces; a field may end in
// a Go-quoted string (NAME="a b", `raw`), which is unquoted.
func scenarioFields(s string) ([]string, error) {
	var out []string
	for {
		s = strings.TrimLeft(s, " \t")
		if s == "" {
			return out, nil
		}
		i := strings.IndexAny(s, " \t\"`")
		if i < 0 || s[i] == ' ' || s[i] == '\t' {
			if i < 0 {
				i = len(s)
			}
			out = append(out, s[:i])
			s = s[i:]
			continue
		}
		q, err := strconv.QuotedPrefix(s[i:])
		if err != nil {
			return nil, fmt.Errorf("bad quoting in %q", s)
		}
		v, _ := strconv.Unquote(q)
		out = append(out, s[:i]+v)
		s = s[i+len(q):]
		if s != "" && s[0] != ' ' && s[0] != '\t' {
			return nil, fmt.Errorf("text right after a quoted string: %q", s)
		}
	}
}

// parseScenario reads the commands and expectations of a comment, and
// whether it runs on a fake clock.
func parseScenario(comment string) ([]scenarioStep, bool, error) {
	var steps []scenarioStep
	var cmd *scenarioStep // the last bulkpatch command
	haveExit, fake := true, false
	for i, raw := range strings.Split(comment, "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		switch verb {
		case "fakeclock":
			if len(steps) > 0 || fake || rest != "" {
				return nil, false, fmt.Errorf("%d: fakeclock stands alone, once, before everything else", n)
			}
			fake = true
			continue
		case "bulkpatch", "emulator", "cp", "replace":
			if !haveExit {
				return nil, false, fmt.Errorf("%d: the command before has no exit line", n)
			}
			st := scenarioStep{line: n, verb: verb, args: strings.Fields(rest)}
			if verb == "replace" {
				var err error
				if st.args, err = scenarioFields(rest); err != nil {
					return nil, false, fmt.Errorf("%d: %v", n, err)
				}
			}
			switch {
			case verb == "emulator" && len(st.args) == 0:
				return nil, false, fmt.Errorf("%d: emulator needs the name of its seed section", n)
			case verb == "cp" && len(st.args) != 2:
				return nil, false, fmt.Errorf("%d: cp needs two file names", n)
			case verb == "replace" && (len(st.args) != 3 || st.args[1] == ""):
				return nil, false, fmt.Errorf("%d: replace needs a file name, the text to replace (not empty) and its replacement", n)
			}
			steps = append(steps, st)
			cmd = nil
			if verb == "bulkpatch" {
				cmd = &steps[len(steps)-1]
				haveExit = false
			}
			continue
		}
		if cmd == nil {
			return nil, false, fmt.Errorf("%d: %q does not follow a bulkpatch command", n, line)
		}
		neg := strings.HasPrefix(verb, "!")
		c := scenarioCheck{line: n, kind: strings.TrimPrefix(verb, "!"), neg: neg}
		if err := parseCheck(&c, rest); err != nil {
			return nil, false, fmt.Errorf("%d: %v", n, err)
		}
		if c.kind == "exit" {
			if neg {
				return nil, false, fmt.Errorf("%d: !exit means nothing", n)
			}
			cmd.exit, _ = strconv.Atoi(c.want)
			haveExit = true
			continue
		}
		cmd.checks = append(cmd.checks, c)
	}
	if !haveExit {
		return nil, false, fmt.Errorf("the last command has no exit line")
	}
	commands := 0
	for _, st := range steps {
		if st.verb != "bulkpatch" {
			continue
		}
		commands++
		if len(st.checks) == 0 {
			return nil, false, fmt.Errorf("%d: a command without any output check proves little", st.line)
		}
	}
	if commands == 0 {
		return nil, false, fmt.Errorf("1: no bulkpatch command")
	}
	return steps, fake, nil
}

// parseCheck reads the rest of an expectation line into c.
func parseCheck(c *scenarioCheck, rest string) error {
	var err error
	fields := func(min int) ([]string, error) {
		f, err := scenarioFields(rest)
		if err == nil && len(f) < min {
			err = fmt.Errorf("%s wants at least %d arguments", c.kind, min)
		}
		return f, err
	}
	noNeg := func() error {
		if c.neg {
			return fmt.Errorf("!%s means nothing", c.kind)
		}
		return nil
	}
	var f []string
	switch c.kind {
	case "exit":
		if _, err = strconv.Atoi(rest); err != nil {
			return fmt.Errorf("exit wants a number, got %q", rest)
		}
		c.want = rest
	case "stdout", "stderr":
		c.want, err = unquoteAll(rest)
	case "file":
		name, q, _ := strings.Cut(rest, " ")
		c.name = name
		c.want, err = unquoteAll(strings.TrimSpace(q))
	case "nofile":
		c.name = rest
		err = noNeg()
	case "perm":
		c.name, c.want, _ = strings.Cut(rest, " ")
		err = noNeg()
	case "rows", "written":
		if f, err = fields(2); err == nil {
			c.name, c.want = f[0], f[1]
			if _, err = strconv.Atoi(c.want); err != nil {
				err = fmt.Errorf("%s wants a count, got %q", c.kind, c.want)
			}
		}
		if err == nil {
			err = noNeg()
		}
	case "csv":
		if f, err = fields(3); err == nil {
			c.name, c.want, c.args = f[0], f[1], f[2:]
			for _, a := range c.args {
				if i := strings.IndexAny(a, "=~"); i < 1 {
					err = fmt.Errorf("csv wants COLUMN=VALUE or COLUMN~TEXT, got %q", a)
				}
			}
		}
		if err == nil {
			err = noNeg()
		}
	case "outcomes", "sent":
		min := 2
		if c.kind == "sent" {
			min = 1
		}
		if f, err = fields(min); err == nil {
			if c.kind == "outcomes" {
				c.name, f = f[0], f[1:]
			}
			c.args = f
			for _, a := range f {
				name, op, _, e := splitCount(a)
				switch {
				case e != nil:
					err = e
				case c.kind == "outcomes" && op != "=":
					err = fmt.Errorf("outcomes wants exact counts, got %q", a)
				case c.kind == "sent" && sentCounts[name] == nil:
					err = fmt.Errorf("sent knows no %q (requests, reads, writes, batches, throttled, early, applied)", name)
				}
			}
		}
		if err == nil {
			err = noNeg()
		}
	case "state":
		// state KEY PROPERTY JSON: the JSON is the rest of the line.
		parts := strings.SplitN(rest, " ", 3)
		if len(parts) != 3 {
			return fmt.Errorf("state wants an object, a property and a JSON value")
		}
		c.name, c.want, c.args = parts[0], parts[1], []string{strings.TrimSpace(parts[2])}
		if !json.Valid([]byte(c.args[0])) {
			err = fmt.Errorf("state: %s is not JSON", c.args[0])
		}
		if err == nil {
			err = noNeg()
		}
	default:
		return fmt.Errorf("unknown verb %q", c.kind)
	}
	if err == nil && (c.kind == "written" || c.kind == "state") {
		if _, _, e := scenarioObject(c.name); e != nil {
			err = fmt.Errorf("%s: %v", c.kind, e)
		}
	}
	return err
}

// unquoteAll unquotes exactly one Go string literal.
func unquoteAll(s string) (string, error) {
	q, err := strconv.QuotedPrefix(s)
	if err != nil {
		return "", fmt.Errorf("want a Go-quoted string, got %s", s)
	}
	if strings.TrimSpace(s[len(q):]) != "" {
		return "", fmt.Errorf("text after the quoted string: %s", s)
	}
	return strconv.Unquote(q)
}

// unquoteSection decodes a NAME.q section: one Go string literal per
// line, each optionally followed by "* N".
func unquoteSection(data []byte) ([]byte, error) {
	var out []byte
	for i, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line == "" {
			continue
		}
		q, err := strconv.QuotedPrefix(line)
		if err != nil {
			return nil, fmt.Errorf("line %d: want a Go-quoted string", i+1)
		}
		s, _ := strconv.Unquote(q)
		times := 1
		if rest := strings.TrimSpace(line[len(q):]); rest != "" {
			nstr, ok := strings.CutPrefix(rest, "*")
			if times, err = strconv.Atoi(strings.TrimSpace(nstr)); !ok || err != nil || times < 0 {
				return nil, fmt.Errorf("line %d: want \"* N\" after the string, got %q", i+1, rest)
			}
		}
		out = append(out, strings.Repeat(s, times)...)
	}
	return out, nil
}

// TestParseScenario covers the scenario language's mistakes, each of
// which must be an error naming the line rather than a scenario that
// checks less than it says.
func TestParseScenario(t *testing.T) {
	const ok = "bulkpatch validate $WORK/in.csv\nexit 0\nstdout \"ok\"\n"
	tests := []struct {
		name, comment string
		wantErr       string // "" for none
		wantFake      bool
	}{
		{"plain", ok, "", false},
		{"fake clock", "fakeclock\n" + ok, "", true},
		{"fake clock late", ok + "fakeclock\n", "fakeclock stands alone", false},
		{"emulator and cp", "emulator seed.json --write-limit 5 --window 1s\ncp a.csv b.csv\n" + ok, "", false},
		{"check first", "stdout \"x\"\n" + ok, "does not follow a bulkpatch command", false},
		{"check after emulator", "emulator seed.json\nsent requests=0\n" + ok, "does not follow a bulkpatch command", false},
		{"no exit", "bulkpatch validate x\nstdout \"x\"\n", "no exit line", false},
		{"no exit before next", "bulkpatch validate x\nstdout \"x\"\n" + ok, "no exit line", false},
		{"no check", "bulkpatch validate x\nexit 0\n", "proves little", false},
		{"no command", "emulator seed.json\n", "no bulkpatch command", false},
		{"emulator without seed", "emulator\n" + ok, "seed section", false},
		{"cp one file", "cp a.csv\n" + ok, "two file names", false},
		{"unknown verb", ok + "stdrr \"x\"\n", "unknown verb", false},
		{"unknown count", ok + "sent posts=1\n", `no "posts"`, false},
		{"bad count", ok + "sent writes=many\n", "want writes=N", false},
		{"outcomes at least", ok + "outcomes r.csv applied>=1\n", "exact counts", false},
		{"csv without a cell", ok + "csv r.csv 1 outcome\n", "COLUMN=VALUE", false},
		{"csv bad quote", ok + "csv r.csv 1 outcome=\"x\n", "quoting", false},
		{"state not JSON", ok + "state app/s installState installed\n", "not JSON", false},
		{"state bad key", ok + "state s installState \"installed\"\n", "app/status", false},
		{"written not a count", ok + "written app/s once\n", "wants a count", false},
		{"state of a profile", ok + "state managedDevice:md-1 ownerType \"company\"\nwritten deviceCategory:dc-1 1\n", "", false},
		{"state of no resource", ok + "state printer:p-1 name \"x\"\n", `no resource "printer"`, false},
		{"state without id", ok + "written managedDevice: 1\n", "key values", false},
		{"state with too many keys", ok + "state managedDevice:a/b notes null\n", "key values", false},
		{"replace", "replace out.csv \",company\" `,personal`\n" + ok, "", false},
		{"replace two words", "replace out.csv company\n" + ok, "replace needs", false},
		{"replace nothing", "replace out.csv \"\" x\n" + ok, "replace needs", false},
		{"replace bad quote", "replace out.csv \"x y\n" + ok, "quoting", false},
		{"negated count", ok + "!sent writes=0\n", "!sent means nothing", false},
	}
	for _, tt := range tests {
		steps, fake, err := parseScenario(tt.comment)
		switch {
		case tt.wantErr == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
			t.Errorf("%s: error %v, want one saying %q", tt.name, err, tt.wantErr)
		case err == nil && (fake != tt.wantFake || len(steps) == 0):
			t.Errorf("%s: fake %v with %d steps, want fake %v", tt.name, fake, len(steps), tt.wantFake)
		}
	}
}

func TestScenarioFields(t *testing.T) {
	tests := []struct {
		in   string
		want []string
	}{
		{"r.csv 2 a=b", []string{"r.csv", "2", "a=b"}},
		{` r.csv  2	a="x y" b=` + "`z \"q\"`" + ` c~"\t"`, []string{"r.csv", "2", "a=x y", `b=z "q"`, "c~\t"}},
		{`a= b=""`, []string{"a=", "b="}},
	}
	for _, tt := range tests {
		got, err := scenarioFields(tt.in)
		if err != nil || !reflect.DeepEqual(got, tt.want) {
			t.Errorf("scenarioFields(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
	for _, bad := range []string{`a="x`, `a="x"y`} {
		if got, err := scenarioFields(bad); err == nil {
			t.Errorf("scenarioFields(%q) = %q, want an error", bad, got)
		}
	}
}

// TestReplaceOnce: a replace line edits exactly one occurrence, and
// refuses a text that is missing or ambiguous instead of editing less or
// more than the scenario says.
func TestReplaceOnce(t *testing.T) {
	p := filepath.Join(t.TempDir(), "out.csv")
	if err := os.WriteFile(p, []byte("id,ownerType\nmd-1,company\nmd-2,company\nmd-3,personal\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := replaceOnce(p, "md-3,personal", "md-3,company"); err != nil {
		t.Fatal(err)
	}
	for _, old := range []string{"unknown", "company"} {
		if err := replaceOnce(p, old, "x"); err == nil {
			t.Errorf("replaceOnce(%q) = nil, want an error: the file does not hold it exactly once", old)
		}
	}
	b, _ := os.ReadFile(p)
	if want := "id,ownerType\nmd-1,company\nmd-2,company\nmd-3,company\n"; string(b) != want {
		t.Errorf("after replaceOnce the file holds %q, want %q", b, want)
	}
}
