package emulator

import (
	"fmt"
	"mime"
	"slices"
	"strings"
	"time"
)

// decision is what the service decided for a call before carrying it out.
// Deciding draws every random choice and takes the quota, so that a
// $batch can decide its items in a seeded order and then run them
// concurrently with the same outcome.
type decision struct {
	c     *call
	t     target
	q     query
	ft    faultTable
	fault fault // one that takes effect when the call is carried out
	ups   []update
	obj   *object // the object addressed, when there is one
	final bool    // a is the whole answer
	a     answer  // the answer when final; the 429 of faultThrottleAfter
}

func finalDecision(c *call, a answer) decision { return decision{c: c, final: true, a: a} }

// decide evaluates c up to the point of carrying it out: routing, query
// options, permission, quota, faults and validation, in the order Graph
// meets them. item says c is a $batch item, which cannot drop or hold a
// connection. Callers hold s.mu.
func (s *Server) decide(c *call, item bool) decision {
	now := s.now()
	t, a, ok := s.resolve(c, now)
	if !ok {
		return finalDecision(c, a)
	}
	q, a, ok := s.parseQuery(c, &t, now)
	if !ok {
		return finalDecision(c, a)
	}
	if a, ok := s.authorize(c, &t, now); !ok {
		return finalDecision(c, a)
	}
	write := c.write()
	if write {
		s.stats.Writes++
	} else {
		s.stats.Reads++
	}
	if wait := s.admit(write, now); wait > 0 {
		return finalDecision(c, s.throttle(c, now, wait))
	}
	d := decision{c: c, t: t, q: q, ft: s.faultsFor(write)}
	f := s.roll(d.ft, faultKinds(write, item))
	switch f {
	case faultResetBefore:
		s.count(d.ft, f)
		return finalDecision(c, answer{action: abort})
	case faultHang:
		s.count(d.ft, f)
		return finalDecision(c, answer{action: hang, hangFor: d.ft.f.HangFor})
	case faultServerError:
		s.count(d.ft, f)
		return finalDecision(c, s.serverError(c))
	}
	if a, ok := s.validate(&d, now); !ok {
		return finalDecision(c, a)
	}
	if f != noFault {
		s.count(d.ft, f)
		d.fault = f
	}
	if f == faultThrottleAfter {
		d.a = s.throttle(c, now, 250*time.Millisecond+time.Duration(s.rng.Int64N(int64(2750*time.Millisecond))))
	}
	return d
}

// faultKinds are the faults a write or read, plain or $batch item, may meet.
func faultKinds(write, item bool) []fault {
	switch {
	case write && item:
		return writeItemFaults
	case write:
		return writeFaults
	case item:
		return readItemFaults
	}
	return readFaults
}

// throttle is a 429 telling c to wait. Callers hold s.mu.
func (s *Server) throttle(c *call, now time.Time, wait time.Duration) answer {
	s.stats.Throttled++
	a := c.fail(now, 429, "TooManyRequests", throttleMessage)
	s.setRetryAfter(c, &a, now, wait)
	return a
}

// validate checks what can only be checked once the service handles the
// call: a write's Content-Type and body, and that the entities exist.
// Callers hold s.mu.
func (s *Server) validate(d *decision, now time.Time) (answer, bool) {
	c, t := d.c, &d.t
	if c.write() {
		if a, ok := s.checkContentType(c, now); !ok {
			return a, false
		}
		rules := bodyRules{sv: t.sv, pathID: t.key()[t.sv.id]}
		if t.kind == actionPath {
			rules.action = t.n.name
		}
		ups, err := checkBody(c.body, rules)
		if err != nil {
			return c.badRequest(now, err.Error()), false
		}
		d.ups = ups
	}
	switch t.kind {
	case objectPath, actionPath:
		d.obj = s.store.lookup(t.sv, t.key())
		if d.obj == nil {
			return c.notFound(now), false
		}
	case parent:
		if !s.store.exists[entity{node: t.n, ids: t.ids}] {
			return c.notFound(now), false
		}
	case collection, parents:
		n := t.n.key
		if n.depth > 1 && !s.store.exists[entity{node: n.ancestor(n.depth - 1), ids: t.ids}] {
			return c.notFound(now), false
		}
	}
	return answer{}, true
}

// checkContentType refuses a write body that is not JSON, as Graph's
// OData reader does; under Lenient a missing type passes and a wrong one
// is 415, as before.
func (s *Server) checkContentType(c *call, now time.Time) (answer, bool) {
	if c.contentType == "" {
		if s.opt.Lenient {
			return answer{}, true
		}
		return c.badRequest(now, "A missing or empty content type header was found when trying to read a message. The content type header is required."), false
	}
	if mt, _, err := mime.ParseMediaType(c.contentType); err == nil && mt == jsonType {
		return answer{}, true
	}
	if s.opt.Lenient {
		return c.fail(now, 415, "UnsupportedMediaType", fmt.Sprintf("The content type '%s' is not supported; send application/json.", c.contentType)), false
	}
	return c.badRequest(now, fmt.Sprintf("A supported MIME type could not be found that matches the content type of the response. None of the supported type(s) '%s' matches the content type '%s'.", jsonType, c.contentType)), false
}

// perform carries out a decision and returns its answer. Callers hold s.mu.
func (s *Server) perform(d decision) answer {
	if d.final {
		return d.a
	}
	var a answer
	switch d.t.kind {
	case parent:
		a = s.parentEntity(&d)
	case collection:
		a = s.page(&d)
	case parents:
		a = s.parentsPage(&d)
	default:
		if d.c.write() {
			a = s.apply(&d)
		} else {
			a = okAnswer(appendObject(nil, s.entityContext(&d), d.obj, d.q.sel))
		}
	}
	switch d.fault {
	case faultResetAfter:
		return answer{action: abort}
	case faultThrottleAfter:
		return d.a
	}
	return a
}

// entityContext is the @odata.context of the object d addresses.
func (s *Server) entityContext(d *decision) string {
	return d.c.root + "/$metadata#" + d.t.contextPath() + d.q.contextSuffix() + "/$entity"
}

// apply carries out a write, unless a fault says to ignore it. Callers
// hold s.mu.
func (s *Server) apply(d *decision) answer {
	if d.fault != faultIgnoreWrite {
		for _, u := range d.ups {
			d.obj.props[u.prop] = u.value
		}
		s.stats.WritesApplied[ObjectKey(d.obj.sv.res, d.obj.key)]++
	}
	if s.opt.NoContent || d.t.kind == actionPath {
		return answer{status: 204}
	}
	return okAnswer(appendObject(nil, s.entityContext(d), d.obj, d.q.sel))
}

// parentsPage answers one page of a collection of parent entities (an
// app's userStatuses): each as {"id": …}, sorted by id. Callers hold
// s.mu.
func (s *Server) parentsPage(d *decision) answer {
	n := d.t.n.key
	var ids []string
	for e := range s.store.exists {
		if e.node != n || !slices.Equal(e.ids[:n.depth-1], d.t.ids[:n.depth-1]) {
			continue
		}
		ids = append(ids, e.ids[n.depth-1])
	}
	slices.Sort(ids)
	size := s.opt.PageSize
	if d.q.top >= 0 {
		size = d.q.top
	}
	off := min(d.q.off, len(ids))
	end := min(off+size, len(ids))
	b := append([]byte(`{"@odata.context":`), appendString(nil, d.c.root+"/$metadata#"+d.t.contextPath())...)
	b = append(b, `,"value":[`...)
	for i := off; i < end; i++ {
		if i > off {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = append(appendString(b, ids[i]), '}')
	}
	b = append(b, ']')
	if size > 0 && end-off == size {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, d.q.nextLink(d.c.self, end))
	}
	return okAnswer(append(b, '}'))
}

// parentEntity is the body for an entity the emulator knows only by id:
// enough to tell a client that it exists. Its type is named after its key
// column: mobileAppId is a microsoft.graph.mobileApp.
func (s *Server) parentEntity(d *decision) answer {
	n := d.t.n
	b := append([]byte(`{"@odata.context":`), appendString(nil, d.c.root+"/$metadata#"+d.t.contextPath()+d.q.contextSuffix()+"/$entity")...)
	b = append(b, `,"@odata.type":`...)
	b = appendString(b, "#microsoft.graph."+strings.TrimSuffix(n.column, "Id"))
	b = append(b, `,"id":`...)
	b = appendString(b, d.t.ids[n.depth-1])
	return okAnswer(append(b, '}'))
}

// page answers one page of a collection. Callers hold s.mu.
func (s *Server) page(d *decision) answer {
	list := s.store.lists[entity{node: d.t.n.key, ids: d.t.ids}]
	if d.q.filter != nil {
		var kept []*object
		for _, o := range list {
			if d.q.filter.match(o) {
				kept = append(kept, o)
			}
		}
		list = kept
	}
	size := s.opt.PageSize
	if d.q.top >= 0 {
		size = d.q.top
	}
	off := min(d.q.off, len(list))
	end := min(off+size, len(list))
	b := append([]byte(`{"@odata.context":`), appendString(nil, d.c.root+"/$metadata#"+d.t.contextPath()+d.q.contextSuffix())...)
	b = append(b, `,"value":[`...)
	for i := off; i < end; i++ {
		if i > off {
			b = append(b, ',')
		}
		b = appendObject(b, "", list[i], d.q.sel)
	}
	b = append(b, ']')
	if size > 0 && end-off == size {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, d.q.nextLink(d.c.self, end))
	}
	return okAnswer(append(b, '}'))
}
