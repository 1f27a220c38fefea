package plan

import (
	"cmp"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// How much of a plan Output prints: the first rows of each route with
// their JSON body (offline), the first reconciled updates with their
// diffs.
const (
	shownRows    = 3
	shownChanges = 100
)

// Output shows a plan to people as it is made, and saves it to a plan
// file when one is given. Feed it every row in input order (Patch for an
// offline plan; Reconciled and Unreadable for a reconciled one), then
// call Finish. It is not safe for concurrent use.
type Output struct {
	W    io.Writer // the report for people (stdout)
	File *File     // the plan file; nil: not saved

	reconciled bool
	perRoute   map[string]int
	routes     []string // route names, in the resource's order
	verb       string   // what a row's request does: "patch", or "send" for an action (a POST)
	shown      int
	// Counts holds the entries by action; Unread counts the rows of a
	// reconciled plan whose live object could not be read (saved as
	// patches, to be sent as they are).
	Counts Summary
	Unread int
}

// Start begins a plan for h; with File set it writes the header.
func (o *Output) Start(h Header) error {
	o.reconciled = h.Reconcile
	o.perRoute = make(map[string]int)
	if o.File != nil {
		if err := o.File.Start(h); err != nil {
			return fmt.Errorf("saving the plan: %w", err)
		}
	}
	return nil
}

func (o *Output) save(e Entry) error {
	if o.File == nil {
		return nil
	}
	if err := o.File.Write(e); err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	return nil
}

// Patch adds a row of an offline plan: it would be sent as it is.
//
// body may be nil: it is then made from op where it is needed.
func (o *Output) Patch(op *Op, body []byte) error {
	if o.routes == nil {
		for _, rt := range op.Res.Routes {
			o.routes = append(o.routes, rt.Name)
		}
		o.verb = "patch"
		if op.Res.Method != http.MethodPatch {
			o.verb = "send"
		}
	}
	name := op.Res.RouteName(op.Key)
	show := false
	if o.perRoute[name]++; o.perRoute[name] <= shownRows {
		show = true
	}
	if body == nil && (show || o.File != nil) {
		body = op.AppendBody(nil) // made only where it is shown or saved
	}
	if show {
		ShowOp(o.W, op, body)
		o.shown++
	}
	o.Counts.Patch++
	return o.save(Entry{Line: op.Line, Key: op.Key, Action: ActionPatch, Body: body})
}

// Reconciled adds a row of a reconciled plan and what differs in it from
// the live object (nothing: unchanged).
func (o *Output) Reconciled(op *Op, body []byte, changes []Change) error {
	action := ActionUnchanged
	if len(changes) > 0 {
		action = ActionUpdate
		if o.Counts.Update++; o.Counts.Update <= shownChanges {
			ShowChanges(o.W, op, changes)
		}
	} else {
		o.Counts.Unchanged++
	}
	return o.save(Entry{Line: op.Line, Key: op.Key, Action: action, Body: body, Changes: changes})
}

// Unreadable adds a row of a reconciled plan whose live object could not
// be read: not reconciled, but still the input's row, saved to be sent
// as it is, so that apply --plan reports what became of every row.
func (o *Output) Unreadable(op *Op, body []byte) error {
	o.Unread++
	return o.save(Entry{Line: op.Line, Key: op.Key, Action: ActionPatch, Body: body})
}

// Finish prints the summary (invalid: rows that did not validate) and
// puts the plan file in place.
func (o *Output) Finish(invalid int) error {
	if o.reconciled {
		o.reconciledSummary(invalid)
	} else {
		o.offlineSummary()
	}
	if o.File == nil {
		return nil
	}
	if err := o.File.Commit(); err != nil {
		return fmt.Errorf("saving the plan: %w", err)
	}
	p := o.File.Path()
	if o.reconciled {
		fmt.Fprintf(o.W, "Saved to %s.\n", p)
		if o.Unread > 0 {
			fmt.Fprintf(o.W, "The %d rows that could not be read are saved to be sent as they are.\n", o.Unread)
		}
		return nil
	}
	fmt.Fprintf(o.W, "Saved to %s; run `bulkpatch apply --plan %s` to apply exactly this.\n", p, p)
	return nil
}

func (o *Output) offlineSummary() {
	if o.Counts.Patch > o.shown {
		fmt.Fprintf(o.W, "  … %d more rows\n", o.Counts.Patch-o.shown)
	}
	var parts []string
	for _, name := range o.routes {
		parts = append(parts, fmt.Sprintf("%d %s", o.perRoute[name], name))
	}
	fmt.Fprintf(o.W, "\nPlan: %d to %s (%s). Nothing was sent.\n", o.Counts.Patch, cmp.Or(o.verb, "patch"), strings.Join(parts, ", "))
	fmt.Fprintln(o.W, "These rows would be sent if they differ from the live objects; `plan --reconcile` reads them and shows what really differs.")
}

func (o *Output) reconciledSummary(invalid int) {
	if o.Counts.Update > shownChanges {
		fmt.Fprintf(o.W, "  … %d more updates (--out saves them all)\n", o.Counts.Update-shownChanges)
	}
	fmt.Fprintf(o.W, "\nPlan: %d to update, %d unchanged, %d invalid", o.Counts.Update, o.Counts.Unchanged, invalid)
	if o.Unread > 0 {
		fmt.Fprintf(o.W, ", %d could not be read", o.Unread)
	}
	fmt.Fprintln(o.W, ". Nothing was written.")
}
