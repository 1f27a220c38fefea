package emulator

import (
	"encoding/json"
	"fmt"
	"net/url"
	"time"
)

// call is one request as the service sees it: a plain HTTP request or one
// $batch item.
type call struct {
	method          string
	segs            []string // path segments after the version, unescaped once
	query           url.Values
	body            []byte
	contentType     string
	clientRequestID string // as sent; "" when none
	requestID       string
	root            string // scheme://host/version, for @odata.context
	self            string // scheme://host/escaped-path, for @odata.nextLink
	v1              bool   // under /v1.0
	forbidden       bool   // the token authenticates but lacks the permission
}

// echoID is the client-request-id Graph reports back: the client's, or the
// request-id when the client sent none.
func (c *call) echoID() string {
	if c.clientRequestID != "" {
		return c.clientRequestID
	}
	return c.requestID
}

// action is what the HTTP layer does instead of, or before, answering.
type action int

const (
	respond action = iota
	abort          // drop the connection without an answer
	hang           // answer nothing until Faults.HangFor passes or the client goes away
)

// answer is the service's reply to a call.
type answer struct {
	status  int
	header  map[string]string // Content-Type, Retry-After, WWW-Authenticate
	body    []byte
	action  action
	hangFor time.Duration // how long a hang lasts
}

const (
	jsonType  = "application/json"
	odataType = "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8"
)

// okAnswer is a 200 with a JSON body.
func okAnswer(body []byte) answer {
	return answer{status: 200, body: body, header: map[string]string{"Content-Type": odataType}}
}

// graphError is Graph's error body.
type graphError struct {
	Error errorDetail `json:"error"`
}

type errorDetail struct {
	Code       string     `json:"code"`
	Message    string     `json:"message"`
	InnerError innerError `json:"innerError"`
}

type innerError struct {
	Date            string `json:"date"`
	RequestID       string `json:"request-id"`
	ClientRequestID string `json:"client-request-id"`
}

// fail builds an error answer in Graph's shape for c.
func (c *call) fail(now time.Time, status int, code, message string) answer {
	body, _ := json.Marshal(graphError{errorDetail{
		Code:    code,
		Message: message,
		InnerError: innerError{
			Date:            now.UTC().Format("2006-01-02T15:04:05"),
			RequestID:       c.requestID,
			ClientRequestID: c.echoID(),
		},
	}}) // plain strings always encode
	return answer{status: status, header: map[string]string{"Content-Type": jsonType}, body: body}
}

// badRequest is a 400 BadRequest with message.
func (c *call) badRequest(now time.Time, message string) answer {
	return c.fail(now, 400, "BadRequest", message)
}

// segmentNotFound is Graph's answer to a path segment its model lacks.
func (c *call) segmentNotFound(now time.Time, seg string) answer {
	return c.badRequest(now, fmt.Sprintf("Resource not found for the segment '%s'.", seg))
}

// methodNotAllowed is Graph's answer to a method a path does not serve.
func (c *call) methodNotAllowed(now time.Time) answer {
	return c.fail(now, 405, "BadRequest", fmt.Sprintf("The requested resource does not support http method '%s'.", c.method))
}

// intuneMessage wraps text the way the Intune service behind Graph does:
// a JSON document inside the message string. Clients must carry such
// messages through untouched; parsing them is not expected.
func (c *call) intuneMessage(text string) string {
	b, _ := json.Marshal(text + " - Operation ID (for customer support): 00000000-0000-0000-0000-000000000000 - Activity ID: " +
		c.requestID + " - Url: " + c.self)
	return `{"_version": 3, "Message": ` + string(b) + `, "CustomApiErrorPhrase": "", "RetryAfter": null, "ErrorSourceService": "", "HttpHeaders": "{}"}`
}

func (c *call) notFound(now time.Time) answer {
	return c.fail(now, 404, "ResourceNotFound", c.intuneMessage("Resource Not Found"))
}
