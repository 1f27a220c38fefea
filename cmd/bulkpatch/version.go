package main

import (
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/buildinfo"
)

// What this build is, set by make build and make release from git:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=<hash> -X main.date=<RFC 3339>"
//
// init then makes version the one line that says all of it
// (buildinfo.Describe, which fills in what a build without them, go
// install or go build, recorded), so that --version, the version command
// and the "run starting" event show the same string.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func init() { version = buildinfo.Describe(version, commit, date) }

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{Use: "version", Args: args(0, "no arguments"), RunE: func(c *cobra.Command, _ []string) error {
		fmt.Fprintf(e.stdout, "bulkpatch %s\n", version)
		return nil
	}}
}
