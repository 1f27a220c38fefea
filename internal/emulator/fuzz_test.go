package emulator

import (
	"encoding/json"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/resource"
)

// FuzzPatchBody sends arbitrary PATCH bodies: the emulator must never
// panic, must answer 200 with a whole, valid object or 400 in Graph's error
// shape, and what it stores must pass its own validation again.
func FuzzPatchBody(f *testing.F) {
	for _, seed := range []string{
		``, `{}`, `[]`, `null`, `{"deviceName":"x"}`, `{"deviceName":null}`,
		`{"errorCode":2147483647}`, `{"errorCode":-2147483649}`, `{"errorCode":1e3}`,
		`{"installState":"installed","installStateDetail":"pendingReboot"}`, `{"installState":"Installed"}`,
		`{"lastSyncDateTime":"2026-01-01T00:00:00.1234567+14:00"}`, `{"lastSyncDateTime":"2026-01-01T00:00:00"}`,
		`{"id":"s1"}`, `{"id":"s2"}`, `{"@odata.type":"#microsoft.graph.mobileAppInstallStatus"}`,
		`{"foo":1}`, `{"userName":"a","userName":"b"}`, `{"deviceName":"\ud800"}`, `{"a":1}{`, `{"x@odata.type":1}`,
	} {
		f.Add(seed)
	}
	s, err := New(seedState(f), Options{})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, body string) {
		req := httptest.NewRequest("PATCH", "http://graph.test/beta"+direct, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Authorization", "Bearer "+testToken)
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)
		r := reply{rec.Code, rec.Header(), rec.Body.Bytes()}
		if r.header.Get("request-id") == "" {
			t.Errorf("no request-id header")
		}
		switch r.status {
		case 400:
			checkErrorShape(t, r)
			if code := r.errorCode(t); code != "BadRequest" || r.errorMessage(t) == "" {
				t.Errorf("400 with code %q, message %q", code, r.errorMessage(t))
			}
		case 200:
			var obj map[string]json.RawMessage
			if err := json.Unmarshal(r.body, &obj); err != nil {
				t.Fatalf("200 body %q: %v", r.body, err)
			}
			for i := range resource.MobileAppInstallStatus.Properties {
				p := &resource.MobileAppInstallStatus.Properties[i]
				v, ok := obj[p.Name]
				if !ok {
					t.Fatalf("200 body lacks %s: %s", p.Name, r.body)
				}
				if _, err := checkValue(p, v, true); err != nil {
					t.Errorf("stored %s %s fails validation: %v", p.Name, v, err)
				}
			}
		default:
			t.Fatalf("status %d for body %q: %s", r.status, body, r.body)
		}
	})
}

// FuzzAppendString checks the emulator's JSON string writer against
// encoding/json: what it writes decodes to what json.Marshal's output
// decodes to, and it never HTML-escapes.
func FuzzAppendString(f *testing.F) {
	for _, s := range []string{"", "a&b<c>", "\"\\\n\r\t\x00\x1f", "\u2028\u2029", "é\xffx", "?$select=a&$top=1"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		b := appendString(nil, s)
		var got, want string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("appendString(%q) = %s: %v", s, b, err)
		}
		std, _ := json.Marshal(s)
		if err := json.Unmarshal(std, &want); err != nil || got != want {
			t.Errorf("appendString(%q) decodes to %q, json.Marshal's to %q", s, got, want)
		}
		if strings.Contains(string(b), `\u0026`) {
			t.Errorf("appendString(%q) = %s escapes &", s, b)
		}
	})
}
