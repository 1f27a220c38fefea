package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// The messages below are Graph's own (OData library and .NET) wording, so
// that a client's error reporting is exercised with realistic text. They
// are protocol text, hence their capitals.

// update is one property a valid write body sets, in stored form.
type update struct {
	prop  int
	value json.RawMessage
}

// bodyRules says how a write body is read: as an entity (a PATCH of the
// object) or as an action's parameters (e.g. updateDeviceProperties).
type bodyRules struct {
	sv     *served
	pathID string // the object's id in the URL
	action string // the action's name; "" for an entity
}

// checkBody checks a write body the way Graph deserialises it, stopping at
// the first problem in document order, and returns the properties to set.
// The returned error's text is the message for a 400 answer.
func checkBody(body []byte, rules bodyRules) ([]update, error) {
	dec := json.NewDecoder(bytes.NewReader(body))
	tok, err := dec.Token()
	if errors.Is(err, io.EOF) {
		return nil, errors.New("Empty Payload. JSON content expected.")
	}
	if err != nil {
		return nil, invalidJSON(err)
	}
	if tok != json.Delim('{') {
		return nil, fmt.Errorf("An unexpected '%s' node was found when reading from the JSON reader. A 'StartObject' node was expected.", nodeName(tok))
	}
	var ups []update
	seen := make(map[string]bool)
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, invalidJSON(err)
		}
		key, _ := tok.(string) // inside an object the decoder only yields string keys
		var raw json.RawMessage
		if err := dec.Decode(&raw); err != nil {
			return nil, invalidJSON(err)
		}
		if seen[key] {
			return nil, rules.duplicate(key)
		}
		seen[key] = true
		up, set, err := rules.member(key, raw)
		if err != nil {
			return nil, err
		}
		if set {
			ups = append(ups, up)
		}
	}
	if _, err := dec.Token(); err != nil { // the closing brace
		return nil, invalidJSON(err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("Invalid JSON. More than one value was found at the root of the JSON content. JSON content can only have one value at the root level, which is an array, an object or a primitive value.")
	}
	return ups, nil
}

// member checks one member of the body: a property (set is true), the
// entity's own id, an annotation, or an error.
func (rules bodyRules) member(key string, raw json.RawMessage) (up update, set bool, err error) {
	if i := rules.sv.res.PropertyIndex(key); i >= 0 {
		v, err := checkValue(&rules.sv.res.Properties[i], raw, true)
		return update{i, v}, err == nil, err
	}
	switch {
	case rules.action == "" && key == "id":
		var id string
		if json.Unmarshal(raw, &id) != nil || id != rules.pathID {
			return up, false, errors.New("The value of the key property 'id' in the request body does not match the key in the request URL; 'id' cannot be changed.")
		}
	case rules.action == "" && key == "@odata.type":
		return up, false, checkODataType(raw, rules.sv.entityType())
	case strings.Contains(key, "@"):
		// Instance and property annotations (@odata.context, x@odata.type, ...) are ignored, as Graph does.
	case rules.action != "":
		return up, false, fmt.Errorf("The parameter '%s' in the request payload is not a valid parameter for the operation '%s'.", key, rules.action)
	default:
		return up, false, fmt.Errorf("Property '%s' does not exist on type '%s'. Make sure to only use property names that are defined by the type or mark the type as open type.", key, rules.sv.entityType())
	}
	return up, false, nil
}

func (rules bodyRules) duplicate(key string) error {
	if rules.action != "" {
		return fmt.Errorf("Multiple parameters with the name '%s' were found in the request payload.", key)
	}
	return fmt.Errorf("Multiple properties with the name '%s' were detected in an entry or a complex value. In OData, duplicate property names are not allowed.", key)
}

func invalidJSON(err error) error {
	if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF) {
		return errors.New("Invalid JSON. An unexpected end of input was found in the JSON content.")
	}
	return fmt.Errorf("Invalid JSON. %v.", err)
}

// nodeName names a JSON token the way the OData reader does.
func nodeName(tok json.Token) string {
	switch tok {
	case json.Delim('['):
		return "StartArray"
	case json.Delim('{'):
		return "StartObject"
	}
	return "PrimitiveValue"
}

func checkODataType(raw json.RawMessage, entityType string) error {
	var t string
	if err := json.Unmarshal(raw, &t); err != nil {
		return errors.New("An '@odata.type' annotation must have a string value.")
	}
	name := t
	if len(name) > 0 && name[0] == '#' {
		name = name[1:]
	}
	if name != entityType {
		return fmt.Errorf("A type named '%s' could not be resolved by the model. When a model is available, each type name must resolve to a valid type.", name)
	}
	return nil
}

// edmType is the type name Graph's messages use for a property.
func edmType(p *resource.Property) string {
	switch p.Kind {
	case resource.String:
		return "Edm.String"
	case resource.DateTime:
		return "Edm.DateTimeOffset"
	case resource.Int32:
		return "Edm.Int32"
	}
	return "microsoft.graph." + p.Type()
}

// checkValue checks one property value and returns it in stored form:
// dates normalised to UTC, numbers and strings re-encoded canonically.
// strictEnums makes enum values match the enum exactly (a write); without
// it any string is kept (a seed may hold newer members).
func checkValue(p *resource.Property, raw json.RawMessage, strictEnums bool) (json.RawMessage, error) {
	if len(raw) == 0 {
		return nil, errors.New("Invalid JSON. An unexpected end of input was found in the JSON content.")
	}
	switch raw[0] {
	case '{', '[':
		node := "StartObject"
		if raw[0] == '[' {
			node = "StartArray"
		}
		return nil, fmt.Errorf("An unexpected '%s' node was found for property named '%s' when reading from the JSON reader. A 'PrimitiveValue' node was expected.", node, p.Name)
	case 'n':
		if !p.Nullable {
			t := edmType(p)
			return nil, fmt.Errorf("A null value was found for the property named '%s', which has the expected type '%s[Nullable=False]'. The expected type '%s[Nullable=False]' does not allow null values.", p.Name, t, t)
		}
		return json.RawMessage(`null`), nil
	}
	cannotConvert := fmt.Errorf("Cannot convert a primitive value to the expected type '%s'. See the inner exception for more details.", edmType(p))
	if p.Kind == resource.Int32 {
		n, ok := parseInt32(raw)
		if !ok {
			return nil, cannotConvert
		}
		return strconv.AppendInt(nil, int64(n), 10), nil
	}
	var s string
	if raw[0] != '"' || json.Unmarshal(raw, &s) != nil {
		return nil, cannotConvert
	}
	switch p.Kind {
	case resource.DateTime:
		t, err := parseDateTime(s)
		if err != nil {
			return nil, err
		}
		s = t.UTC().Format(graphTime)
	case resource.Enum:
		if strictEnums && !p.Enum.IsMember(s) {
			return nil, fmt.Errorf("Requested value '%s' was not found.", s)
		}
	}
	return appendString(nil, s), nil
}

var int32Literal = regexp.MustCompile(`^-?(0|[1-9][0-9]*)$`)

// parseInt32 accepts a JSON integer literal in int32 range; 5.0, 5e0 and
// "5" are not Edm.Int32 to Graph either.
func parseInt32(raw []byte) (int32, bool) {
	if !int32Literal.Match(raw) {
		return 0, false
	}
	n, err := strconv.ParseInt(string(raw), 10, 32)
	return int32(n), err == nil
}

// graphTime is how Graph writes an Edm.DateTimeOffset: UTC, up to seven
// fractional digits with trailing zeros dropped.
const graphTime = "2006-01-02T15:04:05.9999999Z07:00"

var dateTimeShape = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,7})?(Z|[+-]\d{2}:\d{2})?$`)

// parseDateTime accepts an RFC 3339 date-time with an offset or Z and at
// most seven fractional digits (.NET's tick precision), within the range
// of a .NET DateTimeOffset.
func parseDateTime(s string) (time.Time, error) {
	bad := fmt.Errorf("Cannot convert the literal '%s' to the expected type 'Edm.DateTimeOffset'.", s)
	m := dateTimeShape.FindStringSubmatch(s)
	if m == nil {
		return time.Time{}, bad
	}
	if m[2] == "" {
		return time.Time{}, fmt.Errorf("The time zone information is missing on the DateTimeOffset value '%s'. A DateTimeOffset value must contain the time zone information.", s)
	}
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		return time.Time{}, bad
	}
	_, off := t.Zone()
	if off > 14*3600 || off < -14*3600 {
		return time.Time{}, bad
	}
	if y := t.Year(); y < 1 {
		return time.Time{}, bad
	}
	if y := t.UTC().Year(); y < 1 || y > 9999 {
		return time.Time{}, bad
	}
	return t, nil
}
