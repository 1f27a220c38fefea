package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/schema"
)

// State is the emulator's tenant: the apps and their install statuses. It
// is both the seed file format (LoadState) and what Snapshot returns. A
// seed file looks like this:
//
//	{
//	  "mobileApps": [
//	    {
//	      "id": "8a2c6b1e-0000-0000-0000-000000000001",
//	      "deviceStatuses": [
//	        {"id": "dev-1", "deviceName": "LAPTOP-1", "installState": "installed",
//	         "lastSyncDateTime": "2026-01-15T08:30:00Z", "errorCode": 0}
//	      ],
//	      "userStatuses": [
//	        {"id": "user-1", "deviceStatuses": [{"id": "dev-2", "installState": "failed",
//	         "installStateDetail": "seeInstallErrorCode", "errorCode": -2016345060}]}
//	      ]
//	    }
//	  ]
//	}
//
// An object lists its "id" and any of the twelve properties of
// schema.Properties; a property left out takes the value Graph shows for an
// unset one (null for the strings, 0, "unknown", "noAdditionalDetails",
// "0001-01-01T00:00:00Z"). Enum values in a seed need not be members of the
// schema's enums, so that a test can serve a value from a newer schema; a
// PATCH is still checked strictly. The same status id may appear directly
// under an app and under one of its user statuses: those are two separate
// objects here.
type State struct {
	MobileApps []App `json:"mobileApps"`
}

// App is one mobileApp with its two install-status collections.
type App struct {
	ID             string       `json:"id"`
	DeviceStatuses []Status     `json:"deviceStatuses,omitempty"`
	UserStatuses   []UserStatus `json:"userStatuses,omitempty"`
}

// UserStatus is one userAppInstallStatus and its device statuses, served at
// .../userStatuses/{ID}/deviceStatuses.
type UserStatus struct {
	ID             string   `json:"id"`
	DeviceStatuses []Status `json:"deviceStatuses,omitempty"`
}

// Status is one mobileAppInstallStatus object. Props holds the JSON value of
// each property, indexed like schema.Properties; a nil entry means "not
// given" and takes Graph's default in New. It encodes to and from a flat
// JSON object: {"id": ..., "deviceName": ..., ...}.
type Status struct {
	ID    string
	Props [schema.NumProperties]json.RawMessage
}

// MarshalJSON encodes s as Graph shows it: "id" first, then the properties
// in schema order; properties never set are left out.
func (s Status) MarshalJSON() ([]byte, error) {
	return appendStatus(nil, "", &s), nil
}

// UnmarshalJSON reads a flat object; keys starting with "@" (OData
// annotations, as in a saved Graph answer) are ignored, any other unknown key
// is an error. Values are checked later, by LoadState or New, where the
// error can say where the object is.
func (s *Status) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	*s = Status{}
	if raw, ok := m["id"]; ok {
		if err := json.Unmarshal(raw, &s.ID); err != nil {
			return fmt.Errorf("status id must be a string, not %s", raw)
		}
	}
	for k, v := range m {
		switch i := schema.PropertyIndex(k); {
		case i >= 0:
			s.Props[i] = v // json.Unmarshal gave each value its own copy
		case k == "id" || strings.HasPrefix(k, "@"):
		default:
			return fmt.Errorf("status %q: unknown property %q", s.ID, k)
		}
	}
	return nil
}

// appendStatus appends s as a JSON object to b, with an @odata.context
// annotation first when context is not empty.
func appendStatus(b []byte, context string, s *Status) []byte {
	b = append(b, '{')
	if context != "" {
		b = append(b, `"@odata.context":`...)
		b = appendString(b, context)
		b = append(b, ',')
	}
	b = append(b, `"id":`...)
	b = appendString(b, s.ID)
	for i, p := range schema.Properties {
		if s.Props[i] == nil {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, p.Name...)
		b = append(b, '"', ':')
		b = append(b, s.Props[i]...)
	}
	return append(b, '}')
}

// appendString appends s as a JSON string.
func appendString(b []byte, s string) []byte {
	enc, _ := json.Marshal(s) // a string always encodes
	return append(b, enc...)
}

// LoadState reads a State in the format documented on State, rejecting
// unknown fields, duplicate or empty ids and values of the wrong JSON type.
func LoadState(r io.Reader) (*State, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var st State
	if err := dec.Decode(&st); err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("load state: unexpected data after the state object")
	}
	if err := st.normalize(); err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	return &st, nil
}

// normalize checks st in place and fills the properties left out with
// Graph's defaults.
func (st *State) normalize() error {
	apps := make(map[string]bool, len(st.MobileApps))
	for ai := range st.MobileApps {
		a := &st.MobileApps[ai]
		where := fmt.Sprintf("mobileApps[%d]", ai)
		if a.ID == "" {
			return fmt.Errorf("%s: empty id", where)
		}
		if apps[a.ID] {
			return fmt.Errorf("%s: duplicate app id %q", where, a.ID)
		}
		apps[a.ID] = true
		if err := normalizeStatuses(where+".deviceStatuses", a.DeviceStatuses); err != nil {
			return err
		}
		users := make(map[string]bool, len(a.UserStatuses))
		for ui := range a.UserStatuses {
			u := &a.UserStatuses[ui]
			uwhere := fmt.Sprintf("%s.userStatuses[%d]", where, ui)
			if u.ID == "" {
				return fmt.Errorf("%s: empty id", uwhere)
			}
			if users[u.ID] {
				return fmt.Errorf("%s: duplicate user status id %q", uwhere, u.ID)
			}
			users[u.ID] = true
			if err := normalizeStatuses(uwhere+".deviceStatuses", u.DeviceStatuses); err != nil {
				return err
			}
		}
	}
	return nil
}

func normalizeStatuses(where string, list []Status) error {
	seen := make(map[string]bool, len(list))
	for i := range list {
		s := &list[i]
		swhere := fmt.Sprintf("%s[%d]", where, i)
		if s.ID == "" {
			return fmt.Errorf("%s: empty id", swhere)
		}
		if seen[s.ID] {
			return fmt.Errorf("%s: duplicate status id %q", swhere, s.ID)
		}
		seen[s.ID] = true
		for pi, p := range schema.Properties {
			if s.Props[pi] == nil {
				s.Props[pi] = defaultValue(p.Kind)
				continue
			}
			v, err := checkValue(p, s.Props[pi], false)
			if err != nil {
				return fmt.Errorf("%s (%q): %s: %w", swhere, s.ID, p.Name, err)
			}
			s.Props[pi] = v
		}
	}
	return nil
}

// defaultValue is what Graph shows for a property nobody set.
func defaultValue(k schema.Kind) json.RawMessage {
	switch k {
	case schema.DateTime:
		return json.RawMessage(`"0001-01-01T00:00:00Z"`)
	case schema.Int32:
		return json.RawMessage(`0`)
	case schema.AppState:
		return json.RawMessage(`"unknown"`)
	case schema.AppStateDetail:
		return json.RawMessage(`"noAdditionalDetails"`)
	}
	return json.RawMessage(`null`)
}

// clone returns a deep copy of st.
func (st *State) clone() *State {
	out := &State{MobileApps: make([]App, len(st.MobileApps))}
	for i, a := range st.MobileApps {
		out.MobileApps[i] = App{ID: a.ID, DeviceStatuses: cloneStatuses(a.DeviceStatuses)}
		if a.UserStatuses != nil {
			us := make([]UserStatus, len(a.UserStatuses))
			for j, u := range a.UserStatuses {
				us[j] = UserStatus{ID: u.ID, DeviceStatuses: cloneStatuses(u.DeviceStatuses)}
			}
			out.MobileApps[i].UserStatuses = us
		}
	}
	return out
}

func cloneStatuses(list []Status) []Status {
	if list == nil {
		return nil
	}
	out := make([]Status, len(list))
	for i, s := range list {
		out[i].ID = s.ID
		for p, v := range s.Props {
			if v != nil {
				out[i].Props[p] = bytes.Clone(v)
			}
		}
	}
	return out
}

// Key names one object in Stats.WritesApplied: the path-escaped ids joined
// by "/", "app/status" for the direct route and "app/user/status" for the
// nested one.
func Key(appID, userStatusID, id string) string {
	if userStatusID == "" {
		return url.PathEscape(appID) + "/" + url.PathEscape(id)
	}
	return url.PathEscape(appID) + "/" + url.PathEscape(userStatusID) + "/" + url.PathEscape(id)
}

// store is the server's own copy of the state with indexes into it. The
// slices never grow after New, so the pointers stay valid.
type store struct {
	state *State
	apps  map[string]*App
	users map[[2]string]*UserStatus // app id, user status id
	objs  map[objKey]*Status
}

type objKey struct{ app, user, id string }

func newStore(st *State) (*store, error) {
	own := st.clone()
	if err := own.normalize(); err != nil {
		return nil, err
	}
	s := &store{
		state: own,
		apps:  make(map[string]*App),
		users: make(map[[2]string]*UserStatus),
		objs:  make(map[objKey]*Status),
	}
	for ai := range own.MobileApps {
		a := &own.MobileApps[ai]
		s.apps[a.ID] = a
		for i := range a.DeviceStatuses {
			s.objs[objKey{a.ID, "", a.DeviceStatuses[i].ID}] = &a.DeviceStatuses[i]
		}
		for ui := range a.UserStatuses {
			u := &a.UserStatuses[ui]
			s.users[[2]string{a.ID, u.ID}] = u
			for i := range u.DeviceStatuses {
				s.objs[objKey{a.ID, u.ID, u.DeviceStatuses[i].ID}] = &u.DeviceStatuses[i]
			}
		}
	}
	return s, nil
}
