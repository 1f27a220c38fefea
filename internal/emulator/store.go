package emulator

import (
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// object is one object of a served resource.
type object struct {
	sv    *served
	node  *node // the key node it is addressed by
	key   resource.Key
	props [resource.MaxProperties]json.RawMessage // indexed like Properties; all set
}

// entity names one entity of the tree: a key node and the ids along the
// path to it, in path order (the rest empty). Objects and the parents that
// lead to them (an app, a user status) are entities.
type entity struct {
	node *node
	ids  [resource.MaxKeys]string
}

// store is the server's tenant. Objects are never created or deleted
// after New, only changed, so the indexes stay valid; the server's mutex
// guards the values.
type store struct {
	m       *model
	objects map[objKey]*object
	exists  map[entity]bool      // every entity, objects included
	lists   map[entity][]*object // a collection's objects in seed order, by its object node and its parent's ids
	order   []*object            // every object in seed order
}

type objKey struct {
	res int
	key resource.Key
}

func newEmptyStore(m *model) *store {
	return &store{
		m:       m,
		objects: make(map[objKey]*object),
		exists:  make(map[entity]bool),
		lists:   make(map[entity][]*object),
	}
}

// pathIDs returns k's ids in the order n's path names them.
func pathIDs(n *node, k resource.Key) [resource.MaxKeys]string {
	var ids [resource.MaxKeys]string
	for i, c := range n.cols {
		ids[i] = k[c]
	}
	return ids
}

// keyOf returns the key of the object that ids address at object node n.
func keyOf(n *node, ids [resource.MaxKeys]string) resource.Key {
	var k resource.Key
	for i, c := range n.cols {
		k[c] = ids[i]
	}
	return k
}

// add adds an object whose properties are already checked and complete,
// with every entity on its path.
func (s *store) add(sv *served, k resource.Key, props [resource.MaxProperties]json.RawMessage) error {
	n := sv.objectNode(k)
	if n == nil {
		return fmt.Errorf("%s: its keys name no route of %s", sv.res.Describe(k), sv.res.Name)
	}
	ok := objKey{sv.index, k}
	if s.objects[ok] != nil {
		return fmt.Errorf("%s: duplicate object", sv.res.Describe(k))
	}
	obj := &object{sv: sv, node: n, key: k, props: props}
	s.objects[ok] = obj
	s.order = append(s.order, obj)
	ids := pathIDs(n, k)
	for d := 1; d <= n.depth; d++ {
		s.touch(n.ancestor(d), ids)
	}
	list := entity{node: n, ids: ids}
	list.ids[n.depth-1] = ""
	s.lists[list] = append(s.lists[list], obj)
	return nil
}

// touch records that the entity at key node n with these path ids (only
// the first n.depth are used) exists.
func (s *store) touch(n *node, ids [resource.MaxKeys]string) {
	e := entity{node: n}
	copy(e.ids[:n.depth], ids[:n.depth])
	s.exists[e] = true
}

// lookup returns the object of sv with key k, or nil.
func (s *store) lookup(sv *served, k resource.Key) *object {
	return s.objects[objKey{sv.index, k}]
}

// ObjectKey names one object in Stats.WritesApplied: its non-empty key
// values, path-escaped and joined by "/" in the order of the resource's
// key columns, e.g. "app/status" or "app/user/status" for
// mobileAppInstallStatus. Objects of a resource other than
// resource.Default() are prefixed with its name and ":", e.g.
// "managedDevice:abc", so that keys of different resources never meet.
func ObjectKey(r *resource.Resource, k resource.Key) string {
	var b strings.Builder
	if r != resource.Default() {
		b.WriteString(r.Name)
		b.WriteByte(':')
	}
	first := true
	for i := range r.Keys {
		if k[i] == "" {
			continue
		}
		if !first {
			b.WriteByte('/')
		}
		first = false
		b.WriteString(url.PathEscape(k[i]))
	}
	return b.String()
}

// Key names one mobileAppInstallStatus in Stats.WritesApplied:
// ObjectKey of its three ids, "app/status" for the direct route and
// "app/user/status" for the nested one.
func Key(appID, userStatusID, id string) string {
	return ObjectKey(resource.MobileAppInstallStatus, resource.Key{appID, userStatusID, id})
}

// defaultValue is what Graph shows for a property nobody set: null for a
// nullable one, otherwise the zero of its kind; an enum's is its "unknown"
// member where it has one (resultantAppState, ownerType), else its first
// (resultantAppStateDetail's noAdditionalDetails).
func defaultValue(p *resource.Property) json.RawMessage {
	if p.Nullable {
		return json.RawMessage(`null`)
	}
	switch p.Kind {
	case resource.DateTime:
		return json.RawMessage(`"0001-01-01T00:00:00Z"`)
	case resource.Int32:
		return json.RawMessage(`0`)
	case resource.Enum:
		if p.Enum.IsMember("unknown") {
			return json.RawMessage(`"unknown"`)
		}
		if len(p.Enum.Members) > 0 {
			return appendString(nil, p.Enum.Members[0])
		}
	}
	return json.RawMessage(`""`)
}

// appendObject appends obj as Graph shows it to b: @odata.context first
// when context is not empty, then "id", then the properties in declared
// order, or only those sel lists (nil: all).
func appendObject(b []byte, context string, obj *object, sel []int) []byte {
	b = append(b, '{')
	if context != "" {
		b = append(b, `"@odata.context":`...)
		b = appendString(b, context)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = appendString(b, obj.key[obj.sv.id])
	props := obj.sv.res.Properties
	emit := func(i int) {
		b = append(b, ',', '"')
		b = append(b, props[i].Name...)
		b = append(b, '"', ':')
		b = append(b, obj.props[i]...)
	}
	if sel == nil {
		for i := range props {
			emit(i)
		}
	} else {
		for _, i := range sel {
			emit(i)
		}
	}
	return append(b, '}')
}

// appendString appends s as a JSON string, escaping as Graph does: quote,
// backslash and control characters, but not &, < and > (json.Marshal's
// HTML escaping would turn a nextLink's "&" into "\u0026"). Invalid UTF-8
// becomes U+FFFD, as with json.Marshal.
func appendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b = append(b, '\\', byte(r))
		case r == '\n':
			b = append(b, '\\', 'n')
		case r == '\r':
			b = append(b, '\\', 'r')
		case r == '\t':
			b = append(b, '\\', 't')
		case r < 0x20 || r == '\u2028' || r == '\u2029':
			b = append(b, '\\', 'u', hex[r>>12&0xf], hex[r>>8&0xf], hex[r>>4&0xf], hex[r&0xf])
		default:
			b = utf8.AppendRune(b, r) // ranging over a bad byte yields utf8.RuneError
		}
	}
	return append(b, '"')
}
