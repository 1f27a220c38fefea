package auth

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLookupCloud(t *testing.T) {
	tests := []struct {
		name                          string
		wantName, wantScope, wantRoot string
		wantAuthority                 string
	}{
		{"global", "global", "https://graph.microsoft.com/.default", "https://graph.microsoft.com/beta", "https://login.microsoftonline.com/"},
		{"", "global", "https://graph.microsoft.com/.default", "https://graph.microsoft.com/beta", "https://login.microsoftonline.com/"},
		{"Public", "global", "https://graph.microsoft.com/.default", "https://graph.microsoft.com/beta", "https://login.microsoftonline.com/"},
		{"GCC", "global", "https://graph.microsoft.com/.default", "https://graph.microsoft.com/beta", "https://login.microsoftonline.com/"},
		{"usgov", "usgov", "https://graph.microsoft.us/.default", "https://graph.microsoft.us/beta", "https://login.microsoftonline.us/"},
		{"GCCH", "usgov", "https://graph.microsoft.us/.default", "https://graph.microsoft.us/beta", "https://login.microsoftonline.us/"},
		{"dod", "dod", "https://dod-graph.microsoft.us/.default", "https://dod-graph.microsoft.us/beta", "https://login.microsoftonline.us/"},
		{" China ", "china", "https://microsoftgraph.chinacloudapi.cn/.default", "https://microsoftgraph.chinacloudapi.cn/beta", "https://login.chinacloudapi.cn/"},
	}
	for _, tt := range tests {
		c, err := LookupCloud(tt.name)
		if err != nil {
			t.Errorf("LookupCloud(%q): %v", tt.name, err)
			continue
		}
		if c.Name != tt.wantName || c.Scope() != tt.wantScope || c.GraphRoot() != tt.wantRoot || c.AuthorityHost != tt.wantAuthority {
			t.Errorf("LookupCloud(%q) = %s scope %s root %s authority %s; want %s %s %s %s", tt.name,
				c.Name, c.Scope(), c.GraphRoot(), c.AuthorityHost, tt.wantName, tt.wantScope, tt.wantRoot, tt.wantAuthority)
		}
	}

	_, err := LookupCloud("mars")
	if !errors.Is(err, ErrUnknownCloud) {
		t.Fatalf("LookupCloud(mars) error = %v, want ErrUnknownCloud", err)
	}
	for _, n := range CloudNames() {
		if !strings.Contains(err.Error(), n) {
			t.Errorf("error %q does not list %q", err, n)
		}
	}
}

// The token scope follows the cloud: a usgov Source asks for a
// graph.microsoft.us token.
func TestScopeFollowsCloud(t *testing.T) {
	for _, name := range CloudNames() {
		c, _ := LookupCloud(name)
		src, err := New(Options{
			Kind:   KindEnvironment,
			Cloud:  c,
			Getenv: envFunc(secretEnv),
		})
		if err != nil {
			t.Fatalf("%s: New: %v", name, err)
		}
		f := src.fetcher.(*credentialFetcher)
		if f.scope != c.GraphHost+"/.default" {
			t.Errorf("%s: scope %q, want %q", name, f.scope, c.GraphHost+"/.default")
		}
	}
}

func TestAutoSelection(t *testing.T) {
	const az = "/usr/bin/az"
	tests := []struct {
		name        string
		env         map[string]string
		command     string
		azInstalled bool
		interactive bool
		want        string // kind, or "" for an error
		wantErr     []string
	}{
		{name: "static token first", env: map[string]string{"BULKPATCH_TOKEN": "t", "AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "x", "AZURE_CLIENT_ID": "y"},
			command: "print-token", azInstalled: true, interactive: true, want: KindToken},
		{name: "command before app", env: map[string]string{"AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "x", "AZURE_CLIENT_ID": "y"},
			command: "print-token", azInstalled: true, want: KindTokenCommand},
		{name: "command from the environment", env: map[string]string{"BULKPATCH_TOKEN_COMMAND": "print-token"}, want: KindTokenCommand},
		{name: "secret before az", env: map[string]string{"AZURE_CLIENT_SECRET": "s", "AZURE_TENANT_ID": "x", "AZURE_CLIENT_ID": "y"},
			azInstalled: true, interactive: true, want: KindEnvironment},
		{name: "certificate path", env: map[string]string{"AZURE_CLIENT_CERTIFICATE_PATH": "/nonexistent.pem", "AZURE_TENANT_ID": "x", "AZURE_CLIENT_ID": "y"},
			want: "", wantErr: []string{"AZURE_CLIENT_CERTIFICATE_PATH"}}, // chosen, but the file is missing
		{name: "secret without ids names them", env: map[string]string{"AZURE_CLIENT_SECRET": "s"}, azInstalled: true,
			want: "", wantErr: []string{"AZURE_TENANT_ID", "AZURE_CLIENT_ID"}},
		{name: "tenant and client alone are not an app credential", env: map[string]string{"AZURE_TENANT_ID": "x", "AZURE_CLIENT_ID": "y"},
			azInstalled: true, want: KindAzureCLI},
		{name: "az before device code", env: map[string]string{}, azInstalled: true, interactive: true, want: KindAzureCLI},
		{name: "device code on a terminal", env: map[string]string{}, interactive: true, want: KindDeviceCode},
		{name: "nothing", env: map[string]string{}, want: "",
			wantErr: []string{"BULKPATCH_TOKEN", "--token-command", "AZURE_CLIENT_SECRET", "az login", "terminal"}},
		{name: "blank token is not set", env: map[string]string{"BULKPATCH_TOKEN": "  "}, interactive: true, want: KindDeviceCode},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			src, err := New(Options{
				TokenCommand: tt.command,
				Getenv:       envFunc(tt.env),
				Interactive:  tt.interactive,
				LookPath: func(name string) (string, error) {
					if name == "az" && tt.azInstalled {
						return az, nil
					}
					return "", errors.New("not found")
				},
			})
			if tt.want == "" {
				var ae *Error
				if !errors.As(err, &ae) {
					t.Fatalf("New error = %v, want an *Error", err)
				}
				for _, w := range tt.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("error %q does not mention %q", err, w)
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			if src.Kind() != tt.want {
				t.Errorf("auto chose %q, want %q", src.Kind(), tt.want)
			}
		})
	}
}

func TestNewExplicitKinds(t *testing.T) {
	noAz := func(string) (string, error) { return "", errors.New("not found") }
	tests := []struct {
		name    string
		opt     Options
		wantErr string // "" for success
		is      error
	}{
		{name: "unknown kind", opt: Options{Kind: "kerberos"}, wantErr: "token-command, environment, azure-cli", is: ErrUnknownKind},
		{name: "kind is case-insensitive", opt: Options{Kind: "Azure-CLI"}},
		{name: "token without BULKPATCH_TOKEN", opt: Options{Kind: "token"}, wantErr: "BULKPATCH_TOKEN is not set"},
		{name: "token with a newline inside", opt: Options{Kind: "token", Getenv: envFunc(map[string]string{"BULKPATCH_TOKEN": "abc\ndef"})}, wantErr: "control character"},
		{name: "token-command without command", opt: Options{Kind: "token-command"}, wantErr: "--token-command"},
		{name: "environment missing everything", opt: Options{Kind: "environment"},
			wantErr: "AZURE_TENANT_ID (or --tenant), AZURE_CLIENT_ID (or --client-id), AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH"},
		{name: "environment takes flags over variables", opt: Options{Kind: "environment", TenantID: "t", ClientID: "c",
			Getenv: envFunc(map[string]string{"AZURE_CLIENT_SECRET": "s"})}},
		{name: "device code refused without a terminal", opt: Options{Kind: "device-code"}, wantErr: "terminal"},
		{name: "device code on a terminal", opt: Options{Kind: "device-code", Interactive: true}},
		{name: "authority must be https", opt: Options{Kind: "device-code", Interactive: true, AuthorityHost: "http://127.0.0.1:1/"}, wantErr: "not an https URL"},
		{name: "bad tenant id", opt: Options{Kind: "azure-cli", TenantID: "a b"}, wantErr: "tenant"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			if opt.Getenv == nil {
				opt.Getenv = envFunc(nil)
			}
			opt.LookPath = noAz
			src, err := New(opt)
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("New: %v", err)
				}
				if !strings.EqualFold(src.Kind(), opt.Kind) {
					t.Errorf("Kind() = %q, want %q", src.Kind(), opt.Kind)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("New error = %v, want one containing %q", err, tt.wantErr)
			}
			if tt.is != nil && !errors.Is(err, tt.is) {
				t.Errorf("New error = %v, want it to wrap %v", err, tt.is)
			}
			var ae *Error
			if tt.is == nil && !errors.As(err, &ae) {
				t.Errorf("New error = %v, want an *Error", err)
			}
		})
	}
}

func TestRegionAutoDetectRefused(t *testing.T) {
	t.Setenv("AZURE_REGIONAL_AUTHORITY_NAME", "TryAutoDetect")
	_, err := New(Options{Kind: KindEnvironment, Getenv: envFunc(secretEnv)})
	if err == nil || !strings.Contains(err.Error(), "instance metadata") {
		t.Fatalf("New error = %v, want a refusal to detect the region through IMDS", err)
	}
}

func TestStaticToken(t *testing.T) {
	const secret = "eyJ0eXAiOiJKV1QifQ.e30.c2lnbmF0dXJl-static"
	src, err := New(Options{Kind: KindToken, Getenv: envFunc(map[string]string{"BULKPATCH_TOKEN": "Bearer " + secret + "\n"})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	tok, err := src.Token(ctx)
	if err != nil || tok != secret {
		t.Fatalf("Token = %q, %v; want the token without its Bearer prefix", tok, err)
	}
	for i := range 2 { // the second call answers from the remembered failure
		_, err = src.Refresh(ctx, tok)
		if !errors.Is(err, ErrRejected) {
			t.Fatalf("Refresh #%d error = %v, want ErrRejected", i, err)
		}
		if strings.Contains(err.Error(), secret) || strings.Contains(err.Error(), "c2lnbmF0dXJl") {
			t.Errorf("Refresh error %q contains the token", err)
		}
		for _, w := range []string{"fresh", "token-command", "environment"} {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("Refresh error %q does not mention %q", err, w)
			}
		}
	}
	// A rejected static token is not handed out again.
	if _, err := src.Token(ctx); !errors.Is(err, ErrRejected) {
		t.Errorf("Token after a failed Refresh: error = %v, want ErrRejected", err)
	}
}

func TestStaticTokenExpiry(t *testing.T) {
	exp := time.Date(2030, 1, 1, 12, 0, 0, 0, time.UTC)
	jwt := testJWT(exp)
	clock := &fakeClock{t: exp.Add(-time.Hour)}
	src, err := New(Options{Kind: KindToken, Clock: clock.now, Getenv: envFunc(map[string]string{"BULKPATCH_TOKEN": jwt})})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if tok, err := src.Token(ctx); err != nil || tok != jwt {
		t.Fatalf("Token = %q, %v", tok, err)
	}
	clock.advance(59 * time.Minute) // within the refresh margin: still usable
	if tok, err := src.Token(ctx); err != nil || tok != jwt {
		t.Fatalf("Token a minute before expiry = %q, %v", tok, err)
	}
	clock.advance(time.Minute)
	_, err = src.Token(ctx)
	if !errors.Is(err, ErrExpired) || !strings.Contains(err.Error(), "2030-01-01T12:00:00Z") || !strings.Contains(err.Error(), "BULKPATCH_TOKEN") {
		t.Fatalf("Token after expiry: error = %v, want ErrExpired with the time and a remedy", err)
	}
	if strings.Contains(err.Error(), jwt) {
		t.Errorf("error %q contains the token", err)
	}
}
