package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/export"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// exportOpts are export's flags.
type exportOpts struct {
	conn        connFlags
	pace        paceFlags
	req         export.Request
	filter, out string
}

// export writes the current objects of one collection as an input CSV, so
// that export -> edit -> plan --reconcile shows exactly the edits.
func (e *env) exportCmd() *cobra.Command {
	var o exportOpts
	c := &cobra.Command{Use: "export --app APP_ID | export --resource NAME", Args: args(0, "no arguments (--app or --resource names what to export)")}
	fs := c.Flags()
	o.conn.add(fs, e.getenv)
	o.pace.add(fs)
	// Accepted as before, but they do nothing for a command that only
	// reads: kept out of its help.
	for _, name := range []string{"rate", "concurrency", "batch", "max-duration", "progress"} {
		fs.MarkHidden(name)
	}
	fs.StringVar(&o.req.Resource, "resource", "", "what to export (see bulkpatch resources; default: mobileAppInstallStatus, with --app)")
	fs.StringVar(&o.filter, "filter", "", "only the objects this OData $filter expression selects, e.g. \"startswith(managedDeviceName,'LAB-')\"")
	fs.StringVar(&o.req.App, "app", "", "mobileAppId whose statuses to export")
	fs.StringVar(&o.req.UserStatus, "user-status", "", "export the deviceStatuses under this userAppInstallStatusId")
	fs.BoolVar(&o.req.All, "all", false, "also export every nested collection (with --app: each user status's deviceStatuses), in the same file")
	fs.StringVar(&o.out, "out", "", "output CSV (default: stdout)")
	fs.BoolVar(&o.req.Excel, "excel", false, "write for Excel: a UTF-8 BOM and CRLF line ends (with --delimiter's delimiter)")
	fs.StringVar(&o.req.Delimiter, "delimiter", ",", "delimiter: , ; or tab (Excel in most European locales wants ;)")
	c.RunE = runE(func(ctx context.Context, _ []string) error { return e.export(ctx, c.CommandPath(), o) })
	return c
}

func (e *env) export(ctx context.Context, cmd string, o exportOpts) error {
	t, err := o.req.Resolve()
	if err == nil {
		err = o.pace.check()
	}
	if err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	var out *safefile.File
	var w io.Writer = e.stdout
	if o.out != "" {
		if err := safefile.Check(o.out, "--out"); err != nil {
			return err
		}
		if out, err = safefile.Create(o.out); err != nil {
			return &usageError{cmd: cmd, err: err}
		}
		defer out.Abort()
		w = out
	}
	logger := e.logger(o.pace)
	conn, err := e.connect(cmd, o.conn, o.pace, logger)
	if err != nil {
		return err
	}
	if _, err := signIn(ctx, conn); err != nil {
		return err
	}
	n, err := export.Write(ctx, conn.Client, t.Res, t.Coll, w, export.Options{
		Filter: o.filter, Nested: o.req.All, Dialect: t.Dialect,
		Warn: func(msg string) { fmt.Fprintf(e.stderr, "bulkpatch: export: %s\n", msg) },
	})
	if err != nil {
		return err
	}
	if out != nil {
		if err := out.Commit(); err != nil {
			return fmt.Errorf("writing %s: %w", o.out, err)
		}
		if !e.quiet {
			fmt.Fprintf(e.stderr, "exported %d objects to %s\n", n, o.out)
		}
	}
	return nil
}
