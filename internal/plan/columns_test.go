package plan

import (
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// TestSuggestColumn: the proposals for mistyped headers, as csvio's
// "did you mean" shows them.
func TestSuggestColumn(t *testing.T) {
	suggest := SuggestColumn(resource.MobileAppInstallStatus)
	for cell, want := range map[string]string{
		"instalState":            "installState",
		"install_state_details":  "installStateDetail",
		"User Principal":         "userPrincipalName",
		"deviceStatus":           "mobileAppInstallStatusId",
		"appIdd":                 "mobileAppId",
		"ip":                     "", // "id" is one typo away from too many words
		"frobnicate":             "",
		strings.Repeat("x", 100): "",
	} {
		if got := suggest(cell); got != want {
			t.Errorf("suggest(%q) = %q, want %q", cell, got, want)
		}
	}
}
