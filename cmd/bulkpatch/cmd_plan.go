package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/bulkpatch/bulkpatch/internal/apply"
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/plan"
)

// shownRows is how many rows per route plan prints with their JSON body;
// shownChanges how many reconciled updates it prints with their diffs.
const (
	shownRows    = 3
	shownChanges = 100
)

func (e *env) plan(ctx context.Context, args []string) int {
	fset := e.newFlagSet("plan")
	var (
		inf       inputFlags
		conn      connFlags
		pace      paceFlags
		reconcile = fset.Bool("reconcile", false, "read the live objects and plan only what differs (needs sign-in)")
		out       = fset.String("out", "", "save the plan as JSON for `apply --plan`")
		detailed  = fset.Bool("detailed-exitcode", false, "exit 8 when changes are pending, 0 when none")
	)
	inf.add(fset)
	conn.add(fset, e.getenv)
	pace.add(fset)
	pos, opt, code := e.parseRun(fset, args, 1, &inf, &pace)
	if code >= 0 {
		return code
	}
	path := pos[0]

	var pf *planFile
	if *out != "" {
		var err error
		if pf, err = createPlanFile(*out); err != nil {
			e.errorf("%v", err)
			return exitUsage
		}
		defer pf.abort()
	}
	if !*reconcile {
		return e.planOffline(path, opt, inf.maxRows, pf, *detailed)
	}
	return e.planReconcile(ctx, path, opt, inf.maxRows, conn, pace, pf, *detailed)
}

// planOffline validates and shows the plan in one pass: with no network,
// the plan is exactly what apply would send. With --out, a second pass
// streams the operations into the plan file once the input is known to be
// valid (a wrong file is refused before it is read twice).
func (e *env) planOffline(path string, opt csvio.ReaderOptions, maxRows int, pf *planFile, detailed bool) int {
	var direct, nested int
	var body []byte
	// The first rows of each route are shown only once the whole file is
	// known to be valid: an invalid file gets its problems, not a plan.
	var shown []string
	h, err := openHeld(path)
	if err != nil {
		return e.inputVerdict(path, nil, err)
	}
	defer h.Close()
	problems := e.printProblems(path)
	in, err := h.walk(opt, maxRows, func(rec *csvio.Record, op *plan.Op, msgs []string) error {
		if op == nil {
			return problems(rec, op, msgs)
		}
		count := &direct
		if op.UserStatusID != "" {
			count = &nested
		}
		*count++
		if *count <= shownRows {
			body = op.AppendBody(body[:0])
			shown = append(shown, showOp(op, body))
		}
		return nil
	})
	if code := e.inputVerdict(path, in, err); code != exitOK {
		return code
	}
	for _, op := range shown {
		fmt.Fprint(e.stdout, op)
	}
	if in.rows > len(shown) {
		fmt.Fprintf(e.stdout, "  … %d more rows\n", in.rows-len(shown))
	}
	fmt.Fprintf(e.stdout, "\nPlan: %d to patch (%d by device status, %d through a user status). Nothing was sent.\n", in.rows, direct, nested)
	if pf != nil {
		if err := e.savePlan(h, opt, in, pf); err != nil {
			e.errorf("saving the plan: %v", err)
			return exitUsage
		}
		fmt.Fprintf(e.stdout, "Saved to %s; run `bulkpatch apply --plan %s` to apply exactly this.\n", pf.path, pf.path)
	}
	if detailed && in.rows > 0 {
		return exitChanges
	}
	return exitOK
}

// savePlan writes every operation of a validated input into pf.
func (e *env) savePlan(h *heldFile, opt csvio.ReaderOptions, in *input, pf *planFile) error {
	if err := pf.start(planHeader(in, "", false)); err != nil {
		return err
	}
	var body []byte
	_, err := h.walk(opt, 0, func(_ *csvio.Record, op *plan.Op, msgs []string) error {
		if op == nil { // cannot happen: the same bytes validated a moment ago
			return fmt.Errorf("%s", msgs[0])
		}
		body = op.AppendBody(body[:0])
		return pf.write(entryOf(op, plan.ActionPatch, body, nil))
	})
	if err != nil {
		return err
	}
	return pf.commit()
}

// showOp renders one operation as plan prints it: the route and the
// exact body.
func showOp(op *plan.Op, body []byte) string {
	p, err := graph.ObjectPath(graph.Target{AppID: op.AppID, UserStatusID: op.UserStatusID, StatusID: op.StatusID})
	if err != nil {
		p = "(" + err.Error() + ")"
	}
	return fmt.Sprintf("  line %d: PATCH %s\n      %s\n", op.Line, p, body)
}

// planReconcile validates the whole input first (nothing is read from
// Graph for an invalid file), then reads the live objects and diffs.
func (e *env) planReconcile(ctx context.Context, path string, opt csvio.ReaderOptions, maxRows int,
	cf connFlags, pace paceFlags, pf *planFile, detailed bool) int {
	h, err := openHeld(path)
	if err != nil {
		return e.inputVerdict(path, nil, err)
	}
	defer h.Close()
	h.countGroups = true
	in, err := h.walk(opt, maxRows, e.printProblems(path))
	if code := e.inputVerdict(path, in, err); code != exitOK {
		return code
	}
	logger := newLogger(e.stderr, pace.logFormat, e.getenv)
	conn, err := e.connect(cf, pace, logger)
	if err != nil {
		e.errorf("%v", err)
		return exitUsage
	}
	if code := e.signIn(ctx, conn); code >= 0 {
		return code
	}
	if pf != nil {
		if err := pf.start(planHeader(in, conn.root, true)); err != nil {
			e.errorf("saving the plan: %v", err)
			return exitUsage
		}
	}
	live := apply.NewLive(conn.client, in.groups)
	var updates, unchanged, failed int
	var body []byte
	err = diffAll(ctx, live, items(h, opt, in.propCols), pace.concurrency, func(it apply.Item, changes []plan.Change, res graph.Result) error {
		body = it.Op.AppendBody(body[:0])
		if res.Err != nil {
			failed++
			fmt.Fprintf(e.stderr, "%s: line %d: reading the live object: %v\n", path, it.Op.Line, res.Err)
			if code := fatalReadCode(res.Err); code != 0 {
				return &exitError{code, res.Err}
			}
			if pf != nil {
				// Not reconciled, but still the input's row: apply --plan
				// sends it as it is and reports what became of it, so
				// the results list every row.
				return pf.write(entryOf(&it.Op, plan.ActionPatch, body, nil))
			}
			return nil
		}
		action := plan.ActionUnchanged
		if len(changes) > 0 {
			action = plan.ActionUpdate
			updates++
			if updates <= shownChanges {
				e.showChanges(&it.Op, changes)
			}
		} else {
			unchanged++
		}
		if pf != nil {
			return pf.write(entryOf(&it.Op, action, body, changes))
		}
		return nil
	})
	var ee *exitError
	if errors.As(err, &ee) {
		e.errorf("%v", ee.err)
		return ee.code
	}
	if err != nil {
		e.errorf("%v", err)
		if ctx.Err() != nil {
			return exitInterrupted
		}
		return exitUnavailable
	}
	if updates > shownChanges {
		fmt.Fprintf(e.stdout, "  … %d more updates (--out saves them all)\n", updates-shownChanges)
	}
	fmt.Fprintf(e.stdout, "\nPlan: %d to update, %d unchanged, %d invalid", updates, unchanged, in.badRows)
	if failed > 0 {
		fmt.Fprintf(e.stdout, ", %d could not be read", failed)
	}
	fmt.Fprintln(e.stdout, ". Nothing was written.")
	if pf != nil {
		if err := pf.commit(); err != nil {
			e.errorf("saving the plan: %v", err)
			return exitUsage
		}
		fmt.Fprintf(e.stdout, "Saved to %s.\n", pf.path)
		if failed > 0 {
			fmt.Fprintf(e.stdout, "The %d rows that could not be read are saved to be sent as they are.\n", failed)
		}
	}
	if failed > 0 {
		return exitRowsFailed
	}
	if detailed && updates > 0 {
		return exitChanges
	}
	return exitOK
}

// exitError carries an exit code out of a callback.
type exitError struct {
	code int
	err  error
}

func (e *exitError) Error() string { return e.err.Error() }

// fatalReadCode returns the exit code for a read failure that every other
// read would meet too, or 0 for one that concerns a single row.
func fatalReadCode(err error) int {
	if graph.IsSegmentRemoved(err) {
		return exitUnavailable
	}
	var ae *graph.APIError
	var te *graph.TokenError
	if errors.As(err, &te) || errors.As(err, &ae) && (ae.Status == 401 || ae.Status == 403) {
		return exitAuth
	}
	return 0
}

func (e *env) showChanges(op *plan.Op, changes []plan.Change) {
	p, _ := graph.ObjectPath(graph.Target{AppID: op.AppID, UserStatusID: op.UserStatusID, StatusID: op.StatusID})
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

// diffAll reads the live object of every item, up to concurrency at a
// time, and calls fn in input order.
func diffAll(ctx context.Context, live *apply.Live, seq func(func(apply.Item, error) bool), concurrency int,
	fn func(apply.Item, []plan.Change, graph.Result) error) error {
	type slot struct {
		it      apply.Item
		changes []plan.Change
		res     graph.Result
	}
	window := max(concurrency*8, 16)
	var batch []slot
	run := func() error {
		g, gctx := errgroup.WithContext(ctx)
		g.SetLimit(concurrency)
		for i := range batch {
			s := &batch[i]
			g.Go(func() error {
				obj, res := live.Fetch(gctx, &s.it.Op)
				if res.Err == nil {
					var err error
					if s.changes, err = plan.Diff(&s.it.Op, obj); err != nil {
						res.Err = fmt.Errorf("comparing with the live object: %w", err)
					}
				}
				s.res = res
				return nil
			})
		}
		g.Wait()
		for _, s := range batch {
			if err := fn(s.it, s.changes, s.res); err != nil {
				return err
			}
		}
		batch = batch[:0]
		return ctx.Err()
	}
	for it, err := range seq {
		if err != nil {
			return err
		}
		batch = append(batch, slot{it: it})
		if len(batch) == window {
			if err := run(); err != nil {
				return err
			}
		}
	}
	return run()
}

func entryOf(op *plan.Op, action string, body []byte, changes []plan.Change) plan.Entry {
	return plan.Entry{
		Line:                     op.Line,
		MobileAppID:              op.AppID,
		UserAppInstallStatusID:   op.UserStatusID,
		MobileAppInstallStatusID: op.StatusID,
		Action:                   action,
		Body:                     append(json.RawMessage(nil), body...),
		Changes:                  changes,
	}
}

func planHeader(in *input, root string, reconcile bool) plan.Header {
	abs, err := filepath.Abs(in.path)
	if err != nil {
		abs = in.path
	}
	return plan.Header{
		Format:      1,
		Tool:        "bulkpatch " + version,
		CreatedAt:   time.Now().UTC(),
		InputPath:   abs,
		InputSHA256: in.sha256,
		GraphRoot:   root,
		Reconcile:   reconcile,
		Columns:     in.propNames(),
	}
}

// planFile writes a plan beside its final path and renames it into place
// only when the plan is complete, so a failed plan leaves nothing behind.
type planFile struct {
	path string
	tmp  *os.File
	fw   *plan.FileWriter
}

func createPlanFile(path string) (*planFile, error) {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".bulkpatch-plan-*")
	if err != nil {
		return nil, err
	}
	// Plans hold user names: readable by the owner only.
	if err := tmp.Chmod(0o600); err != nil {
		tmp.Close()
		os.Remove(tmp.Name())
		return nil, err
	}
	return &planFile{path: path, tmp: tmp}, nil
}

// start writes the header; it must come before the first write.
func (p *planFile) start(h plan.Header) error {
	fw, err := plan.NewFileWriter(p.tmp, h)
	p.fw = fw
	return err
}

func (p *planFile) write(en plan.Entry) error { return p.fw.Write(en) }

func (p *planFile) commit() error {
	err := p.fw.Close()
	if err == nil {
		err = p.tmp.Sync()
	}
	if cerr := p.tmp.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(p.tmp.Name(), p.path)
	}
	return err
}

// abort removes the temporary file unless commit renamed it.
func (p *planFile) abort() {
	p.tmp.Close()
	os.Remove(p.tmp.Name())
}
