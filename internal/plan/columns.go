package plan

import (
	"github.com/bulkpatch/bulkpatch/internal/csvio"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// The input's layout. A resource's columns are its key columns, then its
// properties; csvio hands each record's cells back in the order of the
// columns it was given. Columns, KeyCells, PropCell and Record are the only code
// that knows where a key or a property sits in Record.Cells (Record
// builds one).

// Columns returns the input columns of res for csvio: its key columns,
// Required when res.Required(i), with their aliases, then its properties
// by name. Record.Cells is indexed like this list: keys at
// [0, len(res.Keys)), property j at len(res.Keys)+j. This is the only
// place that index arithmetic is written.
func Columns(res *resource.Resource) []csvio.Column {
	cols := make([]csvio.Column, 0, len(res.Keys)+len(res.Properties))
	for i, k := range res.Keys {
		cols = append(cols, csvio.Column{Name: k.Name, Aliases: k.Aliases, Required: res.Required(i)})
	}
	for _, p := range res.Properties {
		cols = append(cols, csvio.Column{Name: p.Name})
	}
	return cols
}

// SuggestColumn returns the csvio Suggest function for res: the column
// whose name or alias is nearest to a header cell by edit distance, after
// folding as csvio matches headers, when it is near enough to be a typo
// (at most a third of the longer name plus one edit). Aliases shorter
// than four letters ("id") are one typo away from too many words and are
// not suggested.
func SuggestColumn(res *resource.Resource) func(cell string) string {
	return func(cell string) string {
		k := csvio.FoldHeader(cell)
		if len(k) > 64 { // hostile lengths: not worth the quadratic work
			return ""
		}
		best, bestD := "", -1
		consider := func(name, canonical string) {
			name = csvio.FoldHeader(name)
			d := resource.Distance(k, name)
			if d <= max(len(k), len(name))/3+1 && (bestD < 0 || d < bestD) {
				best, bestD = canonical, d
			}
		}
		for _, c := range Columns(res) {
			consider(c.Name, c.Name)
			for _, a := range c.Aliases {
				if len(csvio.FoldHeader(a)) >= 4 {
					consider(a, c.Name)
				}
			}
		}
		return best
	}
}

// KeyCells returns the key cells of rec, a record read with
// Columns(res), indexed like res.Keys.
func KeyCells(res *resource.Resource, rec *csvio.Record) resource.Key {
	var k resource.Key
	copy(k[:len(res.Keys)], rec.Cells)
	return k
}

// PropCell returns the cell of property prop (an index into
// res.Properties) of rec, a record read with Columns(res).
func PropCell(res *resource.Resource, rec *csvio.Record, prop int) string {
	return rec.Cells[len(res.Keys)+prop]
}

// Record builds the record a row with these key cells and property
// cells (indexed like res.Properties) would be read as, on line: what
// export checks a live object's row with.
func Record(res *resource.Resource, line int, key resource.Key, props []string) csvio.Record {
	cells := make([]string, numCells(res))
	copy(cells, key[:len(res.Keys)])
	copy(cells[len(res.Keys):], props)
	return csvio.Record{Line: line, Cells: cells}
}

// numCells is how many cells a record read with Columns(res) holds.
func numCells(res *resource.Resource) int { return len(res.Keys) + len(res.Properties) }
