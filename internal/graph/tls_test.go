package graph

import (
	"encoding/pem"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
)

// TestRootCAs trusts a self-signed server only through Config.RootCAs
// (CertPool of its PEM), never by turning verification off.
func TestRootCAs(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Write([]byte(`{"id":"x"}`))
	}))
	defer srv.Close()
	pemPath := filepath.Join(t.TempDir(), "ca.pem")
	cert := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw})
	if err := os.WriteFile(pemPath, cert, 0o600); err != nil {
		t.Fatal(err)
	}
	pool, err := CertPool(pemPath)
	if err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		name   string
		cfg    Config
		status int
	}{
		{"trusted through RootCAs", Config{BaseURL: srv.URL + "/beta", RootCAs: pool}, 200},
		{"system roots only", Config{BaseURL: srv.URL + "/beta"}, 0},
	} {
		c, err := New(tt.cfg)
		if err != nil {
			t.Fatal(err)
		}
		if res := c.Get(t.Context(), "/things/x"); res.Status != tt.status {
			t.Errorf("%s: status %d (%v), want %d", tt.name, res.Status, res.Err, tt.status)
		}
	}
	if _, err := CertPool(filepath.Join(t.TempDir(), "missing.pem")); err == nil {
		t.Error("CertPool of a missing file: no error")
	}
	notPEM := filepath.Join(t.TempDir(), "not.pem")
	os.WriteFile(notPEM, []byte("hello"), 0o600)
	if _, err := CertPool(notPEM); err == nil {
		t.Error("CertPool of a file without a certificate: no error")
	}
}
