package main

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/spf13/cobra"
	"github.com/spf13/cobra/doc"

	"github.com/bulkpatch/bulkpatch/internal/clihelp"
)

// docsDir is where make docs writes the man pages (man/) and the
// Markdown command reference (reference/), checked into the tree.
const docsDir = "../../docs"

// TestDocs regenerates the man pages and the Markdown command reference
// and fails when those in docs/ differ: a flag or a help text changed
// without make docs (which runs this test with -update).
func TestDocs(t *testing.T) {
	out := t.TempDir()
	if *update {
		out = docsDir
		for _, sub := range []string{"man", "reference"} {
			if err := os.RemoveAll(filepath.Join(out, sub)); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := writeDocs(testRoot(), out); err != nil {
		t.Fatal(err)
	}
	if *update {
		return
	}
	for _, sub := range []string{"man", "reference"} {
		got, want := readTree(t, filepath.Join(out, sub)), readTree(t, filepath.Join(docsDir, sub))
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("docs/%s is stale (-want +got); make docs rewrites it:\n%s", sub, diff)
		}
	}
}

// readTree maps the names of the files in dir to their contents.
func readTree(t *testing.T, dir string) map[string]string {
	t.Helper()
	files := map[string]string{}
	entries, err := os.ReadDir(dir)
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		if err != nil {
			t.Fatal(err)
		}
		files[e.Name()] = string(b)
	}
	return files
}

// writeDocs writes root's man pages into dir/man and its Markdown
// reference into dir/reference, with cobra/doc.
func writeDocs(root *cobra.Command, dir string) error {
	forDocs(root)
	man, ref := filepath.Join(dir, "man"), filepath.Join(dir, "reference")
	for _, d := range []string{man, ref} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	// The pages carry no date, so that they change only when what they
	// say does. cobra/doc always writes one: a fixed one, taken out.
	date := time.Unix(0, 0).UTC()
	header := &doc.GenManHeader{Title: "BULKPATCH", Section: "1", Source: "bulkpatch", Manual: "bulkpatch manual", Date: &date}
	if err := doc.GenManTree(root, header, man); err != nil {
		return err
	}
	pages, err := os.ReadDir(man)
	if err != nil {
		return err
	}
	for _, p := range pages {
		path := filepath.Join(man, p.Name())
		b, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		b = bytes.Replace(b, []byte(`"`+date.Format("Jan 2006")+`"`), []byte(`""`), 1)
		if err := os.WriteFile(path, b, 0o644); err != nil {
			return err
		}
	}
	return doc.GenMarkdownTree(root, ref)
}

// forDocs readies the tree for cobra/doc, which prints Long and flags as
// they are: every command's exit codes go at the end of its description,
// and indented lines (exit codes, commands to type) become preformatted
// blocks, which Markdown and man keep as they are.
func forDocs(root *cobra.Command) {
	root.DisableAutoGenTag = true
	for _, c := range append(root.Commands(), root) {
		long := c.Long
		if codes := c.Annotations[clihelp.ExitCodesKey]; codes != "" {
			long += "\n\nExit codes:\n" + codes
		}
		c.Long = preformat(long)
	}
}

// preformat makes each run of lines indented by two spaces a Markdown
// code block: four spaces, a blank line before and after.
func preformat(s string) string {
	var out []string
	lines := strings.Split(s, "\n")
	for i, l := range lines {
		indented := strings.HasPrefix(l, "  ")
		prevIndented := i > 0 && strings.HasPrefix(lines[i-1], "  ")
		if indented && !prevIndented && len(out) > 0 && out[len(out)-1] != "" {
			out = append(out, "")
		}
		if !indented && prevIndented && l != "" {
			out = append(out, "")
		}
		if indented {
			l = "  " + l
		}
		out = append(out, l)
	}
	return strings.Join(slices.Clip(out), "\n")
}

func TestDocsPreformat(t *testing.T) {
	got := preformat("Text.\n\nbash:\n  source x\n  y > z\nzsh:\n  w\n\nExit codes:\n  0    ok")
	want := "Text.\n\nbash:\n\n    source x\n    y > z\n\nzsh:\n\n    w\n\nExit codes:\n\n    0    ok"
	if got != want {
		t.Errorf("preformat:\n%s\nwant:\n%s", got, want)
	}
}
