package connections

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/google/uuid"

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

func validID(s string) bool {
	_, err := uuid.Parse(s)
	return err == nil && len(s) == 36
}
