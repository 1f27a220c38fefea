package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os/exec"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

const (
	// commandTimeout bounds one run of the token command.
	commandTimeout = 60 * time.Second
	// maxStderrLine bounds the piece of the command's stderr that goes
	// into an error message.
	maxStderrLine = 200
)

// commandFetcher runs the user's token command through the shell and reads
// a token from its stdout.
type commandFetcher struct {
	command string
	timeout time.Duration
	loc     *time.Location // zone of Azure CLI's zone-less expiresOn
}

// fetch runs the command. force changes nothing: every run is expected to
// print the command's best current token. Errors carry the exit status and
// the first line of stderr, never stdout (the token) nor the command line
// (which may hold a secret).
func (c *commandFetcher) fetch(parent context.Context, _ bool) (token, error) {
	ctx, cancel := context.WithTimeout(parent, c.timeout)
	defer cancel()
	cmd := shellCommand(ctx, c.command)
	stdout := &cappedBuffer{max: maxCommandOutput}
	stderr := &cappedBuffer{max: 4096}
	cmd.Stdin = nil // the command must not eat our stdin
	cmd.Stdout, cmd.Stderr = stdout, stderr
	// A grandchild that keeps the pipes open must not hold us past the
	// deadline.
	cmd.WaitDelay = 2 * time.Second

	if err := cmd.Run(); err != nil {
		line := firstLine(stderr.buf.Bytes())
		var exit *exec.ExitError
		switch {
		case parent.Err() != nil:
			return token{}, fmt.Errorf("the token command was stopped: %w", parent.Err())
		case ctx.Err() != nil:
			return token{}, withStderr(fmt.Sprintf("the token command did not finish within %s", c.timeout), line)
		case errors.As(err, &exit):
			return token{}, withStderr("the token command failed with "+exit.ProcessState.String(), line)
		case errors.Is(err, exec.ErrWaitDelay):
			// It exited 0 but something it started still holds stdout:
			// what it printed so far is all we get.
		default:
			return token{}, fmt.Errorf("running the token command: %w", err)
		}
	}
	if stdout.overflow {
		return token{}, fmt.Errorf("the token command printed more than %d bytes on stdout", maxCommandOutput)
	}
	return parseCommandOutput(stdout.buf.Bytes(), c.loc)
}

func withStderr(msg, line string) error {
	if line == "" {
		return errors.New(msg)
	}
	return fmt.Errorf("%s: %s", msg, line)
}

// redactTokens replaces every run of 32 or more characters that could be
// part of a token (letters, digits, . _ - + / =) with [redacted]: a
// failing token command may print the token it was about to hand over,
// and its stderr goes into error messages.
func redactTokens(s string) string {
	isTok := func(r rune) bool {
		return r < utf8.RuneSelf && (unicode.IsLetter(r) || unicode.IsDigit(r) || strings.ContainsRune("._-+/=", r))
	}
	var b strings.Builder
	run := 0 // length of the current run of token characters, in bytes
	for i, r := range s {
		if isTok(r) {
			run++
			continue
		}
		b.WriteString(redactRun(s[i-run : i]))
		run = 0
		b.WriteRune(r)
	}
	b.WriteString(redactRun(s[len(s)-run:]))
	return b.String()
}

func redactRun(s string) string {
	if len(s) >= 32 {
		return "[redacted]"
	}
	return s
}

// firstLine returns the first non-blank line of b, trimmed, with control
// and format characters replaced, anything that looks like a token
// redacted, and cut to maxStderrLine bytes on a rune boundary.
func firstLine(b []byte) string {
	for _, l := range strings.Split(string(b), "\n") {
		l = strings.TrimSpace(l)
		if l == "" {
			continue
		}
		l = redactTokens(strings.Map(func(r rune) rune {
			if r < 0x20 || r == 0x7f || r == utf8.RuneError || unicode.Is(unicode.Cf, r) || unicode.IsControl(r) {
				return '?'
			}
			return r
		}, l))
		if len(l) > maxStderrLine {
			cut := maxStderrLine
			for cut > 0 && !utf8.RuneStart(l[cut]) {
				cut--
			}
			l = l[:cut]
		}
		return l
	}
	return ""
}

// cappedBuffer keeps the first max bytes written to it and notes whether
// there were more; it never fails a write, so the command is not killed by
// a broken pipe.
type cappedBuffer struct {
	buf      bytes.Buffer
	max      int
	overflow bool
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	room := b.max - b.buf.Len()
	if len(p) > room {
		b.overflow = true
		if room > 0 {
			b.buf.Write(p[:room])
		}
		return len(p), nil
	}
	b.buf.Write(p)
	return len(p), nil
}
