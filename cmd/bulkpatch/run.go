package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"

	"golang.org/x/term"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
)

// Exit codes, as documented in README.md and the CLI contract. They are
// decided here and nowhere else.
const (
	exitOK          = 0
	exitRowsFailed  = 1
	exitUsage       = 2
	exitInvalid     = 3
	exitAuth        = 4
	exitUnavailable = 5
	exitTimeUp      = 6
	exitChanges     = 8
	exitInterrupted = 130
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

// env is everything a command touches outside its arguments, so tests can
// run the whole CLI in-process.
type env struct {
	stdin          io.Reader
	stdout, stderr io.Writer
	getenv         func(string) string
	// stdinTTY and stderrTTY say whether a person is there: prompts need
	// stdin, progress bars need stderr.
	stdinTTY, stderrTTY bool
	// authTransport, when set, sends the sign-in requests of the
	// azidentity-based kinds; tests use it to trust a fake token server.
	// nil (always, in production): azcore's default client.
	authTransport *http.Client
}

const usage = `bulkpatch: reconcile Intune app install statuses in Microsoft Graph with a CSV file

Usage:
  bulkpatch validate FILE.csv
  bulkpatch plan     FILE.csv [--reconcile] [--out PLAN.json] [--detailed-exitcode]
  bulkpatch apply    FILE.csv [--reconcile] [--results RESULTS.csv] [--resume] [--yes]
  bulkpatch apply    --plan PLAN.json [--results RESULTS.csv] [--resume]
  bulkpatch export   --app APP_ID [--user-status ID] [--out FILE.csv] [--excel]
  bulkpatch emulator [--listen 127.0.0.1:8089] [--seed STATE.json] [limits and faults]
  bulkpatch demo
  bulkpatch version

Run "bulkpatch COMMAND -h" for a command's flags. Exit codes: 0 ok, 1 some rows
failed, 2 usage, 3 invalid input, 4 auth, 5 endpoint unavailable, 6 --max-duration,
8 changes pending (plan --detailed-exitcode), 130 interrupted.
`

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv,
		stdinTTY: isTerminal(stdin), stderrTTY: isTerminal(stderr)}
	return e.run(ctx, args)
}

func (e *env) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "validate":
		return e.validate(ctx, rest)
	case "plan":
		return e.plan(ctx, rest)
	case "apply":
		return e.apply(ctx, rest)
	case "export":
		return e.export(ctx, rest)
	case "emulator":
		return e.emulator(ctx, rest)
	case "demo":
		return e.demo(ctx, rest)
	case "version", "--version":
		fmt.Fprintf(e.stdout, "bulkpatch %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	fmt.Fprintf(e.stderr, "bulkpatch: unknown command %q\n\n%s", cmd, usage)
	return exitUsage
}

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// parseFlags parses flags that may come before or after positional
// arguments ("plan FILE.csv --reconcile" as well as "plan --reconcile
// FILE.csv"), as the contract's examples are written.
func parseFlags(fs *flag.FlagSet, args []string) ([]string, error) {
	var positional []string
	for {
		if err := fs.Parse(args); err != nil {
			return nil, err
		}
		args = fs.Args()
		if len(args) == 0 {
			return positional, nil
		}
		if args[0] == "--" {
			return append(positional, args[1:]...), nil
		}
		positional = append(positional, args[0])
		args = args[1:]
	}
}

// newFlagSet returns a flag set whose errors go to stderr and do not exit.
func (e *env) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("bulkpatch "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses args into fs, wanting exactly nPos positional arguments
// (-1: any). It returns an exit code to stop with, or -1 to go on.
func (e *env) parse(fs *flag.FlagSet, args []string, nPos int) ([]string, int) {
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		return nil, exitOK
	}
	if err != nil {
		return nil, exitUsage
	}
	if nPos >= 0 && len(pos) != nPos {
		e.usageErr(fs.Name(), "want %d argument(s), got %d: %s", nPos, len(pos), strings.Join(pos, " "))
		return nil, exitUsage
	}
	return pos, -1
}

func (e *env) usageErr(cmd, format string, a ...any) {
	fmt.Fprintf(e.stderr, "%s: %s\n", cmd, fmt.Sprintf(format, a...))
}

func (e *env) errorf(format string, a ...any) {
	fmt.Fprintf(e.stderr, "bulkpatch: %s\n", fmt.Sprintf(format, a...))
}

// parseRun parses a command that reads an input CSV and may talk to Graph
// (plan, apply), and checks its input and pace flags. It returns an exit
// code to stop with, or -1 to go on.
func (e *env) parseRun(fs *flag.FlagSet, args []string, nPos int, inf *inputFlags, pace *paceFlags) ([]string, csvio.ReaderOptions, int) {
	pos, code := e.parse(fs, args, nPos)
	if code >= 0 {
		return nil, csvio.ReaderOptions{}, code
	}
	opt, err := inf.options()
	if err == nil {
		err = pace.check()
	}
	if err != nil {
		e.usageErr(fs.Name(), "%v", err)
		return nil, opt, exitUsage
	}
	return pos, opt, -1
}
