package csvio

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode"
)

// Header matching.
//
// A header cell names a column when, compared case-insensitively and with
// all white space, '_' and '-' removed, it equals the column's canonical
// name or one of its aliases. A cell starting with '#' (after leading
// spaces) marks a comment column, whose cells are carried along but never
// checked. Empty header cells are allowed only at the end of the header
// (spreadsheets leave them behind), and the cells under them must be empty
// too.

// columnSet is the known columns of a Reader, with the folded form of
// every name and alias. It is built once per Reader and only read.
type columnSet struct {
	cols    []Column
	byKey   map[string]int // folded name or alias -> index in cols
	suggest func(cell string) string
}

func newColumnSet(cols []Column, suggest func(string) string) (*columnSet, error) {
	s := &columnSet{cols: cols, byKey: make(map[string]int, 2*len(cols)), suggest: suggest}
	for i, c := range cols {
		for _, name := range append([]string{c.Name}, c.Aliases...) {
			k := foldKey(name)
			if j, dup := s.byKey[k]; dup && j != i || k == "" || strings.HasPrefix(k, "#") {
				return nil, fmt.Errorf("csvio: column name %q cannot be told apart", name)
			}
			s.byKey[k] = i
		}
	}
	return s, nil
}

// names returns the canonical names, for messages.
func (s *columnSet) names() []string {
	n := make([]string, len(s.cols))
	for i, c := range s.cols {
		n[i] = c.Name
	}
	return n
}

// foldKey is the form header cells are compared in: lower case, without
// white space, '_' and '-'.
func foldKey(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for _, r := range s {
		switch {
		case r == '_' || r == '-' || unicode.IsSpace(r):
		default:
			b.WriteRune(unicode.ToLower(r))
		}
	}
	return b.String()
}

// cellKind is what a header cell turned out to be.
type cellKind uint8

const (
	knownCell   cellKind = iota // names a known column
	commentCell                 // starts with '#': carried, not checked
	emptyCell                   // empty or only spaces
	unknownCell                 // names nothing we know
)

// classify says what one header cell is and, for knownCell, which column.
func (s *columnSet) classify(cell string) (cellKind, int) {
	t := strings.TrimSpace(cell)
	switch {
	case t == "":
		return emptyCell, 0
	case t[0] == '#':
		return commentCell, 0
	}
	if c, ok := s.byKey[foldKey(t)]; ok {
		return knownCell, c
	}
	return unknownCell, 0
}

// commentKey is the name the header hands gocsv for the i-th comment
// column, so that its cells come back among gocsv's unmatched cells.
func commentKey(i int) string { return "#comment" + strconv.Itoa(i) }

// The names the header hands gocsv for cells that map to no known
// column. Neither can equal a positional field's tag.
const (
	ignoredKey = "#ignored" // comment and refused columns
	blankKey   = "#blank"   // trailing empty-header columns
)

// layout is what the header says about every row: the one mapping of
// header cells to columns, made by parseHeader.
type layout struct {
	header   []string // the header cells as written
	columns  []int    // known columns present, in file order
	index    []int    // file position of each known column, -1 if absent
	comments []int    // file positions of comment columns
	keys     []string // the header handed to gocsv: a positional tag per cell
	blank    int      // first trailing empty-header position, len(header) if none
}

// parseHeader maps the header cells (as written) found on line to columns.
// It reports every problem at once, each as a *ParseError, joined.
func (s *columnSet) parseHeader(cells []string, line int) (*layout, error) {
	l := &layout{header: cells, keys: make([]string, len(cells)), index: make([]int, len(s.cols)), blank: len(cells)}
	for i := range l.index {
		l.index[i] = -1
	}
	for l.blank > 0 && strings.TrimSpace(cells[l.blank-1]) == "" {
		l.blank--
	}
	var errs []error
	for i, cell := range cells {
		kind, c := s.classify(cell)
		l.keys[i] = ignoredKey
		switch kind {
		case knownCell:
			if j := l.index[c]; j >= 0 {
				errs = append(errs, &ParseError{Line: line, Column: s.cols[c].Name, Err: fmt.Errorf(
					"%w: %q (column %d) and %q (column %d) both name it", ErrDuplicateColumn, cells[j], j+1, cell, i+1)})
				continue
			}
			l.index[c] = i
			l.columns = append(l.columns, c)
			l.keys[i] = fieldTag(c)
		case commentCell:
			l.keys[i] = commentKey(len(l.comments))
			l.comments = append(l.comments, i)
		case emptyCell:
			l.keys[i] = blankKey
			if i < l.blank {
				errs = append(errs, &ParseError{Line: line, Err: fmt.Errorf(
					"%w in column %d: only trailing header cells may be empty (start it with # for a comment column)", ErrEmptyHeader, i+1)})
			}
		case unknownCell:
			errs = append(errs, &ParseError{Line: line, Column: clip(cell), Err: s.unknownColumnError(cell)})
		}
	}
	for c, col := range s.cols {
		if col.Required && l.index[c] < 0 {
			errs = append(errs, &ParseError{Line: line, Column: col.Name, Err: ErrMissingColumn})
		}
	}
	switch len(errs) {
	case 0:
		return l, nil
	case 1:
		return nil, errs[0]
	}
	return nil, errors.Join(errs...)
}

// requiredNames lists the required columns, for the empty-file message.
func (s *columnSet) requiredNames() string {
	var names []string
	for _, c := range s.cols {
		if c.Required {
			names = append(names, c.Name)
		}
	}
	return strings.Join(names, " and ")
}

// unknownColumnError names the known column cell was probably meant to
// be (ReaderOptions.Suggest), or all of them.
func (s *columnSet) unknownColumnError(cell string) error {
	if s.suggest != nil {
		if c := s.suggest(cell); c != "" {
			return fmt.Errorf("%w %q; did you mean %q?", ErrUnknownColumn, clip(cell), c)
		}
	}
	return fmt.Errorf("%w %q; known columns are %s (a header starting with # marks a comment column)",
		ErrUnknownColumn, clip(cell), strings.Join(s.names(), ", "))
}

// FoldHeader is the form header cells are compared in: lower case,
// without white space, '_' and '-'. A Suggest function compares in it too.
func FoldHeader(s string) string { return foldKey(s) }
