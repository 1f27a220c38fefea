package main

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"

	"github.com/spf13/cobra"
)

// What this build is, set by make build and make release from git:
//
//	-ldflags "-X main.version=v1.2.3 -X main.commit=<hash> -X main.date=<RFC 3339>"
//
// A build without them (go install, go build) takes what the Go toolchain
// recorded instead (runtime/debug.ReadBuildInfo: the module's version,
// vcs.revision, vcs.time). init then makes version the one line that says
// all of it, so that --version, the version command and the "run
// starting" event show the same string.
var (
	version = "dev"
	commit  = ""
	date    = ""
)

func init() {
	info, _ := debug.ReadBuildInfo()
	version = describeBuild(version, commit, date, info)
}

// describeBuild is the version line of a build: its version, then in
// parentheses its commit, its date and the Go release and platform it was
// built with. The -ldflags values win; the build info fills what they
// leave empty.
func describeBuild(ver, commit, date string, info *debug.BuildInfo) string {
	dirty := false
	if info != nil {
		if (ver == "" || ver == "dev") && info.Main.Version != "" && info.Main.Version != "(devel)" {
			ver = info.Main.Version // go install …@v1.2.3, or Go's pseudo-version of a VCS build
		}
		for _, s := range info.Settings {
			switch {
			case s.Key == "vcs.revision" && commit == "":
				commit = s.Value
			case s.Key == "vcs.time" && date == "":
				date = s.Value
			case s.Key == "vcs.modified" && s.Value == "true":
				dirty = true
			}
		}
	}
	if ver == "" {
		ver = "dev"
	}
	var parts []string
	if commit != "" {
		if full, rest, _ := strings.Cut(commit, "-"); len(full) == 40 {
			commit = full[:12] // enough to find it; a -dirty stays
			if rest != "" {
				commit += "-" + rest
			}
		}
		if dirty && !strings.HasSuffix(commit, "-dirty") {
			commit += "-dirty"
		}
		parts = append(parts, "commit "+commit)
	}
	if date != "" {
		parts = append(parts, "built "+date)
	}
	goVersion := runtime.Version()
	if info != nil && info.GoVersion != "" {
		goVersion = info.GoVersion
	}
	parts = append(parts, goVersion+" "+runtime.GOOS+"/"+runtime.GOARCH)
	return fmt.Sprintf("%s (%s)", ver, strings.Join(parts, ", "))
}

func (e *env) versionCmd() *cobra.Command {
	return &cobra.Command{Use: "version", Args: args(0, "no arguments"), RunE: func(c *cobra.Command, _ []string) error {
		fmt.Fprintf(e.stdout, "bulkpatch %s\n", version)
		return nil
	}}
}
