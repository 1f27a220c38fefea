package main

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// shells are the shells completion writes scripts for.
var shells = []string{"bash", "zsh", "fish", "powershell"}

func (e *env) completionCmd() *cobra.Command {
	var noDesc bool
	c := &cobra.Command{
		Use:       "completion SHELL",
		ValidArgs: shells,
		Args:      args(1, "one SHELL: bash, zsh, fish or powershell"),
	}
	c.Flags().BoolVar(&noDesc, "no-descriptions", false, "complete without a description of each command and flag")
	c.RunE = func(c *cobra.Command, pos []string) error {
		return writeCompletion(e.stdout, c.Root(), pos[0], !noDesc)
	}
	return c
}

// writeCompletion writes root's completion script for shell, by cobra's
// generators.
func writeCompletion(w io.Writer, root *cobra.Command, shell string, desc bool) error {
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
	return &usageError{cmd: "bulkpatch completion", help: true,
		err: fmt.Errorf("no completion for %q: want bash, zsh, fish or powershell", shell)}
}

// flagValues are the values a flag takes, for completion, by flag name
// (or "command/flag").
var flagValues = map[string][]string{
	"cloud":             {"global", "usgov", "dod", "china"},
	"auth":              {"auto", "token", "token-command", "environment", "azure-cli", "device-code"},
	"progress":          {"auto", "always", "never"},
	"log-format":        {"text", "json"},
	"encoding":          {"auto", "utf-8", "utf-16", "windows-1252"},
	"delimiter":         {",", ";", "tab"},
	"results-dialect":   {"input", "excel", "plain"},
	"retry-after":       {"integer", "fractional", "none", "mixed"},
	"approval-required": {"code", "header"},
}

// fileFlags complete file names, with these extensions (none: any file).
var fileFlags = map[string][]string{
	"results":       {"csv"},
	"plan":          {"json"},
	"out":           nil,
	"plan/out":      {"json"},
	"export/out":    {"csv"},
	"report/out":    {"html"},
	"emulator/seed": {"json"},
	"emulator/dump": {"json"},
	"tls-cert-out":  {"pem"},
	"ca-cert":       {"pem", "crt", "cer"},
	"token-command": nil,
}

// addCompletions teaches the shells what every command's arguments and
// flags take: CSV files, resource names, the values of enum flags, file
// names.
func addCompletions(root *cobra.Command) {
	csvFiles := func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
		return []string{"csv"}, cobra.ShellCompDirectiveFilterFileExt
	}
	for _, c := range root.Commands() {
		switch c.Name() {
		case "validate", "plan", "apply", "report":
			c.ValidArgsFunction = csvFiles
		case "resources":
			c.ValidArgsFunction = func(_ *cobra.Command, pos []string, _ string) ([]string, cobra.ShellCompDirective) {
				if len(pos) > 0 {
					return nil, cobra.ShellCompDirectiveNoFileComp
				}
				return resourceNames(), cobra.ShellCompDirectiveNoFileComp
			}
		}
		c.Flags().VisitAll(func(f *pflag.Flag) { completeFlag(c, f) })
	}
}

// completeFlag registers what flag f of c completes to.
func completeFlag(c *cobra.Command, f *pflag.Flag) {
	lookup := func(m map[string][]string) ([]string, bool) {
		if v, ok := m[c.Name()+"/"+f.Name]; ok {
			return v, true
		}
		v, ok := m[f.Name]
		return v, ok
	}
	if f.Name == "resource" {
		c.RegisterFlagCompletionFunc(f.Name, func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return resourceNames(), cobra.ShellCompDirectiveNoFileComp
		})
		return
	}
	if v, ok := lookup(flagValues); ok {
		c.RegisterFlagCompletionFunc(f.Name, cobra.FixedCompletions(v, cobra.ShellCompDirectiveNoFileComp))
		return
	}
	if ext, ok := lookup(fileFlags); ok {
		c.MarkFlagFilename(f.Name, ext...)
		return
	}
	if f.Name == "dir" {
		c.MarkFlagDirname(f.Name)
	}
}

func resourceNames() []string {
	var names []string
	for _, r := range resource.All() {
		names = append(names, r.Name)
	}
	return names
}
