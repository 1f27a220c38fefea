package plan

import (
	"strconv"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Intent says what a PATCH does with one property.
type Intent uint8

// The intents; the zero Value leaves its property alone.
const (
	Leave Intent = iota // not sent: the property stays as it is
	Set                 // sent with a value
	Clear               // sent as JSON null (nullable properties only)
)

// Value is one property's intent in an operation. For Set, Str holds the
// value to send in canonical form: an enum member in Graph's exact
// spelling, a date-time as written in the input without surrounding
// spaces (validated), a string exactly as is; Int holds an Int32
// property's value.
type Value struct {
	Intent Intent
	Str    string
	Int    int32
}

// Op is one validated row: the object it addresses and what to send.
// Ops are comparable with ==.
type Op struct {
	Line  int                // physical line of the input row
	Res   *resource.Resource // what Key and Props are indexed like; never nil in an Op from this package
	Key   resource.Key       // the object's key values, indexed like Res.Keys; "" for a key left empty
	Props [resource.MaxProperties]Value
}

// nullCell is how the input, and the results file, write JSON null.
const nullCell = "<null>"

// Cells renders op's properties as the results file shows them: the
// value sent (an Int32 property in decimal), "<null>" for a cleared
// property, "" for one left alone. props are indexes into
// op.Res.Properties, typically the property columns present in the input;
// the cells come back in the same order.
func (op *Op) Cells(props []int) []string {
	cells := make([]string, len(props))
	for i, p := range props {
		switch v := op.Props[p]; v.Intent {
		case Set:
			if op.Res.Properties[p].Kind == resource.Int32 {
				cells[i] = strconv.Itoa(int(v.Int))
			} else {
				cells[i] = v.Str
			}
		case Clear:
			cells[i] = nullCell
		}
	}
	return cells
}
