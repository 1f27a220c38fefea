package auth

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// GraphCLIClientID is the public client id of "Microsoft Graph Command Line
// Tools", the multi-tenant app Microsoft publishes for Graph PowerShell and
// the Graph CLI. Device-code sign-in uses it unless a client id is given:
// it exists in every cloud, needs no app registration, and an admin can
// consent to DeviceManagementApps.ReadWrite.All for it. Tenants that block
// it need their own public client app (--client-id).
const GraphCLIClientID = "14d82eec-204b-4c2f-b7e8-296a70dab67e"

// credentialFetcher gets tokens from an azidentity credential.
type credentialFetcher struct {
	cred  azcore.TokenCredential
	scope string
	// claims says the credential honours TokenRequestOptions.Claims. For
	// MSAL-based credentials a claims request is the one way to skip
	// MSAL's cache: base.Client.AcquireTokenSilent ignores cached access
	// tokens when claims are set (a public client then redeems its
	// refresh token, so device code does not prompt again), and
	// confidential.Client.AcquireTokenByCredential skips its cache lookup.
	// The Azure CLI credential refuses claims instead.
	claims bool
	now    func() time.Time
}

func (c *credentialFetcher) fetch(ctx context.Context, force bool) (token, error) {
	opts := policy.TokenRequestOptions{Scopes: []string{c.scope}}
	if force && c.claims {
		// The same claims Graph sends in a continuous access evaluation
		// challenge: "a token not before now". Entra ID answers it with a
		// new token, and MSAL does not hand back its cached one.
		opts.Claims = fmt.Sprintf(`{"access_token":{"nbf":{"essential":true,"value":"%d"}}}`, c.now().Unix())
	}
	at, err := c.cred.GetToken(ctx, opts)
	if err != nil {
		return token{}, err
	}
	v, err := cleanToken(at.Token)
	if err != nil {
		return token{}, fmt.Errorf("the credential returned an unusable token: %w", err)
	}
	return token{value: v, expiresOn: at.ExpiresOn}, nil
}

// azureSettings is what the azidentity-based kinds share.
type azureSettings struct {
	tenantID, clientID string
	client             azcore.ClientOptions
	disableDiscovery   bool
	getenv             func(string) string
}

// environmentCredential builds the app-only credential described by the
// AZURE_* variables, read through getenv. Unlike
// azidentity.NewEnvironmentCredential it never falls back to a user name
// and password, and it reads only the environment it is given.
func environmentCredential(s azureSettings) (azcore.TokenCredential, error) {
	secret := s.getenv("AZURE_CLIENT_SECRET")
	certPath := s.getenv("AZURE_CLIENT_CERTIFICATE_PATH")
	var missing []string
	if s.tenantID == "" {
		missing = append(missing, "AZURE_TENANT_ID (or --tenant)")
	}
	if s.clientID == "" {
		missing = append(missing, "AZURE_CLIENT_ID (or --client-id)")
	}
	if secret == "" && certPath == "" {
		missing = append(missing, "AZURE_CLIENT_SECRET or AZURE_CLIENT_CERTIFICATE_PATH")
	}
	if len(missing) > 0 {
		return nil, fmt.Errorf("app sign-in needs %s", strings.Join(missing, ", "))
	}
	// azidentity's confidential client reads AZURE_REGIONAL_AUTHORITY_NAME
	// from the process environment itself; "TryAutoDetect" would make
	// MSAL ask the instance metadata service (169.254.169.254) for the
	// region, which bulkpatch never contacts.
	if strings.EqualFold(strings.TrimSpace(os.Getenv("AZURE_REGIONAL_AUTHORITY_NAME")), "TryAutoDetect") {
		return nil, errors.New("AZURE_REGIONAL_AUTHORITY_NAME=TryAutoDetect would query the instance metadata service: unset it or name the region")
	}

	if secret != "" {
		cred, err := azidentity.NewClientSecretCredential(s.tenantID, s.clientID, secret, &azidentity.ClientSecretCredentialOptions{
			ClientOptions:            s.client,
			DisableInstanceDiscovery: s.disableDiscovery,
		})
		if err != nil {
			return nil, fmt.Errorf("client secret credential: %w", err)
		}
		return cred, nil
	}
	data, err := os.ReadFile(certPath)
	if err != nil {
		return nil, fmt.Errorf("reading AZURE_CLIENT_CERTIFICATE_PATH: %w", err)
	}
	var password []byte
	if p := s.getenv("AZURE_CLIENT_CERTIFICATE_PASSWORD"); p != "" {
		password = []byte(p)
	}
	certs, key, err := azidentity.ParseCertificates(data, password)
	if err != nil {
		return nil, fmt.Errorf("reading the certificate in AZURE_CLIENT_CERTIFICATE_PATH (PEM or PKCS#12, password in AZURE_CLIENT_CERTIFICATE_PASSWORD): %w", err)
	}
	sendChain := s.getenv("AZURE_CLIENT_SEND_CERTIFICATE_CHAIN")
	cred, err := azidentity.NewClientCertificateCredential(s.tenantID, s.clientID, certs, key, &azidentity.ClientCertificateCredentialOptions{
		ClientOptions:            s.client,
		DisableInstanceDiscovery: s.disableDiscovery,
		SendCertificateChain:     sendChain == "1" || strings.EqualFold(sendChain, "true"),
	})
	if err != nil {
		return nil, fmt.Errorf("client certificate credential: %w", err)
	}
	return cred, nil
}

// azureCLICredential signs in as whoever is logged in to the Azure CLI.
// The CLI uses its own cloud setting (az cloud set), which must match.
func azureCLICredential(s azureSettings) (azcore.TokenCredential, error) {
	cred, err := azidentity.NewAzureCLICredential(&azidentity.AzureCLICredentialOptions{TenantID: s.tenantID})
	if err != nil {
		return nil, fmt.Errorf("azure CLI credential: %w", err)
	}
	return cred, nil
}

// deviceCodeCredential signs a user in by device code, writing the
// instructions to prompt.
func deviceCodeCredential(s azureSettings, prompt io.Writer) (azcore.TokenCredential, error) {
	tenant := s.tenantID
	if tenant == "" {
		tenant = "organizations"
	}
	client := s.clientID
	if client == "" {
		client = GraphCLIClientID
	}
	cred, err := azidentity.NewDeviceCodeCredential(&azidentity.DeviceCodeCredentialOptions{
		ClientOptions:            s.client,
		ClientID:                 client,
		TenantID:                 tenant,
		DisableInstanceDiscovery: s.disableDiscovery,
		UserPrompt: func(_ context.Context, m azidentity.DeviceCodeMessage) error {
			_, err := fmt.Fprintln(prompt, m.Message)
			return err
		},
	})
	if err != nil {
		return nil, fmt.Errorf("device code credential: %w", err)
	}
	return cred, nil
}
