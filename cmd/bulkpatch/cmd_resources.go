package main

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

func (e *env) resourcesCmd() *cobra.Command {
	var template bool
	c := &cobra.Command{Use: "resources [NAME]", Args: cobra.MaximumNArgs(1)}
	c.Flags().BoolVar(&template, "template", false, "print an empty input file for NAME (its header row)")
	c.RunE = runE(func(_ context.Context, pos []string) error {
		if len(pos) == 0 {
			if template {
				return usagef(c.CommandPath(), "--template needs a resource NAME")
			}
			resource.WriteSummary(e.stdout)
			return nil
		}
		r, ok := resource.Lookup(pos[0])
		if !ok {
			return usagef(c.CommandPath(), "%w", &resource.NameError{Name: pos[0]})
		}
		if !template {
			r.WriteDoc(e.stdout)
			return nil
		}
		w := csvio.NewWriter(e.stdout, csvio.WriterOptions{})
		w.Write(r.TemplateHeader())
		return w.Flush()
	})
	return c
}
