package auth

import (
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
	"time"
)

// testJWT returns an unsigned JWT-shaped token expiring at exp.
func testJWT(exp time.Time) string {
	enc := base64.RawURLEncoding.EncodeToString
	return enc([]byte(`{"alg":"none","typ":"JWT"}`)) + "." +
		enc([]byte(fmt.Sprintf(`{"aud":"https://graph.microsoft.com","exp":%d}`, exp.Unix()))) + ".c2lnbmF0dXJl"
}

func TestParseCommandOutput(t *testing.T) {
	exp := time.Date(2030, 5, 6, 7, 8, 9, 0, time.UTC)
	jwt := testJWT(exp)
	berlin := time.FixedZone("CEST", 2*3600)
	tests := []struct {
		name    string
		out     string
		want    string
		wantExp time.Time
		wantErr string
	}{
		{name: "bare", out: "abc.def-123\n", want: "abc.def-123"},
		{name: "bare with Bearer and CRLF", out: "Bearer abc\r\n", want: "abc"},
		{name: "bare JWT takes its exp", out: jwt + "\n", want: jwt, wantExp: exp},
		{name: "BOM", out: "\ufeffabc", want: "abc"},
		{name: "az cli number", out: `{"accessToken":"abc","expires_on":1904000000,"expiresOn":"2030-05-06 07:08:09.000000","tenant":"x","tokenType":"Bearer"}`,
			want: "abc", wantExp: time.Unix(1904000000, 0)},
		{name: "expires_on as string", out: `{"accessToken":"abc","expires_on":"1904000000"}`, want: "abc", wantExp: time.Unix(1904000000, 0)},
		{name: "old az cli local time", out: `{"accessToken":"abc","expiresOn":"2030-05-06 09:08:09.123456"}`,
			want: "abc", wantExp: time.Date(2030, 5, 6, 9, 8, 9, 123456000, berlin)},
		{name: "RFC 3339 expiresOn", out: `{"accessToken":"abc","expiresOn":"2030-05-06T07:08:09Z"}`, want: "abc", wantExp: exp},
		{name: "oauth field name", out: `{"access_token":"abc"}`, want: "abc"},
		{name: "JSON without expiry uses the JWT's", out: `{"accessToken":"` + jwt + `"}`, want: jwt, wantExp: exp},
		{name: "empty", out: " \n", wantErr: "printed nothing"},
		{name: "two lines", out: "abc\ndef", wantErr: "not a token"},
		{name: "space inside", out: "abc def", wantErr: "not a token"},
		{name: "non-ASCII", out: "abcé", wantErr: "not a token"},
		{name: "no accessToken", out: `{"token":"abc"}`, wantErr: "without an accessToken"},
		{name: "malformed JSON", out: `{"accessToken":"abc"`, wantErr: "malformed JSON"},
		{name: "accessToken not a string", out: `{"accessToken":123}`, wantErr: `"accessToken" is a number`},
		{name: "bad expires_on", out: `{"accessToken":"abc","expires_on":"soon"}`, wantErr: "expires_on"},
		{name: "bad expiresOn", out: `{"accessToken":"abc","expiresOn":"tomorrow"}`, wantErr: "expiresOn"},
		{name: "accessToken with a newline", out: `{"accessToken":"abc\ndef"}`, wantErr: "accessToken is not a token"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseCommandOutput([]byte(tt.out), berlin)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("error = %v, want one containing %q", err, tt.wantErr)
				}
				if strings.Contains(err.Error(), "abc") {
					t.Errorf("error %q quotes the output", err)
				}
				return
			}
			if err != nil {
				t.Fatalf("error = %v", err)
			}
			if got.value != tt.want || !got.expiresOn.Equal(tt.wantExp) {
				t.Errorf("got %q expiring %v, want %q expiring %v", got.value, got.expiresOn, tt.want, tt.wantExp)
			}
		})
	}
}

func TestJWTExpiry(t *testing.T) {
	enc := base64.RawURLEncoding.EncodeToString
	tests := []struct {
		tok  string
		want int64 // 0: none
	}{
		{testJWT(time.Unix(1904000000, 0)), 1904000000},
		{"a." + enc([]byte(`{"exp":1904000000.5}`)) + ".c", 1904000000},
		{"a." + enc([]byte(`{"exp":"1904000000"}`)) + ".c", 1904000000}, // json.Number takes a quoted number
		{"a." + enc([]byte(`{"exp":"soon"}`)) + ".c", 0},
		{"a." + enc([]byte(`{"exp":-1}`)) + ".c", 0},
		{"a." + enc([]byte(`{"exp":1e300}`)) + ".c", 0},
		{"a." + enc([]byte(`{}`)) + ".c", 0},
		{"a.!!!.c", 0},
		{"opaque", 0},
		{"a.b.c.d", 0},
	}
	for _, tt := range tests {
		got, ok := jwtExpiry(tt.tok)
		if tt.want == 0 {
			if ok {
				t.Errorf("jwtExpiry(%q) = %v, want none", tt.tok, got)
			}
			continue
		}
		if !ok || got.Unix() != tt.want {
			t.Errorf("jwtExpiry(%q) = %v, %v; want %d", tt.tok, got, ok, tt.want)
		}
	}
}

func TestFirstLine(t *testing.T) {
	long := strings.Repeat("é", 150) // 300 bytes
	tests := []struct{ in, want string }{
		{"", ""},
		{"\n\n  ERROR: please run az login  \nmore\n", "ERROR: please run az login"},
		{"a\tb\x1b[31mc\r\n", "a?b?[31mc"},
		{long, strings.Repeat("é", 100)},
	}
	for _, tt := range tests {
		if got := firstLine([]byte(tt.in)); got != tt.want {
			t.Errorf("firstLine(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func FuzzParseCommandOutput(f *testing.F) {
	f.Add([]byte("abc"))
	f.Add([]byte("Bearer abc\r\n"))
	f.Add([]byte(testJWT(time.Unix(1904000000, 0))))
	f.Add([]byte(`{"accessToken":"abc","expires_on":1904000000}`))
	f.Add([]byte(`{"accessToken":"abc","expiresOn":"2030-05-06 09:08:09.123456"}`))
	f.Add([]byte(`{"access_token":"abc","expires_on":"1e9"}`))
	f.Add([]byte(`{"accessToken":"secret-token-value-0123456789","expires_on":"x"}`))
	f.Fuzz(func(t *testing.T, out []byte) {
		tok, err := parseCommandOutput(out, time.UTC)
		if err != nil {
			// The error must never quote the output: no run of
			// token-like characters from it may appear.
			for _, field := range strings.FieldsFunc(string(out), func(r rune) bool {
				return r <= ' ' || r > '~' || r == '"' || r == '{' || r == '}' || r == ':' || r == ','
			}) {
				if len(field) >= 24 && strings.Contains(err.Error(), field) {
					t.Fatalf("error %q quotes %q from the output", err, field)
				}
			}
			return
		}
		if tok.value == "" {
			t.Fatal("no error and no token")
		}
		if _, err := cleanToken(tok.value); err != nil {
			t.Fatalf("accepted a token cleanToken refuses: %v", err)
		}
		// A bare token is a piece of the output (JSON may escape it).
		bare := strings.TrimSpace(strings.TrimPrefix(string(out), "\ufeff"))
		if !strings.HasPrefix(bare, "{") && !strings.Contains(bare, tok.value) {
			t.Fatalf("token %q is not in the output", tok.value)
		}
	})
}

func TestIdentityOf(t *testing.T) {
	jwt := func(claims string) string {
		return "eyJhbGciOiJub25lIn0." + base64.RawURLEncoding.EncodeToString([]byte(claims)) + ".sig"
	}
	for _, tt := range []struct {
		tok  string
		want string
	}{
		{jwt(`{"tid":"t-1","upn":"zoe@contoso.com","appid":"a"}`), "zoe@contoso.com in tenant t-1"},
		{jwt(`{"tid":"t-1","preferred_username":"max@contoso.com"}`), "max@contoso.com in tenant t-1"},
		{jwt(`{"tid":"t-1","appid":"11111111","app_displayname":"Intune sync"}`), "app Intune sync (11111111) in tenant t-1"},
		{jwt(`{"tid":"t-1","azp":"22222222"}`), "app 22222222 in tenant t-1"},
		{jwt(`{"upn":"a\u202eb\u001b[31m"}`), "ab[31m"},
		{"not-a-jwt", "an identity the token does not name"},
	} {
		if got := IdentityOf(tt.tok).String(); got != tt.want {
			t.Errorf("IdentityOf(%q) = %q, want %q", tt.tok, got, tt.want)
		}
	}
}
