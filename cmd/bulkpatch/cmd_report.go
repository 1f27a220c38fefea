package main

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/report"
)

func (e *env) reportCmd() *cobra.Command {
	var out, encoding string
	c := &cobra.Command{Use: "report RESULTS.csv", Args: args(1, "one RESULTS.csv")}
	c.Flags().StringVar(&out, "out", "", "the HTML file to write (default: beside the results, .report.html)")
	c.Flags().StringVar(&encoding, "encoding", "auto", "the results file's encoding, when it is windows-1252")
	c.RunE = runE(func(_ context.Context, pos []string) error {
		enc, err := csvio.ParseEncoding(encoding)
		if err != nil {
			return usagef(c.CommandPath(), "--encoding: %v", err)
		}
		files, err := report.WriteReport(pos[0], out, report.HTMLOptions{Encoding: enc})
		if err != nil {
			return err
		}
		if !e.quiet {
			fmt.Fprintf(e.stdout, "Report: %s\n", files.HTML)
			if files.Retry != "" {
				fmt.Fprintf(e.stdout, "Rows to run again (%d): %s\n", files.RetryRows, files.Retry)
			}
		}
		return nil
	})
	return c
}
