package emulator

import (
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"strings"
	"time"
)

// The ApprovalRequired modes: how a write answers when the tenant protects
// it with Intune Multi Admin Approval. Both wordings have been reported
// since Intune extended approval to app-only calls (June 2026).
const (
	// ApprovalCode answers 403 with the error code "ApprovalRequired".
	ApprovalCode = "code"
	// ApprovalHeader answers 403 Forbidden with a message that the
	// x-msft-approval-justification header is required.
	ApprovalHeader = "header"
)

// wwwAuthenticate is the challenge Graph sends with a 401.
const wwwAuthenticate = `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000"`

// authenticate checks the bearer token, counting its uses, and marks c
// forbidden when the token lacks the permission; that answer waits until
// the path says which permission.
func (s *Server) authenticate(c *call, header string) (answer, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.now()
	unauthorized := func(msg string) (answer, bool) {
		a := c.fail(now, 401, "InvalidAuthenticationToken", msg)
		a.header["WWW-Authenticate"] = wwwAuthenticate
		return a, false
	}
	required := !s.opt.Lenient || s.opt.RequireToken || len(s.opt.Tokens) > 0
	scheme, token, _ := strings.Cut(header, " ")
	token = strings.TrimSpace(token)
	switch {
	case header == "":
		if required {
			return unauthorized("Access token is empty.")
		}
		return answer{}, true
	case !strings.EqualFold(scheme, "Bearer") || token == "":
		if required {
			return unauthorized("CompactToken parsing failed with error code: 80049217")
		}
		return answer{}, true
	case len(s.opt.Tokens) > 0 && !s.knownToken(token):
		return unauthorized("Access token validation failure.")
	}
	if s.opt.TokenUses > 0 {
		h := sha256.Sum256([]byte(token))
		s.tokenUses[h]++
		if s.tokenUses[h] > s.opt.TokenUses {
			return unauthorized("Lifetime validation failed, the token is expired.")
		}
	}
	c.forbidden = s.opt.ForbiddenToken != "" && token == s.opt.ForbiddenToken
	return answer{}, true
}

// knownToken reports whether token is one of Options.Tokens, comparing in
// constant time as a real verifier would.
func (s *Server) knownToken(token string) bool {
	ok := false
	for _, t := range s.opt.Tokens {
		if subtle.ConstantTimeCompare([]byte(t), []byte(token)) == 1 {
			ok = true
		}
	}
	return ok
}

// authorize answers a call whose token lacks the permission with Intune's
// 403, naming the scopes the path needs, and a write under Multi Admin
// Approval with its 403.
func (s *Server) authorize(c *call, t *target, now time.Time) (answer, bool) {
	perm := t.sv.res.Permission
	if c.forbidden {
		scopes := perm
		if !c.write() {
			scopes = strings.Replace(perm, ".ReadWrite.", ".Read.", 1) + ", " + perm
		}
		return c.fail(now, 403, "Forbidden", c.intuneMessage(
			"Application is not authorized to perform this operation. Application must have one of the following scopes: "+scopes)), false
	}
	if !c.write() {
		return answer{}, true
	}
	switch s.opt.ApprovalRequired {
	case ApprovalCode:
		return c.fail(now, 403, "ApprovalRequired", fmt.Sprintf(
			"This %s operation is protected by Multi Admin Approval. Submit it as an approval request and have another administrator approve it.", c.method)), false
	case ApprovalHeader:
		return c.fail(now, 403, "Forbidden", c.intuneMessage(
			"Multi Admin Approval is required for this operation: the x-msft-approval-justification header is missing. Create an approval request with a justification, or exclude the calling application from the access policy.")), false
	}
	return answer{}, true
}
