// Package auth signs bulkpatch in to Microsoft Graph: it picks a kind of
// credential (a static token, a token command, an app's secret or
// certificate, the Azure CLI, or device code), talks to the sign-in
// authority of the chosen national cloud, and hands out bearer tokens
// through a Source, which keeps them fresh and replaces a rejected one
// once for all workers.
//
// It never uses managed identity, the instance metadata service or
// azidentity.DefaultAzureCredential: bulkpatch signs in only the ways the
// user asked for.
package auth

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"os"
	"os/exec"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// The kinds of credential, as --auth spells them.
const (
	KindToken        = "token"
	KindTokenCommand = "token-command"
	KindEnvironment  = "environment"
	KindAzureCLI     = "azure-cli"
	KindDeviceCode   = "device-code"
	KindAuto         = "auto"
)

// KindNames lists the values Options.Kind accepts, for help texts.
func KindNames() []string {
	return []string{KindToken, KindTokenCommand, KindEnvironment, KindAzureCLI, KindDeviceCode, KindAuto}
}

// Options configures New. The zero value means: choose automatically, in
// the global cloud, reading the process environment.
type Options struct {
	// Kind is one of KindNames; "" means auto, which picks the first of:
	// BULKPATCH_TOKEN set, a token command, the AZURE_* app credential,
	// the Azure CLI on PATH, device code when Interactive.
	Kind string
	// Cloud decides the token scope and the sign-in authority; the zero
	// Cloud means global.
	Cloud Cloud
	// TenantID and ClientID come from --tenant and --client-id; when empty
	// they fall back to AZURE_TENANT_ID and AZURE_CLIENT_ID.
	TenantID, ClientID string
	// TokenCommand is run through the shell to print a token; when empty
	// it falls back to BULKPATCH_TOKEN_COMMAND.
	TokenCommand string
	// Getenv looks up environment variables; nil means os.Getenv.
	Getenv func(string) string
	// Interactive says stdin is a terminal, which device code needs.
	Interactive bool
	// Prompt receives the device-code instructions; nil means os.Stderr.
	Prompt io.Writer
	// AuthorityHost overrides the cloud's sign-in authority, e.g. a test
	// server's "https://127.0.0.1:port/". It must be https. Setting it
	// also sets DisableInstanceDiscovery.
	AuthorityHost string
	// DisableInstanceDiscovery stops MSAL from asking the public cloud to
	// validate an unknown authority host.
	DisableInstanceDiscovery bool
	// Transport sends the sign-in requests of the azidentity-based kinds;
	// nil means azcore's default HTTP client. An *http.Client fits.
	Transport policy.Transporter
	// LookPath finds executables (auto uses it to see whether az is
	// installed); nil means exec.LookPath.
	LookPath func(string) (string, error)
	// Clock tells the time for expiry decisions; nil means time.Now.
	Clock func() time.Time
}

// New chooses and configures a credential. It contacts nobody: the first
// sign-in happens on the first Token call. Its errors are *Error, except
// for an unknown Kind, which wraps ErrUnknownKind.
func New(opt Options) (*Source, error) {
	getenv := opt.Getenv
	if getenv == nil {
		getenv = os.Getenv
	}
	lookPath := opt.LookPath
	if lookPath == nil {
		lookPath = exec.LookPath
	}
	now := opt.Clock
	if now == nil {
		now = time.Now
	}
	cl := opt.Cloud
	if cl.GraphHost == "" {
		cl, _ = LookupCloud("")
	}
	command := firstSet(opt.TokenCommand, getenv("BULKPATCH_TOKEN_COMMAND"))

	kind := strings.ToLower(strings.TrimSpace(opt.Kind))
	if kind == "" || kind == KindAuto {
		chosen, err := chooseKind(getenv, command, lookPath, opt.Interactive)
		if err != nil {
			return nil, &Error{Err: err}
		}
		kind = chosen
	}

	src, err := build(kind, opt, cl, getenv, command, now)
	if err != nil {
		if kind != "" && isKind(kind) {
			return nil, &Error{Kind: kind, Err: err}
		}
		return nil, err
	}
	return src, nil
}

func build(kind string, opt Options, cl Cloud, getenv func(string) string, command string, now func() time.Time) (*Source, error) {
	switch kind {
	case KindToken:
		raw := getenv("BULKPATCH_TOKEN")
		if strings.TrimSpace(raw) == "" {
			return nil, fmt.Errorf("BULKPATCH_TOKEN is not set")
		}
		v, err := cleanToken(raw)
		if err != nil {
			return nil, fmt.Errorf("BULKPATCH_TOKEN: %w", err)
		}
		t := token{value: v}
		t.expiresOn, _ = jwtExpiry(v)
		return newSource(kind, staticFetcher{t}, now,
			"BULKPATCH_TOKEN is a static token, which bulkpatch cannot renew: supply a fresh one, or use --auth token-command or --auth environment"), nil

	case KindTokenCommand:
		if strings.TrimSpace(command) == "" {
			return nil, fmt.Errorf("no token command: pass --token-command or set BULKPATCH_TOKEN_COMMAND")
		}
		return newSource(kind, &commandFetcher{command: command, timeout: commandTimeout, loc: time.Local}, now,
			"the token command did not print a new, current token"), nil

	case KindEnvironment, KindAzureCLI, KindDeviceCode:
		s, err := settings(opt, cl, getenv)
		if err != nil {
			return nil, err
		}
		var cred azcore.TokenCredential
		remedy := "Microsoft Entra ID handed back no new token"
		claims := true
		switch kind {
		case KindEnvironment:
			cred, err = environmentCredential(s)
		case KindAzureCLI:
			cred, err = azureCLICredential(s)
			remedy = "the Azure CLI handed back no new token: run az login and try again"
			claims = false
		case KindDeviceCode:
			if !opt.Interactive {
				return nil, fmt.Errorf("device code sign-in needs a terminal on stdin; in scripts use --auth environment, azure-cli, token-command or token")
			}
			prompt := opt.Prompt
			if prompt == nil {
				prompt = os.Stderr
			}
			cred, err = deviceCodeCredential(s, prompt)
		}
		if err != nil {
			return nil, err
		}
		return newSource(kind, &credentialFetcher{cred: cred, scope: cl.Scope(), claims: claims, now: now}, now, remedy), nil
	}
	return nil, fmt.Errorf("%w %q: use one of %s", ErrUnknownKind, opt.Kind, strings.Join(KindNames(), ", "))
}

// settings gathers what the azidentity-based kinds share.
func settings(opt Options, cl Cloud, getenv func(string) string) (azureSettings, error) {
	authority := cl.AuthorityHost
	disable := opt.DisableInstanceDiscovery
	if opt.AuthorityHost != "" {
		u, err := url.Parse(opt.AuthorityHost)
		if err != nil || u.Scheme != "https" || u.Host == "" {
			return azureSettings{}, fmt.Errorf("authority host %q is not an https URL", opt.AuthorityHost)
		}
		authority = opt.AuthorityHost
		// An overridden authority is not one MSAL can validate against
		// the public cloud's instance discovery, and asking would leave
		// the loopback or private network.
		disable = true
	}
	co := azcore.ClientOptions{
		Cloud:     cloud.Configuration{ActiveDirectoryAuthorityHost: authority},
		Transport: opt.Transport,
	}
	co.Telemetry.ApplicationID = "bulkpatch"
	return azureSettings{
		tenantID:         firstSet(opt.TenantID, getenv("AZURE_TENANT_ID")),
		clientID:         firstSet(opt.ClientID, getenv("AZURE_CLIENT_ID")),
		client:           co,
		disableDiscovery: disable,
		getenv:           getenv,
	}, nil
}

// chooseKind is auto: the contract's order, first match wins.
func chooseKind(getenv func(string) string, command string, lookPath func(string) (string, error), interactive bool) (string, error) {
	if strings.TrimSpace(getenv("BULKPATCH_TOKEN")) != "" {
		return KindToken, nil
	}
	if strings.TrimSpace(command) != "" {
		return KindTokenCommand, nil
	}
	// Either secret variable shows the user meant the app credential; if
	// the tenant or client id is missing, New says which rather than
	// quietly signing in as someone else.
	if getenv("AZURE_CLIENT_SECRET") != "" || getenv("AZURE_CLIENT_CERTIFICATE_PATH") != "" {
		return KindEnvironment, nil
	}
	if _, err := lookPath("az"); err == nil {
		return KindAzureCLI, nil
	}
	if interactive {
		return KindDeviceCode, nil
	}
	return "", fmt.Errorf("found no way to sign in: BULKPATCH_TOKEN is not set; no --token-command or BULKPATCH_TOKEN_COMMAND; " +
		"neither AZURE_CLIENT_SECRET nor AZURE_CLIENT_CERTIFICATE_PATH is set; the Azure CLI (az) is not on PATH; " +
		"device code needs a terminal on stdin. Set AZURE_TENANT_ID, AZURE_CLIENT_ID and AZURE_CLIENT_SECRET for an app, " +
		"pass --token-command, or install the Azure CLI and run az login")
}

func isKind(k string) bool {
	for _, n := range KindNames() {
		if n == k {
			return true
		}
	}
	return false
}

func firstSet(a, b string) string {
	if strings.TrimSpace(a) != "" {
		return a
	}
	return b
}

// staticFetcher hands out BULKPATCH_TOKEN; it cannot get another.
type staticFetcher struct{ t token }

func (f staticFetcher) fetch(_ context.Context, force bool) (token, error) {
	if force {
		return token{}, errCannotRenew
	}
	return f.t, nil
}
