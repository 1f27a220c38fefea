package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/plan"
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
	// The same id rules as for input cells: an id that could leave the
	// intended route is refused before anything is sent.
	for _, id := range []struct{ flag, value string }{{"--app", *app}, {"--user-status", *userStatus}} {
		if id.value == "" {
			continue
		}
		if msg := plan.CheckID(id.value); msg != "" {
			e.usageErr(fset.Name(), "%s %q: %s", id.flag, truncate(id.value, 80), msg)
			return exitUsage
		}
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
	if code := e.signIn(ctx, c); code >= 0 {
		return code
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
	x := &exporter{app: *app, userStatus: *userStatus, seen: make(map[string]bool), warn: func(msg string) {
		fmt.Fprintf(e.stderr, "bulkpatch: export: %s\n", msg)
	}}
	err = c.client.List(ctx, *app, *userStatus, func(obj json.RawMessage) error {
		row, err := x.row(obj)
		if err != nil || row == nil {
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
	x.summarize()
	return exitOK
}

// maxExportWarnings bounds the warnings export prints one by one.
const maxExportWarnings = 20

// exporter turns live objects into input rows that read back as exactly
// those objects, so that plan --reconcile of an untouched export finds
// nothing to do. A value that cannot be written that way (a carriage
// return, which CSV readers turn into a line feed; the string "<null>",
// which reads back as null; an enum member this bulkpatch does not know)
// gets an empty cell, which keeps the live value, and a warning.
type exporter struct {
	app, userStatus string
	seen            map[string]bool // status ids written: a listing that shifts while paged can repeat one
	warn            func(msg string)
	warned, blanked int
	skipped         int
}

func (x *exporter) warnf(format string, a ...any) {
	x.warned++
	if x.warned <= maxExportWarnings {
		x.warn(fmt.Sprintf(format, a...))
	}
}

// summarize reports what the individual warnings did not show.
func (x *exporter) summarize() {
	if x.warned > maxExportWarnings {
		x.warn(fmt.Sprintf("%d more warnings not shown", x.warned-maxExportWarnings))
	}
	if x.blanked > 0 {
		x.warn(fmt.Sprintf("%d cells left empty (empty keeps the live value)", x.blanked))
	}
	if x.skipped > 0 {
		x.warn(fmt.Sprintf("%d objects left out", x.skipped))
	}
}

// row returns the id cell and the twelve property cells for obj, or nil
// when obj cannot be written as an input row at all.
func (x *exporter) row(obj json.RawMessage) ([]string, error) {
	cells, err := exportRow(obj)
	if err != nil {
		return nil, err
	}
	id := cells[0]
	if x.seen[id] {
		x.skipped++
		x.warnf("object %q was listed twice (the collection changed while it was read); written once", id)
		return nil, nil
	}
	x.seen[id] = true
	rec := csvio.Record{Line: 2}
	rec.Cells[csvio.MobileAppID] = x.app
	rec.Cells[csvio.UserAppInstallStatusID] = x.userStatus
	rec.Cells[csvio.MobileAppInstallStatusID] = id
	blank := func(i int, why string) {
		c := csvio.FirstProperty + csvio.Column(i)
		x.blanked++
		x.warnf("object %q: %s %s; its cell is left empty, which keeps the live value", id, c, why)
		rec.Cells[c] = ""
		cells[1+i] = ""
	}
	for i := range schema.Properties {
		rec.Cells[csvio.FirstProperty+csvio.Column(i)] = cells[1+i]
		if strings.ContainsRune(cells[1+i], '\r') {
			blank(i, "holds a carriage return, which CSV readers and spreadsheets do not keep")
		}
	}
	// Read the row back as plan and apply would, and compare it with the
	// live object: every difference is a cell that would not round-trip.
	op, probs := new(plan.Validator).Check(&rec)
	for _, p := range probs {
		if i := schema.PropertyIndex(p.Column); i >= 0 {
			blank(i, fmt.Sprintf("%s would not read back: %s", strconv.Quote(truncate(p.Value, 80)), p.Msg))
		} else if p.Column != "" {
			x.skipped++
			x.warnf("object %q cannot be written as an input row: %s", id, p.Msg)
			return nil, nil
		}
	}
	if len(probs) > 0 {
		op, probs = new(plan.Validator).Check(&rec)
	}
	if len(probs) == 0 {
		changes, err := plan.Diff(&op, obj)
		if err != nil {
			return nil, fmt.Errorf("object %q: %w", id, err)
		}
		for _, ch := range changes {
			blank(schema.PropertyIndex(ch.Property), fmt.Sprintf("%s would read back as %s", shownJSON(ch.Old), shownJSON(ch.New)))
		}
		if len(changes) > 0 {
			_, probs = new(plan.Validator).Check(&rec)
		}
	}
	if len(probs) > 0 {
		// Only "nothing to change" is left: no cell could be written.
		x.skipped++
		x.warnf("object %q has no property that can be written; left out", id)
		return nil, nil
	}
	return cells, nil
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

// shownJSON renders a JSON value for a message: strings quoted Go-style
// (json.Marshal escapes < and >), anything else as it is.
func shownJSON(v json.RawMessage) string {
	var s string
	if len(v) > 0 && v[0] == '"' && json.Unmarshal(v, &s) == nil {
		return strconv.Quote(truncate(s, 80))
	}
	return truncate(string(v), 80)
}
