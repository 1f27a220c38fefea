package emulator

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/spf13/pflag"
)

// config returns the Config the emulator command's flags give for args.
func config(t *testing.T, args ...string) Config {
	t.Helper()
	var c Config
	fs := pflag.NewFlagSet("emulator", pflag.ContinueOnError)
	c.Bind(fs)
	if err := fs.Parse(args); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestServeConfigErrors(t *testing.T) {
	dir := t.TempDir()
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"cert without tls", []string{"--tls-cert-out", filepath.Join(dir, "c.pem")}, "--tls-cert-out needs --tls"},
		{"not loopback", []string{"--listen", "0.0.0.0:0"}, "--listen 0.0.0.0:0: the emulator serves loopback addresses only"},
		{"missing seed", []string{"--listen", "127.0.0.1:0", "--seed", filepath.Join(dir, "missing.json")}, "missing.json"},
		{"bad options", []string{"--listen", "127.0.0.1:0", "--retry-after", "sometimes"}, "sometimes"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr bytes.Buffer
			err := config(t, tt.args...).Serve(context.Background(), &stdout, &stderr)
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
	c := config(t, "--listen", "127.0.0.1:0", "--token", "a", "--dump", dump)
	if c.Options.Window.String() != "20s" || c.Options.PageSize != 50 || c.Options.Seed != 1 {
		t.Errorf("defaults: %+v", c.Options)
	}
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
