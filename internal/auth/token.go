package auth

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// token is one bearer token as a credential handed it out.
type token struct {
	value     string
	expiresOn time.Time // zero when the credential did not say
}

// cleanToken trims what people paste around a token (spaces, a "Bearer "
// prefix) and checks what is left can travel in an Authorization header.
// Its errors never quote the token.
func cleanToken(s string) (string, error) {
	s = strings.TrimSpace(s)
	if len(s) >= len("bearer ") && strings.EqualFold(s[:len("bearer ")], "bearer ") {
		s = strings.TrimSpace(s[len("bearer "):])
	}
	if s == "" {
		return "", errors.New("the token is empty")
	}
	for i := 0; i < len(s); i++ {
		// RFC 6750 tokens are printable ASCII; anything else would corrupt
		// the header or means we were handed something that is not a token.
		if c := s[i]; c < 0x21 || c > 0x7e {
			return "", fmt.Errorf("the token has a space, control character or non-ASCII byte at offset %d", i)
		}
	}
	return s, nil
}

// jwtClaims decodes the unverified claims of a JWT-shaped token into v,
// and reports whether it could.
func jwtClaims(tok string, v any) bool {
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return false
	}
	payload, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(parts[1], "="))
	return err == nil && json.Unmarshal(payload, v) == nil
}

// Identity is who a token says it is, for display only: nothing about it
// is verified (Graph verifies the token).
type Identity struct {
	Tenant string // the tid claim
	// Who is the user (upn, unique_name or preferred_username) or, for an
	// app-only token, the application's name and id.
	Who string
}

// String reads "user@contoso.com in tenant 7c1…" or "unknown identity".
func (id Identity) String() string {
	switch {
	case id.Who == "" && id.Tenant == "":
		return "an identity the token does not name"
	case id.Tenant == "":
		return id.Who
	}
	return id.Who + " in tenant " + id.Tenant
}

// IdentityOf reads the identity claims of a JWT access token; a token that
// is not a JWT (an emulator's, a test's) has an empty Identity.
func IdentityOf(tok string) Identity {
	var c struct {
		Tid               string `json:"tid"`
		Upn               string `json:"upn"`
		UniqueName        string `json:"unique_name"`
		PreferredUsername string `json:"preferred_username"`
		Appid             string `json:"appid"`
		Azp               string `json:"azp"`
		AppDisplayname    string `json:"app_displayname"`
	}
	if !jwtClaims(tok, &c) {
		return Identity{}
	}
	id := Identity{Tenant: printableClaim(c.Tid)}
	for _, who := range []string{c.Upn, c.UniqueName, c.PreferredUsername} {
		if who != "" {
			id.Who = printableClaim(who)
			return id
		}
	}
	app := c.Appid
	if app == "" {
		app = c.Azp
	}
	switch {
	case c.AppDisplayname != "" && app != "":
		id.Who = "app " + printableClaim(c.AppDisplayname) + " (" + printableClaim(app) + ")"
	case app != "":
		id.Who = "app " + printableClaim(app)
	}
	return id
}

// printableClaim keeps a claim to what a terminal shows safely: printable
// ASCII and letters, at most 100 characters.
func printableClaim(s string) string {
	var b strings.Builder
	for _, r := range s {
		if b.Len() >= 100 {
			b.WriteString("…")
			break
		}
		if r < ' ' || r == 0x7f || unicode.Is(unicode.Cf, r) || unicode.IsControl(r) {
			continue
		}
		b.WriteRune(r)
	}
	return b.String()
}

// jwtExpiry returns the unverified exp claim of a JWT-shaped token. Entra
// ID access tokens are JWTs, so this lets a static token or a bare
// token-command output be refreshed (or refused) on time; anything that
// does not look like a JWT with a sane exp simply has no known expiry.
func jwtExpiry(tok string) (time.Time, bool) {
	var claims struct {
		Exp json.Number `json:"exp"`
	}
	if !jwtClaims(tok, &claims) {
		return time.Time{}, false
	}
	return unixSeconds(claims.Exp.String())
}

// unixSeconds parses a positive count of seconds since 1970 (optionally
// with a fraction) no later than year 9999.
func unixSeconds(s string) (time.Time, bool) {
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 || f > 253402300799 {
		return time.Time{}, false
	}
	return time.Unix(int64(f), 0), true
}

// maxCommandOutput bounds what we keep of a token command's stdout: real
// tokens are a few kilobytes, and a runaway command must not eat memory.
const maxCommandOutput = 1 << 20

// parseCommandOutput reads what a token command printed: a bare token, or
// a JSON object like the one `az account get-access-token -o json` prints,
// whose expiry it uses. loc is the zone of Azure CLI's zone-less
// "expiresOn" (the CLI prints local time). Its errors never quote the
// output, which holds the token.
func parseCommandOutput(out []byte, loc *time.Location) (token, error) {
	out = bytes.TrimPrefix(out, []byte("\ufeff")) // PowerShell likes to write a BOM
	out = bytes.TrimSpace(out)
	if len(out) == 0 {
		return token{}, errors.New("the token command printed nothing on stdout")
	}
	if out[0] != '{' {
		v, err := cleanToken(string(out))
		if err != nil {
			return token{}, fmt.Errorf("the token command's output is not a token: %w", err)
		}
		t := token{value: v}
		t.expiresOn, _ = jwtExpiry(v)
		return t, nil
	}

	var doc struct {
		AccessToken  string          `json:"accessToken"`
		AccessToken2 string          `json:"access_token"`
		ExpiresOnNum json.RawMessage `json:"expires_on"`
		ExpiresOn    json.RawMessage `json:"expiresOn"`
	}
	if err := json.Unmarshal(out, &doc); err != nil {
		return token{}, describeJSONError(err)
	}
	raw := doc.AccessToken
	if raw == "" {
		raw = doc.AccessToken2
	}
	if raw == "" {
		return token{}, errors.New("the token command printed JSON without an accessToken")
	}
	v, err := cleanToken(raw)
	if err != nil {
		return token{}, fmt.Errorf("the token command's accessToken is not a token: %w", err)
	}
	t := token{value: v}
	switch {
	case len(doc.ExpiresOnNum) > 0 && string(doc.ExpiresOnNum) != "null":
		// Azure CLI 2.54+ prints expires_on as a number of seconds; other
		// tools print the same as a string.
		s := strings.Trim(string(doc.ExpiresOnNum), `"`)
		exp, ok := unixSeconds(s)
		if !ok {
			return token{}, errors.New("the token command printed an expires_on that is not a number of seconds since 1970")
		}
		t.expiresOn = exp
	case len(doc.ExpiresOn) > 0 && string(doc.ExpiresOn) != "null":
		var s string
		if json.Unmarshal(doc.ExpiresOn, &s) != nil {
			return token{}, errors.New("the token command printed an expiresOn that is not a string")
		}
		exp, ok := parseExpiresOn(s, loc)
		if !ok {
			return token{}, errors.New(`the token command printed an expiresOn that is neither RFC 3339 nor "2006-01-02 15:04:05.999999"`)
		}
		t.expiresOn = exp
	default:
		t.expiresOn, _ = jwtExpiry(v)
	}
	return t, nil
}

// parseExpiresOn reads Azure CLI's expiresOn, local time without a zone,
// or an RFC 3339 date-time that other tools print.
func parseExpiresOn(s string, loc *time.Location) (time.Time, bool) {
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, true
	}
	if t, err := time.ParseInLocation("2006-01-02 15:04:05.999999", s, loc); err == nil {
		return t, true
	}
	return time.Time{}, false
}

// describeJSONError says what is wrong with the JSON without quoting it:
// encoding/json's messages can carry pieces of the input.
func describeJSONError(err error) error {
	var syntax *json.SyntaxError
	var typ *json.UnmarshalTypeError
	switch {
	case errors.As(err, &syntax):
		return fmt.Errorf("the token command printed malformed JSON (at byte %d)", syntax.Offset)
	case errors.As(err, &typ):
		return fmt.Errorf("the token command printed JSON whose %q is a %s, not a string", typ.Field, typ.Value)
	}
	return errors.New("the token command printed malformed JSON")
}
