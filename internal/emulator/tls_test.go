package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"net"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCertificate(t *testing.T) {
	s, err := New(nil, Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	block, rest := pem.Decode(s.CertPEM())
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("CertPEM is not one PEM certificate: %q", s.CertPEM())
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	key, ok := cert.PublicKey.(*ecdsa.PublicKey)
	if !ok || key.Curve != elliptic.P256() {
		t.Errorf("key %T, want ECDSA P-256", cert.PublicKey)
	}
	var ips []string
	for _, ip := range cert.IPAddresses {
		ips = append(ips, ip.String())
	}
	if !slices.Equal(ips, []string{"127.0.0.1", "::1"}) || !slices.Equal(cert.DNSNames, []string{"localhost"}) {
		t.Errorf("SANs %v %v, want 127.0.0.1, ::1, localhost", ips, cert.DNSNames)
	}
	if now := time.Now(); now.Before(cert.NotBefore) || now.After(cert.NotAfter) {
		t.Errorf("not valid now: %v to %v", cert.NotBefore, cert.NotAfter)
	}
	for _, host := range []string{"127.0.0.1", "::1", "localhost"} {
		if _, err := cert.Verify(x509.VerifyOptions{Roots: s.CertPool(), DNSName: host}); err != nil {
			t.Errorf("verify for %s: %v", host, err)
		}
	}
	plain, _ := New(nil, Options{})
	if plain.CertPEM() != nil || plain.CertPool() != nil || plain.TLSConfig() != nil {
		t.Errorf("a plain server has a certificate")
	}
	other, _ := New(nil, Options{TLS: true})
	if string(other.CertPEM()) == string(s.CertPEM()) {
		t.Errorf("two servers share a certificate; each must generate its own")
	}
	// OpenSSL finds a trust anchor by subject: two emulators trusted from
	// one file need different names.
	if o := other.CertPool(); o.Equal(s.CertPool()) || other.cert.leaf.Subject.String() == cert.Subject.String() {
		t.Errorf("two certificates share the subject %q", cert.Subject)
	}
}

func TestServesHTTPS(t *testing.T) {
	_, base := startTLS(t, nil, Options{PageSize: 1})
	if !strings.HasPrefix(base, "https://127.0.0.1:") || !strings.HasSuffix(base, "/beta") {
		t.Fatalf("base %q, want https://127.0.0.1:port/beta", base)
	}
	r := do(t, "GET", base+app1+"/deviceStatuses", "")
	if r.status != 200 {
		t.Fatalf("GET over TLS: %d %s", r.status, r.body)
	}
	m := r.json(t)
	if next, _ := m["@odata.nextLink"].(string); !strings.HasPrefix(next, base+app1+"/deviceStatuses?") {
		t.Errorf("nextLink %q is not under the https root", next)
	}
	if ctx, _ := m["@odata.context"].(string); !strings.HasPrefix(ctx, "https://") {
		t.Errorf("@odata.context %q", ctx)
	}
	// An untrusting client is refused: the certificate is not a public one.
	if _, err := http.Get(base + direct); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("a client without the certificate: %v", err)
	}
	// Faults that drop connections still drop them over HTTP/2.
	_, faulty := startTLS(t, nil, Options{Faults: Faults{ResetBeforeApply: 1}})
	if _, err := send("PATCH", faulty+direct, `{}`); err == nil {
		t.Errorf("a reset over TLS was answered")
	}
}

func TestServesHTTPSOnIPv6(t *testing.T) {
	ln, err := net.Listen("tcp", "[::1]:0")
	if err != nil {
		t.Skip("no IPv6 loopback here:", err)
	}
	ln.Close()
	s, err := New(seedState(t), Options{TLS: true})
	if err != nil {
		t.Fatal(err)
	}
	base, err := s.Start("[::1]:0")
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: s.CertPool()}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequest("GET", base+direct, nil)
	req.Header.Set("Authorization", "Bearer x")
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.HasPrefix(base, "https://[::1]:") {
		t.Errorf("%s: status %d", base, resp.StatusCode)
	}
}
