package authtest

import (
	"encoding/json"
	"net/http"
	"net/url"
	"testing"
)

func TestServer(t *testing.T) {
	srv := NewServer(t)
	c := srv.Client()
	post := func(form url.Values) (int, map[string]any) {
		t.Helper()
		resp, err := c.PostForm(srv.URL+"tenant/oauth2/v2.0/token", form)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var body map[string]any
		_ = json.NewDecoder(resp.Body).Decode(&body)
		return resp.StatusCode, body
	}
	app := url.Values{"grant_type": {"client_credentials"}, "client_id": {"app"}, "client_secret": {"s"}, "scope": {"https://graph.microsoft.com/.default"}}

	status, body := post(app)
	if status != http.StatusOK || body["access_token"] != TokenPrefix+"1" || body["expires_in"] != float64(3600) {
		t.Fatalf("token answer %d %v", status, body)
	}
	if !srv.Valid(TokenPrefix+"1") || srv.Valid(TokenPrefix+"2") || srv.Issued() != 1 {
		t.Errorf("Valid/Issued disagree with one issued token: %v", srv.Tokens())
	}

	srv.FailNext(1)
	if status, body := post(app); status != http.StatusUnauthorized || body["error"] != "invalid_client" {
		t.Errorf("FailNext answer %d %v, want 401 invalid_client", status, body)
	}
	if status, _ := post(url.Values{"grant_type": {"password"}, "client_id": {"app"}, "scope": {"x/.default"}}); status != http.StatusBadRequest {
		t.Errorf("unsupported grant answered %d, want 400", status)
	}
	if srv.Issued() != 1 {
		t.Errorf("failed requests issued tokens: %v", srv.Tokens())
	}

	resp, err := c.Get(srv.URL + "tenant/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatal(err)
	}
	var doc map[string]string
	_ = json.NewDecoder(resp.Body).Decode(&doc)
	resp.Body.Close()
	if doc["token_endpoint"] != srv.URL+"tenant/oauth2/v2.0/token" || doc["issuer"] != srv.URL+"tenant/v2.0" {
		t.Errorf("discovery document %v", doc)
	}

	if _, err := c.Get("https://169.254.169.254/metadata/identity/oauth2/token"); err == nil {
		t.Error("Client sent a request to another host")
	}
	if s := srv.Strays(); len(s) != 1 || s[0] != "GET https://169.254.169.254/metadata/identity/oauth2/token" {
		t.Errorf("Strays = %q", s)
	}
}
