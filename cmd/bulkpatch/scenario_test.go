package main

// Whole-CLI scenarios, in the style of golang.org/x/tools/cmd/deadcode:
// each testdata/scenarios/*.txtar file holds input files and, in its
// comment, the commands to run and what each must print and exit with.
//
// The comment is read line by line:
//
//	# a remark                      ignored
//	bulkpatch validate $WORK/in.csv  runs a command; $WORK is the scenario's directory
//	exit 3                          the command's exit code (required)
//	stderr "line 3, column x"       stderr contains the Go-quoted text (also `raw`)
//	!stderr "..."                   stderr does not contain it
//	stdout "..." / !stdout "..."    the same for stdout
//	file out.json "..."             the file $WORK/out.json contains the text
//	nofile out.json                 the file does not exist
//	perm out.json 0600              the file's permission bits
//
// Expectations after a command apply to it. A file section named
// NAME.q holds Go-quoted strings, one per line, each optionally followed
// by "* N" to repeat it; their concatenation becomes NAME. That is how
// scenarios hold a BOM, CRLF line ends, invalid UTF-8, UTF-16 or a cell
// bigger than any sane file in the repository.
//
// Expected outputs are written from the CLI contract; there is no
// -update flag on purpose.

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// scenarioStep is one command of a scenario and what it must do.
type scenarioStep struct {
	line   int // in the .txtar file, for messages
	args   []string
	exit   int
	checks []scenarioCheck
}

type scenarioCheck struct {
	line int
	kind string // stdout, stderr, file, nofile, perm
	neg  bool
	name string // file name, for file, nofile and perm
	want string
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
			steps, err := parseScenario(string(ar.Comment))
			if err != nil {
				t.Fatalf("%s:%v", file, err)
			}
			dir := t.TempDir()
			for _, f := range ar.Files {
				name, data := f.Name, f.Data
				if strings.HasSuffix(name, ".q") {
					name = strings.TrimSuffix(name, ".q")
					if data, err = unquoteSection(data); err != nil {
						t.Fatalf("%s: section %s: %v", file, f.Name, err)
					}
				}
				p := filepath.Join(dir, filepath.FromSlash(name))
				if err := os.MkdirAll(filepath.Dir(p), 0o700); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(p, data, 0o600); err != nil {
					t.Fatal(err)
				}
			}
			for _, st := range steps {
				runStep(t, file, dir, st)
			}
		})
	}
}

func runStep(t *testing.T, file, dir string, st scenarioStep) {
	t.Helper()
	expand := func(s string) string { return strings.ReplaceAll(s, "$WORK", dir) }
	args := make([]string, len(st.args))
	for i, a := range st.args {
		args[i] = expand(a)
	}
	r := cli(t, t.Context(), map[string]string{}, args...)
	show := func() string {
		return fmt.Sprintf("\n--- stdout:\n%s--- stderr:\n%s", r.stdout, r.stderr)
	}
	where := fmt.Sprintf("%s:%d: bulkpatch %s", file, st.line, strings.Join(st.args, " "))
	if r.code != st.exit {
		t.Errorf("%s: exit %d, want %d%s", where, r.code, st.exit, show())
	}
	for _, c := range st.checks {
		want := expand(c.want)
		switch c.kind {
		case "stdout", "stderr":
			out := r.stdout
			if c.kind == "stderr" {
				out = r.stderr
			}
			if got := strings.Contains(out, want); got == c.neg {
				verb := "lacks"
				if c.neg {
					verb = "has"
				}
				t.Errorf("%s:%d: %s %s %q%s", file, c.line, c.kind, verb, want, show())
			}
		case "file":
			b, err := os.ReadFile(filepath.Join(dir, c.name))
			if err != nil {
				t.Errorf("%s:%d: %v", file, c.line, err)
			} else if strings.Contains(string(b), want) == c.neg {
				t.Errorf("%s:%d: %s: contains %q is %v, want %v\n%s", file, c.line, c.name, want, c.neg, !c.neg, b)
			}
		case "nofile":
			if _, err := os.Stat(filepath.Join(dir, c.name)); !os.IsNotExist(err) {
				t.Errorf("%s:%d: %s exists (or cannot be checked: %v)", file, c.line, c.name, err)
			}
		case "perm":
			fi, err := os.Stat(filepath.Join(dir, c.name))
			if err != nil {
				t.Errorf("%s:%d: %v", file, c.line, err)
			} else if got := fmt.Sprintf("%04o", fi.Mode().Perm()); got != want {
				t.Errorf("%s:%d: %s has mode %s, want %s", file, c.line, c.name, got, want)
			}
		}
	}
}

// parseScenario reads the commands and expectations of a comment.
func parseScenario(comment string) ([]scenarioStep, error) {
	var steps []scenarioStep
	haveExit := false
	for i, raw := range strings.Split(comment, "\n") {
		n := i + 1
		line := strings.TrimSpace(raw)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		verb, rest, _ := strings.Cut(line, " ")
		rest = strings.TrimSpace(rest)
		if verb == "bulkpatch" {
			if len(steps) > 0 && !haveExit {
				return nil, fmt.Errorf("%d: the command before has no exit line", n)
			}
			steps = append(steps, scenarioStep{line: n, args: strings.Fields(rest)})
			haveExit = false
			continue
		}
		if len(steps) == 0 {
			return nil, fmt.Errorf("%d: %q before any bulkpatch command", n, line)
		}
		st := &steps[len(steps)-1]
		neg := strings.HasPrefix(verb, "!")
		kind := strings.TrimPrefix(verb, "!")
		c := scenarioCheck{line: n, kind: kind, neg: neg}
		var err error
		switch kind {
		case "exit":
			st.exit, err = strconv.Atoi(rest)
			haveExit = true
			continue
		case "stdout", "stderr":
			c.want, err = unquoteAll(rest)
		case "file":
			name, q, _ := strings.Cut(rest, " ")
			c.name = name
			c.want, err = unquoteAll(strings.TrimSpace(q))
		case "nofile":
			c.name = rest
		case "perm":
			c.name, c.want, _ = strings.Cut(rest, " ")
		default:
			err = fmt.Errorf("unknown verb %q", verb)
		}
		if err != nil {
			return nil, fmt.Errorf("%d: %v", n, err)
		}
		st.checks = append(st.checks, c)
	}
	if len(steps) == 0 {
		return nil, fmt.Errorf("1: no bulkpatch command")
	}
	if !haveExit {
		return nil, fmt.Errorf("the last command has no exit line")
	}
	for _, st := range steps {
		if len(st.checks) == 0 {
			return nil, fmt.Errorf("%d: a command without any output check proves little", st.line)
		}
	}
	return steps, nil
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
