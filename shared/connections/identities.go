package connections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
)

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

// connectionIdentity reads a connection and one of its identities
// (ErrNotFound for either).
func (s *Service) connectionIdentity(ctx context.Context, connID, identityID string) (*Connection, *Identity, error) {
	c, err := s.Get(ctx, connID)
	if err != nil {
		return nil, nil, err
	}
	id := c.Identity(identityID)
	if id == nil {
		return nil, nil, fmt.Errorf("identity %q of connection %s: %w", identityID, connID, ErrNotFound)
	}
	return c, id, nil
}

// RemoveIdentity removes an identity and its secret; the last one stays.
func (s *Service) RemoveIdentity(ctx context.Context, connID, identityID string) (*Connection, error) {
	c, id, err := s.connectionIdentity(ctx, connID, identityID)
	if err != nil {
		return nil, err
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
	c, id, err := s.connectionIdentity(ctx, connID, identityID)
	if err != nil {
		return nil, err
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

// redact replaces every secret value in s.
func redact(s string, secrets []string) string {
	for _, v := range secrets {
		if len(v) >= 4 {
			s = strings.ReplaceAll(s, v, "[redacted]")
		}
	}
	return s
}
