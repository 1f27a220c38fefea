package emulator

import (
	"encoding/base64"
	"fmt"
	"maps"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"time"
)

// maxTop bounds $top. Graph documents that the maximum "depends on the
// API" without naming Intune's; 999 is the bound Graph documents most.
const maxTop = 999

// systemOptions are OData's system query options, by lower-cased name,
// with the name Graph's "not allowed" message gives each. The emulator
// serves $select, $top, $skiptoken and a simple $filter on collections
// (filter.go); the others are refused as Graph refuses an option a route
// does not allow.
var systemOptions = map[string]string{
	"$select": "Select", "$top": "Top", "$skiptoken": "SkipToken",
	"$filter": "Filter", "$expand": "Expand", "$orderby": "OrderBy", "$skip": "Skip",
	"$count": "Count", "$format": "Format", "$deltatoken": "DeltaToken", "$apply": "Apply",
	"$compute": "Compute", "$search": "Search",
}

// query is a request's query options, checked.
type query struct {
	sel     []int  // selected property indexes; nil: all
	selText string // the selection as @odata.context and nextLinks carry it; "" when none
	top     int    // page size asked for; -1: none
	off     int    // offset from $skiptoken
	filter  filter // from $filter; nil: every object
	filText string // the $filter as given, for nextLinks
}

// parseQuery checks c's query options against what t serves, as Graph's
// URI parser does: an unknown system option, one t does not allow, one
// given twice or a bad value is a 400. Options without "$" that are not
// system options spelt without it are custom options, which Graph
// ignores. Under Lenient only $skiptoken is read, as before.
func (s *Server) parseQuery(c *call, t *target, now time.Time) (query, answer, bool) {
	q := query{top: -1}
	opts := make(map[string]string)
	for _, name := range slices.Sorted(maps.Keys(c.query)) {
		lname := strings.ToLower(name)
		if !strings.HasPrefix(lname, "$") {
			if _, ok := systemOptions["$"+lname]; !ok {
				continue
			}
			lname = "$" + lname
		}
		if _, dup := opts[lname]; dup || len(c.query[name]) > 1 {
			return q, c.badRequest(now, fmt.Sprintf("Query option '%s' was specified more than once, but it must be specified at most once.", lname)), false
		}
		opts[lname] = c.query[name][0]
	}
	if s.opt.Lenient {
		tok, ok := opts["$skiptoken"]
		opts = map[string]string{}
		if ok && t.listing() {
			opts["$skiptoken"] = tok
		}
	}
	for _, name := range slices.Sorted(maps.Keys(opts)) {
		if msg := q.option(t, name, opts[name]); msg != "" {
			return q, c.badRequest(now, msg), false
		}
	}
	return q, answer{}, true
}

// option reads one system query option into q and returns "" or the
// message of Graph's 400.
func (q *query) option(t *target, name, value string) string {
	label, known := systemOptions[name]
	switch {
	case !known:
		return fmt.Sprintf("The query parameter '%s' is not supported.", name)
	case (name == "$top" || name == "$skiptoken") && !t.listing():
		return fmt.Sprintf("The '%s' option cannot be applied to the query path. '%s' can only be applied to a collection of entities.", name, name)
	case name == "$select":
		return q.selectOption(t, value)
	case name == "$filter" && t.kind == collection:
		f, msg := parseFilter(t.sv, value)
		if msg != "" {
			return msg
		}
		q.filter, q.filText = f, value
	case name == "$top":
		n, err := strconv.Atoi(value)
		if err != nil || n < 0 || strings.HasPrefix(value, "+") {
			return fmt.Sprintf("Invalid value '%s' for $top query option found. The $top query option requires a non-negative integer value.", value)
		}
		if n > maxTop {
			return fmt.Sprintf("The limit of '%d' for Top query has been exceeded. The value from the incoming request is '%s'.", maxTop, value)
		}
		q.top = n
	case name == "$skiptoken":
		if value == "" {
			return ""
		}
		off, ok := decodeSkipToken(value)
		if !ok {
			return "The $skiptoken value is not valid."
		}
		q.off = off
	default:
		return fmt.Sprintf("The query specified in the URI is not valid. Query option '%s' is not allowed. To allow it, set the 'AllowedQueryOptions' property on EnableQueryAttribute or QueryValidationSettings.", label)
	}
	return ""
}

// selectOption reads $select: property names, matched ignoring case as
// Graph's parser does, "id" or "*". On a parent entity, which the
// emulator knows only by id, any name is taken and only id is shown.
func (q *query) selectOption(t *target, value string) string {
	if strings.TrimSpace(value) == "" {
		return ""
	}
	sel := []int{}
	var names []string
	for item := range strings.SplitSeq(value, ",") {
		item = strings.TrimSpace(item)
		switch i := t.sv.propertyFold(item); {
		case item == "*":
			q.sel, q.selText = nil, ""
			return ""
		case strings.EqualFold(item, "id"):
			names = append(names, "id")
		case t.kind == parent:
			names = append(names, item)
		case i < 0:
			return fmt.Sprintf("Parsing OData Select and Expand failed: Could not find a property named '%s' on type '%s'.", item, t.sv.entityType())
		default:
			if !slices.Contains(sel, i) {
				sel = append(sel, i)
			}
			names = append(names, t.sv.res.Properties[i].Name)
		}
	}
	q.sel, q.selText = sel, strings.Join(names, ",")
	return ""
}

// propertyFold returns the index of the property named name, ignoring
// case, or -1.
func (sv *served) propertyFold(name string) int {
	for i, p := range sv.res.Properties {
		if strings.EqualFold(p.Name, name) {
			return i
		}
	}
	return -1
}

// contextSuffix is what a selection adds to @odata.context: "(a,b)".
func (q *query) contextSuffix() string {
	if q.selText == "" {
		return ""
	}
	return "(" + q.selText + ")"
}

// nextLink returns the absolute link to the page at off, carrying the
// options that shape pages.
func (q *query) nextLink(self string, off int) string {
	var b strings.Builder
	b.WriteString(self)
	b.WriteByte('?')
	if q.selText != "" {
		b.WriteString("$select=" + strings.ReplaceAll(url.QueryEscape(q.selText), "%2C", ",") + "&")
	}
	if q.top >= 0 {
		b.WriteString("$top=" + strconv.Itoa(q.top) + "&")
	}
	if q.filText != "" {
		b.WriteString("$filter=" + url.QueryEscape(q.filText) + "&")
	}
	b.WriteString("$skiptoken=" + encodeSkipToken(off))
	return b.String()
}

// Skip tokens are opaque to clients, as Graph's are: they must follow the
// nextLink, not build one.
func encodeSkipToken(off int) string {
	return base64.RawURLEncoding.EncodeToString([]byte("bulkpatch-offset:" + strconv.Itoa(off)))
}

func decodeSkipToken(tok string) (int, bool) {
	b, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		return 0, false
	}
	n, ok := strings.CutPrefix(string(b), "bulkpatch-offset:")
	if !ok {
		return 0, false
	}
	off, err := strconv.Atoi(n)
	return off, err == nil && off >= 0
}
