package graph

import (
	"bytes"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// APIError is an answer from Graph with a status other than 200 or 204:
// Graph was reached and said no. Errors where no answer came (timeouts,
// resets, cancellation) are never an *APIError, so callers can tell "the
// server refused" from "we could not ask" with errors.As.
type APIError struct {
	Status          int           // HTTP status, e.g. 404 (for a $batch item, the item's own status)
	Code            string        // Graph's error.code, e.g. "ResourceNotFound"; may be empty
	Message         string        // Graph's error.message, or the start of a non-JSON body
	RequestID       string        // request-id header, else innerError's request-id
	ClientRequestID string        // client-request-id header, else innerError's
	RetryAfter      time.Duration // parsed Retry-After; 0 when absent or unusable
	Date            string        // innerError's date, else the Date header, as sent
}

// maxMessage bounds how much of a server message Error repeats: an HTML
// error page from a proxy must not flood a log line or a results cell.
const maxMessage = 300

// Error renders e as "graph: 404 ResourceNotFound: <message> (request-id
// <id>)", leaving out the parts Graph did not send.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("graph: ")
	b.WriteString(strconv.Itoa(e.Status))
	if c := printable(e.Code, 80); c != "" {
		b.WriteByte(' ')
		b.WriteString(c)
	}
	if m := printable(e.Message, maxMessage); m != "" {
		b.WriteString(": ")
		b.WriteString(m)
	}
	if id := printable(e.RequestID, 80); id != "" {
		b.WriteString(" (request-id ")
		b.WriteString(id)
		b.WriteByte(')')
	}
	return b.String()
}

// printable returns s on one line (control characters and invalid UTF-8
// become spaces, runs of spaces collapse), cut to at most max runes with
// an ellipsis.
func printable(s string, max int) string {
	var b strings.Builder
	n := 0
	space := false
	for _, r := range strings.TrimSpace(s) {
		if r == utf8.RuneError || unicode.IsControl(r) || unicode.IsSpace(r) {
			space = true
			continue
		}
		if n >= max {
			b.WriteString("…")
			return b.String()
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
			n++
		}
		space = false
		b.WriteRune(r)
		n++
	}
	return b.String()
}

// IsSegmentRemoved reports whether err is Graph's answer for a tenant
// where the deviceStatuses / userStatuses navigation no longer exists:
// 400 with "Resource not found for the segment 'deviceStatuses'" (or
// 'userStatuses'). Every row would fail the same way, so callers stop the
// run. It is the one case where Graph leaves nothing but the message text
// to branch on.
func IsSegmentRemoved(err error) bool {
	var e *APIError
	if !errors.As(err, &e) || e.Status != http.StatusBadRequest {
		return false
	}
	m := strings.ToLower(e.Message)
	for _, seg := range []string{"deviceStatuses", "userStatuses"} {
		if strings.Contains(m, strings.ToLower("Resource not found for the segment '"+seg+"'")) {
			return true
		}
	}
	return false
}

// errorEnvelope is Graph's (and OData's) error body. Fields are raw so
// that a number or object where a string belongs does not lose the rest;
// encoding/json matches names case-insensitively, which covers both
// innerError and innererror.
type errorEnvelope struct {
	Error *struct {
		Code       json.RawMessage `json:"code"`
		Message    json.RawMessage `json:"message"`
		InnerError *struct {
			Date            json.RawMessage `json:"date"`
			RequestID       json.RawMessage `json:"request-id"`
			RequestIDCamel  json.RawMessage `json:"requestId"`
			ClientRequestID json.RawMessage `json:"client-request-id"`
		} `json:"innerError"`
	} `json:"error"`
}

// decodeError turns an error answer into an *APIError. It never fails:
// a body that is not Graph's JSON shape still yields the status, the
// headers' ids and the start of the body as the message. A Retry-After in
// HTTP-date form is measured against the answer's own Date header; without
// one it is left at 0 here and the Client measures it against its Clock.
func decodeError(status int, header http.Header, body []byte) *APIError {
	e := &APIError{Status: status}
	var env errorEnvelope
	if json.Unmarshal(body, &env) == nil && env.Error != nil {
		e.Code = jsonText(env.Error.Code)
		e.Message = unwrapMessage(jsonText(env.Error.Message))
		if in := env.Error.InnerError; in != nil {
			e.Date = jsonText(in.Date)
			e.RequestID = jsonText(in.RequestID)
			if e.RequestID == "" {
				e.RequestID = jsonText(in.RequestIDCamel)
			}
			e.ClientRequestID = jsonText(in.ClientRequestID)
		}
	} else if t := bytes.TrimSpace(body); len(t) > 0 && !json.Valid(t) {
		// Not JSON at all: most likely a proxy's or gateway's page.
		e.Message = printable(string(t[:min(len(t), 4*maxMessage)]), maxMessage)
	}
	if e.Message == "" {
		e.Message = http.StatusText(status)
	}
	if v := header.Get("request-id"); v != "" {
		e.RequestID = v
	}
	if v := header.Get("client-request-id"); v != "" {
		e.ClientRequestID = v
	}
	if e.Date == "" {
		e.Date = header.Get("Date")
	}
	e.RetryAfter, _ = retryAfter(header, time.Time{})
	return e
}

// unwrapMessage returns the text of an Intune message that carries its
// own JSON inside Graph's error.message, as Intune's services answer:
// {"_version": 3, "Message": "Resource Not Found - Operation ID …", …}.
// The inner message is what says what went wrong (with the operation id
// support asks for); the wrapper is noise that hides it. Any other
// message is returned as it is.
func unwrapMessage(m string) string {
	t := strings.TrimSpace(m)
	if !strings.HasPrefix(t, "{") {
		return m
	}
	var inner struct {
		Message json.RawMessage `json:"Message"`
	}
	if json.Unmarshal([]byte(t), &inner) != nil {
		return m
	}
	if b := bytes.TrimSpace(inner.Message); len(b) > 0 && b[0] == '"' {
		if s := jsonText(b); s != "" {
			return s
		}
	}
	return m
}

// jsonText returns a JSON string's value, a scalar's literal text, the
// "value" member of an OData v3 message object ({"lang":..,"value":..}),
// and "" for null, absent or anything else.
func jsonText(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || string(raw) == "null" {
		return ""
	}
	switch raw[0] {
	case '"':
		var s string
		if json.Unmarshal(raw, &s) == nil {
			return s
		}
		return ""
	case '{':
		var o struct {
			Value json.RawMessage `json:"value"`
		}
		if json.Unmarshal(raw, &o) == nil {
			if v := bytes.TrimSpace(o.Value); len(v) > 0 && v[0] == '"' {
				return jsonText(v)
			}
		}
		return ""
	case '[':
		return ""
	}
	if json.Valid(raw) {
		return string(raw)
	}
	return ""
}
