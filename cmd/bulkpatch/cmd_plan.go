package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/auth"
	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/input"
	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/safefile"
)

// shownRows is how many rows per route plan prints with their JSON body;
// shownChanges how many reconciled updates it prints with their diffs.
const (
	shownRows    = 3
	shownChanges = 100
)

// planOpts are plan's own flags.
type planOpts struct {
	runFlags
	reconcile, detailed bool
	out                 string
}

func (e *env) plan(ctx context.Context, args []string) error {
	fset := e.newFlagSet("plan")
	var o planOpts
	o.add(fset, e.getenv)
	fset.BoolVar(&o.reconcile, "reconcile", false, "read the live objects and plan only what differs (needs sign-in)")
	fset.StringVar(&o.out, "out", "", "save the plan as JSON for `apply --plan`")
	fset.BoolVar(&o.detailed, "detailed-exitcode", false, "exit 8 when changes are pending, 0 when none")
	pos, opt, err := o.parse(fset, args, 1)
	if err != nil {
		return err
	}
	path := pos[0]
	root, err := graphRoot(o.conn)
	if err != nil {
		return &usageError{cmd: fset.Name(), err: err}
	}
	var pf *planFile
	if o.out != "" {
		if err := safefile.Check(o.out, "--out", path); err != nil {
			return err
		}
		if pf, err = createPlanFile(o.out); err != nil {
			return &usageError{cmd: fset.Name(), err: err}
		}
		defer pf.abort()
	}
	src, st, err := e.openChecked(path, opt)
	if err != nil {
		if src != nil {
			src.Close()
		}
		return err
	}
	defer src.Close()
	if !o.reconcile {
		return e.planOffline(src, st, pf, root, o.detailed)
	}
	return e.planReconcile(ctx, src, st, o, pf)
}

// graphRoot is the Graph root the connection flags name, without signing
// in: a plan records it even when made offline.
func graphRoot(c connFlags) (string, error) {
	if c.graphURL != "" {
		return c.graphURL, nil
	}
	cloud, err := auth.LookupCloud(c.cloud)
	if err != nil {
		return "", err
	}
	return cloud.GraphRoot(), nil
}

// planOffline shows the plan of a valid input, and saves it with --out:
// with no network, the plan is exactly what apply would send.
func (e *env) planOffline(src *input.Source, st input.Stats, pf *planFile, root string, detailed bool) error {
	if pf != nil {
		if err := pf.start(planHeader(src, root, false)); err != nil {
			return fmt.Errorf("saving the plan: %w", err)
		}
	}
	perRoute := map[string]int{}
	var routes []string // in order of appearance
	shown := 0
	for r, err := range src.Rows() {
		if err != nil {
			return err
		}
		name := src.Res.RouteName(r.Key)
		if perRoute[name] == 0 {
			routes = append(routes, name)
		}
		if perRoute[name]++; perRoute[name] <= shownRows {
			fmt.Fprint(e.stdout, showOp(&r.Op, r.Body))
			shown++
		}
		if pf != nil {
			if err := pf.write(entryOf(r, plan.ActionPatch, nil)); err != nil {
				return fmt.Errorf("saving the plan: %w", err)
			}
		}
	}
	if st.Rows > shown {
		fmt.Fprintf(e.stdout, "  … %d more rows\n", st.Rows-shown)
	}
	fmt.Fprintf(e.stdout, "\nPlan: %d to patch (%s). Nothing was sent.\n", st.Rows, routeCounts(src, routes, perRoute))
	fmt.Fprintln(e.stdout, "These rows would be sent if they differ from the live objects; `plan --reconcile` reads them and shows what really differs.")
	if pf != nil {
		if err := pf.commit(); err != nil {
			return fmt.Errorf("saving the plan: %w", err)
		}
		fmt.Fprintf(e.stdout, "Saved to %s; run `bulkpatch apply --plan %s` to apply exactly this.\n", pf.path, pf.path)
	}
	if detailed && st.Rows > 0 {
		return errChangesPending
	}
	return nil
}

// routeCounts says how many rows take each route, in the resource's
// route order: "37 by device status, 1 through a user status".
func routeCounts(src *input.Source, seen []string, n map[string]int) string {
	s := ""
	for _, rt := range src.Res.Routes {
		if len(seen) > 0 || len(src.Res.Routes) > 1 {
			if s != "" {
				s += ", "
			}
			s += fmt.Sprintf("%d %s", n[rt.Name], rt.Name)
		}
	}
	return s
}

// showOp renders one operation as plan prints it: the route and the
// exact body.
func showOp(op *plan.Op, body []byte) string {
	method, p, err := op.Res.WritePath(op.Key)
	if err != nil {
		p = "(" + err.Error() + ")"
	}
	return fmt.Sprintf("  line %d: %s %s\n      %s\n", op.Line, method, p, body)
}

// planReconcile reads the live objects of a valid input and shows what
// differs.
func (e *env) planReconcile(ctx context.Context, src *input.Source, st input.Stats, o planOpts, pf *planFile) error {
	logger := newLogger(e.stderr, o.pace.logFormat, e.getenv)
	conn, err := e.connect("bulkpatch plan", o.conn, o.pace, logger)
	if err != nil {
		return err
	}
	if err := conn.signIn(ctx); err != nil {
		return err
	}
	if pf != nil {
		if err := pf.start(planHeader(src, conn.root, true)); err != nil {
			return fmt.Errorf("saving the plan: %w", err)
		}
	}
	var c reconcileCounts
	live := apply.NewLive(conn.client, st.Collections)
	err = apply.Reconcile(ctx, live, src.Rows(), o.pace.concurrency, func(r input.Row, changes []plan.Change, res graph.Result) error {
		return e.reconciled(ctx, src, r, changes, res, pf, &c)
	})
	if err != nil {
		if ctx.Err() != nil {
			return fmt.Errorf("interrupted: the plan is not finished and was not saved: %w", ctx.Err())
		}
		return err
	}
	return e.reconcileSummary(c, st, pf, o.detailed)
}

type reconcileCounts struct{ updates, unchanged, failed int }

// reconciled handles one row of plan --reconcile, in input order.
func (e *env) reconciled(ctx context.Context, src *input.Source, r input.Row, changes []plan.Change, res graph.Result, pf *planFile, c *reconcileCounts) error {
	if res.Err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		if stop := apply.RunFatal(src.Res, res.Err); stop != nil {
			return stop
		}
		c.failed++
		fmt.Fprintf(e.stderr, "%s: line %d: reading the live object: %v\n", src.Path, r.Line, res.Err)
		if pf != nil {
			// Not reconciled, but still the input's row: apply --plan sends
			// it as it is and reports what became of it, so the results
			// list every row.
			return pf.write(entryOf(r, plan.ActionPatch, nil))
		}
		return nil
	}
	action := plan.ActionUnchanged
	if len(changes) > 0 {
		action = plan.ActionUpdate
		if c.updates++; c.updates <= shownChanges {
			e.showChanges(&r.Op, changes)
		}
	} else {
		c.unchanged++
	}
	if pf != nil {
		return pf.write(entryOf(r, action, changes))
	}
	return nil
}

func (e *env) reconcileSummary(c reconcileCounts, st input.Stats, pf *planFile, detailed bool) error {
	if c.updates > shownChanges {
		fmt.Fprintf(e.stdout, "  … %d more updates (--out saves them all)\n", c.updates-shownChanges)
	}
	fmt.Fprintf(e.stdout, "\nPlan: %d to update, %d unchanged, %d invalid", c.updates, c.unchanged, st.BadRows)
	if c.failed > 0 {
		fmt.Fprintf(e.stdout, ", %d could not be read", c.failed)
	}
	fmt.Fprintln(e.stdout, ". Nothing was written.")
	if pf != nil {
		if err := pf.commit(); err != nil {
			return fmt.Errorf("saving the plan: %w", err)
		}
		fmt.Fprintf(e.stdout, "Saved to %s.\n", pf.path)
		if c.failed > 0 {
			fmt.Fprintf(e.stdout, "The %d rows that could not be read are saved to be sent as they are.\n", c.failed)
		}
	}
	switch {
	case c.failed > 0:
		return reported{errors.New("some rows could not be read")}
	case detailed && c.updates > 0:
		return errChangesPending
	}
	return nil
}

func (e *env) showChanges(op *plan.Op, changes []plan.Change) {
	p, _ := op.Res.ObjectPath(op.Key)
	fmt.Fprintf(e.stdout, "  ~ line %d: %s\n", op.Line, p)
	for _, c := range changes {
		fmt.Fprintf(e.stdout, "      %s: %s → %s\n", c.Property, orNull(c.Old), orNull(c.New))
	}
}

func orNull(v json.RawMessage) string {
	if len(v) == 0 {
		return "null"
	}
	return truncate(string(v), 200)
}

func entryOf(r input.Row, action string, changes []plan.Change) plan.Entry {
	return plan.Entry{Line: r.Line, Key: r.Key, Action: action, Body: r.Body, Changes: changes}
}

func planHeader(src *input.Source, root string, reconcile bool) plan.Header {
	abs, err := filepath.Abs(src.Path)
	if err != nil {
		abs = src.Path
	}
	names := make([]string, len(src.Props))
	for i, p := range src.Props {
		names[i] = src.Res.Properties[p].Name
	}
	return plan.Header{
		Format:      1,
		Tool:        "bulkpatch " + version,
		CreatedAt:   time.Now().UTC(),
		InputPath:   abs,
		InputSHA256: src.SHA256,
		Resource:    src.Res.Name,
		GraphRoot:   root,
		Reconcile:   reconcile,
		Columns:     names,
	}
}

// planFile writes a plan beside its final path and renames it into place
// only when the plan is complete, so a failed plan leaves nothing behind.
type planFile struct {
	path string
	f    *safefile.File
	fw   *plan.FileWriter
}

func createPlanFile(path string) (*planFile, error) {
	f, err := safefile.Create(path)
	if err != nil {
		return nil, err
	}
	return &planFile{path: path, f: f}, nil
}

// start writes the header; it must come before the first write.
func (p *planFile) start(h plan.Header) error {
	fw, err := plan.NewFileWriter(p.f, h)
	p.fw = fw
	return err
}

func (p *planFile) write(en plan.Entry) error { return p.fw.Write(en) }

func (p *planFile) commit() error {
	if err := p.fw.Close(); err != nil {
		return err
	}
	return p.f.Commit()
}

// abort removes the temporary file unless commit renamed it.
func (p *planFile) abort() { p.f.Abort() }
