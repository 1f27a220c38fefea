package csvio

import (
	"errors"
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Header matching.
//
// A header cell names a column when, compared case-insensitively and with
// all white space, '_' and '-' removed, it equals the column's canonical
// name or one of these aliases (short names people write by hand, and the
// Graph path segments the ids come from):
//
//	appId                          -> mobileAppId
//	userStatusId                   -> userAppInstallStatusId
//	id, statusId, deviceStatusId   -> mobileAppInstallStatusId
//
// A cell starting with '#' (after leading spaces) marks a comment column,
// whose cells are never looked at. Empty header cells are allowed only at the
// end of the header (spreadsheets leave them behind), and the cells under
// them must be empty too.
var aliases = map[string]Column{
	"appid":          MobileAppID,
	"userstatusid":   UserAppInstallStatusID,
	"id":             MobileAppInstallStatusID,
	"statusid":       MobileAppInstallStatusID,
	"devicestatusid": MobileAppInstallStatusID,
}

// required are the columns every input must have.
var required = [...]Column{MobileAppID, MobileAppInstallStatusID}

// byKey maps the folded form of every canonical name and alias to its
// column. It is built once and never written again.
var byKey = func() map[string]Column {
	m := make(map[string]Column, NumColumns+len(aliases))
	for c := range Column(NumColumns) {
		m[foldKey(columnNames[c])] = c
	}
	for k, c := range aliases {
		m[k] = c
	}
	return m
}()

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
	knownCell   cellKind = iota // names a Column
	commentCell                 // starts with '#': ignored
	emptyCell                   // empty or only spaces
	unknownCell                 // names nothing we know
	badUTF8Cell                 // not valid UTF-8, so cannot name anything
)

// classify says what one header cell is and, for knownCell, which column.
func classify(cell string) (cellKind, Column) {
	t := strings.TrimSpace(cell)
	switch {
	case t == "":
		return emptyCell, 0
	case t[0] == '#':
		return commentCell, 0
	case !utf8.ValidString(cell):
		return badUTF8Cell, 0
	}
	if c, ok := byKey[foldKey(t)]; ok {
		return knownCell, c
	}
	return unknownCell, 0
}

// The names the header normaliser gives columns that map to no Column.
// Neither can equal a canonical name, so gocsv never fills a field from them.
const (
	ignoredKey = "#ignored" // comment columns
	blankKey   = "#blank"   // trailing empty-header columns: csvRow.Blank
)

// layout is what the header says about every row.
type layout struct {
	header  []string        // the header cells as written
	columns []Column        // known columns, in file order
	index   [NumColumns]int // file position of each column, -1 if absent
	keys    []string        // the canonical header handed to gocsv
	blank   int             // first trailing empty-header position, len(header) if none
}

// parseHeader maps the header cells (as written) found on line to columns.
// It reports every problem at once, each as a *ParseError, joined.
func parseHeader(cells []string, line int) (*layout, error) {
	l := &layout{header: cells, keys: make([]string, len(cells)), blank: len(cells)}
	for i := range l.index {
		l.index[i] = -1
	}
	for l.blank > 0 && strings.TrimSpace(cells[l.blank-1]) == "" {
		l.blank--
	}
	var errs []error
	for i, cell := range cells {
		kind, c := classify(cell)
		switch kind {
		case knownCell:
			if j := l.index[c]; j >= 0 {
				errs = append(errs, &ParseError{Line: line, Column: c.String(), Err: fmt.Errorf(
					"%w: %q (column %d) and %q (column %d) both name it", ErrDuplicateColumn, cells[j], j+1, cell, i+1)})
				l.keys[i] = ignoredKey
				continue
			}
			l.index[c] = i
			l.columns = append(l.columns, c)
			l.keys[i] = c.String()
		case commentCell:
			l.keys[i] = ignoredKey
		case emptyCell:
			l.keys[i] = blankKey
			if i < l.blank {
				errs = append(errs, &ParseError{Line: line, Err: fmt.Errorf(
					"%w in column %d: only trailing header cells may be empty (start it with # for a comment column)", ErrEmptyHeader, i+1)})
			}
		case badUTF8Cell:
			l.keys[i] = ignoredKey
			errs = append(errs, &ParseError{Line: line, Column: clip(cell), Err: fmt.Errorf(
				"%w in header cell %d: save the file as UTF-8 (in Excel: CSV UTF-8)", ErrInvalidUTF8, i+1)})
		case unknownCell:
			l.keys[i] = ignoredKey
			errs = append(errs, &ParseError{Line: line, Column: clip(cell), Err: unknownColumnError(cell)})
		}
	}
	for _, c := range required {
		if l.index[c] < 0 {
			errs = append(errs, &ParseError{Line: line, Column: c.String(), Err: ErrMissingColumn})
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

// unknownColumnError names the closest known column, or all of them when
// none is close.
func unknownColumnError(cell string) error {
	if c, ok := closest(cell); ok {
		return fmt.Errorf("%w %q; did you mean %q?", ErrUnknownColumn, clip(cell), c.String())
	}
	return fmt.Errorf("%w %q; known columns are %s (a header starting with # marks a comment column)",
		ErrUnknownColumn, clip(cell), strings.Join(columnNames[:], ", "))
}

// closest returns the known column whose name or alias is nearest to s by
// edit distance (after folding), if it is near enough to be a typo: at most
// a third of the longer name's length plus one.
func closest(s string) (Column, bool) {
	k := foldKey(s)
	if len(k) > 64 { // hostile lengths: not worth the quadratic work
		return 0, false
	}
	best, bestD := Column(0), -1
	consider := func(name string, c Column) {
		d := distance(k, name)
		limit := max(len(k), len(name))/3 + 1
		if d <= limit && (bestD < 0 || d < bestD || d == bestD && c < best) {
			best, bestD = c, d
		}
	}
	for c := range Column(NumColumns) {
		consider(foldKey(columnNames[c]), c)
	}
	for a, c := range aliases {
		if len(a) >= 4 { // "id" is one typo away from too many words
			consider(a, c)
		}
	}
	return best, bestD >= 0
}

// distance is the Levenshtein distance between a and b, over bytes.
func distance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
