package emulator

import (
	"encoding/base64"
	"fmt"
	"mime"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// execute performs an admitted request. Callers hold s.mu.
func (s *Server) execute(c *call, rt route, now time.Time) answer {
	switch rt.kind {
	case routeApp:
		if s.store.apps[rt.app] == nil {
			return c.notFound(now)
		}
		return okAnswer(minimalEntity(c.root+"/$metadata#deviceAppManagement/mobileApps/$entity", "#microsoft.graph.mobileApp", rt.app))
	case routeUser:
		if s.store.users[[2]string{rt.app, rt.user}] == nil {
			return c.notFound(now)
		}
		return okAnswer(minimalEntity(c.root+"/$metadata#deviceAppManagement/mobileApps('"+odataKey(rt.app)+"')/userStatuses/$entity", "#microsoft.graph.userAppInstallStatus", rt.user))
	case routeList:
		return s.page(c, rt, now)
	}
	if c.method == http.MethodPatch {
		return s.patch(c, rt, now)
	}
	obj := s.store.objs[objKey{rt.app, rt.user, rt.id}]
	if obj == nil {
		return c.notFound(now)
	}
	return okAnswer(appendStatus(nil, c.root+"/$metadata#"+rt.collectionPath+"/$entity", obj))
}

// minimalEntity is the body for the parent entities the emulator knows only
// by id: enough to tell a client that they exist.
func minimalEntity(context, odataType, id string) []byte {
	b := append([]byte(`{"@odata.context":`), appendString(nil, context)...)
	b = append(b, `,"@odata.type":`...)
	b = appendString(b, odataType)
	b = append(b, `,"id":`...)
	b = appendString(b, id)
	return append(b, '}')
}

// patch validates and applies a PATCH. Callers hold s.mu.
func (s *Server) patch(c *call, rt route, now time.Time) answer {
	if c.contentType != "" {
		if mt, _, err := mime.ParseMediaType(c.contentType); err != nil || mt != jsonType {
			return c.fail(now, 415, "UnsupportedMediaType", fmt.Sprintf("The content type '%s' is not supported; send application/json.", c.contentType))
		}
	}
	ups, err := checkPatch(c.body, rt.id)
	if err != nil {
		return c.fail(now, 400, "BadRequest", err.Error())
	}
	obj := s.store.objs[objKey{rt.app, rt.user, rt.id}]
	if obj == nil {
		return c.notFound(now)
	}
	for _, u := range ups {
		obj.Props[u.prop] = u.value
	}
	s.stats.WritesApplied[Key(rt.app, rt.user, rt.id)]++
	if s.opt.NoContent {
		return answer{status: 204}
	}
	return okAnswer(appendStatus(nil, c.root+"/$metadata#"+rt.collectionPath+"/$entity", obj))
}

// page answers one page of a deviceStatuses collection. Callers hold s.mu.
func (s *Server) page(c *call, rt route, now time.Time) answer {
	var list []Status
	if rt.user == "" {
		app := s.store.apps[rt.app]
		if app == nil {
			return c.notFound(now)
		}
		list = app.DeviceStatuses
	} else {
		u := s.store.users[[2]string{rt.app, rt.user}]
		if u == nil {
			return c.notFound(now)
		}
		list = u.DeviceStatuses
	}
	off := 0
	if tok := c.query.Get("$skiptoken"); tok != "" {
		var ok bool
		if off, ok = decodeSkipToken(tok); !ok {
			return c.fail(now, 400, "BadRequest", "The $skiptoken value is not valid.")
		}
	}
	off = min(off, len(list))
	end := min(off+s.opt.PageSize, len(list))
	b := append([]byte(`{"@odata.context":`), appendString(nil, c.root+"/$metadata#"+rt.collectionPath)...)
	b = append(b, `,"value":[`...)
	for i := off; i < end; i++ {
		if i > off {
			b = append(b, ',')
		}
		b = appendStatus(b, "", &list[i])
	}
	b = append(b, ']')
	if end-off == s.opt.PageSize {
		b = append(b, `,"@odata.nextLink":`...)
		b = appendString(b, c.self+"?$skiptoken="+encodeSkipToken(end))
	}
	return okAnswer(append(b, '}'))
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
