package connections

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
)

// NewConnection is the input of Create.
type NewConnection struct {
	Name            string        `json:"name"`
	Kind            Kind          `json:"kind"`
	TenantID        string        `json:"tenantId"`
	Identities      []NewIdentity `json:"identities"`
	EnvironmentURLs []string      `json:"environmentUrls"`
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
