package buildinfo

import (
	"runtime"
	"runtime/debug"
	"testing"
)

func TestDescribe(t *testing.T) {
	platform := runtime.GOOS + "/" + runtime.GOARCH
	vcs := &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v0.0.0-20260501100000-1d7bcc0a1b2c"},
		Settings: []debug.BuildSetting{
			{Key: "vcs.revision", Value: "1d7bcc0a1b2c3d4e5f60718293a4b5c6d7e8f901"},
			{Key: "vcs.time", Value: "2026-05-01T10:00:00Z"},
			{Key: "vcs.modified", Value: "true"},
		}}
	for _, tt := range []struct {
		name              string
		ver, commit, date string
		info              *debug.BuildInfo
		want              string
	}{
		{"ldflags", "v1.2.3", "0123456789abcdef0123456789abcdef01234567", "2026-05-02T08:00:00Z", nil,
			"v1.2.3 (commit 0123456789ab, built 2026-05-02T08:00:00Z, " + runtime.Version() + " " + platform + ")"},
		{"make build of a changed tree", "dev", "0123456789abcdef0123456789abcdef01234567-dirty", "2026-05-02T08:00:00Z", nil,
			"dev (commit 0123456789ab-dirty, built 2026-05-02T08:00:00Z, " + runtime.Version() + " " + platform + ")"},
		{"ldflags win over build info", "v1.2.3", "0123456789ab", "2026-05-02T08:00:00Z", vcs,
			"v1.2.3 (commit 0123456789ab-dirty, built 2026-05-02T08:00:00Z, go1.26.0 " + platform + ")"},
		{"build info of a checkout", "dev", "", "", vcs,
			"v0.0.0-20260501100000-1d7bcc0a1b2c (commit 1d7bcc0a1b2c-dirty, built 2026-05-01T10:00:00Z, go1.26.0 " + platform + ")"},
		{"go install @v1.2.3", "dev", "", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "v1.2.3"}},
			"v1.2.3 (go1.26.0 " + platform + ")"},
		{"nothing recorded", "dev", "", "", &debug.BuildInfo{GoVersion: "go1.26.0", Main: debug.Module{Version: "(devel)"}},
			"dev (go1.26.0 " + platform + ")"},
	} {
		if got := describe(tt.ver, tt.commit, tt.date, tt.info); got != tt.want {
			t.Errorf("%s: %q, want %q", tt.name, got, tt.want)
		}
	}
}
