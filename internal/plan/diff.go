package plan

import (
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// Change is one property whose live value differs from what an Op sends.
type Change struct {
	Property string          `json:"property"`
	Old      json.RawMessage `json:"old"` // the live value; null when absent or null
	New      json.RawMessage `json:"new"` // the value the PATCH sends
}

// errNotObject is returned by Diff for live JSON that is not an object.
var errNotObject = errors.New("the live object is not a JSON object")

// Diff compares what op sends with the live object and returns the
// properties that differ, in the order of op.Res.Properties. Values are
// compared by meaning, not by spelling: enums exactly (Graph's spelling
// is canonical), date-times as instants (2026-01-01T00:00:00Z equals
// 2026-01-01T00:00:00.0000000+00:00), Int32 properties such as errorCode
// numerically, strings exactly, and an absent property the same as
// null. A live value of the wrong type or an enum member bulkpatch does
// not know is simply different, not an error: the list of members keeps
// growing. The returned Old values are copies and do not alias live. Diff
// fails only when live is not a JSON object.
func Diff(op *Op, live json.RawMessage) ([]Change, error) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(live, &obj); err != nil {
		var typeErr *json.UnmarshalTypeError
		if errors.As(err, &typeErr) {
			return nil, errNotObject
		}
		return nil, fmt.Errorf("reading the live object: %w", err)
	}
	if obj == nil { // live was null
		return nil, errNotObject
	}
	var changes []Change
	for i := range op.Res.Properties {
		p := &op.Res.Properties[i]
		v := op.Props[i]
		if v.Intent != Set && v.Intent != Clear {
			continue
		}
		old, ok := obj[p.Name]
		if !ok || string(old) == "null" {
			old = json.RawMessage("null")
		}
		if sameValue(p, v, old) {
			continue
		}
		changes = append(changes, Change{
			Property: p.Name,
			Old:      old,
			New:      appendValue(nil, p, v),
		})
	}
	return changes, nil
}

// sameValue reports whether the live JSON value old means the same as v.
func sameValue(p *resource.Property, v Value, old json.RawMessage) bool {
	if string(old) == "null" {
		return v.Intent == Clear
	}
	if v.Intent != Set {
		return false
	}
	if p.Kind == resource.Int32 {
		return sameInt(v.Int, old)
	}
	var s string
	if json.Unmarshal(old, &s) != nil {
		return false // not a string: a type Graph would not send here
	}
	if p.Kind == resource.DateTime {
		want, msg := parseDateTime(v.Str, 9)
		if msg != "" {
			return s == v.Str // not an Op from Check; compare as written
		}
		// Live values may carry more digits than Graph stores; compare
		// them all as far as nanoseconds go.
		got, msg := parseDateTime(s, len(s))
		return msg == "" && got == want
	}
	return s == v.Str // strings and enums: exact
}

// sameInt compares an Int32 value with a live JSON number (or, leniently, a
// string holding one in either of the input's forms).
func sameInt(want int32, old json.RawMessage) bool {
	switch c := old[0]; {
	case c == '"':
		var s string
		if json.Unmarshal(old, &s) != nil {
			return false
		}
		n, msg := parseInt32(s)
		return msg == "" && n == want
	case c == '-' || '0' <= c && c <= '9':
		if n, err := strconv.ParseInt(string(old), 10, 64); err == nil {
			return n == int64(want)
		}
		f, err := strconv.ParseFloat(string(old), 64)
		return err == nil && f == float64(want)
	}
	return false
}
