package emulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"time"
)

// certificate is the server's self-signed TLS certificate.
type certificate struct {
	tls  tls.Certificate
	leaf *x509.Certificate
	pem  []byte
}

// certValidity is how long a generated certificate is valid: a day covers
// any test or demo, and a leaked one soon expires.
const certValidity = 24 * time.Hour

// newCertificate generates an ECDSA P-256 key and a self-signed certificate
// for the loopback names: 127.0.0.1, ::1 and localhost. It is its own CA
// (basic constraints, certificate signing), which OpenSSL-based clients
// (Node's NODE_EXTRA_CA_CERTS, curl --cacert) need of a trust anchor.
func newCertificate(now time.Time) (*certificate, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127))
	if err != nil {
		return nil, err
	}
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		// A name of its own: OpenSSL looks a trust anchor up by subject, so
		// two emulators' certificates under one name in one CA file
		// (NODE_EXTRA_CA_CERTS) would hide each other.
		Subject:               pkix.Name{CommonName: fmt.Sprintf("bulkpatch Graph emulator %x", serial), Organization: []string{"bulkpatch"}},
		NotBefore:             now.Add(-time.Hour), // tolerate a client clock a little behind
		NotAfter:              now.Add(certValidity),
		KeyUsage:              x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		IsCA:                  true,
		DNSNames:              []string{"localhost"},
		IPAddresses:           []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, err
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, err
	}
	return &certificate{
		tls:  tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf},
		leaf: leaf,
		pem:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	}, nil
}
