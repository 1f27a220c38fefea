package emulator

import (
	"encoding/json"
	"fmt"
	"strings"
)

// A $filter the emulator understands: comparisons of a string property
// with a quoted literal, joined by "and" and "or" (and binding tighter):
//
//	managedDeviceName eq 'LAB-01'
//	startswith(managedDeviceName,'LAB-') and ownerType ne 'personal'
//
// Property names and operators match ignoring case; values are compared
// exactly, as Graph compares strings. Anything else is Graph's 400 for an
// invalid filter clause.
type filter [][]clause // or of ands

type clause struct {
	prop  int    // index in the resource's Properties
	op    string // "eq", "ne" or "startswith"
	value string
}

// parseFilter parses expr for sv, or says why it cannot.
func parseFilter(sv *served, expr string) (filter, string) {
	var f filter
	for _, alt := range splitWord(expr, "or") {
		var and []clause
		for _, c := range splitWord(alt, "and") {
			cl, msg := parseClause(sv, strings.TrimSpace(c))
			if msg != "" {
				return nil, msg
			}
			and = append(and, cl)
		}
		f = append(f, and)
	}
	return f, ""
}

// splitWord splits s at the word w (surrounded by spaces, any case),
// outside quoted literals.
func splitWord(s, w string) []string {
	var parts []string
	quoted, start := false, 0
	sep := " " + w + " "
	for i := 0; i < len(s); i++ {
		switch {
		case s[i] == '\'':
			quoted = !quoted
		case !quoted && i+len(sep) <= len(s) && strings.EqualFold(s[i:i+len(sep)], sep):
			parts = append(parts, s[start:i])
			start = i + len(sep)
			i += len(sep) - 1
		}
	}
	return append(parts, s[start:])
}

func parseClause(sv *served, c string) (clause, string) {
	bad := func() (clause, string) {
		return clause{}, fmt.Sprintf("Invalid filter clause: the emulator understands 'PROPERTY eq|ne 'text'' and 'startswith(PROPERTY,'text')', joined by and/or; found '%s'.", c)
	}
	var name, op, lit string
	if rest, ok := cutPrefixFold(c, "startswith("); ok && strings.HasSuffix(rest, ")") {
		n, l, ok := strings.Cut(strings.TrimSuffix(rest, ")"), ",")
		if !ok {
			return bad()
		}
		name, op, lit = strings.TrimSpace(n), "startswith", strings.TrimSpace(l)
	} else {
		fields := strings.SplitN(c, " ", 3)
		if len(fields) != 3 {
			return bad()
		}
		name, op, lit = fields[0], strings.ToLower(fields[1]), strings.TrimSpace(fields[2])
		if op != "eq" && op != "ne" {
			return bad()
		}
	}
	if len(lit) < 2 || lit[0] != '\'' || lit[len(lit)-1] != '\'' {
		return bad()
	}
	i := sv.propertyFold(name)
	if i < 0 {
		return clause{}, fmt.Sprintf("Could not find a property named '%s' on type '%s'.", name, sv.entityType())
	}
	return clause{prop: i, op: op, value: strings.ReplaceAll(lit[1:len(lit)-1], "''", "'")}, ""
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix) {
		return s[len(prefix):], true
	}
	return s, false
}

// match reports whether obj passes the filter (an empty one passes all).
func (f filter) match(obj *object) bool {
	if len(f) == 0 {
		return true
	}
	for _, and := range f {
		ok := true
		for _, c := range and {
			var v string
			if json.Unmarshal(obj.props[c.prop], &v) != nil { // null, or not a string
				v = ""
			}
			switch c.op {
			case "eq":
				ok = ok && v == c.value
			case "ne":
				ok = ok && v != c.value
			case "startswith":
				ok = ok && strings.HasPrefix(v, c.value)
			}
		}
		if ok {
			return true
		}
	}
	return false
}
