package emulator

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		cfg  Config
		want string
	}{
		{"cert without tls", Config{Listen: "127.0.0.1:0", CertOut: filepath.Join(dir, "c.pem")}, "--tls-cert-out needs --tls"},
		{"not loopback", Config{Listen: "0.0.0.0:0"}, "--listen 0.0.0.0:0: the emulator serves loopback addresses only"},
		{"missing seed", Config{Listen: "127.0.0.1:0", Seed: filepath.Join(dir, "missing.json")}, "missing.json"},
		{"bad options", Config{Listen: "127.0.0.1:0", Options: Options{RetryAfter: "sometimes"}}, "sometimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := tt.cfg.Serve(context.Background(), &stdout, &stderr)
			var ce *ConfigError
			if !errors.As(err, &ce) || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Serve: %v, want a *ConfigError saying %q", err, tt.want)
			}
			if stdout.Len()+stderr.Len() > 0 {
				t.Errorf("Serve printed %q %q before refusing", stdout.String(), stderr.String())
			}
		})
	}
}

func TestServeUntilDone(t *testing.T) {
	dump := filepath.Join(t.TempDir(), "dump.json")
	c := Config{Listen: "127.0.0.1:0", Dump: dump, Options: Options{Tokens: []string{"a"}}}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // serve, announce, and stop at once
	var stdout, stderr bytes.Buffer
	if err := c.Serve(ctx, &stdout, &stderr); err != nil {
		t.Fatal(err)
	}
	if got := stdout.String(); !strings.HasPrefix(got, "emulator serving http://127.0.0.1:") || !strings.Contains(got, "given with --token") {
		t.Errorf("stdout: %q", got)
	}
	if got := stderr.String(); !strings.HasPrefix(got, "emulator stats: {") {
		t.Errorf("stderr: %q", got)
	}
	if _, err := os.Stat(dump); err != nil {
		t.Errorf("no dump: %v", err)
	}
}
