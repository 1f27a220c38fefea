package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/schema"
)

// export writes the current objects of one collection as an input CSV, so
// that export -> edit -> plan --reconcile shows exactly the edits.
func (e *env) export(ctx context.Context, args []string) int {
	fset := e.newFlagSet("export")
	var (
		conn       connFlags
		pace       paceFlags
		app        = fset.String("app", "", "mobileAppId whose statuses to export (required)")
		userStatus = fset.String("user-status", "", "export the deviceStatuses under this userAppInstallStatusId")
		out        = fset.String("out", "", "output CSV (default: stdout)")
		excel      = fset.Bool("excel", false, "write for Excel: a UTF-8 BOM and CRLF line ends")
	)
	conn.add(fset, e.getenv)
	pace.add(fset)
	if _, code := e.parse(fset, args, 0); code >= 0 {
		return code
	}
	if *app == "" {
		e.usageErr(fset.Name(), "--app is required")
		return exitUsage
	}
	if err := pace.check(); err != nil {
		e.usageErr(fset.Name(), "%v", err)
		return exitUsage
	}
	logger := newLogger(e.stderr, pace.logFormat, e.getenv)
	c, err := e.connect(conn, pace, logger)
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}

	var w io.Writer = e.stdout
	var tmp *os.File
	if *out != "" {
		// Written beside the target and renamed, mode 0600: it holds user names.
		if tmp, err = os.CreateTemp(filepath.Dir(*out), ".bulkpatch-export-*"); err == nil {
			err = tmp.Chmod(0o600)
		}
		if err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
		defer os.Remove(tmp.Name())
		defer tmp.Close()
		w = tmp
	}
	cw := csvio.NewWriter(w, csvio.WriterOptions{UseCRLF: *excel, BOM: *excel})
	header := []string{csvio.MobileAppID.String()}
	if *userStatus != "" {
		header = append(header, csvio.UserAppInstallStatusID.String())
	}
	header = append(header, csvio.MobileAppInstallStatusID.String())
	for _, p := range schema.Properties {
		header = append(header, p.Name)
	}
	if err := cw.Write(header); err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	n := 0
	err = c.client.List(ctx, *app, *userStatus, func(obj json.RawMessage) error {
		row, err := exportRow(obj)
		if err != nil {
			return err
		}
		cells := []string{*app}
		if *userStatus != "" {
			cells = append(cells, *userStatus)
		}
		n++
		return cw.Write(append(cells, row...))
	})
	if err == nil {
		err = cw.Flush()
	}
	if err != nil {
		e.errorf("exporting: %v", err)
		if code := fatalReadCode(err); code != 0 {
			return code
		}
		return exitUnavailable
	}
	if tmp != nil {
		if err := tmp.Close(); err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
		if err := os.Rename(tmp.Name(), *out); err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
		fmt.Fprintf(e.stderr, "exported %d objects to %s\n", n, *out)
	}
	return exitOK
}

// exportRow renders a live object as the id cell and the twelve property
// cells. null and absent become empty cells (left unchanged on re-import).
func exportRow(obj json.RawMessage) ([]string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return nil, fmt.Errorf("decoding an object: %w", err)
	}
	cells := make([]string, 1, 1+schema.NumProperties)
	if err := json.Unmarshal(m["id"], &cells[0]); err != nil {
		return nil, fmt.Errorf("object without a string id: %w", err)
	}
	for _, p := range schema.Properties {
		raw, ok := m[p.Name]
		cell := ""
		if ok && string(raw) != "null" {
			if p.Kind == schema.Int32 {
				var n int64
				if err := json.Unmarshal(raw, &n); err != nil {
					return nil, fmt.Errorf("object %s: %s: %w", cells[0], p.Name, err)
				}
				cell = strconv.FormatInt(n, 10)
			} else if err := json.Unmarshal(raw, &cell); err != nil {
				return nil, fmt.Errorf("object %s: %s: %w", cells[0], p.Name, err)
			}
		}
		cells = append(cells, cell)
	}
	return cells, nil
}
