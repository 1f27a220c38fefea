// Package resource describes the Graph objects bulkpatch writes: for each
// resource, its key columns, its writable properties with their kinds,
// enums and nullability, and the routes that address one object and its
// collection.
//
// It is the single source of these facts. csvio's header mapping is
// configured from Columns, plan checks cells and builds bodies from
// Properties, apply and export build request paths with ObjectPath and
// CollectionPath, and the emulator validates what it receives against
// the same declarations, so that a new resource, or a change to one, is
// made in one place.
package resource

import (
	"fmt"
	"net/url"
	"strings"
)

// Limits of a declaration, so that keys and property values fit in
// fixed-size arrays (no allocation per row, comparable keys).
const (
	MaxKeys       = 3
	MaxProperties = 16
)

// Kind is the JSON type of a property as Graph checks it.
type Kind uint8

// The kinds of property.
const (
	String   Kind = iota // JSON string
	DateTime             // Edm.DateTimeOffset: RFC 3339 string with an offset or Z
	Int32                // JSON number, 32-bit signed
	Enum                 // JSON string, one of Property.Enum's members
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case DateTime:
		return "date-time"
	case Int32:
		return "int32"
	case Enum:
		return "enum"
	}
	return "unknown"
}

// Property is one writable property of a resource.
type Property struct {
	Name     string // exact JSON name
	Kind     Kind
	Nullable bool         // whether Graph accepts JSON null for it
	Enum     *Enumeration // the members, for Kind Enum; nil otherwise
}

// Type names the property's type for messages: the enum's name for an
// enum, the kind otherwise.
func (p *Property) Type() string {
	if p.Kind == Enum && p.Enum != nil {
		return p.Enum.Name
	}
	return p.Kind.String()
}

// KeyColumn is an input column that identifies the object rather than
// setting a property.
type KeyColumn struct {
	Name string // canonical header name, e.g. "mobileAppId"
	Noun string // what the id names, for messages, e.g. "mobile app"
	// Aliases are other header names people write for it, e.g. "appId".
	Aliases []string
}

// Route is one way to address an object. Its templates hold the key
// columns in braces, e.g. "/deviceManagement/managedDevices/{id}"; the
// last one of Object is the object's own id.
type Route struct {
	// Name says how the route reaches the object, for summaries, e.g.
	// "through a user status".
	Name   string
	Object string // GET (and, unless Write is set, the write) of one object
	// Write, when set, is where the write goes instead of Object: an
	// action such as .../{id}/updateDeviceProperties.
	Write string
}

// Resource describes one kind of Graph object bulkpatch writes.
type Resource struct {
	Name string // Graph's type name, e.g. "mobileAppInstallStatus"
	// Keys are the key columns, in the order they come first in the input
	// and in the results file. A Key holds their values at the same
	// indexes.
	Keys       []KeyColumn
	Properties []Property
	// Routes are the ways to address an object. A row uses the route
	// whose placeholders are exactly its non-empty keys, so a key that
	// only some routes name is optional.
	Routes []Route
	// Method is the write's HTTP method: PATCH, or POST for an action.
	Method string
	// Select makes reads ask for exactly the key and the properties
	// ($select): some properties (managedDevice's notes) come back only
	// when selected.
	Select bool
	// Permission is what the signed-in identity needs, for messages.
	Permission string
	// DefaultRate is the writes per second the resource's Intune
	// throttling bucket allows one app registration.
	DefaultRate float64

	routes []route // parsed Routes
	id     int     // index in Keys of the object's own id
}

// route is a Route with its templates parsed.
type route struct {
	object, write template
	keys          uint32 // bit i set: Keys[i] is a placeholder
}

// Key holds an object's key values, indexed like Resource.Keys; "" for a
// key the row leaves empty. Keys are comparable, so they serve as map
// keys for duplicate detection and grouping.
type Key [MaxKeys]string

// Lookup returns the built-in resource with the given name, matched
// case-insensitively.
func Lookup(name string) (*Resource, bool) {
	for _, r := range All() {
		if strings.EqualFold(r.Name, name) {
			return r, true
		}
	}
	return nil, false
}

// All returns the built-in resources, the default first.
func All() []*Resource { return builtins }

// Names returns the names of the built-in resources, the default first.
func Names() []string {
	names := make([]string, len(builtins))
	for i, r := range builtins {
		names[i] = r.Name
	}
	return names
}

// Find returns the built-in resource with the given name, matched
// case-insensitively, or a *NameError; "" finds nil and no error (no
// resource was named).
func Find(name string) (*Resource, error) {
	if name == "" {
		return nil, nil
	}
	if r, ok := Lookup(name); ok {
		return r, nil
	}
	return nil, &NameError{Name: name}
}

// NameError reports a resource name that is not built in. Its message
// starts with the quoted name, for the caller to say where it came from
// ("--resource " + ...).
type NameError struct{ Name string }

func (e *NameError) Error() string {
	return fmt.Sprintf("%q: bulkpatch writes %s", e.Name, strings.Join(Names(), ", "))
}

// Default is the resource bulkpatch writes when nothing says otherwise.
func Default() *Resource { return builtins[0] }

// Columns returns the input columns: the key columns, then the
// properties, each by its canonical name.
func (r *Resource) Columns() []string {
	cols := make([]string, 0, len(r.Keys)+len(r.Properties))
	for _, k := range r.Keys {
		cols = append(cols, k.Name)
	}
	for _, p := range r.Properties {
		cols = append(cols, p.Name)
	}
	return cols
}

// KeyNames returns the key columns' canonical names.
func (r *Resource) KeyNames() []string { return r.Columns()[:len(r.Keys)] }

// PropertyIndex returns the index of the property with exactly this JSON
// name, or -1.
func (r *Resource) PropertyIndex(name string) int {
	for i := range r.Properties {
		if r.Properties[i].Name == name {
			return i
		}
	}
	return -1
}

// KeyIndex returns the index of the key column with exactly this name, or
// -1.
func (r *Resource) KeyIndex(name string) int {
	for i := range r.Keys {
		if r.Keys[i].Name == name {
			return i
		}
	}
	return -1
}

// Required reports whether key column i must be set in every row: every
// route names it.
func (r *Resource) Required(i int) bool {
	for _, rt := range r.routes {
		if rt.keys&(1<<i) == 0 {
			return false
		}
	}
	return true
}

// IDKey returns the index of the key that is the object's own id (the
// last placeholder of every route).
func (r *Resource) IDKey() int { return r.id }

// Collection returns the key of the collection k's object lives in: k
// without the object's own id. Rows with the same Collection can be
// read with one listing.
func (r *Resource) Collection(k Key) Key {
	k[r.id] = ""
	return k
}

// ObjectPath returns the escaped path of k's object below the API root,
// e.g. "/deviceManagement/managedDevices/abc". Each id is checked with
// CheckID and path-escaped; the error names the key column at fault.
func (r *Resource) ObjectPath(k Key) (string, error) {
	rt, err := r.route(k)
	if err != nil {
		return "", err
	}
	return rt.object.expand(r, k)
}

// WritePath returns the method and escaped path of the write to k's
// object.
func (r *Resource) WritePath(k Key) (method, path string, err error) {
	rt, err := r.route(k)
	if err != nil {
		return "", "", err
	}
	t := rt.object
	if rt.write.segs != nil {
		t = rt.write
	}
	path, err = t.expand(r, k)
	return r.Method, path, err
}

// Query returns the query reads of res add to a path ("" or
// "?$select=…"), so that the properties compared come back.
func (r *Resource) Query() string { return r.ListQuery("") }

// ListQuery is Query with an OData $filter expression for a collection
// (export --filter); filter "" adds none.
func (r *Resource) ListQuery(filter string) string {
	q := url.Values{}
	if r.Select {
		names := []string{r.Keys[r.id].Name}
		for _, p := range r.Properties {
			names = append(names, p.Name)
		}
		q.Set("$select", strings.Join(names, ","))
	}
	if filter != "" {
		q.Set("$filter", filter)
	}
	if len(q) == 0 {
		return ""
	}
	return "?" + q.Encode()
}

// CollectionPath returns the escaped path of the collection that k's
// object lives in; k's own id is not needed.
func (r *Resource) CollectionPath(k Key) (string, error) {
	k[r.id] = "x" // stands in for the id, which the collection does not name
	rt, err := r.route(k)
	if err != nil {
		return "", err
	}
	return rt.object.collection().expand(r, k)
}

// ParentsPath returns the escaped path of the collection of the entities
// that optional key column col names under k (k's other ids set, its own
// id not needed): for mobileAppInstallStatus, an app's userStatuses. A
// listing of it gives the ids that, set in col, name k's nested
// collections.
func (r *Resource) ParentsPath(k Key, col int) (string, error) {
	if col == r.id {
		return "", &IDError{Column: r.Keys[col].Name, Reason: "is the object's own id, not a parent's"}
	}
	k[r.id], k[col] = "x", "x" // stand in for ids the path does not name
	rt, err := r.route(k)
	if err != nil {
		return "", err
	}
	for i, s := range rt.object.segs {
		if s.key == col {
			return template{segs: rt.object.segs[:i]}.expand(r, k)
		}
	}
	return "", &IDError{Column: r.Keys[col].Name, Reason: "names no collection of " + r.Name}
}

// route returns the route whose placeholders are exactly k's non-empty
// keys.
func (r *Resource) route(k Key) (*route, error) {
	var set uint32
	for i := range r.Keys {
		if k[i] != "" {
			set |= 1 << i
		}
	}
	for i := range r.routes {
		if r.routes[i].keys == set {
			return &r.routes[i], nil
		}
	}
	for i := range r.Keys {
		if k[i] == "" && r.Required(i) {
			return nil, &IDError{Column: r.Keys[i].Name, Reason: "is empty"}
		}
	}
	return nil, &IDError{Column: r.Keys[0].Name, Reason: "and the other keys name no route of " + r.Name}
}

// RouteName returns the Name of the route k's object is reached by, ""
// when its keys name no route.
func (r *Resource) RouteName(k Key) string {
	rt, err := r.route(k)
	if err != nil {
		return ""
	}
	for i := range r.routes {
		if &r.routes[i] == rt {
			return r.Routes[i].Name
		}
	}
	return ""
}

// Describe names k's object for messages: "mobileAppId a, mobileAppInstallStatusId b".
func (r *Resource) Describe(k Key) string {
	var b strings.Builder
	for i, kc := range r.Keys {
		if k[i] == "" {
			continue
		}
		if b.Len() > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s %q", kc.Name, shorten(k[i]))
	}
	return b.String()
}

// IDError is an id that cannot be placed in a request path: it is empty
// where the route needs it, or it breaks the id rules (CheckID). Nothing
// is sent for it.
type IDError struct {
	Column string // the key column
	Value  string // the id, as given
	Reason string
}

func (e *IDError) Error() string {
	if e.Value == "" {
		return e.Column + " " + e.Reason
	}
	return fmt.Sprintf("%s %q %s", e.Column, shorten(e.Value), e.Reason)
}

func shorten(s string) string {
	if len(s) > 80 {
		return s[:80] + "…"
	}
	return s
}

// template is a parsed path template: literal segments and placeholders.
type template struct {
	segs []segment
}

type segment struct {
	lit string // literal text, when key < 0
	key int    // index in Keys, or -1
}

// parseTemplate parses t against r's keys.
func parseTemplate(r *Resource, t string) (template, uint32, error) {
	if !strings.HasPrefix(t, "/") {
		return template{}, 0, fmt.Errorf("template %q does not start with /", t)
	}
	var tp template
	var keys uint32
	for _, s := range strings.Split(t[1:], "/") {
		if strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}") {
			i := r.KeyIndex(s[1 : len(s)-1])
			if i < 0 {
				return template{}, 0, fmt.Errorf("template %q names %s, which is not a key column", t, s)
			}
			if keys&(1<<i) != 0 {
				return template{}, 0, fmt.Errorf("template %q names %s twice", t, s)
			}
			keys |= 1 << i
			tp.segs = append(tp.segs, segment{key: i})
			continue
		}
		if s == "" || strings.ContainsAny(s, "{}?#%") || url.PathEscape(s) != s {
			return template{}, 0, fmt.Errorf("template %q has a bad segment %q", t, s)
		}
		tp.segs = append(tp.segs, segment{lit: s, key: -1})
	}
	return tp, keys, nil
}

// lastKey is the index of the template's last placeholder, or -1.
func (t template) lastKey() int {
	for i := len(t.segs) - 1; i >= 0; i-- {
		if t.segs[i].key >= 0 {
			return t.segs[i].key
		}
	}
	return -1
}

// collection is the template without its last placeholder and what
// follows it.
func (t template) collection() template {
	for i := len(t.segs) - 1; i >= 0; i-- {
		if t.segs[i].key >= 0 {
			return template{segs: t.segs[:i]}
		}
	}
	return t
}

// expand fills the template with k's ids, each checked and escaped.
func (t template) expand(r *Resource, k Key) (string, error) {
	var b strings.Builder
	for _, s := range t.segs {
		b.WriteByte('/')
		if s.key < 0 {
			b.WriteString(s.lit)
			continue
		}
		id := k[s.key]
		if id == "" {
			return "", &IDError{Column: r.Keys[s.key].Name, Reason: "is empty"}
		}
		if msg := CheckID(id); msg != "" {
			return "", &IDError{Column: r.Keys[s.key].Name, Value: id, Reason: msg}
		}
		b.WriteString(url.PathEscape(id))
	}
	return b.String(), nil
}

// prepare parses a declaration's routes and checks its limits. Built-in
// declarations are prepared once, at start-up; a mistake in one is a
// programming error.
func prepare(r *Resource) *Resource {
	if len(r.Keys) == 0 || len(r.Keys) > MaxKeys || len(r.Properties) == 0 || len(r.Properties) > MaxProperties || len(r.Routes) == 0 {
		panic(fmt.Sprintf("resource %s: %d keys, %d properties, %d routes", r.Name, len(r.Keys), len(r.Properties), len(r.Routes)))
	}
	r.id = -1
	for _, rt := range r.Routes {
		obj, keys, err := parseTemplate(r, rt.Object)
		if err != nil {
			panic(fmt.Sprintf("resource %s: %v", r.Name, err))
		}
		p := route{object: obj, keys: keys}
		if rt.Write != "" {
			w, wkeys, err := parseTemplate(r, rt.Write)
			if err != nil || wkeys != keys {
				panic(fmt.Sprintf("resource %s: write template %q: %v", r.Name, rt.Write, err))
			}
			p.write = w
		}
		if r.id >= 0 && obj.lastKey() != r.id {
			panic(fmt.Sprintf("resource %s: routes end in different ids", r.Name))
		}
		r.id = obj.lastKey()
		r.routes = append(r.routes, p)
	}
	if r.id < 0 {
		panic(fmt.Sprintf("resource %s: routes name no id", r.Name))
	}
	for _, p := range r.Properties {
		if (p.Kind == Enum) != (p.Enum != nil) {
			panic(fmt.Sprintf("resource %s: property %s: kind %v with enum %v", r.Name, p.Name, p.Kind, p.Enum))
		}
	}
	return r
}
