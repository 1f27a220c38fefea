package graph

import (
	"errors"
	"fmt"
	"net/url"
	"strings"
	"unicode"
	"unicode/utf8"
)

// ErrInvalidID is wrapped by the errors ObjectPath and List return for an
// id that cannot be placed in a URL path safely. Nothing is sent for it.
var ErrInvalidID = errors.New("invalid id")

const (
	appsPath  = "/deviceAppManagement/mobileApps/"
	usersSeg  = "/userStatuses/"
	devsSeg   = "/deviceStatuses"
	maxIDShow = 80
)

// ObjectPath returns the escaped path of t below the API root:
// "/deviceAppManagement/mobileApps/{app}/deviceStatuses/{id}", or with
// "/userStatuses/{u}" before "/deviceStatuses" when t.UserStatusID is set.
// Every id is path-escaped; as a second line of defence behind the plan's
// validation it refuses empty required ids, "." and "..", invalid UTF-8,
// and ids containing '/', '\\', '?', '#', '%', whitespace or control
// characters. The error wraps ErrInvalidID.
func ObjectPath(t Target) (string, error) {
	coll, err := collectionPath(t.AppID, t.UserStatusID)
	if err != nil {
		return "", err
	}
	if err := checkID("mobileAppInstallStatusId", t.StatusID); err != nil {
		return "", err
	}
	return coll + "/" + url.PathEscape(t.StatusID), nil
}

// collectionPath returns the escaped path of the deviceStatuses collection
// of an app, or of one of its user statuses when userStatusID is set.
func collectionPath(appID, userStatusID string) (string, error) {
	if err := checkID("mobileAppId", appID); err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString(appsPath)
	b.WriteString(url.PathEscape(appID))
	if userStatusID != "" {
		if err := checkID("userAppInstallStatusId", userStatusID); err != nil {
			return "", err
		}
		b.WriteString(usersSeg)
		b.WriteString(url.PathEscape(userStatusID))
	}
	b.WriteString(devsSeg)
	return b.String(), nil
}

// checkID says why id cannot be a path segment, or nil.
func checkID(field, id string) error {
	reason := ""
	switch {
	case id == "":
		reason = "is empty"
	case id == "." || id == "..":
		reason = "is a dot segment"
	case !utf8.ValidString(id):
		reason = "is not valid UTF-8"
	default:
		for _, r := range id {
			switch {
			case strings.ContainsRune(`/\?#%`, r):
				reason = fmt.Sprintf("contains %q", r)
			case unicode.IsSpace(r):
				reason = "contains whitespace"
			case unicode.IsControl(r):
				reason = "contains a control character"
			}
			if reason != "" {
				break
			}
		}
	}
	if reason == "" {
		return nil
	}
	show := id
	if len(show) > maxIDShow {
		show = show[:maxIDShow] + "…"
	}
	return fmt.Errorf("graph: %s %q %s: %w", field, show, reason, ErrInvalidID)
}
