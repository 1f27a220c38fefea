// Package export turns the live objects of a collection into rows of an
// input CSV that read back as exactly those objects, so that export ->
// edit in a spreadsheet -> plan --reconcile shows exactly the edits.
//
// A value that cannot be written that way (a carriage return, which CSV
// readers turn into a line feed; the string "<null>", which reads back as
// null; an enum member this bulkpatch does not know; a value of the wrong
// JSON type) gets an empty cell, which keeps the live value, and a
// warning. null gets an empty cell too, unless every cell of the row
// would be empty: then the nulls are written as <null>, since a row that
// changes nothing is not an input row. Every row is checked by reading it back as plan would and
// comparing it with the live object, through the same Check and Diff that
// apply uses.
package export

import (
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/plan"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// maxWarnings bounds the warnings an Exporter reports one by one.
const maxWarnings = 20

// Exporter writes the objects of one collection as input rows. It is not
// safe for concurrent use.
type Exporter struct {
	res  *resource.Resource
	coll resource.Key // the collection: the object's own id left empty
	keys []int        // the key columns written: those coll sets, then the id
	warn func(msg string)

	seen            map[resource.Key]bool // keys written, ids folded: a listing that shifts while paged can repeat one
	warned, blanked int
	skipped         int
}

// Collection returns the key of the collection of res that the given ids
// name, in the order of res.Keys without the object's own id (for
// mobileAppInstallStatus: the app and, optionally, a user status). Each id
// follows the rules of the id columns: one that could leave the intended
// route is a *resource.IDError, before anything is sent.
func Collection(res *resource.Resource, ids ...string) (resource.Key, error) {
	var k resource.Key
	i := 0
	for c := range res.Keys {
		if c == res.IDKey() || i >= len(ids) {
			continue
		}
		id := ids[i]
		i++
		if id == "" {
			continue
		}
		if msg := resource.CheckID(id); msg != "" {
			return k, &resource.IDError{Column: res.Keys[c].Name, Value: id, Reason: msg}
		}
		k[c] = id
	}
	return k, nil
}

// New returns an Exporter of the collection coll of res (a key whose
// object id is empty, e.g. {app, "", ""}); warn receives each warning.
func New(res *resource.Resource, coll resource.Key, warn func(msg string)) *Exporter {
	x := &Exporter{res: res, coll: coll, warn: warn, seen: make(map[resource.Key]bool)}
	for i := range res.Keys {
		if coll[i] != "" || i == res.IDKey() {
			x.keys = append(x.keys, i)
		}
	}
	return x
}

// Nest adds key column col, which coll leaves empty, to the columns
// written, so that rows of the collections nested under coll (see Enter)
// can be written in the same file.
func (x *Exporter) Nest(col int) {
	if i := slices.Index(x.keys, col); i < 0 {
		x.keys = append(x.keys, col)
		slices.Sort(x.keys)
	}
}

// Enter makes coll, a collection nested under New's (its ids set in
// columns given to Nest), the one the next rows come from.
func (x *Exporter) Enter(coll resource.Key) { x.coll = coll }

// Header returns the header row: the key columns, then every property.
func (x *Exporter) Header() []string {
	var h []string
	for _, i := range x.keys {
		h = append(h, x.res.Keys[i].Name)
	}
	for _, p := range x.res.Properties {
		h = append(h, p.Name)
	}
	return h
}

func (x *Exporter) warnf(format string, a ...any) {
	x.warned++
	if x.warned <= maxWarnings {
		x.warn(fmt.Sprintf(format, a...))
	}
}

// Summarize reports what the individual warnings did not show.
func (x *Exporter) Summarize() {
	if x.warned > maxWarnings {
		x.warn(fmt.Sprintf("%d more warnings not shown", x.warned-maxWarnings))
	}
	if x.blanked > 0 {
		x.warn(fmt.Sprintf("%d cells left empty (empty keeps the live value)", x.blanked))
	}
	if x.skipped > 0 {
		x.warn(fmt.Sprintf("%d objects left out", x.skipped))
	}
}

// Row returns the cells of obj's row, aligned with Header, or nil when
// obj cannot be written as an input row at all (it is then left out,
// with a warning). The error is only for an object without a string id.
func (x *Exporter) Row(obj json.RawMessage) ([]string, error) {
	id, props, err := x.cells(obj)
	if err != nil {
		return nil, err
	}
	key := x.coll
	key[x.res.IDKey()] = id
	folded := key
	for i := range folded {
		folded[i] = strings.ToLower(folded[i])
	}
	if x.seen[folded] {
		x.skipped++
		x.warnf("object %q was listed twice (the collection changed while it was read); written once", id)
		return nil, nil
	}
	x.seen[folded] = true
	if !x.roundTrips(obj, key, props) {
		return nil, nil
	}
	row := make([]string, 0, len(x.keys)+len(props))
	for _, i := range x.keys {
		row = append(row, key[i])
	}
	return append(row, props...), nil
}

// roundTrips reads key and props back as plan would and compares the
// operation with obj, blanking every cell that would not read back as
// itself. It reports false, with a warning, when the row cannot be
// written at all.
func (x *Exporter) roundTrips(obj json.RawMessage, key resource.Key, props []string) bool {
	id := key[x.res.IDKey()]
	blank := func(i int, why string) {
		x.blanked++
		x.warnf("object %q: %s %s; its cell is left empty, which keeps the live value", id, x.res.Properties[i].Name, why)
		props[i] = ""
	}
	check := func() (plan.Op, []plan.Problem) {
		rec := plan.Record(x.res, 2, key, props)
		return plan.NewValidator(x.res).Check(&rec)
	}
	op, probs := check()
	for _, p := range probs {
		if i := x.res.PropertyIndex(p.Column); i >= 0 {
			blank(i, fmt.Sprintf("%s would not read back: %s", strconv.Quote(truncate(p.Value, 80)), p.Msg))
		} else if p.Column != "" {
			x.skipped++
			x.warnf("object %q cannot be written as an input row: %s", id, p.Msg)
			return false
		}
	}
	if len(probs) > 0 {
		op, probs = check()
	}
	if len(probs) == 0 {
		changes, err := plan.Diff(&op, obj)
		if err != nil {
			x.skipped++
			x.warnf("object %q: %v; left out", id, err)
			return false
		}
		for _, ch := range changes {
			blank(x.res.PropertyIndex(ch.Property), fmt.Sprintf("%s would read back as %s", shownJSON(ch.Old), shownJSON(ch.New)))
		}
		if len(changes) > 0 {
			_, probs = check()
		}
	}
	if len(probs) > 0 && x.writeNulls(obj, props) {
		// Only "nothing to change" was left: every cell was empty. An
		// object whose writable properties are null (an Autopilot device
		// nobody has tagged or named yet) is still exported, so that it
		// can be edited: <null> reads back as the very null it is.
		op, probs = check()
		if len(probs) == 0 {
			if changes, err := plan.Diff(&op, obj); err != nil || len(changes) > 0 {
				x.skipped++ // not expected: Diff takes <null> as null
				x.warnf("object %q: its nulls would not read back as null; left out", id)
				return false
			}
		}
	}
	if len(probs) > 0 {
		// Only "nothing to change" is left: no cell could be written.
		x.skipped++
		x.warnf("object %q has no property that can be written; left out", id)
		return false
	}
	return true
}

// writeNulls writes <null> in the empty cell of each nullable property
// that obj holds as JSON null (not one it leaves out: that value is not
// known), and reports whether it wrote any.
func (x *Exporter) writeNulls(obj json.RawMessage, props []string) bool {
	var m map[string]json.RawMessage
	if json.Unmarshal(obj, &m) != nil {
		return false
	}
	wrote := false
	for i, p := range x.res.Properties {
		if raw, ok := m[p.Name]; ok && p.Nullable && props[i] == "" && string(raw) == "null" {
			props[i] = "<null>"
			wrote = true
		}
	}
	return wrote
}

// cells renders a live object as its id and one cell per property. null
// and absent become empty cells (left unchanged on re-import); so does a
// value of the wrong JSON type, with a warning; a carriage return, which
// CSV readers and spreadsheets do not keep, empties its cell too.
func (x *Exporter) cells(obj json.RawMessage) (string, []string, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(obj, &m); err != nil {
		return "", nil, fmt.Errorf("decoding an object: %w", err)
	}
	var id string
	if err := json.Unmarshal(m["id"], &id); err != nil || id == "" {
		return "", nil, fmt.Errorf("an object without a string id (%.80s)", obj)
	}
	props := make([]string, len(x.res.Properties))
	for i, p := range x.res.Properties {
		raw, ok := m[p.Name]
		if !ok || string(raw) == "null" {
			continue
		}
		var err error
		if p.Kind == resource.Int32 {
			var n int64
			if err = json.Unmarshal(raw, &n); err == nil {
				props[i] = strconv.FormatInt(n, 10)
			}
		} else {
			err = json.Unmarshal(raw, &props[i])
		}
		switch {
		case err != nil:
			x.blanked++
			x.warnf("object %q: %s is %s, not a %s; its cell is left empty, which keeps the live value", id, p.Name, shownJSON(raw), p.Type())
			props[i] = ""
		case strings.ContainsRune(props[i], '\r'):
			x.blanked++
			x.warnf("object %q: %s holds a carriage return, which CSV readers and spreadsheets do not keep; its cell is left empty, which keeps the live value", id, p.Name)
			props[i] = ""
		}
	}
	return id, props, nil
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

// truncate shortens s for messages, at a rune boundary.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
