package main

import (
	"embed"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"
)

// The commands' help: help/NAME.txt holds the one-line summary, a blank
// line, the description, then optional sections, each after a line of
// its own: "Exit codes:" (the codes this command ends with, one a line)
// and "Examples:". It is text, not code, so that it reads and changes
// like documentation.
//
//go:embed help/*.txt
var helpFiles embed.FS

// exitCodesKey is the annotation that holds a command's exit codes.
const exitCodesKey = "bulkpatch/exit-codes"

// helpWidth is the width help is laid out for: every terminal has it,
// and the golden files do not depend on the one they were made on.
const helpWidth = 80

// describe sets c's summary, description, exit codes and examples from
// help/name.txt.
func describe(c *cobra.Command, name string) {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		return // a command without a help file keeps what it has
	}
	text := strings.ReplaceAll(string(b), "\r\n", "\n")
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
		c.Annotations[exitCodesKey] = codes
	}
}

// The command groups of the top-level help, in order.
var commandGroups = []*cobra.Group{
	{ID: "run", Title: "Check and apply:"},
	{ID: "data", Title: "Read and report:"},
	{ID: "try", Title: "Try it without a tenant:"},
	{ID: "other", Title: "Other commands:"},
}

// commandGroup is the group of each command, in the order they are
// listed.
var commandGroup = []struct{ name, group string }{
	{"validate", "run"}, {"plan", "run"}, {"apply", "run"},
	{"export", "data"}, {"report", "data"}, {"resources", "data"},
	{"demo", "try"}, {"emulator", "try"},
	{"completion", "other"}, {"version", "other"}, {"help", "other"},
}

// The flag groups, in the order help shows them. A command's own flags
// (in no group) come first, as "Flags:".
const (
	groupInput      = "Input flags:"
	groupConnection = "Connection and sign-in flags:"
	groupPace       = "Pace and robustness flags:"
	groupOutput     = "Output flags:"
	groupLimits     = "Limit flags:"
	groupFaults     = "Fault flags (SHARE: 0 to 1):"
	groupTokens     = "Token flags:"
	groupGlobal     = "Global flags:"
)

var groupOrder = []string{"", groupInput, groupConnection, groupPace, groupOutput, groupLimits, groupFaults, groupTokens, groupGlobal}

// flagInfo is what help shows of a flag beyond pflag's: its group, the
// name of its value, and the environment variable it defaults from.
type flagInfo struct {
	group, value, env string
}

// flagInfos, keyed by flag name, or by "command/flag" where one name
// means different things in different commands.
var flagInfos = map[string]flagInfo{
	// Input
	"resource":  {groupInput, "NAME", ""},
	"delimiter": {groupInput, "DELIM", ""},
	"encoding":  {groupInput, "ENC", ""},
	"max-rows":  {groupInput, "N", ""},
	"plan":      {groupInput, "PLAN.json", ""},
	// Connection and sign-in
	"graph-url":      {groupConnection, "URL", "BULKPATCH_GRAPH_URL"},
	"cloud":          {groupConnection, "NAME", "BULKPATCH_CLOUD"},
	"auth":           {groupConnection, "KIND", "BULKPATCH_AUTH"},
	"token-command":  {groupConnection, "CMD", "BULKPATCH_TOKEN_COMMAND"},
	"tenant":         {groupConnection, "ID", "AZURE_TENANT_ID"},
	"client-id":      {groupConnection, "ID", "AZURE_CLIENT_ID"},
	"authority-host": {groupConnection, "URL", "BULKPATCH_AUTHORITY_HOST"},
	"ca-cert":        {groupConnection, "FILE", "BULKPATCH_CA_CERT"},
	// Pace and robustness
	"rate":            {groupPace, "N", ""},
	"read-rate":       {groupPace, "N", ""},
	"concurrency":     {groupPace, "N", ""},
	"batch":           {groupPace, "N", ""},
	"max-retries":     {groupPace, "N", ""},
	"request-timeout": {groupPace, "DURATION", ""},
	"max-duration":    {groupPace, "DURATION", ""},
	// Output
	"results":          {groupOutput, "RESULTS.csv", ""},
	"results-dialect":  {groupOutput, "DIALECT", ""},
	"report":           {groupOutput, "", ""},
	"out":              {groupOutput, "FILE", ""},
	"plan/out":         {groupOutput, "PLAN.json", ""},
	"report/out":       {groupOutput, "REPORT.html", ""},
	"export/out":       {groupOutput, "FILE.csv", ""},
	"export/delimiter": {groupOutput, "DELIM", ""},
	"excel":            {groupOutput, "", ""},
	"log-format":       {groupOutput, "FORMAT", ""},
	"progress":         {groupOutput, "WHEN", ""},
	// Global
	"help":    {groupGlobal, "", ""},
	"quiet":   {groupGlobal, "", ""},
	"version": {groupGlobal, "", ""},
	// A command's own
	"verify-delay":      {"", "DURATION", ""},
	"app":               {"", "APP_ID", ""},
	"user-status":       {"", "ID", ""},
	"filter":            {"", "EXPR", ""},
	"export/resource":   {"", "NAME", ""},
	"dir":               {"", "DIR", ""},
	"report/encoding":   {groupInput, "ENC", ""},
	"emulator/listen":   {"", "ADDR", ""},
	"emulator/seed":     {"", "STATE.json", ""},
	"emulator/dump":     {"", "STATE.json", ""},
	"tls-cert-out":      {"", "CA.pem", ""},
	"page-size":         {"", "N", ""},
	"approval-required": {"", "KIND", ""},
	// The emulator's limits, faults and tokens
	"write-limit":     {groupLimits, "N", ""},
	"read-limit":      {groupLimits, "N", ""},
	"window":          {groupLimits, "DURATION", ""},
	"retry-after":     {groupLimits, "KIND", ""},
	"no-content":      {groupLimits, "", ""},
	"latency":         {groupLimits, "DURATION", ""},
	"fault-hang-for":  {groupFaults, "DURATION", ""},
	"fault-seed":      {groupFaults, "N", ""},
	"token":           {groupTokens, "TOKEN", ""},
	"token-uses":      {groupTokens, "N", ""},
	"require-token":   {groupTokens, "", ""},
	"forbidden-token": {groupTokens, "TOKEN", ""},
}

// infoOf returns what help shows of flag f of command cmd.
func infoOf(cmd string, f *pflag.Flag) flagInfo {
	if i, ok := flagInfos[cmd+"/"+f.Name]; ok {
		return i
	}
	if i, ok := flagInfos[f.Name]; ok {
		return i
	}
	i := flagInfo{}
	if cmd == "emulator" && strings.HasPrefix(f.Name, "fault-") {
		i.group = groupFaults
	}
	switch f.Value.Type() {
	case "bool":
	case "int", "int64", "float64":
		i.value = "N"
		if i.group == groupFaults {
			i.value = "SHARE"
		}
	case "duration":
		i.value = "DURATION"
	default:
		i.value = "VALUE"
	}
	return i
}

// connectionNote follows the connection flags: the sign-in settings that
// are not flags.
const connectionNote = "A static bearer token: BULKPATCH_TOKEN (--auth token). Debug logs of every Graph attempt: BULKPATCH_DEBUG=1."

// setHelp makes root and every command below it print help the same way:
// description, usage, examples, commands, flags in groups with their
// defaults, exit codes.
func setHelp(root *cobra.Command) {
	root.SetHelpFunc(func(c *cobra.Command, _ []string) { writeHelp(c.OutOrStdout(), c, true) })
	root.SetUsageFunc(func(c *cobra.Command) error {
		writeHelp(c.OutOrStderr(), c, false)
		return nil
	})
	for _, g := range commandGroups {
		root.AddGroup(g)
	}
	root.SetHelpCommandGroupID("other")
	root.SetCompletionCommandGroupID("other")
	for _, c := range root.Commands() {
		for _, cg := range commandGroup {
			if cg.name == c.Name() {
				c.GroupID = cg.group
			}
		}
	}
}

// helpCmd is "bulkpatch help [COMMAND]". Unlike cobra's own, it calls
// an unknown command a usage error (exit 2) rather than printing the
// top-level help and exiting 0.
func helpCmd() *cobra.Command {
	c := &cobra.Command{Use: "help [COMMAND]", Args: cobra.ArbitraryArgs}
	c.RunE = func(c *cobra.Command, args []string) error {
		target, rest, err := c.Root().Find(args)
		if err == nil && len(rest) > 0 {
			err = fmt.Errorf("%s has no command %q", target.CommandPath(), strings.Join(rest, " "))
		}
		if err != nil {
			return &usageError{cmd: c.CommandPath(), err: err}
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

// writeHelp writes c's help, with its description when long.
func writeHelp(w io.Writer, c *cobra.Command, long bool) {
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
	writeCommands(&b, c, section)
	if c.Runnable() || !c.HasParent() {
		writeFlags(&b, c, section) // a help topic has none worth telling
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
	if codes := c.Annotations[exitCodesKey]; codes != "" {
		section("Exit codes:")
		b.WriteString(codes + "\n")
	}
	if c.HasParent() && c.Runnable() {
		b.WriteString("\nEvery exit code: bulkpatch help exit-codes. All commands: bulkpatch --help.\n")
	} else if !c.HasParent() {
		b.WriteString("\nRun 'bulkpatch help COMMAND' (or COMMAND --help) for its flags, examples and\nexit codes.\n")
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
func writeCommands(b *strings.Builder, c *cobra.Command, section func(string)) {
	if !c.HasAvailableSubCommands() {
		return
	}
	subs := slices.DeleteFunc(slices.Clone(c.Commands()), func(s *cobra.Command) bool {
		return !s.IsAvailableCommand() && s.Name() != "help" || s.IsAdditionalHelpTopicCommand()
	})
	rank := func(s *cobra.Command) int {
		for i, cg := range commandGroup {
			if cg.name == s.Name() {
				return i
			}
		}
		return len(commandGroup)
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
func writeFlags(b *strings.Builder, c *cobra.Command, section func(string)) {
	groups := map[string][]*pflag.Flag{}
	add := func(f *pflag.Flag) {
		if f.Hidden {
			return
		}
		g := infoOf(c.Name(), f).group
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
			names[f] = flagName(c.Name(), f)
			if n := len(names[f]); n <= 30 {
				width = max(width, n)
			}
		}
	}
	for _, g := range groupOrder {
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
			writeFlag(b, names[f], width, flagUsage(c.Name(), f))
		}
		if g == groupConnection {
			b.WriteString("  " + strings.Join(wrap(connectionNote, helpWidth-2), "\n  ") + "\n")
		}
	}
}

// flagName is how help names f: "-q, --quiet" or "    --rate N".
func flagName(cmd string, f *pflag.Flag) string {
	s := "    --" + f.Name
	if f.Shorthand != "" {
		s = "-" + f.Shorthand + ", --" + f.Name
	}
	if v := infoOf(cmd, f).value; v != "" && f.Value.Type() != "bool" {
		s += " " + v
	}
	return s
}

// flagUsage is f's usage with its default and its environment variable,
// where its usage does not say them already.
func flagUsage(cmd string, f *pflag.Flag) string {
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
	if env := infoOf(cmd, f).env; env != "" && !strings.Contains(u, env) {
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
// helpWidth in a column width wide (on the next lines when the name is
// wider).
func writeFlag(b *strings.Builder, name string, width int, usage string) {
	col := 2 + width + 3
	lines := wrap(usage, helpWidth-col)
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
