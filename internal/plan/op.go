package plan

import "github.com/bulkpatch/bulkpatch/internal/schema"

// Intent says what a PATCH does with one property.
type Intent uint8

const (
	Leave Intent = iota // not sent: the property stays as it is
	Set                 // sent with a value
	Clear               // sent as JSON null (nullable strings only)
)

// Value is one property's intent in an operation. For Set, Str holds the
// value to send in canonical form: an enum member in Graph's exact
// spelling, a date-time as written in the input without surrounding
// spaces (validated), a string exactly as is; Int holds an errorCode.
type Value struct {
	Intent Intent
	Str    string
	Int    int32
}

// Op is one validated row: the object it addresses and what to send.
type Op struct {
	Line         int    // physical line of the input row
	AppID        string // mobileAppId
	UserStatusID string // userAppInstallStatusId; "" for the direct route
	StatusID     string // mobileAppInstallStatusId
	Props        [schema.NumProperties]Value
}
