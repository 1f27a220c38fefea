package plan

import (
	"encoding/json"
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"unicode"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// entryCodec maps an Entry to and from the JSON of one resource's plan
// file. encoding/json reads and writes a struct type built for the
// resource with reflect.StructOf (as csvio builds gocsv's row type): Line,
// then a string field per key column tagged with the column's name
// (omitempty when the key is optional), then Action, Body and Changes.
// The file is therefore exactly what a hand-written struct for the
// resource gives: byte for byte the entries written before resources were
// declared, with the reader's DisallowUnknownFields refusing any name the
// resource does not have.
type entryCodec struct {
	nkeys int
	typ   reflect.Type
}

// The fields of an entry struct after its keys, counted from the first
// field after the last key.
const (
	fieldAction = iota
	fieldBody
	fieldChanges
)

// fixedEntryFields are the JSON names an entry has whatever the resource.
var fixedEntryFields = []string{"line", "action", "body", "changes"}

// newEntryCodec builds the codec of res's entries. A key column whose
// name cannot be a field of its own is a mistake in a built-in
// declaration, so it panics.
func newEntryCodec(res *resource.Resource) *entryCodec {
	fields := []reflect.StructField{{Name: "Line", Type: reflect.TypeFor[int](), Tag: `json:"line"`}}
	for i, k := range res.Keys {
		if !plainName(k.Name) {
			panic(fmt.Sprintf("plan: resource %s: key column %q cannot name a plan file field", res.Name, k.Name))
		}
		tag := k.Name
		if !res.Required(i) {
			tag += ",omitempty"
		}
		fields = append(fields, reflect.StructField{
			Name: "Key" + strconv.Itoa(i), Type: reflect.TypeFor[string](), Tag: reflect.StructTag(`json:"` + tag + `"`),
		})
	}
	fields = append(fields,
		reflect.StructField{Name: "Action", Type: reflect.TypeFor[string](), Tag: `json:"action"`},
		reflect.StructField{Name: "Body", Type: reflect.TypeFor[json.RawMessage](), Tag: `json:"body"`},
		reflect.StructField{Name: "Changes", Type: reflect.TypeFor[[]Change](), Tag: `json:"changes,omitempty"`},
	)
	return &entryCodec{nkeys: len(res.Keys), typ: reflect.StructOf(fields)}
}

// plainName reports whether a key column's name can be a JSON field of an
// entry: letters and digits only (so the struct tag holds it as is), and
// none of the fixed names, which encoding/json matches case-insensitively.
func plainName(name string) bool {
	if name == "" || strings.IndexFunc(name, func(r rune) bool { return !unicode.IsLetter(r) && !unicode.IsDigit(r) }) >= 0 {
		return false
	}
	for _, f := range fixedEntryFields {
		if strings.EqualFold(name, f) {
			return false
		}
	}
	return true
}

// value returns e as a pointer to the resource's entry struct, for
// encoding.
func (c *entryCodec) value(e *Entry) any {
	v := reflect.New(c.typ)
	s := v.Elem()
	s.Field(0).SetInt(int64(e.Line))
	for i := range c.nkeys {
		s.Field(1 + i).SetString(e.Key[i])
	}
	after := 1 + c.nkeys
	s.Field(after + fieldAction).SetString(e.Action)
	s.Field(after + fieldBody).SetBytes(e.Body)
	s.Field(after + fieldChanges).Set(reflect.ValueOf(e.Changes))
	return v.Interface()
}

// new returns a pointer to an empty entry struct, to decode into.
func (c *entryCodec) new() any { return reflect.New(c.typ).Interface() }

// entry returns the Entry of a decoded entry struct made by new.
func (c *entryCodec) entry(p any) Entry {
	s := reflect.ValueOf(p).Elem()
	e := Entry{Line: int(s.Field(0).Int())}
	for i := range c.nkeys {
		e.Key[i] = s.Field(1 + i).String()
	}
	after := 1 + c.nkeys
	e.Action = s.Field(after + fieldAction).String()
	e.Body = s.Field(after + fieldBody).Bytes()
	e.Changes = s.Field(after + fieldChanges).Interface().([]Change)
	return e
}
