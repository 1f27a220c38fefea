package emulator

import (
	"fmt"
	"strings"
	"sync"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// The emulator serves every resource it is given from its declaration
// alone: the route templates become a tree of path segments (model), the
// properties drive body validation (validate.go) and the key columns name
// the objects of the store (store.go). Nothing below names a resource,
// except the two tables of facts that are about Graph's model rather than
// about a resource: what v1.0 lacks, and what RemovedSegment removes.

// betaOnly names the resources whose types Graph's v1.0 model lacks: under
// /v1.0 their segments answer as any segment the model does not know.
// mobileAppInstallStatus and userAppInstallStatus exist only in beta.
var betaOnly = map[string]bool{"mobileAppInstallStatus": true}

// removable names the resources that RemovedSegment takes out of the
// tenant's model, as many tenants' Graph has done since June 2023 for the
// navigation properties of mobileApp (see shared/docs/graph-api.md).
var removable = map[string]bool{"mobileAppInstallStatus": true}

// model is the routing tree of the served resources: literal segments,
// matched case-insensitively as Graph's are, and key placeholders. It is
// built once by newModel and then only read, so it needs no lock.
type model struct {
	root      *node
	resources []*served
}

// served is one resource as the emulator serves it.
type served struct {
	res       *resource.Resource
	index     int // in model.resources
	id        int // index in res.Keys of the object's own id
	betaOnly  bool
	removable bool
	objects   []*node // the key nodes its objects are addressed by, one per route
}

// entityType is the type name Graph's messages use, e.g.
// "microsoft.graph.mobileAppInstallStatus".
func (sv *served) entityType() string { return "microsoft.graph." + sv.res.Name }

// node is one path segment of the tree.
type node struct {
	name     string // the literal as declared; "" for a key node
	parent   *node
	literals []*node // literal children
	key      *node   // the key child: one entity of the collection this literal names
	depth    int     // key nodes from the root to here, this one included
	uses     []*served

	// Key nodes only.
	column   string  // the key column it stands for, e.g. "mobileAppId"
	object   *served // set when the entity is an object of this resource
	cols     []int   // for an object node: index in Keys of each key along the path
	writable bool    // an object node that takes its resource's writes itself

	action *served // set on the literal of a write action below an object
}

// isKey reports whether n is a placeholder.
func (n *node) isKey() bool { return n.name == "" && n.parent != nil }

// literal returns the literal child named seg, ignoring case, or nil.
func (n *node) literal(seg string) *node {
	for _, l := range n.literals {
		if strings.EqualFold(l.name, seg) {
			return l
		}
	}
	return nil
}

// hiddenBy reports whether lacks removes n from the model: n is used only
// by resources lacks says are missing, and it is where such a resource
// starts, either a navigation from an existing entity or the collection
// of its objects. Literals above that (deviceAppManagement, mobileApps)
// belong to types that exist.
func (n *node) hiddenBy(lacks func(*served) bool) bool {
	if n.isKey() || len(n.uses) == 0 {
		return false
	}
	if !n.parent.isKey() && (n.key == nil || n.key.object == nil) {
		return false
	}
	for _, sv := range n.uses {
		if !lacks(sv) {
			return false
		}
	}
	return true
}

// defaultModel is the model of resource.All(), for LoadState.
var defaultModel = sync.OnceValues(func() (*model, error) { return newModel(resource.All()) })

// newModel builds the tree from the resources' route templates.
func newModel(rs []*resource.Resource) (*model, error) {
	m := &model{root: &node{}}
	for i, r := range rs {
		if r == nil || len(r.Keys) == 0 || len(r.Keys) > resource.MaxKeys || len(r.Properties) > resource.MaxProperties {
			return nil, fmt.Errorf("emulator: resource %d is not a usable declaration", i)
		}
		for _, other := range m.resources {
			if strings.EqualFold(other.res.Name, r.Name) {
				return nil, fmt.Errorf("emulator: resource %s declared twice", r.Name)
			}
		}
		sv := &served{res: r, index: i, id: -1, betaOnly: betaOnly[r.Name], removable: removable[r.Name]}
		for _, rt := range r.Routes {
			if err := m.addRoute(sv, rt); err != nil {
				return nil, fmt.Errorf("emulator: resource %s: %w", r.Name, err)
			}
		}
		if sv.id < 0 {
			return nil, fmt.Errorf("emulator: resource %s has no routes", r.Name)
		}
		m.resources = append(m.resources, sv)
	}
	return m, nil
}

// addRoute adds one route's object path and, if it has one, its write
// action.
func (m *model) addRoute(sv *served, rt resource.Route) error {
	segs, err := parseTemplate(sv.res, rt.Object)
	if err != nil {
		return err
	}
	n := m.root
	var cols []int
	for _, sg := range segs {
		if n, err = n.child(sg, sv); err != nil {
			return fmt.Errorf("template %q: %w", rt.Object, err)
		}
		if sg.key >= 0 {
			cols = append(cols, sg.key)
		}
	}
	if !n.isKey() {
		return fmt.Errorf("template %q does not end in a key", rt.Object)
	}
	if sv.id >= 0 && cols[len(cols)-1] != sv.id {
		return fmt.Errorf("routes end in different keys")
	}
	if n.object != nil {
		return fmt.Errorf("template %q addresses the objects of %s too", rt.Object, n.object.res.Name)
	}
	sv.id = cols[len(cols)-1]
	n.object, n.cols, n.writable = sv, cols, rt.Write == ""
	sv.objects = append(sv.objects, n)
	if rt.Write == "" {
		return nil
	}
	return m.addAction(sv, n, rt)
}

// addAction adds the literal segments by which rt.Write extends the
// object's path: the write is an action on the object.
func (m *model) addAction(sv *served, obj *node, rt resource.Route) error {
	if !strings.HasPrefix(rt.Write, rt.Object+"/") {
		return fmt.Errorf("write template %q is not its object template %q followed by an action", rt.Write, rt.Object)
	}
	segs, err := parseTemplate(sv.res, rt.Write[len(rt.Object):])
	if err != nil {
		return err
	}
	n := obj
	for _, sg := range segs {
		if sg.key >= 0 {
			return fmt.Errorf("write template %q names a key after its object", rt.Write)
		}
		if n, err = n.child(sg, sv); err != nil {
			return fmt.Errorf("template %q: %w", rt.Write, err)
		}
	}
	n.action = sv
	return nil
}

// child returns n's child for sg, adding it if needed, and records that sv
// uses it.
func (n *node) child(sg segment, sv *served) (*node, error) {
	var c *node
	switch {
	case sg.key >= 0 && n.isKey():
		return nil, fmt.Errorf("two keys in a row")
	case sg.key >= 0:
		if n.key == nil {
			n.key = &node{parent: n, depth: n.depth + 1, column: sv.res.Keys[sg.key].Name}
		}
		c = n.key
	default:
		if c = n.literal(sg.lit); c != nil && c.name != sg.lit {
			return nil, fmt.Errorf("segments %q and %q differ only in case", c.name, sg.lit)
		}
		if c == nil {
			c = &node{name: sg.lit, parent: n, depth: n.depth}
			n.literals = append(n.literals, c)
		}
	}
	if len(c.uses) == 0 || c.uses[len(c.uses)-1] != sv {
		c.uses = append(c.uses, sv)
	}
	return c, nil
}

// segment is one parsed template segment.
type segment struct {
	lit string // literal text, when key < 0
	key int    // index in Keys, or -1
}

// parseTemplate splits a route template such as
// "/deviceManagement/managedDevices/{id}" into segments. Only the
// declaration's exported fields are read, so a test can serve a resource
// declared in place.
func parseTemplate(r *resource.Resource, t string) ([]segment, error) {
	if !strings.HasPrefix(t, "/") {
		return nil, fmt.Errorf("template %q does not start with /", t)
	}
	var segs []segment
	for _, s := range strings.Split(t[1:], "/") {
		if name, ok := strings.CutPrefix(s, "{"); ok && strings.HasSuffix(name, "}") {
			i := r.KeyIndex(strings.TrimSuffix(name, "}"))
			if i < 0 {
				return nil, fmt.Errorf("template %q names %s, which is not a key column", t, s)
			}
			segs = append(segs, segment{key: i})
			continue
		}
		if s == "" || strings.ContainsAny(s, "{}?#%") {
			return nil, fmt.Errorf("template %q has a bad segment %q", t, s)
		}
		segs = append(segs, segment{lit: s, key: -1})
	}
	return segs, nil
}

// served returns the served declaration of r, matched by name, or nil.
func (m *model) served(r *resource.Resource) *served {
	for _, sv := range m.resources {
		if r != nil && sv.res.Name == r.Name {
			return sv
		}
	}
	return nil
}

// byName returns the served resource with this name, ignoring case, or nil.
func (m *model) byName(name string) *served {
	for _, sv := range m.resources {
		if strings.EqualFold(sv.res.Name, name) {
			return sv
		}
	}
	return nil
}

// objectNode returns the key node that addresses an object with key k: the
// route whose keys are exactly k's non-empty ones.
func (sv *served) objectNode(k resource.Key) *node {
	for _, n := range sv.objects {
		if len(n.cols) == countKeys(k) && hasKeys(k, n.cols) {
			return n
		}
	}
	return nil
}

func countKeys(k resource.Key) int {
	n := 0
	for _, v := range k {
		if v != "" {
			n++
		}
	}
	return n
}

func hasKeys(k resource.Key, cols []int) bool {
	for _, c := range cols {
		if k[c] == "" {
			return false
		}
	}
	return true
}

// ancestor returns the key node at depth d on the way from the root to n.
func (n *node) ancestor(d int) *node {
	for n != nil && !(n.isKey() && n.depth == d) {
		n = n.parent
	}
	return n
}

// entityNode returns the key node standing for key column col on one of
// sv's object paths, or nil.
func (sv *served) entityNode(col string) *node {
	for _, n := range sv.objects {
		for a := n; a != nil; a = a.parent {
			if a.isKey() && a.column == col {
				return a
			}
		}
	}
	return nil
}
