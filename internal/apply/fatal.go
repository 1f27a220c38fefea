package apply

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"time"

	"github.com/bulkpatch/bulkpatch/internal/graph"
	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// RunFatal returns the stop that err, the failure of one request for an
// object of res, means for the whole run, or nil when it concerns that
// row alone. It is the one place that decides which answers stop a run,
// for apply, plan --reconcile and export alike.
func RunFatal(res *resource.Resource, err error) *StopError {
	if graph.IsSegmentRemoved(err) {
		return &StopError{Reason: Systemic, Err: err, Msg: segmentRemovedMsg}
	}
	var te *graph.TokenError
	if errors.As(err, &te) {
		return &StopError{Reason: AuthFailed, Err: err, Msg: "could not get a token: " + err.Error()}
	}
	var ae *graph.APIError
	if !errors.As(err, &ae) {
		return nil
	}
	switch {
	case graph.IsApprovalRequired(err):
		return &StopError{Reason: ApprovalRequired, Err: err, Msg: approvalMsg(ae)}
	case ae.Status == 401:
		return &StopError{Reason: AuthFailed, Err: err, Msg: "Graph rejected the token again after a fresh one was fetched (401 " + ae.Code + "): check that the token is for " +
			"this tenant and cloud (--cloud), that it has not been revoked, and that the clock of this machine is right"}
	case ae.Status == 403:
		return &StopError{Reason: AuthFailed, Err: err, Msg: fmt.Sprintf("Graph refused the request (403 %s: %s): the signed-in identity needs the permission "+
			"%s (delegated, or application for app-only sign-in) with admin consent", ae.Code, ae.Message, permission(res))}
	}
	return nil
}

func permission(res *resource.Resource) string {
	if res == nil || res.Permission == "" {
		return "to write these objects"
	}
	return res.Permission
}

// approvalMsg explains Intune's Multi Admin Approval refusal: it is not a
// missing permission, and granting one would not help.
func approvalMsg(ae *graph.APIError) string {
	return fmt.Sprintf("stopped: Intune Multi Admin Approval protects this workload (%d %s: %s). "+
		"Writes through Graph now need an approved request, and app-only calls are intercepted too. "+
		"Nothing further was sent. Either have a second admin approve a request for this change in the Intune admin center "+
		"(Tenant administration > Multi Admin Approval), or ask for an exclusion of this app registration from the access policy "+
		"(which itself needs a second admin's approval); a missing permission is not the cause.",
		ae.Status, ae.Code, ae.Message)
}

// systemicKey names failures that say nothing about the row itself, or
// returns "" for row-specific ones (bad body, unknown object). Server
// errors count as one kind: a gateway that alternates 502, 503 and 504 is
// one failure, not three.
func systemicKey(err error) string {
	var ae *graph.APIError
	if errors.As(err, &ae) {
		switch {
		case ae.Status == 429:
			return "429 throttled"
		case ae.Status >= 500:
			return "server errors (5xx)"
		}
		return ""
	}
	if errors.Is(err, context.Canceled) || errors.Is(err, graph.ErrInvalidID) {
		return "" // the caller's own end, or an id refused before sending
	}
	var ie *resource.IDError
	if errors.As(err, &ie) {
		return ""
	}
	// No answer at all after every retry: connection refused, DNS, TLS,
	// timeouts. Which one does not matter; that it repeats does.
	return "no answer from Graph"
}

// unreachable is the stop for a Graph that has not answered for a while.
func unreachable(err error, since time.Duration) *StopError {
	host, cause := "Graph", "no answer"
	var ue *url.Error
	if errors.As(err, &ue) {
		if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
			host = u.Host
		}
	}
	if err != nil {
		cause = graph.NoAnswerCause(err)
	}
	return &StopError{Reason: Systemic, Err: err, Msg: fmt.Sprintf(
		"stopped: cannot reach %s: %s (no answer for %s); nothing further was sent, and running the same command again continues",
		host, cause, since.Round(time.Second))}
}

const segmentRemovedMsg = `stopped: this tenant's Graph does not serve the deviceStatuses/userStatuses routes ` +
	`("Resource not found for the segment ..."). Microsoft removed these navigation properties from mobileApp ` +
	`in many tenants in 2023 (userAppInstallStatus was deprecated from May 2023); the documentation pages were left up. ` +
	`No further rows were sent: they would all fail the same way. Install status is now reported through Intune's ` +
	`reports API (deviceManagement/reports) instead.`
