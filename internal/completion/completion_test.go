package completion

import (
	"errors"
	"strings"
	"testing"

	"github.com/spf13/cobra"
)

func TestScript(t *testing.T) {
	root := &cobra.Command{Use: "tool"}
	root.AddCommand(&cobra.Command{Use: "run", Run: func(*cobra.Command, []string) {}})
	for _, sh := range Shells {
		for _, desc := range []bool{true, false} {
			var b strings.Builder
			if err := Script(&b, root, sh, desc); err != nil || !strings.Contains(b.String(), "tool") {
				t.Errorf("%s (descriptions %v): %v, %d bytes", sh, desc, err, b.Len())
			}
		}
	}
	err := Script(new(strings.Builder), root, "tcsh", true)
	want := `no completion for "tcsh": want bash, zsh, fish or powershell`
	if se := (*ShellError)(nil); !errors.As(err, &se) || err.Error() != want {
		t.Errorf("tcsh: %v, want a *ShellError %q", err, want)
	}
}

// complete returns what root's completion back end offers for args, and
// its directive.
func complete(t *testing.T, root *cobra.Command, args ...string) (string, string) {
	t.Helper()
	var out strings.Builder
	root.SetOut(&out)
	root.SetErr(new(strings.Builder))
	root.SetArgs(append([]string{cobra.ShellCompNoDescRequestCmd}, args...))
	if err := root.Execute(); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	return strings.Join(lines[:len(lines)-1], " "), lines[len(lines)-1]
}

func TestTablesRegister(t *testing.T) {
	root := &cobra.Command{Use: "tool"}
	for _, name := range []string{"get", "put"} {
		c := &cobra.Command{Use: name, Run: func(*cobra.Command, []string) {}}
		for _, f := range []string{"kind", "color", "out", "dir", "plain"} {
			c.Flags().String(f, "", "")
		}
		root.AddCommand(c)
	}
	Tables{
		Args: map[string]cobra.CompletionFunc{"get": cobra.FixedCompletions([]string{"a", "b"}, cobra.ShellCompDirectiveNoFileComp)},
		Funcs: map[string]cobra.CompletionFunc{"kind": func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return []string{"k1", "k2"}, cobra.ShellCompDirectiveNoFileComp
		}},
		Values: map[string][]string{"color": {"red", "blue"}, "put/color": {"green"}},
		Files:  map[string][]string{"out": {"csv"}, "put/out": nil},
		Dirs:   map[string]bool{"dir": true},
	}.Register(root)
	for _, tt := range []struct {
		args            []string
		want, directive string
	}{
		{[]string{"get", ""}, "a b", ":4"},
		{[]string{"get", "--kind", ""}, "k1 k2", ":4"},
		{[]string{"get", "--color", ""}, "red blue", ":4"},
		{[]string{"put", "--color", ""}, "green", ":4"}, // "command/flag" wins
		{[]string{"get", "--out", ""}, "csv", ":8"},
		{[]string{"put", "--out", ""}, "", ":0"}, // any file
		{[]string{"get", "--dir", ""}, "", ":16"},
		{[]string{"get", "--plain", ""}, "", ":0"},
	} {
		got, directive := complete(t, root, tt.args...)
		if got != tt.want || directive != tt.directive {
			t.Errorf("complete %q: %q %s, want %q %s", tt.args, got, directive, tt.want, tt.directive)
		}
	}
}
