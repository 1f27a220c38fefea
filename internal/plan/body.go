package plan

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// AppendBody appends the JSON PATCH body of op to dst and returns the
// extended slice: an object with the Set and Clear properties in the
// order of op.Res.Properties, strings escaped as encoding/json escapes
// them (without its HTML escaping, which Graph does not need), Int32
// properties such as errorCode as numbers, null for Clear. The key is
// never part of the body. Into a buffer with room it allocates nothing.
func (op *Op) AppendBody(dst []byte) []byte {
	dst = append(dst, '{')
	first := true
	for i := range op.Res.Properties {
		v := &op.Props[i]
		if v.Intent != Set && v.Intent != Clear {
			continue
		}
		if !first {
			dst = append(dst, ',')
		}
		first = false
		dst = append(dst, '"')
		p := &op.Res.Properties[i]
		dst = append(dst, p.Name...) // a Graph property name: no escaping needed (a test checks)
		dst = append(dst, '"', ':')
		dst = appendValue(dst, p, *v)
	}
	return append(dst, '}')
}

// appendValue appends the JSON form of a Set or Clear value.
func appendValue(dst []byte, p *resource.Property, v Value) []byte {
	switch {
	case v.Intent != Set:
		return append(dst, "null"...)
	case p.Kind == resource.Int32:
		return strconv.AppendInt(dst, int64(v.Int), 10)
	}
	return appendString(dst, v.Str)
}

const hexDigits = "0123456789abcdef"

// appendString appends s as a JSON string exactly as encoding/json's
// Encoder with SetEscapeHTML(false) writes it: \" \\ and the short
// escapes \b \f \n \r \t, other control bytes as \u00XX, U+2028 and U+2029
// escaped (for JavaScript consumers), invalid UTF-8 as \ufffd. A fuzz test
// keeps the two byte-identical.
func appendString(dst []byte, s string) []byte {
	dst = append(dst, '"')
	start := 0
	for i := 0; i < len(s); {
		if b := s[i]; b < utf8.RuneSelf {
			if b >= 0x20 && b != '"' && b != '\\' {
				i++
				continue
			}
			dst = append(dst, s[start:i]...)
			switch b {
			case '"', '\\':
				dst = append(dst, '\\', b)
			case '\b':
				dst = append(dst, '\\', 'b')
			case '\f':
				dst = append(dst, '\\', 'f')
			case '\n':
				dst = append(dst, '\\', 'n')
			case '\r':
				dst = append(dst, '\\', 'r')
			case '\t':
				dst = append(dst, '\\', 't')
			default:
				dst = append(dst, '\\', 'u', '0', '0', hexDigits[b>>4], hexDigits[b&0xF])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, s[start:i]...)
			dst = append(dst, `\ufffd`...)
			i += size
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, s[start:i]...)
			dst = append(dst, '\\', 'u', '2', '0', '2', hexDigits[r&0xF])
			i += size
			start = i
			continue
		}
		i += size
	}
	dst = append(dst, s[start:]...)
	return append(dst, '"')
}

// OpFromBody rebuilds the operation of a saved PATCH body of res
// (apply --plan) and checks it as strictly as Check checks a row: the key
// by the id rules, each property by its kind, enums in Graph's exact
// spelling, null only where Graph allows it. Anything Check could not have
// produced (an unknown or wrongly cased property, a repeated property, an
// empty string, a NUL, a lower-case enum, an errorCode written as 1.0, an
// empty body) is a problem, so that an edited plan file is caught before
// anything is sent. It does not look for duplicate objects; use
// Validator.CheckBody for that.
func OpFromBody(res *resource.Resource, line int, key resource.Key, body []byte) (Op, []Problem) {
	op := Op{Line: line, Res: res, Key: key}
	probs := checkKeys(nil, &op)
	return op, decodeBody(probs, &op, body)
}

// CheckBody is OpFromBody for the Validator's resource plus the duplicate
// check of Check: a second body for an object that an earlier call
// addressed gets a problem naming the earlier line.
func (v *Validator) CheckBody(line int, key resource.Key, body []byte) (Op, []Problem) {
	op := Op{Line: line, Res: v.mustResource(), Key: key}
	probs := checkKeys(nil, &op)
	if len(probs) == 0 {
		probs = v.remember(probs, &op)
	}
	return op, decodeBody(probs, &op, body)
}

// decodeBody fills op.Props from body and appends what is wrong with it.
func decodeBody(probs []Problem, op *Op, body []byte) []Problem {
	bodyProblem := func(msg string) []Problem {
		return append(probs, Problem{Line: op.Line, Msg: "the saved PATCH body " + msg})
	}
	if !utf8.Valid(body) {
		return bodyProblem("is not valid UTF-8")
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return bodyProblem("is not a JSON object")
	}
	var seen [resource.MaxProperties]bool
	setsAny := false
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return bodyProblem("is not valid JSON: " + err.Error())
		}
		key, _ := t.(string) // inside an object, Token yields only string keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return bodyProblem("is not valid JSON: " + err.Error())
		}
		i := op.Res.PropertyIndex(key)
		if i < 0 {
			// Not a column: the key is quoted inside the message, so that a
			// hostile key cannot break the one-line report.
			probs = append(probs, Problem{Line: op.Line, Msg: msgUnknownProperty(op.Res, key)})
			continue
		}
		setsAny = true
		if seen[i] {
			probs = append(probs, Problem{Line: op.Line, Column: key, Msg: "appears twice in the saved PATCH body"})
			continue
		}
		seen[i] = true
		val, shown, msg := parseJSONValue(&op.Res.Properties[i], raw)
		if msg != "" {
			probs = append(probs, Problem{Line: op.Line, Column: key, Value: shown, Msg: msg})
			continue
		}
		op.Props[i] = val
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return bodyProblem("is not valid JSON: " + err.Error())
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return bodyProblem("has data after the JSON object")
	}
	if !setsAny {
		probs = append(probs, Problem{Line: op.Line, Msg: "nothing to change: the saved PATCH body sets no property"})
	}
	return probs
}

// msgUnknownProperty explains a body key that is not a writable property
// of res, pointing out a mere casing difference since Graph's names are
// case-sensitive.
func msgUnknownProperty(res *resource.Resource, key string) string {
	msg := "the saved PATCH body sets " + quoteShort(key) + ", which is not "
	names := make([]string, len(res.Properties))
	for i, p := range res.Properties {
		if strings.EqualFold(p.Name, key) {
			return msg + "a property name: Graph's names are case-sensitive; write " + strconv.Quote(p.Name)
		}
		names[i] = p.Name
	}
	msg += "a property bulkpatch writes"
	if c := resource.Closest(key, names); c != "" {
		msg += "; did you mean " + strconv.Quote(c) + "?"
	}
	return msg + " (writable: " + strings.Join(names, ", ") + ")"
}

// parseJSONValue checks one body value of property p. It returns the value,
// the text to quote in a problem, and what is wrong ("" when nothing).
func parseJSONValue(p *resource.Property, raw json.RawMessage) (Value, string, string) {
	if string(raw) == "null" {
		if p.Nullable {
			return Value{Intent: Clear}, "", ""
		}
		return Value{}, "null", msgNotNullable(p)
	}
	if p.Kind == resource.Int32 {
		return parseJSONInt32(p, raw)
	}
	if raw[0] != '"' {
		return Value{}, string(raw), "must be a JSON string"
	}
	var s string
	if err := json.Unmarshal(raw, &s); err != nil {
		return Value{}, string(raw), "is not a valid JSON string"
	}
	if i := strings.IndexByte(s, 0); i >= 0 {
		return Value{}, s, msgNUL(s, i)
	}
	switch p.Kind {
	case resource.String:
		if s == "" {
			return Value{}, s, "is an empty string, which no input cell can ask for (an empty cell leaves the property alone)"
		}
		if isNullCell(s) {
			return Value{}, s, "is the <null> marker as a string, which no input cell can ask for (the marker sends null)"
		}
		return Value{Intent: Set, Str: s}, "", ""
	case resource.Enum:
		if p.Enum.IsMember(s) {
			m, _ := p.Enum.Canonical(s) // the declaration's own string, not a copy
			return Value{Intent: Set, Str: m}, "", ""
		}
		if m, ok := p.Enum.Canonical(s); ok {
			return Value{}, s, "is not spelled as Graph requires (enums are case-sensitive); write " + strconv.Quote(m)
		}
		return Value{}, s, msgNotMember(p, s)
	case resource.DateTime:
		if s != strings.TrimSpace(s) {
			return Value{}, s, "has surrounding spaces, which bulkpatch never sends"
		}
		if _, msg := parseDateTime(s, maxFracDigits); msg != "" {
			return Value{}, s, msg
		}
		return Value{Intent: Set, Str: s}, "", ""
	}
	return Value{}, s, msgUnknownKind
}

// parseJSONInt32 checks a body value of an Int32 property: a whole JSON
// number in range, as AppendBody writes it.
func parseJSONInt32(p *resource.Property, raw json.RawMessage) (Value, string, string) {
	if raw[0] != '-' && (raw[0] < '0' || raw[0] > '9') {
		return Value{}, string(raw), "must be a JSON number"
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	if err != nil {
		if errors.Is(err, strconv.ErrRange) {
			return Value{}, string(raw), msgInt32Range
		}
		return Value{}, string(raw), "is not written as a whole JSON number the way bulkpatch writes " + p.Name
	}
	return Value{Intent: Set, Int: int32(n)}, "", ""
}
