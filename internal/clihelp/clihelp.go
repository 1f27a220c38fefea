// Package clihelp lays out the help of a cobra command tree: the
// description, usage lines, examples, the subcommands in their groups,
// the flags in groups with their value names, defaults and environment
// variables, and the exit codes, wrapped to one width. What a program
// says (its texts, its flag table, its groups) is the program's; how it
// is laid out is this package's.
package clihelp

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// ExitCodesKey is the annotation that holds a command's exit codes, one
// a line, as Describe sets it; help shows them last.
const ExitCodesKey = "bulkpatch/exit-codes"

// Describe sets c's summary, description, exit codes and examples from
// text: the one-line summary, a blank line, the description, then
// optional sections, each after a line of its own: "Exit codes:" (the
// codes the command ends with, one a line) and "Examples:".
func Describe(c *cobra.Command, text string) {
	text = strings.ReplaceAll(text, "\r\n", "\n")
	text, examples, _ := strings.Cut(text, "\nExamples:\n")
	text, codes, _ := strings.Cut(text, "\nExit codes:\n")
	short, long, _ := strings.Cut(text, "\n")
	c.Short = short
	c.Long = strings.TrimRight(short+"\n"+long, "\n")
	c.Example = strings.TrimRight(examples, "\n")
	if codes = strings.TrimRight(codes, "\n"); codes != "" {
		if c.Annotations == nil {
			c.Annotations = map[string]string{}
		}
		c.Annotations[ExitCodesKey] = codes
	}
}

// Flag is what help shows of a flag beyond pflag's.
type Flag struct {
	// Group is the title of the group it is listed in; "": its
	// command's own flags, listed first as "Flags:".
	Group string
	// Value names its value, as in "--rate N"; "": N for a number,
	// DURATION for a duration, VALUE for anything else but a bool,
	// which has none.
	Value string
	// Env is the environment variable its default comes from, if any.
	Env string
}

// Group is a group of commands in the help of their parent.
type Group struct {
	// ID names the group to cobra (cobra.Command.GroupID); Title heads
	// its commands in help.
	ID, Title string
	// Commands are the names of the group's commands, in the order
	// they are listed.
	Commands []string
}

// Layout is how a command tree's help is laid out. Width must be set;
// the other fields may be left zero.
type Layout struct {
	// Width is the width help is laid out for, in columns. Examples,
	// command lines to copy whole, are not wrapped.
	Width int
	// Groups are the groups of the root's commands, in order. A
	// command in none is listed after them, under "Commands:".
	Groups []Group
	// Flag says what help shows of flag f of the command named cmd;
	// nil: every flag is its command's own, its value named by its type.
	Flag func(cmd string, f *pflag.Flag) Flag
	// FlagGroups are the titles of the flag groups in the order help
	// lists them, "" (a command's own) among them; a flag in a group not
	// listed is not shown.
	FlagGroups []string
	// Notes, by flag group title, follow the flags of that group.
	Notes map[string]string
	// RootFooter ends the root's help, and CommandFooter the help of
	// every command below it that runs (not a help topic).
	RootFooter, CommandFooter string
}

// Install makes root and every command below it print help as l lays
// it out, --help and help on stdout, a usage mistake's on stderr, and
// puts root's commands in their groups.
func (l *Layout) Install(root *cobra.Command) {
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { l.Write(c.OutOrStdout(), c, true) })
	root.SetUsageFunc(func(c *cobra.Command) error {
		l.Write(c.OutOrStderr(), c, false)
		return nil
	})
	for _, g := range l.Groups {
		root.AddGroup(&cobra.Group{ID: g.ID, Title: g.Title})
	}
	for _, c := range root.Commands() {
		for _, g := range l.Groups {
			if slices.Contains(g.Commands, c.Name()) {
				c.GroupID = g.ID
			}
		}
	}
}

// Command returns "help [COMMAND]". Unlike cobra's own, it calls an
// unknown command a mistake, returning usage(c, err) for it, rather than
// printing the root's help and succeeding.
func Command(usage func(c *cobra.Command, err error) error) *cobra.Command {
	c := &cobra.Command{Use: "help [COMMAND]", Args: cobra.ArbitraryArgs}
	c.RunE = func(c *cobra.Command, args []string) error {
		target, rest, err := c.Root().Find(args)
		if err == nil && len(rest) > 0 {
			err = fmt.Errorf("%s has no command %q", target.CommandPath(), strings.Join(rest, " "))
		}
		if err != nil {
			return usage(c, err)
		}
		target.InitDefaultHelpFlag() // as running it would: help shows -h
		target.InitDefaultVersionFlag()
		return target.Help()
	}
	c.ValidArgsFunction = func(c *cobra.Command, args []string, _ string) ([]string, cobra.ShellCompDirective) {
		if len(args) > 0 {
			return nil, cobra.ShellCompDirectiveNoFileComp
		}
		var names []string
		for _, s := range c.Root().Commands() {
			if s.IsAvailableCommand() || s.IsAdditionalHelpTopicCommand() {
				names = append(names, s.Name()+"\t"+s.Short)
			}
		}
		return names, cobra.ShellCompDirectiveNoFileComp
	}
	return c
}

// Write writes c's help to w, with its description when long.
func (l *Layout) Write(w io.Writer, c *cobra.Command, long bool) {
	var b strings.Builder
	section := func(title string) {
		if b.Len() > 0 {
			b.WriteString("\n")
		}
		b.WriteString(title + "\n")
	}
	if long && c.Long != "" {
		b.WriteString(c.Long + "\n")
	} else if long && c.Short != "" {
		b.WriteString(c.Short + "\n")
	}
	if c.Runnable() {
		section("Usage:")
		for _, u := range usageLines(c) {
			b.WriteString("  " + u + "\n")
		}
	}
	if c.Example != "" {
		section("Examples:")
		b.WriteString(c.Example + "\n")
	}
	l.writeCommands(&b, c, section)
	if c.Runnable() || !c.HasParent() {
		l.writeFlags(&b, c, section) // a help topic has none worth telling
	}
	var topics []*cobra.Command
	for _, sub := range c.Commands() {
		if sub.IsAdditionalHelpTopicCommand() {
			topics = append(topics, sub)
		}
	}
	if len(topics) > 0 {
		section("Additional help topics:")
		for _, t := range topics {
			fmt.Fprintf(&b, "  %-12s %s\n", t.Name(), t.Short)
		}
	}
	if codes := c.Annotations[ExitCodesKey]; codes != "" {
		section("Exit codes:")
		b.WriteString(codes + "\n")
	}
	if c.HasParent() && c.Runnable() && l.CommandFooter != "" {
		b.WriteString("\n" + l.CommandFooter + "\n")
	} else if !c.HasParent() && l.RootFooter != "" {
		b.WriteString("\n" + l.RootFooter + "\n")
	}
	io.WriteString(w, b.String())
}

// usageLines are c's usage lines: one for each form its Use gives,
// separated by " | ".
func usageLines(c *cobra.Command) []string {
	if !c.HasParent() {
		return []string{c.Name() + " COMMAND [flags]"}
	}
	var out []string
	for i, form := range strings.Split(c.Use, " | ") {
		if i > 0 {
			form = strings.TrimPrefix(form, c.Name()+" ")
			form = c.Name() + " " + form
		}
		line := c.Parent().CommandPath() + " " + form
		if c.HasAvailableFlags() {
			line += " [flags]"
		}
		out = append(out, line)
	}
	return out
}

// writeCommands lists c's subcommands in their groups.
func (l *Layout) writeCommands(b *strings.Builder, c *cobra.Command, section func(string)) {
	if !c.HasAvailableSubCommands() {
		return
	}
	subs := slices.DeleteFunc(slices.Clone(c.Commands()), func(s *cobra.Command) bool {
		return !s.IsAvailableCommand() && s.Name() != "help" || s.IsAdditionalHelpTopicCommand()
	})
	var order []string
	for _, g := range l.Groups {
		order = append(order, g.Commands...)
	}
	rank := func(s *cobra.Command) int {
		if i := slices.Index(order, s.Name()); i >= 0 {
			return i
		}
		return len(order)
	}
	slices.SortStableFunc(subs, func(x, y *cobra.Command) int { return rank(x) - rank(y) })
	groups := append(slices.Clone(c.Groups()), &cobra.Group{Title: "Commands:"})
	for _, g := range groups {
		var in []*cobra.Command
		for _, s := range subs {
			if s.GroupID == g.ID {
				in = append(in, s)
			}
		}
		if len(in) == 0 {
			continue
		}
		section(g.Title)
		for _, s := range in {
			fmt.Fprintf(b, "  %-12s %s\n", s.Name(), s.Short)
		}
	}
}

// writeFlags lists c's flags in their groups, aligned across groups.
func (l *Layout) writeFlags(b *strings.Builder, c *cobra.Command, section func(string)) {
	groups := map[string][]*pflag.Flag{}
	add := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		g := l.flag(c.Name(), f).Group
		for _, have := range groups[g] {
			if have.Name == f.Name {
				return
			}
		}
		groups[g] = append(groups[g], f)
	}
	c.LocalFlags().VisitAll(add)
	c.InheritedFlags().VisitAll(add)
	names := map[*pflag.Flag]string{}
	width := 0
	for _, fs := range groups {
		for _, f := range fs {
			names[f] = l.FlagName(c.Name(), f)
			if n := len(names[f]); n <= 30 {
				width = max(width, n)
			}
		}
	}
	for _, g := range l.FlagGroups {
		fs := groups[g]
		if len(fs) == 0 {
			continue
		}
		if g == "" {
			section("Flags:")
		} else {
			section(g)
		}
		for _, f := range fs {
			l.writeFlag(b, names[f], width, l.flagUsage(c.Name(), f))
		}
		if note := l.Notes[g]; note != "" {
			b.WriteString("  " + strings.Join(wrap(note, l.Width-2), "\n  ") + "\n")
		}
	}
}

// flag is what help shows of flag f of the command named cmd, its value
// named.
func (l *Layout) flag(cmd string, f *pflag.Flag) Flag {
	var i Flag
	if l.Flag != nil {
		i = l.Flag(cmd, f)
	}
	if i.Value == "" {
		switch f.Value.Type() {
		case "bool":
		case "int", "int64", "float64":
			i.Value = "N"
		case "duration":
			i.Value = "DURATION"
		default:
			i.Value = "VALUE"
		}
	}
	return i
}

// FlagName is how help names flag f of the command named cmd:
// "-q, --quiet" or "    --rate N".
func (l *Layout) FlagName(cmd string, f *pflag.Flag) string {
	s := "    --" + f.Name
	if f.Shorthand != "" {
		s = "-" + f.Shorthand + ", --" + f.Name
	}
	if v := l.flag(cmd, f).Value; v != "" && f.Value.Type() != "bool" {
		s += " " + v
	}
	return s
}

// flagUsage is f's usage with its default and its environment variable,
// where its usage does not say them already.
func (l *Layout) flagUsage(cmd string, f *pflag.Flag) string {
	u := f.Usage
	var notes []string
	if d := f.DefValue; !zeroDefault(f) && !strings.Contains(u, "default") {
		switch f.Value.Type() {
		case "string":
			d = fmt.Sprintf("%q", d)
		case "duration":
			d = shortDuration(d)
		}
		notes = append(notes, "default "+d)
	}
	if env := l.flag(cmd, f).Env; env != "" && !strings.Contains(u, env) {
		notes = append(notes, "env "+env)
	}
	if len(notes) > 0 {
		u += " (" + strings.Join(notes, "; ") + ")"
	}
	return u
}

// shortDuration writes a duration's default as people do: 1m, not 1m0s.
func shortDuration(d string) string {
	if strings.HasSuffix(d, "m0s") {
		d = strings.TrimSuffix(d, "0s")
	}
	if strings.HasSuffix(d, "h0m") {
		d = strings.TrimSuffix(d, "0m")
	}
	return d
}

// zeroDefault says whether f's default is its type's zero value, which
// help leaves unsaid.
func zeroDefault(f *pflag.Flag) bool {
	switch f.DefValue {
	case "", "0", "false", "0s", "[]", "<nil>":
		return true
	}
	return false
}

// writeFlag writes one flag: its name, then its usage wrapped to
// l.Width in a column width wide (on the next lines when the name is
// wider).
func (l *Layout) writeFlag(b *strings.Builder, name string, width int, usage string) {
	col := 2 + width + 3
	lines := wrap(usage, l.Width-col)
	b.WriteString("  " + name)
	if len(name) > width {
		b.WriteString("\n" + strings.Repeat(" ", col))
	} else {
		b.WriteString(strings.Repeat(" ", col-2-len(name)))
	}
	b.WriteString(strings.Join(lines, "\n"+strings.Repeat(" ", col)) + "\n")
}

// wrap breaks s into lines of at most width columns, at spaces.
func wrap(s string, width int) []string {
	var lines []string
	line := ""
	for _, word := range strings.Fields(s) {
		switch {
		case line == "":
			line = word
		case len(line)+1+len(word) <= width:
			line += " " + word
		default:
			lines = append(lines, line)
			line = word
		}
	}
	return append(lines, line)
}
