package auth

import (
	"errors"
	"fmt"
	"strings"
)

// ErrUnknownCloud is wrapped by LookupCloud when it does not know the name.
var ErrUnknownCloud = errors.New("unknown cloud")

// Cloud is one Microsoft national cloud: where Graph lives and where its
// tokens come from. A token is only good for the Graph host of the cloud
// that issued it, so the two hosts always travel together.
type Cloud struct {
	Name          string // canonical name: "global", "usgov", "dod" or "china"
	GraphHost     string // e.g. "https://graph.microsoft.com", no trailing slash
	AuthorityHost string // e.g. "https://login.microsoftonline.com/", with the trailing slash azidentity uses
}

// Scope returns the OAuth scope that asks for a Graph token in this cloud
// with whatever permissions the app or user was granted.
func (c Cloud) Scope() string { return c.GraphHost + "/.default" }

// GraphRoot returns the Graph API root bulkpatch uses in this cloud (the
// beta endpoint, where the mobileAppInstallStatus routes live).
func (c Cloud) GraphRoot() string { return c.GraphHost + "/beta" }

// CloudNames lists the canonical cloud names LookupCloud accepts, for help
// texts and error messages.
func CloudNames() []string { return []string{"global", "usgov", "dod", "china"} }

// LookupCloud returns the cloud with the given name, matched
// case-insensitively. Besides the canonical names it accepts "public" and
// "gcc" (both served by the global cloud) and "gcch" / "gcc-high" (usgov).
// The empty name means global, the documented default.
func LookupCloud(name string) (Cloud, error) {
	// A switch rather than a package-level table: nothing here can be
	// modified by a caller.
	switch strings.ToLower(strings.TrimSpace(name)) {
	case "", "global", "public", "gcc":
		return Cloud{Name: "global", GraphHost: "https://graph.microsoft.com", AuthorityHost: "https://login.microsoftonline.com/"}, nil
	case "usgov", "gcch", "gcc-high":
		return Cloud{Name: "usgov", GraphHost: "https://graph.microsoft.us", AuthorityHost: "https://login.microsoftonline.us/"}, nil
	case "dod":
		return Cloud{Name: "dod", GraphHost: "https://dod-graph.microsoft.us", AuthorityHost: "https://login.microsoftonline.us/"}, nil
	case "china":
		return Cloud{Name: "china", GraphHost: "https://microsoftgraph.chinacloudapi.cn", AuthorityHost: "https://login.chinacloudapi.cn/"}, nil
	}
	return Cloud{}, fmt.Errorf("%w %q: use one of %s", ErrUnknownCloud, name, strings.Join(CloudNames(), ", "))
}

// GraphRoot returns the Graph root to use: override when set, else the
// root of the cloud named cloud.
func GraphRoot(cloud, override string) (string, error) {
	if override != "" {
		return override, nil
	}
	c, err := LookupCloud(cloud)
	if err != nil {
		return "", err
	}
	return c.GraphRoot(), nil
}
