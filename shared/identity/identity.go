package identity

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cloudbackup-d365/cloudbackup/shared/guid"
	"github.com/cloudbackup-d365/cloudbackup/shared/tlsroots"
)

// Mode is how a connection identity authenticates.
type Mode string

// Connection modes.
const (
	ModeClientSecret     Mode = "clientSecret"
	ModeCertificate      Mode = "certificate"
	ModeManagedIdentity  Mode = "managedIdentity"
	ModeWorkloadIdentity Mode = "workloadIdentity"
	ModeServiceAccount   Mode = "serviceAccount"
)

// Modes lists every mode, in documentation order.
func Modes() []Mode {
	return []Mode{ModeClientSecret, ModeCertificate, ModeManagedIdentity, ModeWorkloadIdentity, ModeServiceAccount}
}

// NeedsSecret reports whether the mode stores a secret (Key Vault).
func (m Mode) NeedsSecret() bool {
	return m == ModeClientSecret || m == ModeCertificate || m == ModeServiceAccount
}

// Valid reports a known mode.
func (m Mode) Valid() bool {
	for _, k := range Modes() {
		if m == k {
			return true
		}
	}
	return false
}

// DefaultAuthorityHost is Entra ID's public cloud authority.
const DefaultAuthorityHost = "https://login.microsoftonline.com/"

// FederationScope is the audience of the managed identity token used as a
// client assertion for workload identity federation.
const FederationScope = "api://AzureADTokenExchange/.default"

// Spec is the non-secret description of one identity.
type Spec struct {
	Mode     Mode
	TenantID string
	// ClientID is the app registration (secret, certificate, federated) or
	// the public client used for ROPC (service account).
	ClientID string
	// Username of the service account.
	Username string
	// ManagedIdentityClientID is the user-assigned identity (managed identity
	// mode, and the assertion source of workload identity federation); empty
	// means Options.ManagedIdentityClientID.
	ManagedIdentityClientID string
}

// Secret holds the secret material of an identity; only the field of its
// mode is used. Never log it.
type Secret struct {
	ClientSecret string
	// Certificate is PEM (certificate + key) or PFX bytes; CertificatePassword
	// decrypts a PFX or an encrypted PEM key.
	Certificate         []byte
	CertificatePassword string
	Password            string
}

// Options are the process-wide settings of credentials.
type Options struct {
	// AuthorityHost (ENTRA_AUTHORITY_HOST); default DefaultAuthorityHost.
	AuthorityHost string
	// ExtraCA is PEM of an extra CA to trust (the simulator); ignored when
	// Transport is set.
	ExtraCA []byte
	// Transport sends token requests; default trusts system roots + ExtraCA.
	Transport policy.Transporter
	// ManagedIdentityClientID is the Function App's user-assigned identity
	// (AZURE_CLIENT_ID), used when a Spec names none.
	ManagedIdentityClientID string
}

// ErrInvalidSpec is wrapped when a spec or its secret is incomplete.
var ErrInvalidSpec = errors.New("identity: invalid specification")

// New returns a credential for spec and its secret. It does not contact
// Entra; the first GetToken does.
func New(spec Spec, sec Secret, o Options) (azcore.TokenCredential, error) {
	co, err := o.clientOptions()
	if err != nil {
		return nil, err
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("%w: %s", ErrInvalidSpec, fmt.Sprintf(format, args...))
	}
	needApp := func() error {
		if !guid.Valid(spec.TenantID) && !isDomain(spec.TenantID) {
			return bad("tenantId must be the directory (tenant) GUID or its domain")
		}
		if !guid.Valid(spec.ClientID) {
			return bad("clientId must be the application (client) GUID")
		}
		return nil
	}
	miID := spec.ManagedIdentityClientID
	if miID == "" {
		miID = o.ManagedIdentityClientID
	}
	switch spec.Mode {
	case ModeClientSecret:
		if err := needApp(); err != nil {
			return nil, err
		}
		if strings.TrimSpace(sec.ClientSecret) == "" {
			return nil, bad("clientSecret is required for mode %s", spec.Mode)
		}
		return azidentity.NewClientSecretCredential(spec.TenantID, spec.ClientID, sec.ClientSecret,
			&azidentity.ClientSecretCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	case ModeCertificate:
		if err := needApp(); err != nil {
			return nil, err
		}
		if len(sec.Certificate) == 0 {
			return nil, bad("certificate is required for mode %s", spec.Mode)
		}
		var pw []byte
		if sec.CertificatePassword != "" {
			pw = []byte(sec.CertificatePassword)
		}
		certs, key, err := azidentity.ParseCertificates(sec.Certificate, pw)
		if err != nil {
			// The parser's message never holds key material, but keep ours fixed.
			return nil, bad("the certificate could not be read: give PEM (certificate and private key) or PFX, with its password if it has one")
		}
		return azidentity.NewClientCertificateCredential(spec.TenantID, spec.ClientID, certs, key,
			&azidentity.ClientCertificateCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true, SendCertificateChain: true})
	case ModeManagedIdentity:
		if miID != "" && !guid.Valid(miID) {
			return nil, bad("managedIdentityClientId must be a GUID")
		}
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if miID != "" {
			mo.ID = azidentity.ClientID(miID)
		}
		return azidentity.NewManagedIdentityCredential(mo)
	case ModeWorkloadIdentity:
		if err := needApp(); err != nil {
			return nil, err
		}
		if miID != "" && !guid.Valid(miID) {
			return nil, bad("managedIdentityClientId must be a GUID")
		}
		mo := &azidentity.ManagedIdentityCredentialOptions{ClientOptions: co}
		if miID != "" {
			mo.ID = azidentity.ClientID(miID)
		}
		mi, err := azidentity.NewManagedIdentityCredential(mo)
		if err != nil {
			return nil, err
		}
		assertion := func(ctx context.Context) (string, error) {
			tok, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{FederationScope}})
			if err != nil {
				return "", fmt.Errorf("managed identity assertion: %w", err)
			}
			return tok.Token, nil
		}
		return azidentity.NewClientAssertionCredential(spec.TenantID, spec.ClientID, assertion,
			&azidentity.ClientAssertionCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true})
	case ModeServiceAccount:
		if !guid.Valid(spec.TenantID) && !isDomain(spec.TenantID) {
			return nil, bad("tenantId must be the directory (tenant) GUID or its domain")
		}
		if !guid.Valid(spec.ClientID) {
			return nil, bad("clientId (the public client used to sign in) must be a GUID")
		}
		if !strings.Contains(spec.Username, "@") {
			return nil, bad("username must be a user principal name such as backup@contoso.onmicrosoft.com")
		}
		if sec.Password == "" {
			return nil, bad("password is required for mode %s", spec.Mode)
		}
		// ROPC is what the service-account mode is (the seed product's model);
		// MFA accounts are refused with a clear message by Explain.
		//lint:ignore SA1019 deprecated because it cannot do MFA, which this mode refuses anyway
		opts := &azidentity.UsernamePasswordCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: true}
		return azidentity.NewUsernamePasswordCredential(spec.TenantID, spec.ClientID, spec.Username, sec.Password, opts)
	}
	return nil, bad("unknown mode %q (one of %s)", spec.Mode, joinModes())
}

func (o Options) clientOptions() (azcore.ClientOptions, error) {
	host := o.AuthorityHost
	if host == "" {
		host = DefaultAuthorityHost
	}
	if !strings.HasPrefix(host, "https://") {
		return azcore.ClientOptions{}, fmt.Errorf("identity: authority host %q must be https", host)
	}
	if !strings.HasSuffix(host, "/") {
		host += "/"
	}
	co := azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: host, Services: map[cloud.ServiceName]cloud.ServiceConfiguration{}}}
	co.Retry.MaxRetries = 2
	if o.Transport != nil {
		co.Transport = o.Transport
	} else {
		t, err := tlsroots.Transport(o.ExtraCA)
		if err != nil {
			return azcore.ClientOptions{}, fmt.Errorf("identity: %w", err)
		}
		co.Transport = &http.Client{Transport: t, CheckRedirect: tlsroots.NoRedirects}
	}
	return co, nil
}

func joinModes() string {
	var s []string
	for _, m := range Modes() {
		s = append(s, string(m))
	}
	return strings.Join(s, ", ")
}

// isDomain accepts a verified-domain tenant name such as contoso.onmicrosoft.com.
func isDomain(s string) bool {
	if len(s) < 3 || len(s) > 253 || !strings.Contains(s, ".") {
		return false
	}
	for _, c := range s {
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}
