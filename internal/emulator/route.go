package emulator

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"
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

// route is a resolved path.
type route struct {
	kind           routeKind
	app, user, id  string
	collectionPath string // for @odata.context: deviceAppManagement/mobileApps('a')/...
}

type routeKind int

const (
	routeApp    routeKind = iota // .../mobileApps/{app}
	routeUser                    // .../mobileApps/{app}/userStatuses/{user}
	routeList                    // a deviceStatuses collection
	routeObject                  // one mobileAppInstallStatus
)

// resolve maps c's path to a route as Graph's model would, or to the answer
// Graph gives for a path or method it cannot serve. Segment names match
// case-insensitively, as Graph's do. Callers hold s.mu.
func (s *Server) resolve(c *call, now time.Time) (route, answer, bool) {
	segs := c.segs
	bad := func(i int) (route, answer, bool) { return route{}, c.segmentNotFound(now, segs[i]), false }
	notServed := func() (route, answer, bool) {
		return route{}, c.fail(now, 501, "NotImplemented", "The bulkpatch emulator does not serve this route."), false
	}
	switch {
	case len(segs) == 0:
		return notServed()
	case !strings.EqualFold(segs[0], "deviceAppManagement"):
		return bad(0)
	case len(segs) == 1:
		return notServed()
	case !strings.EqualFold(segs[1], "mobileApps"):
		return bad(1)
	case len(segs) == 2:
		return notServed()
	}
	rt := route{kind: routeApp, app: segs[2]}
	rt.collectionPath = "deviceAppManagement/mobileApps('" + odataKey(rt.app) + "')"
	var rest []string
	switch {
	case len(segs) == 3:
		return s.allow(c, now, rt)
	case strings.EqualFold(segs[3], "deviceStatuses"):
		if s.opt.RemovedSegment {
			return bad(3)
		}
		rest = segs[4:]
	case strings.EqualFold(segs[3], "userStatuses"):
		switch {
		case s.opt.RemovedSegment:
			return bad(3)
		case len(segs) == 4:
			return notServed()
		}
		rt.kind, rt.user = routeUser, segs[4]
		rt.collectionPath += "/userStatuses('" + odataKey(rt.user) + "')"
		switch {
		case len(segs) == 5:
			return s.allow(c, now, rt)
		case !strings.EqualFold(segs[5], "deviceStatuses"):
			return bad(5)
		}
		rest = segs[6:]
	default:
		return bad(3)
	}
	rt.collectionPath += "/deviceStatuses"
	switch len(rest) {
	case 0:
		rt.kind = routeList
	case 1:
		rt.kind, rt.id = routeObject, rest[0]
	default:
		return bad(len(segs) - len(rest) + 1)
	}
	return s.allow(c, now, rt)
}

// allow checks c's method against what rt serves.
func (s *Server) allow(c *call, now time.Time, rt route) (route, answer, bool) {
	if c.method == http.MethodGet || (c.method == http.MethodPatch && rt.kind == routeObject) {
		return rt, answer{}, true
	}
	return route{}, c.fail(now, 405, "BadRequest", fmt.Sprintf("The requested resource does not support http method '%s'.", c.method)), false
}

// odataKey quotes an id for an OData key literal.
func odataKey(id string) string { return strings.ReplaceAll(id, "'", "''") }
