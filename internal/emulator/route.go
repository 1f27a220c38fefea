package emulator

import (
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// splitPath splits an escaped URL path into segments, unescaping each once,
// so an id holding an escaped "/" stays one segment. A single trailing
// slash is ignored. On a bad escape it returns the offending segment.
func splitPath(escaped string) (segs []string, bad string, ok bool) {
	escaped = strings.TrimSuffix(strings.TrimPrefix(escaped, "/"), "/")
	if escaped == "" {
		return nil, "", true
	}
	segs = strings.Split(escaped, "/")
	for i, p := range segs {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, p, false
		}
		segs[i] = u
	}
	return segs, "", true
}

// targetKind is what a path addresses.
type targetKind int

const (
	notServed  targetKind = iota // a path Graph has that the emulator does not serve
	parent                       // an entity known only by id: an app, a user status
	collection                   // a collection of objects, paged
	parents                      // a collection of entities known only by id (an app's userStatuses), paged
	objectPath                   // one object
	actionPath                   // a write action on one object
)

// target is a resolved path.
type target struct {
	kind targetKind
	n    *node // the last node walked
	ids  [resource.MaxKeys]string
	sv   *served // the resource served at the path; nil for notServed
}

// write reports whether the call writes.
func (c *call) write() bool { return c.method != http.MethodGet }

// resolve maps c's path to a target as Graph's model would, or to the
// answer Graph gives for a path or method it cannot serve. Segment names
// match case-insensitively, as Graph's do. Callers hold s.mu.
func (s *Server) resolve(c *call, now time.Time) (target, answer, bool) {
	var t target
	n, depth := s.model.root, 0
	lacks := s.lacks(c)
	for _, seg := range c.segs {
		if l := n.literal(seg); l != nil {
			if l.hiddenBy(lacks) {
				return t, c.segmentNotFound(now, seg), false
			}
			n = l
			continue
		}
		if n.isKey() || n.key == nil || seg == "" {
			return t, c.segmentNotFound(now, seg), false
		}
		t.ids[depth] = seg
		depth++
		n = n.key
	}
	t.n = n
	switch {
	case n.action != nil:
		t.kind, t.sv = actionPath, n.action
	case n.isKey() && n.object != nil:
		t.kind, t.sv = objectPath, n.object
	case n.isKey():
		t.kind, t.sv = parent, n.uses[0]
	case n.key != nil && n.key.object != nil:
		t.kind, t.sv = collection, n.key.object
	case n.key != nil && len(n.key.uses) > 0:
		t.kind, t.sv = parents, n.key.uses[0]
	default:
		return t, c.fail(now, 501, "NotImplemented", "The bulkpatch emulator does not serve this route."), false
	}
	if !t.allows(c.method) {
		return t, c.methodNotAllowed(now), false
	}
	return t, answer{}, true
}

// lacks returns the test of whether a resource is missing from the model
// c meets: v1.0's, or a tenant's after RemovedSegment.
func (s *Server) lacks(c *call) func(*served) bool {
	v1 := c.v1 && !s.opt.Lenient
	return func(sv *served) bool {
		return (v1 && sv.betaOnly) || (s.opt.RemovedSegment && sv.removable)
	}
}

// allows reports whether t serves method.
func (t *target) allows(method string) bool {
	switch t.kind {
	case objectPath:
		return method == http.MethodGet || (t.n.writable && method == t.sv.res.Method)
	case actionPath:
		return method == t.sv.res.Method
	}
	return method == http.MethodGet
}

// listing reports whether t is a paged collection (of objects or of
// parent entities).
func (t *target) listing() bool { return t.kind == collection || t.kind == parents }

// key returns the key of the object t addresses (objectPath, actionPath).
func (t *target) key() resource.Key {
	n := t.n
	for !n.isKey() {
		n = n.parent
	}
	return keyOf(n, t.ids)
}

// objectNode returns the object node t addresses or lists.
func (t *target) objectNode() *node {
	n := t.n
	switch t.kind {
	case collection:
		return n.key
	case actionPath:
		for !n.isKey() {
			n = n.parent
		}
	}
	return n
}

// contextPath is the path of t's collection as @odata.context names it,
// e.g. "deviceAppManagement/mobileApps('a')/deviceStatuses": the
// declared spelling of each segment, with each entity's key in
// parentheses, except the addressed entity's own.
func (t *target) contextPath() string {
	end := t.n
	if t.kind == actionPath {
		end = t.objectNode()
	}
	if end.isKey() {
		end = end.parent
	}
	var parts []string
	for n := end; n.parent != nil; n = n.parent {
		if n.isKey() {
			parts = append(parts, "('"+odataKey(t.ids[n.depth-1])+"')")
			continue
		}
		parts = append(parts, "/"+n.name)
	}
	var b strings.Builder
	for i := len(parts) - 1; i >= 0; i-- {
		b.WriteString(parts[i])
	}
	return strings.TrimPrefix(b.String(), "/")
}

// odataKey quotes an id for an OData key literal.
func odataKey(id string) string { return strings.ReplaceAll(id, "'", "''") }
