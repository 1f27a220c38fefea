package clihelp

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

func TestDescribe(t *testing.T) {
	c := &cobra.Command{Use: "x"}
	Describe(c, "Do x.\r\n\r\nAt length.\r\n\r\nExit codes:\r\n  0  done\r\n\r\nExamples:\r\n  x a\r\n")
	if c.Short != "Do x." || c.Long != "Do x.\n\nAt length." || c.Example != "  x a" || c.Annotations[ExitCodesKey] != "  0  done" {
		t.Errorf("Short %q, Long %q, Example %q, exit codes %q", c.Short, c.Long, c.Example, c.Annotations[ExitCodesKey])
	}
	c = &cobra.Command{Use: "y"}
	Describe(c, "Do y.\n")
	if c.Short != "Do y." || c.Long != "Do y." || c.Example != "" || c.Annotations != nil {
		t.Errorf("no sections: Short %q, Long %q, Example %q, annotations %v", c.Short, c.Long, c.Example, c.Annotations)
	}
}

// testTree is a small tree laid out by a small Layout.
func testTree() (*cobra.Command, *Layout) {
	root := &cobra.Command{Use: "tool", Short: "A tool.", Run: func(*cobra.Command, []string) {}}
	root.PersistentFlags().BoolP("quiet", "q", false, "say less")
	run := &cobra.Command{Use: "run FILE | run --all", Short: "Run it.", Run: func(*cobra.Command, []string) {}}
	fs := run.Flags()
	fs.Int("n", 3, "how many")
	fs.Duration("wait", 2*time.Minute, "how long to wait before giving up on the answer, which is long enough to wrap")
	fs.String("host", "", "where")
	fs.String("mode", "fast", "how, the default being fast")
	fs.Bool("all", false, "everything")
	fs.Bool("old", false, "gone")
	fs.MarkHidden("old")
	other := &cobra.Command{Use: "other", Short: "Other thing.", Run: func(*cobra.Command, []string) {}}
	topic := &cobra.Command{Use: "topic", Short: "A topic."}
	root.AddCommand(other, run, topic)
	l := &Layout{
		Width:  60,
		Groups: []Group{{ID: "main", Title: "Main commands:", Commands: []string{"run"}}},
		Flag: func(cmd string, f *pflag.Flag) Flag {
			switch f.Name {
			case "host":
				return Flag{Group: "Connection:", Value: "URL", Env: "TOOL_HOST"}
			case "quiet":
				return Flag{Group: "Global:"}
			}
			return Flag{}
		},
		FlagGroups:    []string{"", "Connection:", "Global:"},
		Notes:         map[string]string{"Connection:": "Also TOOL_TOKEN."},
		RootFooter:    "Run 'tool help COMMAND'.",
		CommandFooter: "All commands: tool --help.",
	}
	l.Install(root)
	return root, l
}

func TestLayoutWrite(t *testing.T) {
	root, l := testTree()
	run, _, _ := root.Find([]string{"run"})
	var b strings.Builder
	l.Write(&b, run, true)
	want := `Run it.

Usage:
  tool run FILE [flags]
  tool run --all [flags]

Flags:
      --all             everything
      --mode VALUE      how, the default being fast
      --n N             how many (default 3)
      --wait DURATION   how long to wait before giving up on
                        the answer, which is long enough to
                        wrap (default 2m)

Connection:
      --host URL        where (env TOOL_HOST)
  Also TOOL_TOKEN.

Global:
  -q, --quiet           say less

All commands: tool --help.
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("run's help (-want +got):\n%s", diff)
	}
	b.Reset()
	l.Write(&b, root, false)
	want = `Usage:
  tool COMMAND [flags]

Main commands:
  run          Run it.

Commands:
  other        Other thing.

Global:
  -q, --quiet   say less

Additional help topics:
  topic        A topic.

Run 'tool help COMMAND'.
`
	if diff := cmp.Diff(want, b.String()); diff != "" {
		t.Errorf("root's usage (-want +got):\n%s", diff)
	}
}

func TestCommandUnknown(t *testing.T) {
	root, _ := testTree()
	errUsage := errors.New("usage")
	h := Command(func(c *cobra.Command, err error) error {
		if !strings.Contains(err.Error(), `tool run has no command "nope"`) {
			t.Errorf("error %q", err)
		}
		return errUsage
	})
	root.SetHelpCommand(h)
	root.SetArgs([]string{"help", "run", "nope"})
	root.SetOut(new(strings.Builder))
	root.SilenceErrors = true
	if err := root.Execute(); !errors.Is(err, errUsage) {
		t.Errorf("help of an unknown command: %v", err)
	}
}

func TestWrap(t *testing.T) {
	for _, tt := range []struct {
		s     string
		width int
		want  []string
	}{
		{"", 10, []string{""}},
		{"a bb ccc", 4, []string{"a bb", "ccc"}},
		{"a  bb\nccc", 10, []string{"a bb ccc"}},
		{"toolongword x", 4, []string{"toolongword", "x"}},
	} {
		if got := wrap(tt.s, tt.width); !cmp.Equal(got, tt.want) {
			t.Errorf("wrap(%q, %d) = %q, want %q", tt.s, tt.width, got, tt.want)
		}
	}
}

func TestShortDuration(t *testing.T) {
	for in, want := range map[string]string{"1m0s": "1m", "2h0m0s": "2h", "1h30m0s": "1h30m", "20s": "20s", "1.5s": "1.5s"} {
		if got := shortDuration(in); got != want {
			t.Errorf("shortDuration(%q) = %q, want %q", in, got, want)
		}
	}
}
