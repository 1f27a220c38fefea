package safefile

import (
	"errors"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"testing"
)

func TestCommitAndAbort(t *testing.T) {
	dir := t.TempDir()
	target := filepath.Join(dir, "out.csv")
	if err := os.WriteFile(target, []byte("old"), 0o644); err != nil {
		t.Fatal(err)
	}
	f, err := Create(target)
	if err != nil {
		t.Fatal(err)
	}
	f.WriteString("new")
	if b, _ := os.ReadFile(target); string(b) != "old" {
		t.Errorf("target changed before Commit: %q", b)
	}
	if err := f.Commit(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target after Commit = %q", b)
	}
	if fi, _ := os.Stat(target); runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("mode %v, want 0600", fi.Mode().Perm())
	}
	if err := f.Abort(); err != nil {
		t.Errorf("Abort after Commit = %v", err)
	}
	g, err := Create(target)
	if err != nil {
		t.Fatal(err)
	}
	g.WriteString("discarded")
	if err := g.Abort(); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target after Abort = %q", b)
	}
	if left, _ := filepath.Glob(filepath.Join(dir, ".*tmp*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

func TestCheck(t *testing.T) {
	dir := t.TempDir()
	in := filepath.Join(dir, "in.csv")
	if err := os.WriteFile(in, []byte("x"), 0o600); err != nil {
		t.Fatal(err)
	}
	link := filepath.Join(dir, "link.csv")
	hard := filepath.Join(dir, "hard.csv")
	if err := os.Symlink(in, link); err != nil {
		t.Skip("no symlinks here")
	}
	if err := os.Link(in, hard); err != nil {
		t.Skip("no hard links here")
	}
	sub := filepath.Join(dir, "sub")
	os.Mkdir(sub, 0o700)
	rel, _ := filepath.Rel(mustWd(t), in)
	for _, tt := range []struct {
		name, path, want string
		conflict         bool
	}{
		{"same path", in, "same file as the input", true},
		{"relative path", rel, "same file as the input", true},
		{"symlink", link, "same file as the input", true},
		{"hard link", hard, "same file as the input", true},
		{"directory", sub, "is a directory", false},
		{"missing directory", filepath.Join(dir, "nope", "r.csv"), "cannot be used", false},
		{"fine", filepath.Join(dir, "r.csv"), "", false},
		{"fine, existing", filepath.Join(dir, "in.csv.results.csv"), "", false},
	} {
		err := Check(tt.path, "--results", in)
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: %v", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Check = %v, want %q", tt.name, err, tt.want)
		}
		var te *TargetError
		if err != nil && !errors.As(err, &te) {
			t.Errorf("%s: %T is not a *TargetError", tt.name, err)
		}
		if conflict := te != nil && te.Input != ""; conflict != tt.conflict {
			t.Errorf("%s: conflict %v, want %v", tt.name, conflict, tt.conflict)
		}
	}
	if runtime.GOOS != "windows" && os.Getuid() != 0 {
		ro := filepath.Join(dir, "ro")
		os.Mkdir(ro, 0o500)
		if err := Check(filepath.Join(ro, "r.csv"), "--results"); err == nil || !strings.Contains(err.Error(), "cannot create") {
			t.Errorf("read-only directory: %v", err)
		}
	}
}

func mustWd(t *testing.T) string {
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	return wd
}
