package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/uuid"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
	"github.com/cloudbackup-d365/cloudbackup/shared/secrets"
)

// Endpoints are the Microsoft service roots discovery and the role check
// use; the defaults are the public cloud's, the simulator overrides them.
type Endpoints struct {
	GlobalDiscovery    string // DATAVERSE_DISCOVERY_URL
	PowerPlatformAdmin string // POWERPLATFORM_ADMIN_URL
	Graph              string // GRAPH_URL
}

// DefaultEndpoints are the public cloud's.
func DefaultEndpoints() Endpoints {
	return Endpoints{GlobalDiscovery: "https://globaldisco.crm.dynamics.com", PowerPlatformAdmin: "https://api.bap.microsoft.com", Graph: "https://graph.microsoft.com"}
}

// Options configure a Service.
type Options struct {
	Store   *Store
	Secrets secrets.Store
	// Identity holds the authority host, extra CA and default managed identity.
	Identity identity.Options
	// ExtraCA is trusted for Dataverse, discovery and Graph calls (simulator).
	ExtraCA []byte
	// AllowedHosts are extra Dataverse hosts (DATAVERSE_ALLOWED_HOSTS).
	AllowedHosts []string
	Endpoints    Endpoints
	// EnableNew registers discovered environments with backups enabled.
	EnableNew bool
	Log       *slog.Logger
	// Now is the clock (tests); default time.Now.
	Now func() time.Time
}

// Service is the connections domain: adding, validating, rotating, moving
// and deleting connections; registering and discovering environments; and
// giving the backup engine credentials for an environment.
type Service struct {
	o     Options
	mu    sync.Mutex
	creds map[string]azcore.TokenCredential // connection|identity|secret time
}

// NewService returns a Service. Store and Secrets are required.
func NewService(o Options) (*Service, error) {
	if o.Store == nil || o.Secrets == nil {
		return nil, errors.New("connections: NewService needs a Store and a secret store")
	}
	if o.Log == nil {
		o.Log = slog.New(slog.DiscardHandler)
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	d := DefaultEndpoints()
	if o.Endpoints.GlobalDiscovery == "" {
		o.Endpoints.GlobalDiscovery = d.GlobalDiscovery
	}
	if o.Endpoints.PowerPlatformAdmin == "" {
		o.Endpoints.PowerPlatformAdmin = d.PowerPlatformAdmin
	}
	if o.Endpoints.Graph == "" {
		o.Endpoints.Graph = d.Graph
	}
	if len(o.Identity.ExtraCA) == 0 {
		o.Identity.ExtraCA = o.ExtraCA
	}
	return &Service{o: o, creds: map[string]azcore.TokenCredential{}}, nil
}

// Store returns the persistence the service uses (the scheduler lists
// environments and policies through it).
func (s *Service) Store() *Store { return s.o.Store }

func (s *Service) now() time.Time { return s.o.Now().UTC().Truncate(time.Millisecond) }

// NewConnection is the input of Create.
type NewConnection struct {
	Name            string        `json:"name"`
	Kind            Kind          `json:"kind"`
	TenantID        string        `json:"tenantId"`
	Identities      []NewIdentity `json:"identities"`
	EnvironmentURLs []string      `json:"environmentUrls"`
}

// NewIdentity is an identity with its secret as given by the admin.
type NewIdentity struct {
	Mode                    identity.Mode `json:"mode"`
	ClientID                string        `json:"clientId,omitempty"`
	Username                string        `json:"username,omitempty"`
	ManagedIdentityClientID string        `json:"managedIdentityClientId,omitempty"`
	SecretInput
}

// SecretInput is new secret material (create, add identity, rotate). The
// field of the identity's mode is required, the others must be empty.
type SecretInput struct {
	ClientSecret string `json:"clientSecret,omitempty"`
	// Certificate is PEM or PFX, base64 encoded in JSON.
	Certificate         []byte `json:"certificate,omitempty"`
	CertificatePassword string `json:"certificatePassword,omitempty"`
	Password            string `json:"password,omitempty"`
}

func (in SecretInput) secret() identity.Secret {
	return identity.Secret{ClientSecret: in.ClientSecret, Certificate: in.Certificate, CertificatePassword: in.CertificatePassword, Password: in.Password}
}

// values lists the secret strings, for redaction.
func (in SecretInput) values() []string {
	var out []string
	for _, v := range []string{in.ClientSecret, in.CertificatePassword, in.Password} {
		if v != "" {
			out = append(out, v)
		}
	}
	return out
}

func (in SecretInput) checkFor(mode identity.Mode, field string) error {
	set := map[string]bool{"clientSecret": in.ClientSecret != "", "certificate": len(in.Certificate) > 0,
		"certificatePassword": in.CertificatePassword != "", "password": in.Password != ""}
	allowed := map[identity.Mode][]string{
		identity.ModeClientSecret:   {"clientSecret"},
		identity.ModeCertificate:    {"certificate", "certificatePassword"},
		identity.ModeServiceAccount: {"password"},
	}[mode]
	for _, k := range []string{"clientSecret", "certificate", "certificatePassword", "password"} {
		if set[k] && !contains(allowed, k) {
			return invalid(field+"."+k, "not used by mode %s", mode)
		}
	}
	switch mode {
	case identity.ModeClientSecret:
		if !set["clientSecret"] {
			return invalid(field+".clientSecret", "required for mode %s", mode)
		}
	case identity.ModeCertificate:
		if !set["certificate"] {
			return invalid(field+".certificate", "required for mode %s (PEM or PFX, base64 encoded)", mode)
		}
	case identity.ModeServiceAccount:
		if !set["password"] {
			return invalid(field+".password", "required for mode %s", mode)
		}
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// checkIdentity validates an identity input for a connection kind and
// returns its credential (not yet used).
func (s *Service) checkIdentity(kind Kind, tenantID string, in *NewIdentity, field string) (azcore.TokenCredential, error) {
	if !in.Mode.Valid() {
		return nil, invalid(field+".mode", "%q is not one of clientSecret, certificate, managedIdentity, workloadIdentity, serviceAccount", in.Mode)
	}
	if (kind == KindServiceAccount) != (in.Mode == identity.ModeServiceAccount) {
		if kind == KindServiceAccount {
			return nil, invalid(field+".mode", "a serviceAccount connection holds serviceAccount identities only")
		}
		return nil, invalid(field+".mode", "an appProfile connection cannot hold a serviceAccount identity; create a serviceAccount connection")
	}
	if in.Mode == identity.ModeServiceAccount && in.ClientID == "" {
		in.ClientID = DefaultPublicClientID
	}
	if in.Mode == identity.ModeManagedIdentity && in.ClientID != "" {
		return nil, invalid(field+".clientId", "not used by mode managedIdentity; give managedIdentityClientId")
	}
	if in.Mode != identity.ModeServiceAccount && in.Username != "" {
		return nil, invalid(field+".username", "only serviceAccount identities have a username")
	}
	if err := checkText(field+".username", in.Username); err != nil {
		return nil, err
	}
	if err := in.SecretInput.checkFor(in.Mode, field); err != nil {
		return nil, err
	}
	spec := identity.Spec{Mode: in.Mode, TenantID: tenantID, ClientID: in.ClientID, Username: in.Username, ManagedIdentityClientID: in.ManagedIdentityClientID}
	cred, err := identity.New(spec, in.secret(), s.o.Identity)
	if err != nil {
		msg := strings.TrimPrefix(err.Error(), identity.ErrInvalidSpec.Error()+": ")
		return nil, invalid(field, "%s", redact(msg, in.values()))
	}
	return cred, nil
}

func secretName(connID, identityID string) string { return "conn-" + connID + "-" + identityID }

// storeSecret writes the identity's secret (JSON of identity.Secret).
func (s *Service) storeSecret(ctx context.Context, name string, in SecretInput) error {
	b, err := json.Marshal(in.secret())
	if err != nil {
		return err
	}
	if err := s.o.Secrets.Set(ctx, name, b); err != nil {
		return fmt.Errorf("store secret %s: %w", name, err)
	}
	return nil
}

// Create validates the input, stores the secrets, registers the
// environments (backups disabled until enabled, unless EnableNew) and
// validates the connection against them. The connection is created even
// when validation finds problems (the admin fixes them and re-validates);
// the Validation says what to fix.
func (s *Service) Create(ctx context.Context, in NewConnection) (*Connection, []Environment, *Validation, error) {
	in.Name = strings.TrimSpace(in.Name)
	if in.Name == "" || len(in.Name) > 200 {
		return nil, nil, nil, invalid("name", "required, at most 200 characters")
	}
	if err := checkText("name", in.Name); err != nil {
		return nil, nil, nil, err
	}
	if in.Kind != KindAppProfile && in.Kind != KindServiceAccount {
		return nil, nil, nil, invalid("kind", "%q is not appProfile or serviceAccount", in.Kind)
	}
	in.TenantID = strings.TrimSpace(in.TenantID)
	managedOnly := true
	for _, id := range in.Identities {
		if id.Mode != identity.ModeManagedIdentity {
			managedOnly = false
		}
	}
	if in.TenantID == "" && !(managedOnly && len(in.Identities) > 0) {
		return nil, nil, nil, invalid("tenantId", "required: the directory (tenant) id")
	}
	if len(in.Identities) == 0 || len(in.Identities) > 20 {
		return nil, nil, nil, invalid("identities", "give 1 to 20 identities")
	}
	if len(in.EnvironmentURLs) > 200 {
		return nil, nil, nil, invalid("environmentUrls", "at most 200 per request")
	}
	urls, err := s.checkURLs(in.EnvironmentURLs, "environmentUrls")
	if err != nil {
		return nil, nil, nil, err
	}
	if err := s.checkURLsFree(ctx, urls, ""); err != nil {
		return nil, nil, nil, err
	}
	now := s.now()
	c := &Connection{ID: uuid.NewString(), Name: in.Name, Kind: in.Kind, TenantID: in.TenantID, CreatedAt: now, UpdatedAt: now}
	for i := range in.Identities {
		if _, err := s.checkIdentity(in.Kind, in.TenantID, &in.Identities[i], fmt.Sprintf("identities[%d]", i)); err != nil {
			return nil, nil, nil, err
		}
	}
	for i, ni := range in.Identities {
		id := Identity{ID: fmt.Sprintf("id%d", i+1), Mode: ni.Mode, ClientID: ni.ClientID, Username: ni.Username, ManagedIdentityClientID: ni.ManagedIdentityClientID, CreatedAt: now}
		if ni.Mode.NeedsSecret() {
			id.SecretName = secretName(c.ID, id.ID)
			if err := s.storeSecret(ctx, id.SecretName, ni.SecretInput); err != nil {
				s.dropSecrets(ctx, c)
				return nil, nil, nil, err
			}
			id.SecretUpdatedAt = &now
		}
		c.Identities = append(c.Identities, id)
	}
	if err := s.o.Store.PutConnection(ctx, c); err != nil {
		s.dropSecrets(ctx, c)
		return nil, nil, nil, err
	}
	envs, err := s.register(ctx, c, urls, "manual")
	if err != nil {
		return c, nil, nil, err
	}
	v, err := s.validate(ctx, c, envs, nil)
	return c, envs, v, err
}

func (s *Service) dropSecrets(ctx context.Context, c *Connection) {
	for _, id := range c.Identities {
		if id.SecretName != "" {
			if err := s.o.Secrets.Delete(ctx, id.SecretName); err != nil {
				s.o.Log.WarnContext(ctx, "secret left behind", "secret", id.SecretName, "error", err.Error())
			}
		}
	}
}

func (s *Service) checkURLs(raw []string, field string) ([]string, error) {
	seen := map[string]bool{}
	var out []string
	for i, u := range raw {
		n, err := dataverse.CheckEnvironmentURL(u, s.o.AllowedHosts)
		if err != nil {
			return nil, invalid(fmt.Sprintf("%s[%d]", field, i), "%s", strings.TrimPrefix(err.Error(), dataverse.ErrURLNotAllowed.Error()+": "))
		}
		if !seen[n] {
			seen[n] = true
			out = append(out, n)
		}
	}
	return out, nil
}

// checkURLsFree refuses URLs already registered under another connection.
func (s *Service) checkURLsFree(ctx context.Context, urls []string, connID string) error {
	if len(urls) == 0 {
		return nil
	}
	all, err := s.o.Store.ListEnvironments(ctx, "")
	if err != nil {
		return err
	}
	for _, e := range all {
		if contains(urls, e.URL) && e.ConnectionID != connID {
			return fmt.Errorf("environment %s is already registered (id %s) under connection %s; move it instead: %w", e.URL, e.ID, e.ConnectionID, ErrConflict)
		}
	}
	return nil
}

// register adds environments for urls to c (existing ones of c are returned as they are).
func (s *Service) register(ctx context.Context, c *Connection, urls []string, source string) ([]Environment, error) {
	existing, err := s.o.Store.ListEnvironments(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	var out []Environment
	now := s.now()
	for _, u := range urls {
		found := false
		for _, e := range existing {
			if e.URL == u {
				out = append(out, e)
				found = true
			}
		}
		if found {
			continue
		}
		e := Environment{ID: uuid.NewString(), URL: u, ConnectionID: c.ID, State: StateActive, Source: source,
			Policy: DefaultPolicy(s.o.EnableNew), CreatedAt: now, UpdatedAt: now}
		if err := s.o.Store.PutEnvironment(ctx, &e); err != nil {
			return out, err
		}
		out = append(out, e)
	}
	return out, nil
}

// Get returns a connection.
func (s *Service) Get(ctx context.Context, id string) (*Connection, error) {
	if !validID(id) {
		return nil, fmt.Errorf("connection %q: %w", id, ErrNotFound)
	}
	c, err := s.o.Store.GetConnection(ctx, id)
	if errors.Is(err, ErrNotFound) {
		// The store's error names its table; callers show this one.
		return nil, fmt.Errorf("connection %q: %w", id, ErrNotFound)
	}
	return c, err
}

// List returns every connection, by name.
func (s *Service) List(ctx context.Context) ([]Connection, error) {
	cs, err := s.o.Store.ListConnections(ctx)
	sort.Slice(cs, func(i, j int) bool { return cs[i].Name < cs[j].Name })
	return cs, err
}

// Environments lists environments (all when connID is "").
func (s *Service) Environments(ctx context.Context, connID string) ([]Environment, error) {
	es, err := s.o.Store.ListEnvironments(ctx, connID)
	sort.Slice(es, func(i, j int) bool { return es[i].URL < es[j].URL })
	return es, err
}

// Environment returns one environment.
func (s *Service) Environment(ctx context.Context, id string) (*Environment, error) {
	if !validID(id) {
		return nil, fmt.Errorf("environment %q: %w", id, ErrNotFound)
	}
	e, err := s.o.Store.GetEnvironment(ctx, id)
	if errors.Is(err, ErrNotFound) {
		return nil, fmt.Errorf("environment %q: %w", id, ErrNotFound)
	}
	return e, err
}

// Delete removes a connection and its secrets; refused (ErrInUse) while
// environments other than gone ones use it.
func (s *Service) Delete(ctx context.Context, id string) error {
	c, err := s.Get(ctx, id)
	if err != nil {
		return err
	}
	envs, err := s.o.Store.ListEnvironments(ctx, id)
	if err != nil {
		return err
	}
	var using []string
	for _, e := range envs {
		if e.State != StateGone {
			using = append(using, e.URL)
		}
	}
	if len(using) > 0 {
		return fmt.Errorf("connection %s is used by %d environment(s) (%s); move them to another connection first: %w", id, len(using), strings.Join(using, ", "), ErrInUse)
	}
	if err := s.o.Store.DeleteConnection(ctx, c); err != nil {
		return err
	}
	s.dropSecrets(ctx, c)
	s.forget(c.ID)
	return nil
}

// DeleteEnvironment removes an environment's registration (its policy and
// validation); its backups are the backup engine's, untouched here. etag,
// when not empty, must match the stored environment (If-Match).
func (s *Service) DeleteEnvironment(ctx context.Context, id, etag string) (*Environment, error) {
	e, err := s.Environment(ctx, id)
	if err != nil {
		return nil, err
	}
	if etag != "" && etag != e.ETag {
		return nil, fmt.Errorf("environment %s changed since read (ETag): %w", id, ErrConflict)
	}
	if err := s.o.Store.DeleteEnvironment(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// UpdatePolicy replaces an environment's policy. etag, when not empty, must
// match the stored environment (If-Match).
func (s *Service) UpdatePolicy(ctx context.Context, envID string, p Policy, etag string) (*Environment, error) {
	if err := p.Validate(); err != nil {
		return nil, err
	}
	e, err := s.Environment(ctx, envID)
	if err != nil {
		return nil, err
	}
	if etag != "" && etag != e.ETag {
		return nil, fmt.Errorf("environment %s changed since read (ETag): %w", envID, ErrConflict)
	}
	e.Policy = p
	e.UpdatedAt = s.now()
	if err := s.o.Store.PutEnvironment(ctx, e); err != nil {
		return nil, err
	}
	return e, nil
}

// AddEnvironments registers environments by URL under a connection and
// validates the connection against them.
func (s *Service) AddEnvironments(ctx context.Context, connID string, rawURLs []string) ([]Environment, *Validation, error) {
	if len(rawURLs) == 0 || len(rawURLs) > 200 {
		return nil, nil, invalid("urls", "give 1 to 200 environment URLs")
	}
	urls, err := s.checkURLs(rawURLs, "urls")
	if err != nil {
		return nil, nil, err
	}
	c, err := s.Get(ctx, connID)
	if err != nil {
		return nil, nil, err
	}
	if err := s.checkURLsFree(ctx, urls, c.ID); err != nil {
		return nil, nil, err
	}
	envs, err := s.register(ctx, c, urls, "manual")
	if err != nil {
		return nil, nil, err
	}
	v, err := s.validate(ctx, c, envs, nil)
	return envs, v, err
}

// AddIdentity adds an identity to a connection after it validates against
// every environment of the connection; otherwise nothing is kept.
func (s *Service) AddIdentity(ctx context.Context, connID string, in NewIdentity) (*Connection, *Validation, error) {
	c, err := s.Get(ctx, connID)
	if err != nil {
		return nil, nil, err
	}
	if len(c.Identities) >= 20 {
		return nil, nil, invalid("identities", "a connection holds at most 20 identities")
	}
	cred, err := s.checkIdentity(c.Kind, c.TenantID, &in, "identity")
	if err != nil {
		return nil, nil, err
	}
	n := 1
	for c.Identity(fmt.Sprintf("id%d", n)) != nil {
		n++
	}
	now := s.now()
	id := Identity{ID: fmt.Sprintf("id%d", n), Mode: in.Mode, ClientID: in.ClientID, Username: in.Username, ManagedIdentityClientID: in.ManagedIdentityClientID, CreatedAt: now}
	envs, err := s.activeEnvironments(ctx, c.ID)
	if err != nil {
		return nil, nil, err
	}
	v := s.validateIdentity(ctx, c, id, cred, envs, in.values())
	if !v.OK {
		return nil, v, nil
	}
	if in.Mode.NeedsSecret() {
		id.SecretName = secretName(c.ID, id.ID)
		if err := s.storeSecret(ctx, id.SecretName, in.SecretInput); err != nil {
			return nil, nil, err
		}
		id.SecretUpdatedAt = &now
	}
	c.Identities = append(c.Identities, id)
	c.UpdatedAt = now
	if err := s.o.Store.PutConnection(ctx, c); err != nil {
		if id.SecretName != "" {
			_ = s.o.Secrets.Delete(ctx, id.SecretName)
		}
		return nil, nil, err
	}
	return c, v, nil
}

// RemoveIdentity removes an identity and its secret; the last one stays.
func (s *Service) RemoveIdentity(ctx context.Context, connID, identityID string) (*Connection, error) {
	c, err := s.Get(ctx, connID)
	if err != nil {
		return nil, err
	}
	id := c.Identity(identityID)
	if id == nil {
		return nil, fmt.Errorf("identity %q of connection %s: %w", identityID, connID, ErrNotFound)
	}
	if len(c.Identities) == 1 {
		return nil, fmt.Errorf("identity %s is the connection's last one; delete the connection instead: %w", identityID, ErrInUse)
	}
	name := id.SecretName
	var keep []Identity
	for _, i := range c.Identities {
		if i.ID != identityID {
			keep = append(keep, i)
		}
	}
	c.Identities = keep
	c.UpdatedAt = s.now()
	if err := s.o.Store.PutConnection(ctx, c); err != nil {
		return nil, err
	}
	if name != "" {
		if err := s.o.Secrets.Delete(ctx, name); err != nil {
			s.o.Log.WarnContext(ctx, "secret left behind", "secret", name, "error", err.Error())
		}
	}
	s.forget(c.ID)
	return c, nil
}

// Rotate replaces an identity's secret after the new one validates against
// every active environment of the connection (or, without environments,
// signs in). On failure the old secret stays and the Validation says why.
func (s *Service) Rotate(ctx context.Context, connID, identityID string, in SecretInput) (*Validation, error) {
	c, err := s.Get(ctx, connID)
	if err != nil {
		return nil, err
	}
	id := c.Identity(identityID)
	if id == nil {
		return nil, fmt.Errorf("identity %q of connection %s: %w", identityID, connID, ErrNotFound)
	}
	if !id.Mode.NeedsSecret() {
		return nil, invalid("identityId", "identity %s (%s) has no secret to rotate", id.ID, id.Mode)
	}
	if err := in.checkFor(id.Mode, "secret"); err != nil {
		return nil, err
	}
	cred, err := identity.New(id.Spec(c.TenantID), in.secret(), s.o.Identity)
	if err != nil {
		return nil, invalid("secret", "%s", redact(strings.TrimPrefix(err.Error(), identity.ErrInvalidSpec.Error()+": "), in.values()))
	}
	envs, err := s.activeEnvironments(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	v := s.validateIdentity(ctx, c, *id, cred, envs, in.values())
	if !v.OK {
		return v, nil
	}
	if err := s.storeSecret(ctx, id.SecretName, in); err != nil {
		return nil, err
	}
	now := s.now()
	id.SecretUpdatedAt = &now
	c.UpdatedAt = now
	if err := s.o.Store.PutConnection(ctx, c); err != nil {
		return nil, err
	}
	s.forget(c.ID)
	return v, nil
}

// MoveResult is the answer of Move.
type MoveResult struct {
	Moved      []Environment `json:"moved"`
	Validation *Validation   `json:"validation"`
}

// Move re-registers environments under the app-profile connection target,
// keeping their ids (so backup history and policies stay), after target
// validates against each of them. Nothing moves unless all validate.
func (s *Service) Move(ctx context.Context, targetID string, envIDs []string) (*MoveResult, error) {
	if len(envIDs) == 0 || len(envIDs) > 200 {
		return nil, invalid("environmentIds", "give 1 to 200 environment ids")
	}
	target, err := s.Get(ctx, targetID)
	if err != nil {
		return nil, err
	}
	if target.Kind != KindAppProfile {
		return nil, invalid("connectionId", "environments move to an appProfile connection; %s is a %s connection", target.ID, target.Kind)
	}
	var envs []Environment
	for i, id := range envIDs {
		e, err := s.Environment(ctx, id)
		if err != nil {
			if errors.Is(err, ErrNotFound) {
				return nil, invalid(fmt.Sprintf("environmentIds[%d]", i), "environment %q not found", id)
			}
			return nil, err
		}
		if e.ConnectionID == target.ID {
			return nil, invalid(fmt.Sprintf("environmentIds[%d]", i), "environment %s already uses connection %s", id, target.ID)
		}
		envs = append(envs, *e)
	}
	v, err := s.validate(ctx, target, envs, &validateOptions{dryRun: true})
	if err != nil {
		return nil, err
	}
	res := &MoveResult{Validation: v, Moved: []Environment{}}
	if !v.OK {
		return res, nil
	}
	for _, e := range envs {
		e.ConnectionID = target.ID
		e.UpdatedAt = s.now()
		for _, ec := range v.Environments {
			if ec.EnvironmentID == e.ID {
				ec := ec
				e.LastValidation = &ec
			}
		}
		if err := s.o.Store.PutEnvironment(ctx, &e); err != nil {
			return res, err
		}
		res.Moved = append(res.Moved, e)
	}
	return res, nil
}

func (s *Service) activeEnvironments(ctx context.Context, connID string) ([]Environment, error) {
	all, err := s.o.Store.ListEnvironments(ctx, connID)
	if err != nil {
		return nil, err
	}
	var out []Environment
	for _, e := range all {
		if e.State == StateActive {
			out = append(out, e)
		}
	}
	return out, nil
}

// credential returns the (cached) credential of an identity.
func (s *Service) credential(ctx context.Context, c *Connection, id Identity) (azcore.TokenCredential, error) {
	key := c.ID + "|" + id.ID
	if id.SecretUpdatedAt != nil {
		key += "|" + id.SecretUpdatedAt.Format(time.RFC3339Nano)
	}
	s.mu.Lock()
	cred := s.creds[key]
	s.mu.Unlock()
	if cred != nil {
		return cred, nil
	}
	var sec identity.Secret
	if id.SecretName != "" {
		b, err := s.o.Secrets.Get(ctx, id.SecretName)
		if err != nil {
			return nil, err
		}
		if err := json.Unmarshal(b, &sec); err != nil {
			return nil, fmt.Errorf("secret %s is not readable", id.SecretName)
		}
	}
	cred, err := identity.New(id.Spec(c.TenantID), sec, s.o.Identity)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.creds[key] = cred
	s.mu.Unlock()
	return cred, nil
}

func (s *Service) forget(connID string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for k := range s.creds {
		if strings.HasPrefix(k, connID+"|") {
			delete(s.creds, k)
		}
	}
}

// EnvironmentClient is a Dataverse client for one identity of a connection.
type EnvironmentClient struct {
	IdentityID string
	Client     *dataverse.Client
}

// Clients returns one Dataverse client per identity of the environment's
// connection, for the backup engine to spread pages over. Tokens are cached
// per identity for the life of the Service.
func (s *Service) Clients(ctx context.Context, envID string) ([]EnvironmentClient, error) {
	e, err := s.Environment(ctx, envID)
	if err != nil {
		return nil, err
	}
	c, err := s.Get(ctx, e.ConnectionID)
	if err != nil {
		return nil, fmt.Errorf("connection of environment %s: %w", envID, err)
	}
	var out []EnvironmentClient
	for _, id := range c.Identities {
		cred, err := s.credential(ctx, c, id)
		if err != nil {
			return nil, fmt.Errorf("identity %s of connection %s: %w", id.ID, c.ID, err)
		}
		dv, err := dataverse.NewClient(e.URL, cred, &dataverse.ClientOptions{ExtraCA: s.o.ExtraCA})
		if err != nil {
			return nil, err
		}
		out = append(out, EnvironmentClient{IdentityID: id.ID, Client: dv})
	}
	return out, nil
}

// redact replaces every secret value in s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}

func validID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}
