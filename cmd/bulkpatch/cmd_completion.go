package main

import (
	"errors"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/completion"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

func (e *env) completionCmd() *cobra.Command {
	var noDesc bool
	c := &cobra.Command{
		Use:       "completion SHELL",
		ValidArgs: completion.Shells,
		Args:      args(1, "one SHELL: bash, zsh, fish or powershell"),
	}
	c.Flags().BoolVar(&noDesc, "no-descriptions", false, "complete without a description of each command and flag")
	c.RunE = func(c *cobra.Command, pos []string) error {
		err := completion.Script(e.stdout, c.Root(), pos[0], !noDesc)
		if se := (*completion.ShellError)(nil); errors.As(err, &se) {
			return &usageError{cmd: c.CommandPath(), err: err, help: true}
		}
		return err
	}
	return c
}

// completions teach the shells what every command's arguments and flags
// take: CSV files, resource names, the values of enum flags, file names.
var completions = completion.Tables{
	Args: map[string]cobra.CompletionFunc{
		"validate": csvFiles, "plan": csvFiles, "apply": csvFiles, "report": csvFiles,
		"resources": func(_ *cobra.Command, pos []string, _ string) ([]string, cobra.ShellCompDirective) {
			if len(pos) > 0 {
				return nil, cobra.ShellCompDirectiveNoFileComp
			}
			return resource.Names(), cobra.ShellCompDirectiveNoFileComp
		},
	},
	Funcs: map[string]cobra.CompletionFunc{
		"resource": func(*cobra.Command, []string, string) ([]string, cobra.ShellCompDirective) {
			return resource.Names(), cobra.ShellCompDirectiveNoFileComp
		},
	},
	// The values a flag takes, by flag name (or "command/flag").
	Values: map[string][]string{
		"cloud":             {"global", "usgov", "dod", "china"},
		"auth":              {"auto", "token", "token-command", "environment", "azure-cli", "device-code"},
		"progress":          {"auto", "always", "never"},
		"log-format":        {"text", "json"},
		"encoding":          {"auto", "utf-8", "utf-16", "windows-1252"},
		"delimiter":         {",", ";", "tab"},
		"results-dialect":   {"input", "excel", "plain"},
		"retry-after":       {"integer", "fractional", "none", "mixed"},
		"approval-required": {"code", "header"},
	},
	// Flags that complete file names, with these extensions (none: any
	// file).
	Files: map[string][]string{
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
	},
	Dirs: map[string]bool{"dir": true},
}

// csvFiles completes to CSV files.
var csvFiles = cobra.FixedCompletions([]string{"csv"}, cobra.ShellCompDirectiveFilterFileExt)
