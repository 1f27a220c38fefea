package demo

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var codes = ExitCodes{OK: 0, RowsFailed: 1, Invalid: 3}

func TestPrepare(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "new")
	got, err := Prepare(dir)
	if err != nil || got != dir {
		t.Fatalf("Prepare(%q) = %q, %v", dir, got, err)
	}
	for _, act := range Script(dir, codes) {
		files := []string{act.Seed}
		for _, s := range act.Steps {
			for _, a := range s.Args {
				if strings.HasPrefix(a, dir) {
					files = append(files, a)
				}
			}
		}
		for _, f := range files {
			if _, err := os.Stat(f); err != nil {
				t.Errorf("%s: %v", act.Title, err)
			}
		}
	}
}

// TestPlay plays each act with a runner that answers each step's first
// expected code, and checks the story told and what the commands saw.
func TestPlay(t *testing.T) {
	dir, err := Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	for _, act := range Script(dir, codes) {
		var out bytes.Buffer
		step := 0
		err := act.Play(context.Background(), &out, func(_ context.Context, vars map[string]string, args []string) int {
			if !strings.HasPrefix(vars["BULKPATCH_GRAPH_URL"], "http://127.0.0.1:") || vars["BULKPATCH_AUTH"] != "token" || vars["BULKPATCH_TOKEN"] == "" {
				t.Errorf("%s: vars %v", act.Title, vars)
			}
			s := act.Steps[step]
			step++
			if strings.Join(args, " ") != strings.Join(s.Args, " ") {
				t.Errorf("%s: ran %q, want %q", act.Title, args, s.Args)
			}
			return s.Want[0]
		})
		if err != nil {
			t.Fatalf("%s: %v", act.Title, err)
		}
		if step != len(act.Steps) {
			t.Errorf("%s: ran %d steps of %d", act.Title, step, len(act.Steps))
		}
		got := out.String()
		for _, want := range []string{"\n##### " + act.Title + "\n", "\n=== 1. bulkpatch ", "    -> exit ", "\nThe emulator answered 0 requests; 0 writes were throttled"} {
			if !strings.Contains(got, want) {
				t.Errorf("%s: the story lacks %q:\n%s", act.Title, want, got)
			}
		}
	}
}

func TestPlayStopsAtUnexpectedCode(t *testing.T) {
	dir, err := Prepare(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	act := Script(dir, codes)[0]
	runs := 0
	err = act.Play(context.Background(), new(bytes.Buffer), func(context.Context, map[string]string, []string) int {
		runs++
		return 42
	})
	var se *StepError
	if !errors.As(err, &se) || se.Step != 1 || se.Code != 42 || runs != 1 {
		t.Fatalf("Play: %v after %d runs, want a *StepError at step 1", err, runs)
	}
	if want := act.Title + ", step 1 exited 42, expected [3]"; err.Error() != want {
		t.Errorf("Error() = %q, want %q", err.Error(), want)
	}
}
