package dataversesim

import (
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"math/rand/v2"
)

// Client kinds.
const (
	KindSecret          = "secret"
	KindCertificate     = "certificate"
	KindFederated       = "federated"
	KindManagedIdentity = "managedidentity"
	KindPublic          = "public"
)

// AppClient is an app registration (service principal) in the simulated
// directory. Apps other than the public client and Unregistered have an
// application user (systemuser with applicationid) in every Dataverse
// environment, with the System Administrator role unless NoRoles.
type AppClient struct {
	Name     string `json:"name"`
	ClientID string `json:"clientId"`
	Secret   string `json:"clientSecret,omitempty"`
	ObjectID string `json:"objectId"`
	Kind     string `json:"kind"`
	// NoAppUser: the app can get tokens but has no application user, so
	// Dataverse answers 403 (the app was never added to the environment).
	NoAppUser bool `json:"noAppUser,omitempty"`
	// DisabledAppUser: the application user exists but is disabled.
	DisabledAppUser bool `json:"disabledAppUser,omitempty"`
	// NoRoles: the application user has no security role.
	NoRoles bool `json:"noRoles,omitempty"`

	cert *x509.Certificate
	key  *rsa.PrivateKey
}

// Certificate returns the registered certificate and its private key (the
// certificate client only), ready for azidentity.NewClientCertificateCredential.
func (a AppClient) Certificate() (*x509.Certificate, *rsa.PrivateKey) { return a.cert, a.key }

// CertificatePEM returns certificate and PKCS#8 key as one PEM bundle, the
// form azidentity.ParseCertificates reads.
func (a AppClient) CertificatePEM() []byte {
	if a.cert == nil {
		return nil
	}
	der, _ := x509.MarshalPKCS8PrivateKey(a.key)
	return append(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: a.cert.Raw}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})...)
}

// ServiceAccount is a directory user for ROPC (grant_type=password).
type ServiceAccount struct {
	Username    string   `json:"username"`
	Password    string   `json:"password"`
	ObjectID    string   `json:"objectId"`
	DisplayName string   `json:"displayName"`
	GlobalAdmin bool     `json:"globalAdmin"`
	MFA         bool     `json:"mfa"`
	Roles       []string `json:"directoryRoles"`
	// SystemAdministrator: the user's systemuser in each environment has the
	// System Administrator security role.
	SystemAdministrator bool `json:"systemAdministrator"`
}

// Directory role template ids (reference 7).
const (
	GlobalAdminRoleTemplate   = "62e90394-69f5-4237-9190-012177145e10"
	DynamicsAdminRoleTemplate = "44367163-eba1-44c3-98af-f5787879f96a"
	SysAdminRoleTemplate      = "627090ff-40a3-4053-8790-584edc5be201"
)

type directory struct {
	apps      []*AppClient
	byClient  map[string]*AppClient
	users     []*ServiceAccount
	byUser    map[string]*ServiceAccount
	msiHeader string
	domain    string
}

func newGUID(r *rand.Rand) string {
	var b [16]byte
	for i := range b {
		b[i] = byte(r.Uint32())
	}
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:16])
}

func secret(r *rand.Rand) string {
	const abc = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789~._-"
	b := make([]byte, 40)
	for i := range b {
		b[i] = abc[r.IntN(len(abc))]
	}
	return string(b)
}

func newDirectory(r *rand.Rand, s *Server) *directory {
	d := &directory{byClient: map[string]*AppClient{}, byUser: map[string]*ServiceAccount{}, domain: "contoso.onmicrosoft.com"}
	add := func(a *AppClient) {
		a.ClientID, a.ObjectID = newGUID(r), newGUID(r)
		d.apps = append(d.apps, a)
		d.byClient[a.ClientID] = a
	}
	for i := 1; i <= 4; i++ {
		add(&AppClient{Name: fmt.Sprintf("backup-app-%d", i), Kind: KindSecret, Secret: secret(r)})
	}
	add(&AppClient{Name: "backup-app-nouser", Kind: KindSecret, Secret: secret(r), NoAppUser: true})
	add(&AppClient{Name: "backup-app-disabled", Kind: KindSecret, Secret: secret(r), DisabledAppUser: true})
	add(&AppClient{Name: "backup-app-noroles", Kind: KindSecret, Secret: secret(r), NoRoles: true})
	cert := &AppClient{Name: "backup-app-cert", Kind: KindCertificate}
	add(cert)
	if _, key, err := processKeys(); err == nil {
		cert.key = key
		cert.cert, _ = selfSignedClientCert(key, "backup-app-cert")
	}
	add(&AppClient{Name: "backup-app-federated", Kind: KindFederated})
	add(&AppClient{Name: "backup-managed-identity", Kind: KindManagedIdentity})
	add(&AppClient{Name: "public-client", Kind: KindPublic, NoAppUser: true})
	// Secrets are generated after ids so adding apps above keeps ids stable.
	d.msiHeader = secret(r)
	for _, u := range []*ServiceAccount{
		{Username: "admin@" + d.domain, DisplayName: "Backup Admin", GlobalAdmin: true, Roles: []string{"Global Administrator"}, SystemAdministrator: true},
		{Username: "d365admin@" + d.domain, DisplayName: "Dynamics Admin", Roles: []string{"Dynamics 365 Administrator"}, SystemAdministrator: true},
		{Username: "user@" + d.domain, DisplayName: "Plain User"},
		{Username: "mfa@" + d.domain, DisplayName: "MFA Admin", GlobalAdmin: true, MFA: true, Roles: []string{"Global Administrator"}, SystemAdministrator: true},
	} {
		u.ObjectID, u.Password = newGUID(r), secret(r)[:16]+"!9a"
		d.users = append(d.users, u)
		d.byUser[u.Username] = u
	}
	return d
}

func (d *directory) app(kind string) *AppClient {
	for _, a := range d.apps {
		if a.Kind == kind {
			return a
		}
	}
	return nil
}

func certThumbprints(c *x509.Certificate) (s1, s256 []byte) {
	h := sha256.Sum256(c.Raw)
	return sha1Sum(c.Raw), h[:]
}

// Clients returns every app registration.
func (s *Server) Clients() []AppClient {
	out := make([]AppClient, len(s.dir.apps))
	for i, a := range s.dir.apps {
		out[i] = *a
	}
	return out
}

// SecretClients returns the client-secret apps that are fully usable
// (application user present, enabled, System Administrator): spread load over them.
func (s *Server) SecretClients() []AppClient {
	var out []AppClient
	for _, a := range s.dir.apps {
		if a.Kind == KindSecret && !a.NoAppUser && !a.DisabledAppUser && !a.NoRoles {
			out = append(out, *a)
		}
	}
	return out
}

// Client returns the app registration with that name (see Clients) or false.
func (s *Server) App(name string) (AppClient, bool) {
	for _, a := range s.dir.apps {
		if a.Name == name {
			return *a, true
		}
	}
	return AppClient{}, false
}

// CertificateClient returns the app that authenticates with a certificate.
func (s *Server) CertificateClient() AppClient { return *s.dir.app(KindCertificate) }

// FederatedClient returns the app that accepts a client assertion issued by
// the simulator (a managed identity token for api://AzureADTokenExchange, or
// FederatedAssertion()).
func (s *Server) FederatedClient() AppClient { return *s.dir.app(KindFederated) }

// ManagedIdentity returns the managed identity's app registration.
func (s *Server) ManagedIdentity() AppClient { return *s.dir.app(KindManagedIdentity) }

// PublicClient returns the public client id to use with ROPC.
func (s *Server) PublicClient() AppClient { return *s.dir.app(KindPublic) }

// ServiceAccounts returns the directory users (admin, Dynamics admin, plain, MFA).
func (s *Server) ServiceAccounts() []ServiceAccount {
	out := make([]ServiceAccount, len(s.dir.users))
	for i, u := range s.dir.users {
		out[i] = *u
	}
	return out
}

// ServiceAccount returns the user whose username starts with prefix
// ("admin", "d365admin", "user", "mfa").
func (s *Server) ServiceAccount(prefix string) ServiceAccount {
	for _, u := range s.dir.users {
		if len(u.Username) > len(prefix) && u.Username[:len(prefix)+1] == prefix+"@" {
			return *u
		}
	}
	return ServiceAccount{}
}
