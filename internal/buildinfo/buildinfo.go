// Package buildinfo says which build of a program is running, in the one
// line its --version prints.
package buildinfo

import (
	"fmt"
	"runtime"
	"runtime/debug"
	"strings"
)

// Describe is the version line of this build: its version, then in
// parentheses its commit, its date and the Go release and platform it
// was built with. ver, commit and date are what the build was told
// (-ldflags -X, from git); what they leave empty comes from what the Go
// toolchain recorded (runtime/debug.ReadBuildInfo: the module's version,
// vcs.revision, vcs.time), as in a go install or plain go build.
func Describe(ver, commit, date string) string {
	info, _ := debug.ReadBuildInfo()
	return describe(ver, commit, date, info)
}

// describe is Describe with the build info given; nil: none recorded.
func describe(ver, commit, date string, info *debug.BuildInfo) string {
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
