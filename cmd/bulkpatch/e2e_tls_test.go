package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/bulkpatch/bulkpatch/internal/emulator"
)

// TestCACert reaches the emulator over TLS: trusted through --ca-cert
// (its own certificate, as --tls-cert-out writes it), refused without.
func TestCACert(t *testing.T) {
	t.Parallel()
	f := generate(t, 1, 3, 0, 0, 0)
	srv, vars := emulate(t, f.state, emulator.Options{TLS: true})
	if !strings.HasPrefix(vars["BULKPATCH_GRAPH_URL"], "https://") {
		t.Fatalf("the emulator serves %s, want https", vars["BULKPATCH_GRAPH_URL"])
	}
	dir := t.TempDir()
	in := f.write(t, dir)
	pem := filepath.Join(dir, "emulator.pem")
	if err := os.WriteFile(pem, srv.CertPEM(), 0o600); err != nil {
		t.Fatal(err)
	}
	if r := cli(t, t.Context(), vars, "plan", in, "--reconcile", "--ca-cert", pem); r.code != exitOK || !strings.Contains(r.stdout, "3 to update") {
		t.Errorf("plan --reconcile --ca-cert: exit %d\n%s%s", r.code, r.stdout, r.stderr)
	}
	r := cli(t, t.Context(), vars, "plan", in, "--reconcile", "--max-retries", "0")
	if r.code == exitOK || !strings.Contains(r.stderr, "certificate") {
		t.Errorf("plan --reconcile without --ca-cert: exit %d, want a refusal naming the certificate\n%s", r.code, r.stderr)
	}
	if r := cli(t, t.Context(), vars, "plan", in, "--reconcile", "--ca-cert", in); r.code != exitUsage {
		t.Errorf("--ca-cert of a file without a certificate: exit %d, want %d\n%s", r.code, exitUsage, r.stderr)
	}
}
