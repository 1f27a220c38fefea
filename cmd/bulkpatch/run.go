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
	"unicode/utf8"

	"golang.org/x/term"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/export"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// Exit codes, as documented in README.md and the CLI contract. exitCode
// decides them, here and nowhere else.
const (
	exitOK          = 0
	exitRowsFailed  = 1
	exitUsage       = 2
	exitInvalid     = 3
	exitAuth        = 4
	exitUnavailable = 5
	exitTimeUp      = 6
	exitJournal     = 7
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
	// graphHTTP, when set, sends the requests to Graph; tests use it to
	// reach an emulator in-process. nil (always, in production): the
	// graph package's own client.
	graphHTTP *http.Client
}

const usage = `bulkpatch: reconcile Intune app install statuses in Microsoft Graph with a CSV file

Usage:
  bulkpatch validate FILE.csv
  bulkpatch plan     FILE.csv [--reconcile] [--out PLAN.json] [--detailed-exitcode]
  bulkpatch apply    FILE.csv [--reconcile] [--results RESULTS.csv] [--resume | --fresh] [--yes]
  bulkpatch apply    --plan PLAN.json [--results RESULTS.csv] [--resume | --fresh]
  bulkpatch export   --app APP_ID [--user-status ID] [--out FILE.csv] [--excel]
  bulkpatch emulator [--listen 127.0.0.1:8089] [--seed STATE.json] [limits and faults]
  bulkpatch demo
  bulkpatch version

Run "bulkpatch COMMAND -h" for a command's flags. Exit codes: 0 ok, 1 some rows
failed, 2 usage, 3 invalid input, 4 auth, 5 Graph unreachable or unavailable,
6 --max-duration, 7 journal not writable, 8 changes pending (plan
--detailed-exitcode), 130 interrupted.
`

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv,
		stdinTTY: isTerminal(stdin), stderrTTY: isTerminal(stderr)}
	return e.run(ctx, args)
}

// command returns the function of the command name, or nil.
func (e *env) command(name string) func(context.Context, []string) error {
	switch name {
	case "validate":
		return e.validate
	case "plan":
		return e.plan
	case "apply":
		return e.apply
	case "export":
		return e.export
	case "emulator":
		return e.emulator
	case "demo":
		return e.demo
	}
	return nil
}

func (e *env) run(ctx context.Context, args []string) int {
	if len(args) == 0 {
		fmt.Fprint(e.stderr, usage)
		return exitUsage
	}
	cmd, rest := args[0], args[1:]
	switch cmd {
	case "version", "--version":
		fmt.Fprintf(e.stdout, "bulkpatch %s\n", version)
		return exitOK
	case "help", "-h", "--help":
		fmt.Fprint(e.stdout, usage)
		return exitOK
	}
	f := e.command(cmd)
	if f == nil {
		fmt.Fprintf(e.stderr, "bulkpatch: unknown command %q\n\n%s", cmd, usage)
		return exitUsage
	}
	err := f(ctx, rest)
	e.report(err)
	return exitCode(err)
}

// report prints a command's error once, unless it was reported already.
func (e *env) report(err error) {
	var r reported
	switch {
	case err == nil, errors.As(err, &r), errors.Is(err, flag.ErrHelp), errors.Is(err, errChangesPending):
	default:
		fmt.Fprintf(e.stderr, "bulkpatch: %v\n", err)
	}
}

// exitCode is the one table from a command's error to its exit code.
func exitCode(err error) int {
	var (
		ue *usageError
		se *apply.StopError
		fe *input.FileError
		ie *input.InvalidError
		ae *authError
	)
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return exitOK
	case errors.Is(err, errChangesPending):
		return exitChanges
	case errors.As(err, &se):
		return stopCode(se.Reason)
	case errors.As(err, &ue), errors.As(err, new(*input.ChangedError)), errors.As(err, new(*input.StalePlanError)),
		errors.As(err, new(*journal.LockedError)), errors.As(err, new(*journal.MismatchError)),
		errors.As(err, new(*journal.CorruptError)), errors.As(err, new(*journal.RowMismatchError)), errors.As(err, new(*safefile.TargetError)):
		return exitUsage
	case errors.As(err, &fe):
		if fe.Missing() {
			return exitUsage
		}
		return exitInvalid
	case errors.As(err, &ie), errors.As(err, new(*export.NotFoundError)):
		return exitInvalid
	case errors.As(err, &ae):
		return exitAuth
	case errors.Is(err, context.Canceled):
		return exitInterrupted
	}
	return exitRowsFailed // report.ErrRowsFailed, and anything that went wrong after rows were sent
}

// stopCode is the exit code of a run that stopped early. A stop is never
// a success, whatever its reason.
func stopCode(r apply.StopReason) int {
	switch r {
	case apply.Interrupted:
		return exitInterrupted
	case apply.TimeUp:
		return exitTimeUp
	case apply.AuthFailed, apply.ApprovalRequired:
		return exitAuth
	case apply.Systemic:
		return exitUnavailable
	case apply.JournalFailed:
		return exitJournal
	}
	return exitRowsFailed
}

// usageError is a mistake in the command line: exit 2, nothing was sent.
type usageError struct {
	cmd string
	err error
}

func (e *usageError) Error() string { return e.cmd + ": " + e.err.Error() }
func (e *usageError) Unwrap() error { return e.err }

func usagef(cmd, format string, a ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, a...)}
}

// authError is a sign-in that was tried and failed: exit 4.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// reported wraps an error the command has already told the user about.
type reported struct{ error }

func (r reported) Unwrap() error { return r.error }

// errChangesPending is plan --detailed-exitcode's "there is work to do".
var errChangesPending = errors.New("changes are pending")

func isTerminal(f any) bool {
	file, ok := f.(*os.File)
	return ok && term.IsTerminal(int(file.Fd()))
}

// newFlagSet returns a flag set whose errors go to stderr and do not exit.
func (e *env) newFlagSet(name string) *flag.FlagSet {
	fs := flag.NewFlagSet("bulkpatch "+name, flag.ContinueOnError)
	fs.SetOutput(e.stderr)
	return fs
}

// parse parses args into fs, wanting exactly nPos positional arguments
// (-1: any). Flags may come before or after the arguments ("plan
// FILE.csv --reconcile" as well as "plan --reconcile FILE.csv"), as the
// contract's examples are written. -h returns flag.ErrHelp.
func parse(fs *flag.FlagSet, args []string, nPos int) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, reported{&usageError{cmd: fs.Name(), err: err}} // the flag package printed it
		}
		args = fs.Args()
		if len(args) == 0 {
			break
		}
		if args[0] == "--" {
			pos = append(pos, args[1:]...)
			break
		}
		pos = append(pos, args[0])
		args = args[1:]
	}
	if nPos >= 0 && len(pos) != nPos {
		return nil, usagef(fs.Name(), "want %d argument(s), got %d: %s", nPos, len(pos), strings.Join(pos, " "))
	}
	return pos, nil
}

// hasFlag reports whether args set the flag name (as -name, --name,
// -name=... or --name=...).
func hasFlag(args []string, name string) bool {
	for _, a := range args {
		a = strings.TrimLeft(a, "-")
		if a == name || strings.HasPrefix(a, name+"=") {
			return true
		}
	}
	return false
}

// truncate shortens s for messages, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + "…"
}
