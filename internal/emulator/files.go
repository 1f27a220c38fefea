package emulator

import (
	"encoding/json"
	"fmt"
	"net"
	"os"
)

// LoadStateFile reads a seed file (see State).
func LoadStateFile(path string) (*State, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	st, err := LoadState(f)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return st, nil
}

// IsLoopback reports whether addr (host:port) names this machine for
// certain, the only addresses the emulator serves.
func IsLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil {
		return false
	}
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// Dump writes the current state to path as a seed file (mode 0600).
func (s *Server) Dump(path string) error {
	b, err := json.MarshalIndent(s.Snapshot(), "", "  ")
	if err == nil {
		err = os.WriteFile(path, b, 0o600)
	}
	if err != nil {
		return fmt.Errorf("dumping state: %w", err)
	}
	return nil
}

// Hints completes the start-up line of a server with these options:
// which token to send and which certificate to trust (certOut: where its
// certificate was written, if it was).
func (o Options) Hints(certOut string) string {
	h := " and any BULKPATCH_TOKEN"
	switch {
	case len(o.Tokens) > 0:
		h = " and a BULKPATCH_TOKEN given with --token"
	case o.Lenient && !o.RequireToken:
		h = ", with or without BULKPATCH_TOKEN"
	}
	if certOut != "" {
		h += ", trusting the certificate in " + certOut
	} else if o.TLS {
		h += ", trusting its certificate (--tls-cert-out FILE writes it)"
	}
	return h
}
