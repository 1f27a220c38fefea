package main

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/export"
	"github.com/bulkpatch/bulkpatch/internal/resource"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// exportOpts are export's flags.
type exportOpts struct {
	conn             connFlags
	pace             paceFlags
	resource, filter string
	delimiter        string
	app, userStatus  string
	out              string
	excel, all       bool
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
	fs.StringVar(&o.resource, "resource", "", "what to export (see bulkpatch resources; default: mobileAppInstallStatus, with --app)")
	fs.StringVar(&o.filter, "filter", "", "only the objects this OData $filter expression selects, e.g. \"startswith(managedDeviceName,'LAB-')\"")
	fs.StringVar(&o.app, "app", "", "mobileAppId whose statuses to export")
	fs.StringVar(&o.userStatus, "user-status", "", "export the deviceStatuses under this userAppInstallStatusId")
	fs.BoolVar(&o.all, "all", false, "also export every nested collection (with --app: each user status's deviceStatuses), in the same file")
	fs.StringVar(&o.out, "out", "", "output CSV (default: stdout)")
	fs.BoolVar(&o.excel, "excel", false, "write for Excel: a UTF-8 BOM and CRLF line ends (with --delimiter's delimiter)")
	fs.StringVar(&o.delimiter, "delimiter", ",", "delimiter: , ; or tab (Excel in most European locales wants ;)")
	c.RunE = runE(func(ctx context.Context, _ []string) error { return e.export(ctx, c.CommandPath(), o) })
	return c
}

func (e *env) export(ctx context.Context, cmd string, o exportOpts) error {
	res, err := resource.Find(o.resource)
	switch {
	case err != nil:
		return usagef(cmd, "--resource %w", err)
	case res == nil:
		res = resource.MobileAppInstallStatus
	}
	if res == resource.MobileAppInstallStatus && o.app == "" {
		return usagef(cmd, "--app is required: it names the app whose statuses to export")
	}
	coll, err := export.Collection(res, o.app, o.userStatus)
	if err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	if o.all && len(export.Nested(res, coll)) == 0 {
		return usagef(cmd, "--all: no collection of %s nests under the one exported; leave --all out", res.Name)
	}
	if err := o.pace.check(); err != nil {
		return &usageError{cmd: cmd, err: err}
	}
	comma, err := csvio.ParseDelimiter(o.delimiter)
	if err != nil {
		return usagef(cmd, "--delimiter %w", err)
	}
	dialect := csvio.WriterOptions{Comma: comma}
	if o.excel {
		dialect = csvio.ExcelOptions(max(comma, ','))
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
	n, err := export.Write(ctx, conn.Client, res, coll, w, export.Options{
		Filter: o.filter, Nested: o.all, Dialect: dialect,
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
