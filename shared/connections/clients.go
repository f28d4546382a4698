package connections

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
)

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
