package resource

import (
	"fmt"
	"io"
	"net/url"
	"strings"
)

// WriteSummary writes one line per built-in resource: its name, its key
// columns and its default rate, for `bulkpatch resources`.
func WriteSummary(w io.Writer) {
	for _, r := range All() {
		fmt.Fprintf(w, "%-32s keys %-66s %4g writes/s  %s\n", r.Name, strings.Join(r.keyDoc(), ", "), r.DefaultRate, r.Permission)
	}
}

// WriteDoc writes what an input for r may hold: its key columns (with
// their aliases and whether they are required), its properties with
// their kinds, enums and nullability, its routes and its default rate.
func (r *Resource) WriteDoc(w io.Writer) {
	fmt.Fprintf(w, "%s\n\nKey columns:\n", r.Name)
	for i, k := range r.Keys {
		req := "optional"
		if r.Required(i) {
			req = "required"
		}
		alias := ""
		if len(k.Aliases) > 0 {
			alias = " (also " + strings.Join(k.Aliases, ", ") + ")"
		}
		fmt.Fprintf(w, "  %-28s %s%s\n", k.Name, req, alias)
	}
	fmt.Fprintf(w, "\nProperties (an empty cell leaves one alone; <null> clears a nullable one):\n")
	for _, p := range r.Properties {
		kind := p.Type()
		if p.Nullable {
			kind += ", nullable"
		}
		fmt.Fprintf(w, "  %-28s %s\n", p.Name, kind)
		if p.Enum != nil && len(p.Enum.Members) <= 12 {
			fmt.Fprintf(w, "  %-28s   %s\n", "", strings.Join(p.Enum.Members, ", "))
		} else if p.Enum != nil {
			fmt.Fprintf(w, "  %-28s   %d members, e.g. %s\n", "", len(p.Enum.Members), strings.Join(p.Enum.Members[:4], ", "))
		}
	}
	fmt.Fprintf(w, "\nRequests:\n")
	for _, rt := range r.Routes {
		wr := rt.Object
		if rt.Write != "" {
			wr = rt.Write
		}
		q, _ := url.QueryUnescape(r.Query())
		fmt.Fprintf(w, "  %s %s\n  GET   %s%s\n", r.Method, wr, rt.Object, q)
	}
	fmt.Fprintf(w, "\nDefault --rate: %g writes/s (its Intune throttling bucket). Permission: %s.\n", r.DefaultRate, r.Permission)
}

// TemplateHeader is the header row of an empty input for r: its key
// columns and all its properties.
func (r *Resource) TemplateHeader() []string { return r.Columns() }

func (r *Resource) keyDoc() []string {
	var keys []string
	for i, k := range r.Keys {
		if r.Required(i) {
			keys = append(keys, k.Name)
		} else {
			keys = append(keys, "["+k.Name+"]")
		}
	}
	return keys
}
