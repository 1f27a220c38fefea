// Package schema describes the one Graph object bulkpatch writes,
// mobileAppInstallStatus: its twelve writable properties, their JSON types,
// which may be null, and the members of its two enums.
//
// It is the single source of these facts for validation (plan), the
// emulator and export, so that a schema change is made in one place.
package schema

import "strings"

// Kind is the JSON type of a property as Graph checks it.
type Kind int

const (
	String         Kind = iota // JSON string
	DateTime                   // Edm.DateTimeOffset: RFC 3339 string with an offset or Z
	Int32                      // JSON number, 32-bit signed
	AppState                   // enum resultantAppState
	AppStateDetail             // enum resultantAppStateDetail
)

func (k Kind) String() string {
	switch k {
	case String:
		return "string"
	case DateTime:
		return "date-time"
	case Int32:
		return "int32"
	case AppState:
		return "resultantAppState"
	case AppStateDetail:
		return "resultantAppStateDetail"
	}
	return "unknown"
}

// Property is one writable property of mobileAppInstallStatus.
type Property struct {
	Name     string // exact JSON name
	Kind     Kind
	Nullable bool // whether Graph accepts JSON null for it
}

// Properties lists the writable properties in Graph's documented order.
// The index of a property in this slice is its identity everywhere in
// bulkpatch (plan.Op.Props, csvio columns after the three ids).
var Properties = [NumProperties]Property{
	{"deviceName", String, true},
	{"deviceId", String, true},
	{"lastSyncDateTime", DateTime, false},
	{"mobileAppInstallStatusValue", AppState, false},
	{"installState", AppState, false},
	{"installStateDetail", AppStateDetail, false},
	{"errorCode", Int32, false},
	{"osVersion", String, true},
	{"osDescription", String, true},
	{"userName", String, true},
	{"userPrincipalName", String, true},
	{"displayVersion", String, true},
}

// NumProperties is the number of writable properties.
const NumProperties = 12

// PropertyIndex returns the index of the property with exactly this JSON
// name, or -1.
func PropertyIndex(name string) int {
	for i, p := range Properties {
		if p.Name == name {
			return i
		}
	}
	return -1
}

// AppStates are the members of resultantAppState, in schema order.
var AppStates = []string{
	"installed", "failed", "notInstalled", "uninstallFailed", "pendingInstall",
	"unknown", "notApplicable",
}

// AppStateDetails are the members of resultantAppStateDetail in the 2026
// schema. The list keeps growing: code that reads values must tolerate
// members it does not know; only writes are checked against it.
var AppStateDetails = []string{
	"noAdditionalDetails", "dependencyFailedToInstall", "dependencyWithRequirementsNotMet",
	"dependencyPendingReboot", "dependencyWithAutoInstallDisabled", "supersededAppUninstallFailed",
	"supersededAppUninstallPendingReboot", "removingSupersededApps", "iosAppStoreUpdateFailedToInstall",
	"vppAppHasUpdateAvailable", "userRejectedUpdate", "uninstallPendingReboot",
	"supersedingAppsDetected", "supersededAppsDetected", "seeInstallErrorCode",
	"autoInstallDisabled", "managedAppNoLongerPresent", "userRejectedInstall",
	"userIsNotLoggedIntoAppStore", "untargetedSupersedingAppsDetected", "appRemovedBySupersedence",
	"seeUninstallErrorCode", "pendingReboot", "installingDependencies",
	"contentDownloaded", "supersedingAppsNotApplicable", "powerShellScriptRequirementNotMet",
	"registryRequirementNotMet", "fileSystemRequirementNotMet", "platformNotApplicable",
	"minimumCpuSpeedNotMet", "minimumLogicalProcessorCountNotMet", "minimumPhysicalMemoryNotMet",
	"minimumOsVersionNotMet", "minimumDiskSpaceNotMet", "processorArchitectureNotApplicable",
}

// Members returns the enum members of an enum kind, or nil for other kinds.
func (k Kind) Members() []string {
	switch k {
	case AppState:
		return AppStates
	case AppStateDetail:
		return AppStateDetails
	}
	return nil
}

// foldedMembers maps each enum member, lower-cased and as spelled, to its
// exact spelling, so that the common, already-correct cell is found
// without lower-casing (which allocates).
var foldedMembers = map[Kind]map[string]string{
	AppState:       fold(AppStates),
	AppStateDetail: fold(AppStateDetails),
}

func fold(members []string) map[string]string {
	m := make(map[string]string, 2*len(members))
	for _, s := range members {
		m[strings.ToLower(s)] = s
		m[s] = s
	}
	return m
}

// Canonical returns the member of enum kind k that equals s ignoring case,
// in Graph's exact spelling, and whether there is one.
func Canonical(k Kind, s string) (string, bool) {
	m, ok := foldedMembers[k]
	if !ok {
		return "", false
	}
	// Fast path: most cells are already spelled exactly.
	if v, ok := m[s]; ok {
		return v, true
	}
	v, ok := m[strings.ToLower(s)]
	return v, ok
}

// IsMember reports whether s is exactly (case-sensitively) a member of
// enum kind k, as Graph checks it.
func IsMember(k Kind, s string) bool {
	v, ok := foldedMembers[k][s]
	return ok && v == s
}

// Closest returns the candidate nearest to s by edit distance, ignoring
// case, when it is near enough to be a plausible typo; otherwise "".
func Closest(s string, candidates []string) string {
	ls := strings.ToLower(s)
	best, bestD := "", -1
	for _, c := range candidates {
		d := distance(ls, strings.ToLower(c))
		if bestD < 0 || d < bestD {
			best, bestD = c, d
		}
	}
	// Accept up to a third of the longer string's length in edits.
	limit := max(len(ls), len(best))/3 + 1
	if bestD < 0 || bestD > limit {
		return ""
	}
	return best
}

// distance is the Levenshtein distance between a and b, over bytes.
func distance(a, b string) int {
	if len(a) > 256 || len(b) > 256 {
		return max(len(a), len(b)) // hostile lengths: not worth the quadratic work
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
