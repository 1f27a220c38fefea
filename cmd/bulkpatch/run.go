package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/clihelp"
	"github.com/bulkpatch/bulkpatch/internal/export"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/journal"
	"github.com/bulkpatch/bulkpatch/internal/report"
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
	// quiet (--quiet): nothing on stdout or stderr when all is well;
	// problems and the summary of a failure still print.
	quiet bool
	// barOut is where the progress bar is drawn: the same
	// *report.Console as stderr, whose status line it is. Set by run.
	barOut io.Writer
	// interrupting is what main says at the first interrupt, when the
	// running command has something to say before it stops (apply: the
	// requests on the wire still finish); nil: the command says it. Set
	// by newEnv, shared with the demo's child envs.
	interrupting *atomic.Pointer[string]
}

// setInterrupting sets what main says at the first interrupt.
func (e *env) setInterrupting(note string) {
	if e.interrupting != nil {
		e.interrupting.Store(&note)
	}
}

// run is the whole program; main only wires the process to it.
func run(ctx context.Context, args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	return newEnv(stdin, stdout, stderr).run(ctx, args)
}

// newEnv returns the environment of a process with these streams, its
// outputs guarded: what main itself prints (that it was interrupted) goes
// through e.stderr too, above the progress bar.
func newEnv(stdin io.Reader, stdout, stderr io.Writer) *env {
	e := &env{stdin: stdin, stdout: stdout, stderr: stderr, getenv: os.Getenv,
		stdinTTY: report.IsTerminal(stdin), stderrTTY: report.IsTerminal(stderr),
		interrupting: new(atomic.Pointer[string])}
	e.guardOutputs()
	return e
}

func (e *env) run(ctx context.Context, args []string) int {
	e.guardOutputs()
	root := e.newRoot()
	if args == nil {
		args = []string{} // nil would make cobra read os.Args
	}
	if len(args) > 0 && (args[0] == cobra.ShellCompRequestCmd || args[0] == cobra.ShellCompNoDescRequestCmd) {
		// Only for a shell asking: cobra keeps what is registered in a
		// map of its own for the life of the process.
		completions.Register(root)
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	e.report(err)
	return exitCode(err)
}

// newRoot returns the command tree. Every command's RunE returns an
// error, mapped to the exit code by exitCode; cobra's own errors (an
// unknown command or flag, a wrong number of arguments) are usage errors.
func (e *env) newRoot() *cobra.Command {
	root := &cobra.Command{
		Use:           "bulkpatch",
		Version:       version,
		SilenceUsage:  true,
		SilenceErrors: true,
		RunE: func(c *cobra.Command, args []string) error {
			c.SetOut(e.stderr)
			c.Usage()
			return reported{usagef("bulkpatch", "a command is needed")}
		},
	}
	root.PersistentFlags().BoolVarP(&e.quiet, "quiet", "q", false, "print nothing when all is well (cron); problems and a failed run's summary still print")
	root.SetIn(e.stdin)
	root.SetOut(e.stdout)
	root.SetErr(e.stderr)
	root.SetVersionTemplate("bulkpatch {{.Version}}\n")
	root.SetFlagErrorFunc(func(c *cobra.Command, err error) error {
		return &usageError{cmd: c.CommandPath(), err: err, help: true}
	})
	// cobra's own completion command would say nothing of our help; ours
	// is the same generators with a help file.
	root.CompletionOptions.DisableDefaultCmd = true
	root.AddCommand(e.validateCmd(), e.planCmd(), e.applyCmd(), e.exportCmd(), e.reportCmd(), e.resourcesCmd(),
		e.emulatorCmd(), e.demoCmd(), e.completionCmd(), e.versionCmd(), exitCodesTopic())
	root.InitDefaultVersionFlag() // now, to say what it prints
	root.Flags().Lookup("version").Usage = "print the version, commit and build date (as bulkpatch version)"
	root.SetHelpCommand(clihelp.Command(func(c *cobra.Command, err error) error {
		return &usageError{cmd: c.CommandPath(), err: err} // help of an unknown command: exit 2
	}))
	root.InitDefaultHelpCmd() // adds it now, not when run, so that it is described like the others
	describe(root, "bulkpatch")
	for _, c := range root.Commands() {
		c.SilenceUsage, c.SilenceErrors = true, true
		describe(c, c.Name())
	}
	helpLayout.Install(root)
	return root
}

// exitCodesTopic is "bulkpatch help exit-codes": a help topic, not a
// command (it has no Run).
func exitCodesTopic() *cobra.Command {
	return &cobra.Command{Use: "exit-codes"}
}

// args accepts exactly n positional arguments, named what in the message
// when there are not.
func args(n int, what string) cobra.PositionalArgs {
	return func(c *cobra.Command, args []string) error {
		switch {
		case len(args) == n:
			return nil
		case len(args) == 0:
			return &usageError{cmd: c.CommandPath(), err: fmt.Errorf("want %s", what), help: true}
		}
		return &usageError{cmd: c.CommandPath(), help: true,
			err: fmt.Errorf("want %s, got %d: %s", what, len(args), strings.Join(args, " "))}
	}
}

// report prints a command's error once, unless it was reported already.
func (e *env) report(err error) {
	var r reported
	switch {
	case err == nil, errors.As(err, &r), errors.Is(err, errChangesPending):
	default:
		fmt.Fprintf(e.stderr, "bulkpatch: %v\n", err)
	}
	if ue := (*usageError)(nil); errors.As(err, &ue) && ue.help {
		fmt.Fprintf(e.stderr, "Run '%s --help' for usage.\n", ue.cmd)
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
	case err == nil:
		return exitOK
	case errors.Is(err, errChangesPending):
		return exitChanges
	case errors.As(err, &se):
		return stopCode(se.Reason)
	case errors.As(err, &ue), errors.As(err, new(*input.ChangedError)), errors.As(err, new(*input.StalePlanError)),
		errors.As(err, new(*journal.LockedError)), errors.As(err, new(*journal.MismatchError)),
		errors.As(err, new(*journal.CorruptError)), errors.As(err, new(*journal.RowMismatchError)), errors.As(err, new(*safefile.TargetError)),
		errors.As(err, new(*export.FilterError)):
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
	case errors.Is(err, report.ErrRowsFailed):
		return exitRowsFailed
	case !errors.As(err, new(ranError)):
		return exitUsage // cobra refused the command line before any command ran
	}
	return exitRowsFailed // anything that went wrong after rows were sent
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
	// help: the command line itself is wrong (a flag, an argument), so
	// the message ends by pointing at the command's help.
	help bool
}

// Error names the command without the program ("apply: …"): report
// prints it after "bulkpatch: ".
func (e *usageError) Error() string {
	if cmd := strings.TrimPrefix(e.cmd, "bulkpatch"); cmd != "" {
		return strings.TrimPrefix(cmd, " ") + ": " + e.err.Error()
	}
	return e.err.Error()
}
func (e *usageError) Unwrap() error { return e.err }

func usagef(cmd, format string, a ...any) error {
	return &usageError{cmd: cmd, err: fmt.Errorf(format, a...)}
}

// authError is a sign-in that was tried and failed: exit 4.
type authError struct{ err error }

func (e *authError) Error() string { return e.err.Error() }
func (e *authError) Unwrap() error { return e.err }

// ranError marks an error a command returned, as against one cobra
// returned before running any (an unknown command, a stray argument).
type ranError struct{ error }

func (r ranError) Unwrap() error { return r.error }

// runE adapts a command's function to cobra, marking its errors.
func runE(f func(ctx context.Context, args []string) error) func(*cobra.Command, []string) error {
	return func(c *cobra.Command, args []string) error {
		if err := f(c.Context(), args); err != nil {
			return ranError{err}
		}
		return nil
	}
}

// reported wraps an error the command has already told the user about.
type reported struct{ error }

func (r reported) Unwrap() error { return r.error }

// errChangesPending is plan --detailed-exitcode's "there is work to do".
var errChangesPending = errors.New("changes are pending")

// guardOutputs makes stdout and stderr safe (report.GuardOutputs); the
// progress bar is drawn on stderr's Console.
func (e *env) guardOutputs() {
	var con *report.Console
	e.stdout, con = report.GuardOutputs(e.stdout, e.stderr, e.stderrTTY)
	e.stderr, e.barOut = con, con
}
