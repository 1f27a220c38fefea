package emulator

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// State is the emulator's tenant. It is both the seed file format
// (LoadState) and what Snapshot returns. A seed file looks like this:
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
//	  ],
//	  "resources": {
//	    "managedDevice": [{"id": "d-1", "managedDeviceName": "LAPTOP-1"}]
//	  }
//	}
//
// mobileApps holds the apps and their install statuses
// (resource.MobileAppInstallStatus) in the shape Graph nests them;
// resources holds the objects of every resource, by name, as flat records
// (see Record). An object lists its id and any of its resource's
// properties; a property left out takes the value Graph shows for an unset
// one (null for a nullable one, else 0, "0001-01-01T00:00:00Z", the enum's
// "unknown" or first member). Enum values in a seed need not be members of
// their enum, so that a test can serve a value from a newer schema; a
// write is still checked strictly. The same status id may appear directly
// under an app and under one of its user statuses: those are two separate
// objects.
type State struct {
	// MobileApps are the apps, each with its install statuses.
	MobileApps []App `json:"mobileApps"`
	// Resources holds objects by resource name (resource.Resource.Name).
	// Snapshot lists every resource but mobileAppInstallStatus here, and
	// that one in MobileApps.
	Resources map[string][]Record `json:"resources,omitempty"`
}

// App is one mobileApp with its two install-status collections.
type App struct {
	ID             string       `json:"id"`                       // the mobileApp's id
	DeviceStatuses []Status     `json:"deviceStatuses,omitempty"` // served at .../mobileApps/{ID}/deviceStatuses
	UserStatuses   []UserStatus `json:"userStatuses,omitempty"`   // served at .../mobileApps/{ID}/userStatuses
}

// UserStatus is one userAppInstallStatus and its device statuses, served at
// .../userStatuses/{ID}/deviceStatuses.
type UserStatus struct {
	ID             string   `json:"id"`                       // the userAppInstallStatus's id
	DeviceStatuses []Status `json:"deviceStatuses,omitempty"` // its install statuses
}

// Status is one mobileAppInstallStatus object. Props holds the JSON value of
// each property, indexed like resource.MobileAppInstallStatus.Properties; a
// nil entry means "not given" and takes Graph's default in New. It encodes
// to and from a flat JSON object: {"id": ..., "deviceName": ..., ...}.
type Status struct {
	ID    string                                  // the mobileAppInstallStatus's id
	Props [resource.MaxProperties]json.RawMessage // property values as JSON; nil: not given
}

// Record is one object in State.Resources: a flat JSON object holding the
// object's own id as "id", its other key columns by their names (e.g.
// "mobileAppId"), and any of its resource's properties. Keys starting with
// "@" (OData annotations, as in a saved Graph answer) are ignored. The
// entities its keys name on the way (an app, a user status) exist with it.
type Record map[string]json.RawMessage

// MarshalJSON encodes s as Graph shows it: "id" first, then the properties
// in declared order; properties never set are left out.
func (s Status) MarshalJSON() ([]byte, error) {
	props := resource.MobileAppInstallStatus.Properties
	b := append([]byte(`{"id":`), appendString(nil, s.ID)...)
	for i := range props {
		if s.Props[i] == nil {
			continue
		}
		b = append(b, ',', '"')
		b = append(b, props[i].Name...)
		b = append(b, '"', ':')
		b = append(b, s.Props[i]...)
	}
	return append(b, '}'), nil
}

// UnmarshalJSON reads a flat object; keys starting with "@" are ignored,
// any other unknown key is an error. Values are checked later, by
// LoadState or New, where the error can say where the object is.
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
		switch i := resource.MobileAppInstallStatus.PropertyIndex(k); {
		case i >= 0:
			s.Props[i] = v // json.Unmarshal gave each value its own copy
		case k == "id" || strings.HasPrefix(k, "@"):
		default:
			return fmt.Errorf("status %q: unknown property %q", s.ID, k)
		}
	}
	return nil
}

// LoadState reads a State in the format documented on State, rejecting
// unknown fields and resources, duplicate or empty ids and values of the
// wrong JSON type, and fills in the properties left out.
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
	m, err := defaultModel()
	if err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	if _, err := newStore(m, &st); err != nil {
		return nil, fmt.Errorf("load state: %w", err)
	}
	return &st, nil
}

// newStore checks st, filling in missing properties in place, and returns
// a store holding its objects. st's slices and records are not retained.
func newStore(m *model, st *State) (*store, error) {
	s := newEmptyStore(m)
	if err := s.addApps(st.MobileApps); err != nil {
		return nil, err
	}
	for _, name := range slices.Sorted(maps.Keys(st.Resources)) {
		sv := m.byName(name)
		if sv == nil {
			return nil, fmt.Errorf("resources: unknown resource %q", name)
		}
		for i, rec := range st.Resources[name] {
			if err := s.addRecord(sv, rec); err != nil {
				return nil, fmt.Errorf("resources.%s[%d]: %w", name, i, err)
			}
		}
	}
	return s, nil
}

// addApps adds the mobileApps section: each app and user status is an
// entity even without statuses.
func (s *store) addApps(apps []App) error {
	if len(apps) == 0 {
		return nil
	}
	sv := s.m.served(resource.MobileAppInstallStatus)
	if sv == nil {
		return errors.New("mobileApps: mobileAppInstallStatus is not served")
	}
	appNode := sv.entityNode("mobileAppId")
	if appNode == nil {
		return errors.New("mobileApps: mobileAppInstallStatus has no route through mobileApps")
	}
	seen := make(map[string]bool, len(apps))
	for ai := range apps {
		a := &apps[ai]
		where := fmt.Sprintf("mobileApps[%d]", ai)
		switch {
		case a.ID == "":
			return fmt.Errorf("%s: empty id", where)
		case seen[a.ID]:
			return fmt.Errorf("%s: duplicate app id %q", where, a.ID)
		}
		seen[a.ID] = true
		s.touch(appNode, [resource.MaxKeys]string{a.ID})
		if err := s.addStatuses(sv, where+".deviceStatuses", a.ID, "", a.DeviceStatuses); err != nil {
			return err
		}
		if err := s.addUserStatuses(sv, where, a); err != nil {
			return err
		}
	}
	return nil
}

func (s *store) addUserStatuses(sv *served, where string, a *App) error {
	userNode := sv.entityNode("userAppInstallStatusId")
	seen := make(map[string]bool, len(a.UserStatuses))
	for ui := range a.UserStatuses {
		u := &a.UserStatuses[ui]
		uwhere := fmt.Sprintf("%s.userStatuses[%d]", where, ui)
		switch {
		case u.ID == "":
			return fmt.Errorf("%s: empty id", uwhere)
		case seen[u.ID]:
			return fmt.Errorf("%s: duplicate user status id %q", uwhere, u.ID)
		case userNode == nil:
			return fmt.Errorf("%s: mobileAppInstallStatus has no route through userStatuses", uwhere)
		}
		seen[u.ID] = true
		s.touch(userNode, [resource.MaxKeys]string{a.ID, u.ID})
		if err := s.addStatuses(sv, uwhere+".deviceStatuses", a.ID, u.ID, u.DeviceStatuses); err != nil {
			return err
		}
	}
	return nil
}

func (s *store) addStatuses(sv *served, where, app, user string, list []Status) error {
	seen := make(map[string]bool, len(list))
	for i := range list {
		st := &list[i]
		swhere := fmt.Sprintf("%s[%d]", where, i)
		switch {
		case st.ID == "":
			return fmt.Errorf("%s: empty id", swhere)
		case seen[st.ID]:
			return fmt.Errorf("%s: duplicate status id %q", swhere, st.ID)
		}
		seen[st.ID] = true
		if err := completeProps(sv, &st.Props); err != nil {
			return fmt.Errorf("%s (%q): %w", swhere, st.ID, err)
		}
		if err := s.add(sv, resource.Key{app, user, st.ID}, st.Props); err != nil {
			return fmt.Errorf("%s: %w", swhere, err)
		}
	}
	return nil
}

// completeProps checks the values given and fills in the others with
// Graph's defaults, in place.
func completeProps(sv *served, props *[resource.MaxProperties]json.RawMessage) error {
	for i := range sv.res.Properties {
		p := &sv.res.Properties[i]
		if props[i] == nil {
			props[i] = defaultValue(p)
			continue
		}
		v, err := checkValue(p, props[i], false)
		if err != nil {
			return fmt.Errorf("%s: %w", p.Name, err)
		}
		props[i] = v
	}
	return nil
}

// addRecord checks rec, fills in its missing properties in place, and adds
// its object.
func (s *store) addRecord(sv *served, rec Record) error {
	var k resource.Key
	var props [resource.MaxProperties]json.RawMessage
	for name, raw := range rec {
		col := sv.res.KeyIndex(name)
		if name == "id" {
			col = sv.id
		}
		switch i := sv.res.PropertyIndex(name); {
		case col >= 0:
			if json.Unmarshal(raw, &k[col]) != nil || k[col] == "" {
				return fmt.Errorf("%s must be a non-empty string, not %s", name, raw)
			}
		case i >= 0:
			props[i] = raw
		case strings.HasPrefix(name, "@"):
		default:
			return fmt.Errorf("unknown property %q of %s", name, sv.res.Name)
		}
	}
	if k[sv.id] == "" {
		return errors.New("empty id")
	}
	if err := completeProps(sv, &props); err != nil {
		return fmt.Errorf("%q: %w", k[sv.id], err)
	}
	for i, p := range sv.res.Properties {
		rec[p.Name] = props[i]
	}
	return s.add(sv, k, props)
}

// snapshot returns the store as a State: mobileAppInstallStatus objects
// in the mobileApps shape of seed (the normalised seed the store was built
// from, whose structure it keeps), the others as records.
func (s *store) snapshot(seed *State) *State {
	out := &State{MobileApps: make([]App, len(seed.MobileApps))}
	sv := s.m.served(resource.MobileAppInstallStatus)
	statuses := func(app, user string, list []Status) []Status {
		if list == nil {
			return nil
		}
		cp := make([]Status, len(list))
		for i, st := range list {
			cp[i] = Status{ID: st.ID, Props: cloneProps(s.lookup(sv, resource.Key{app, user, st.ID}).props)}
		}
		return cp
	}
	for i, a := range seed.MobileApps {
		out.MobileApps[i] = App{ID: a.ID, DeviceStatuses: statuses(a.ID, "", a.DeviceStatuses)}
		if a.UserStatuses != nil {
			out.MobileApps[i].UserStatuses = make([]UserStatus, len(a.UserStatuses))
			for j, u := range a.UserStatuses {
				out.MobileApps[i].UserStatuses[j] = UserStatus{ID: u.ID, DeviceStatuses: statuses(a.ID, u.ID, u.DeviceStatuses)}
			}
		}
	}
	for _, obj := range s.order {
		if obj.sv == sv {
			continue
		}
		if out.Resources == nil {
			out.Resources = make(map[string][]Record)
		}
		out.Resources[obj.sv.res.Name] = append(out.Resources[obj.sv.res.Name], obj.record())
	}
	return out
}

// record returns obj as a Record.
func (obj *object) record() Record {
	rec := make(Record, len(obj.sv.res.Keys)+len(obj.sv.res.Properties))
	for i, kc := range obj.sv.res.Keys {
		name := kc.Name
		if i == obj.sv.id {
			name = "id"
		}
		if obj.key[i] != "" {
			rec[name] = appendString(nil, obj.key[i])
		}
	}
	for i, p := range obj.sv.res.Properties {
		rec[p.Name] = bytes.Clone(obj.props[i])
	}
	return rec
}

func cloneProps(p [resource.MaxProperties]json.RawMessage) [resource.MaxProperties]json.RawMessage {
	for i := range p {
		if p[i] != nil {
			p[i] = bytes.Clone(p[i])
		}
	}
	return p
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
	if st.Resources != nil {
		out.Resources = make(map[string][]Record, len(st.Resources))
		for name, recs := range st.Resources {
			cp := make([]Record, len(recs))
			for i, rec := range recs {
				cp[i] = make(Record, len(rec))
				for k, v := range rec {
					cp[i][k] = bytes.Clone(v)
				}
			}
			out.Resources[name] = cp
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
		out[i] = Status{ID: s.ID, Props: cloneProps(s.Props)}
	}
	return out
}
