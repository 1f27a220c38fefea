package main

import (
	"embed"
	"strings"

	"github.com/spf13/cobra"
	"github.com/spf13/pflag"

	"github.com/bulkpatch/bulkpatch/internal/clihelp"
)

// The commands' help: help/NAME.txt holds what clihelp.Describe reads
// (the one-line summary, a blank line, the description, then "Exit
// codes:" and "Examples:"). It is text, not code, so that it reads and
// changes like documentation.
//
//go:embed help/*.txt
var helpFiles embed.FS

// helpWidth is the width help is laid out for: every terminal has it,
// and the golden files do not depend on the one they were made on.
const helpWidth = 80

// describe sets c's summary, description, exit codes and examples from
// help/name.txt.
func describe(c *cobra.Command, name string) {
	if b, err := helpFiles.ReadFile("help/" + name + ".txt"); err == nil {
		clihelp.Describe(c, string(b)) // a command without a help file keeps what it has
	}
}

// helpLayout is how bulkpatch's help reads: its command groups, its flag
// groups and table, the note on sign-in and the pointers to more help.
var helpLayout = &clihelp.Layout{
	Width: helpWidth,
	Groups: []clihelp.Group{
		{ID: "run", Title: "Check and apply:", Commands: []string{"validate", "plan", "apply"}},
		{ID: "data", Title: "Read and report:", Commands: []string{"export", "report", "resources"}},
		{ID: "try", Title: "Try it without a tenant:", Commands: []string{"demo", "emulator"}},
		{ID: "other", Title: "Other commands:", Commands: []string{"completion", "version", "help"}},
	},
	Flag:          infoOf,
	FlagGroups:    []string{"", groupInput, groupConnection, groupPace, groupOutput, groupLimits, groupFaults, groupTokens, groupGlobal},
	Notes:         map[string]string{groupConnection: connectionNote},
	CommandFooter: "Every exit code: bulkpatch help exit-codes. All commands: bulkpatch --help.",
	RootFooter:    "Run 'bulkpatch help COMMAND' (or COMMAND --help) for its flags, examples and\nexit codes.",
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

// flagInfos, keyed by flag name, or by "command/flag" where one name
// means different things in different commands.
var flagInfos = map[string]clihelp.Flag{
	// Input
	"resource":  {Group: groupInput, Value: "NAME"},
	"delimiter": {Group: groupInput, Value: "DELIM"},
	"encoding":  {Group: groupInput, Value: "ENC"},
	"max-rows":  {Group: groupInput, Value: "N"},
	"plan":      {Group: groupInput, Value: "PLAN.json"},
	// Connection and sign-in
	"graph-url":      {Group: groupConnection, Value: "URL", Env: "BULKPATCH_GRAPH_URL"},
	"cloud":          {Group: groupConnection, Value: "NAME", Env: "BULKPATCH_CLOUD"},
	"auth":           {Group: groupConnection, Value: "KIND", Env: "BULKPATCH_AUTH"},
	"token-command":  {Group: groupConnection, Value: "CMD", Env: "BULKPATCH_TOKEN_COMMAND"},
	"tenant":         {Group: groupConnection, Value: "ID", Env: "AZURE_TENANT_ID"},
	"client-id":      {Group: groupConnection, Value: "ID", Env: "AZURE_CLIENT_ID"},
	"authority-host": {Group: groupConnection, Value: "URL", Env: "BULKPATCH_AUTHORITY_HOST"},
	"ca-cert":        {Group: groupConnection, Value: "FILE", Env: "BULKPATCH_CA_CERT"},
	// Pace and robustness
	"rate":            {Group: groupPace, Value: "N"},
	"read-rate":       {Group: groupPace, Value: "N"},
	"concurrency":     {Group: groupPace, Value: "N"},
	"batch":           {Group: groupPace, Value: "N"},
	"max-retries":     {Group: groupPace, Value: "N"},
	"request-timeout": {Group: groupPace, Value: "DURATION"},
	"max-duration":    {Group: groupPace, Value: "DURATION"},
	// Output
	"results":          {Group: groupOutput, Value: "RESULTS.csv"},
	"results-dialect":  {Group: groupOutput, Value: "DIALECT"},
	"report":           {Group: groupOutput},
	"out":              {Group: groupOutput, Value: "FILE"},
	"plan/out":         {Group: groupOutput, Value: "PLAN.json"},
	"report/out":       {Group: groupOutput, Value: "REPORT.html"},
	"export/out":       {Group: groupOutput, Value: "FILE.csv"},
	"export/delimiter": {Group: groupOutput, Value: "DELIM"},
	"excel":            {Group: groupOutput},
	"log-format":       {Group: groupOutput, Value: "FORMAT"},
	"progress":         {Group: groupOutput, Value: "WHEN"},
	// Global
	"help":    {Group: groupGlobal},
	"quiet":   {Group: groupGlobal},
	"version": {Group: groupGlobal},
	// A command's own
	"verify-delay":      {Value: "DURATION"},
	"app":               {Value: "APP_ID"},
	"user-status":       {Value: "ID"},
	"filter":            {Value: "EXPR"},
	"export/resource":   {Value: "NAME"},
	"dir":               {Value: "DIR"},
	"report/encoding":   {Group: groupInput, Value: "ENC"},
	"emulator/listen":   {Value: "ADDR"},
	"emulator/seed":     {Value: "STATE.json"},
	"emulator/dump":     {Value: "STATE.json"},
	"tls-cert-out":      {Value: "CA.pem"},
	"page-size":         {Value: "N"},
	"approval-required": {Value: "KIND"},
	// The emulator's limits, faults and tokens
	"write-limit":     {Group: groupLimits, Value: "N"},
	"read-limit":      {Group: groupLimits, Value: "N"},
	"window":          {Group: groupLimits, Value: "DURATION"},
	"retry-after":     {Group: groupLimits, Value: "KIND"},
	"no-content":      {Group: groupLimits},
	"latency":         {Group: groupLimits, Value: "DURATION"},
	"fault-hang-for":  {Group: groupFaults, Value: "DURATION"},
	"fault-seed":      {Group: groupFaults, Value: "N"},
	"token":           {Group: groupTokens, Value: "TOKEN"},
	"token-uses":      {Group: groupTokens, Value: "N"},
	"require-token":   {Group: groupTokens},
	"forbidden-token": {Group: groupTokens, Value: "TOKEN"},
}

// infoOf returns what help shows of flag f of command cmd: its entry in
// flagInfos; the emulator's other fault flags are shares.
func infoOf(cmd string, f *pflag.Flag) clihelp.Flag {
	if i, ok := flagInfos[cmd+"/"+f.Name]; ok {
		return i
	}
	if i, ok := flagInfos[f.Name]; ok {
		return i
	}
	if cmd == "emulator" && strings.HasPrefix(f.Name, "fault-") {
		return clihelp.Flag{Group: groupFaults, Value: "SHARE"}
	}
	return clihelp.Flag{}
}

// connectionNote follows the connection flags: the sign-in settings that
// are not flags.
const connectionNote = "A static bearer token: BULKPATCH_TOKEN (--auth token). Debug logs of every Graph attempt: BULKPATCH_DEBUG=1."
