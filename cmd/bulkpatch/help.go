package main

import (
	"embed"
	"strings"

	"github.com/spf13/cobra"
)

// The commands' help: help/NAME.txt holds the one-line summary, a blank
// line, the description, and after a line "Examples:" the examples. It is
// text, not code, so that it reads and changes like documentation.
//
//go:embed help/*.txt
var helpFiles embed.FS

// describe sets c's summary, description and examples from help/name.txt.
func describe(c *cobra.Command, name string) {
	b, err := helpFiles.ReadFile("help/" + name + ".txt")
	if err != nil {
		return // a command without a help file keeps what it has
	}
	text, examples, _ := strings.Cut(string(b), "\nExamples:\n")
	short, long, _ := strings.Cut(text, "\n")
	c.Short = short
	c.Long = short + "\n" + strings.TrimRight(long, "\n")
	c.Example = strings.TrimRight(examples, "\n")
}
