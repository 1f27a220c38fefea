// Package completion teaches shells to complete a cobra command tree:
// the scripts to load, and what the commands' arguments and flags
// complete to, registered from tables.
package completion

import (
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// Shells are the shells Script writes scripts for.
var Shells = []string{"bash", "zsh", "fish", "powershell"}

// ShellError is a shell Script has no script for.
type ShellError struct{ Shell string }

// Error names the shell and the shells there are scripts for.
func (e *ShellError) Error() string {
	n := len(Shells) - 1
	return fmt.Sprintf("no completion for %q: want %s or %s", e.Shell, strings.Join(Shells[:n], ", "), Shells[n])
}

// Script writes root's completion script for shell, by cobra's
// generators, with a description of each command and flag when desc. An
// unknown shell is a *ShellError.
func Script(w io.Writer, root *cobra.Command, shell string, desc bool) error {
	switch shell {
	case "bash":
		return root.GenBashCompletionV2(w, desc)
	case "zsh":
		if desc {
			return root.GenZshCompletion(w)
		}
		return root.GenZshCompletionNoDesc(w)
	case "fish":
		return root.GenFishCompletion(w, desc)
	case "powershell":
		if desc {
			return root.GenPowerShellCompletionWithDesc(w)
		}
		return root.GenPowerShellCompletion(w)
	}
	return &ShellError{Shell: shell}
}

// Tables say what the arguments and flags of a tree's commands complete
// to. Flags are keyed by their name, or by "command/flag" where one name
// means different things in different commands (that key wins). A flag
// is looked up in Funcs, then Values, then Files, then Dirs; one in none
// completes as cobra does by default.
type Tables struct {
	// Args complete the arguments of the commands, by command name.
	Args map[string]cobra.CompletionFunc
	// Funcs complete flags whose values are known only when asked.
	Funcs map[string]cobra.CompletionFunc
	// Values are the values a flag takes.
	Values map[string][]string
	// Files are flags that take a file name with one of these
	// extensions (none: any file).
	Files map[string][]string
	// Dirs are flags that take a directory.
	Dirs map[string]bool
}

// Register registers t on the commands below root. Call it only when a
// shell asks (cobra.ShellCompRequestCmd): cobra keeps what is registered
// in a map of its own for the life of the process.
func (t Tables) Register(root *cobra.Command) {
	for _, c := range root.Commands() {
		if f, ok := t.Args[c.Name()]; ok {
			c.ValidArgsFunction = f
		}
		c.Flags().VisitAll(func(f *pflag.Flag) { t.registerFlag(c, f) })
	}
}

// registerFlag registers what flag f of c completes to.
func (t Tables) registerFlag(c *cobra.Command, f *pflag.Flag) {
	if fn, ok := lookup(t.Funcs, c, f); ok {
		c.RegisterFlagCompletionFunc(f.Name, fn)
	} else if v, ok := lookup(t.Values, c, f); ok {
		c.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(v, cobra.ShellCompDirectiveNoFileComp))
	} else if ext, ok := lookup(t.Files, c, f); ok {
		c.MarkFlagFilename(f.Name, ext...)
	} else if dir, _ := lookup(t.Dirs, c, f); dir {
		c.MarkFlagDirname(f.Name)
	}
}

// lookup returns the entry of flag f of c in m: its "command/flag" one,
// or else its "flag" one.
func lookup[V any](m map[string]V, c *cobra.Command, f *pflag.Flag) (V, bool) {
	if v, ok := m[c.Name()+"/"+f.Name]; ok {
		return v, true
	}
	v, ok := m[f.Name]
	return v, ok
}
