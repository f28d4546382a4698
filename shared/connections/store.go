package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/azerr"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
)

// Table names and partition keys. Both tables hold one small partition each
// (an organization has tens, not thousands, of connections and environments):
// PartitionKey is constant, RowKey is the id, the document is JSON in Data,
// and the fields other code filters on (ConnectionId, Url) are columns too.
const (
	TableConnections  = "connections"
	TableEnvironments = "environments"
	partition         = "all"
)

// Store persists connections and environments in Table Storage. Updates are
// conditional on the ETag read (optimistic concurrency): a concurrent change
// makes the second writer fail with ErrConflict instead of losing the first.
type Store struct {
	conns *aztables.Client
	envs  *aztables.Client
}

// NewStore returns a Store over svc, creating the tables when missing.
func NewStore(ctx context.Context, svc *aztables.ServiceClient) (*Store, error) {
	if err := storageaccount.EnsureTables(ctx, svc, TableConnections, TableEnvironments); err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	return &Store{conns: svc.NewClient(TableConnections), envs: svc.NewClient(TableEnvironments)}, nil
}

type entity struct {
	PartitionKey string
	RowKey       string
	Data         string
	ConnectionId string `json:",omitempty"` //nolint:revive // column name
	Url          string `json:",omitempty"` //nolint:revive // column name
}

// translate is the one place Table Storage errors become the package's.
func translate(op string, err error) error {
	if err == nil {
		return nil
	}
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		switch {
		case re.StatusCode == http.StatusNotFound:
			return fmt.Errorf("%s: %w", op, ErrNotFound)
		case re.StatusCode == http.StatusPreconditionFailed || re.StatusCode == http.StatusConflict:
			return fmt.Errorf("%s: %w (changed concurrently or already exists)", op, ErrConflict)
		}
	}
	return fmt.Errorf("%s: %s", op, shortErr(err))
}

var shortErr = azerr.Short

func (s *Store) put(ctx context.Context, tc *aztables.Client, id, etag string, doc any, cols entity) (string, error) {
	data, err := json.Marshal(doc)
	if err != nil {
		return "", err
	}
	cols.PartitionKey, cols.RowKey, cols.Data = partition, id, string(data)
	raw, err := json.Marshal(cols)
	if err != nil {
		return "", err
	}
	if etag == "" {
		resp, err := tc.AddEntity(ctx, raw, nil)
		if err != nil {
			return "", translate("add "+id, err)
		}
		return string(resp.ETag), nil
	}
	e := azcore.ETag(etag)
	resp, err := tc.UpdateEntity(ctx, raw, &aztables.UpdateEntityOptions{IfMatch: &e, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		return "", translate("update "+id, err)
	}
	return string(resp.ETag), nil
}

func (s *Store) get(ctx context.Context, tc *aztables.Client, id string, doc any) (string, error) {
	resp, err := tc.GetEntity(ctx, partition, id, nil)
	if err != nil {
		return "", translate("get "+id, err)
	}
	var e entity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return "", err
	}
	if err := json.Unmarshal([]byte(e.Data), doc); err != nil {
		return "", fmt.Errorf("get %s: corrupt document: %w", id, err)
	}
	return string(resp.ETag), nil
}

func list[T any](ctx context.Context, tc *aztables.Client, filter string, setETag func(*T, string)) ([]T, error) {
	opts := &aztables.ListEntitiesOptions{}
	f := "PartitionKey eq '" + partition + "'"
	if filter != "" {
		f += " and " + filter
	}
	opts.Filter = &f
	var out []T
	pager := tc.NewListEntitiesPager(opts)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, translate("list", err)
		}
		for _, raw := range page.Entities {
			var e struct {
				entity
				ETag string `json:"odata.etag"`
			}
			if err := json.Unmarshal(raw, &e); err != nil {
				return nil, err
			}
			var doc T
			if err := json.Unmarshal([]byte(e.Data), &doc); err != nil {
				return nil, fmt.Errorf("list: corrupt document %s: %w", e.RowKey, err)
			}
			setETag(&doc, e.ETag)
			out = append(out, doc)
		}
	}
	return out, nil
}

// PutConnection creates c (empty ETag) or replaces it if unchanged since read.
// On success c.ETag is the new ETag.
func (s *Store) PutConnection(ctx context.Context, c *Connection) error {
	etag, err := s.put(ctx, s.conns, c.ID, c.ETag, c, entity{})
	if err != nil {
		return fmt.Errorf("connection %w", err)
	}
	c.ETag = etag
	return nil
}

// GetConnection reads a connection.
func (s *Store) GetConnection(ctx context.Context, id string) (*Connection, error) {
	var c Connection
	etag, err := s.get(ctx, s.conns, id, &c)
	if err != nil {
		return nil, fmt.Errorf("connection %w", err)
	}
	c.ETag = etag
	return &c, nil
}

// ListConnections lists every connection.
func (s *Store) ListConnections(ctx context.Context) ([]Connection, error) {
	return list(ctx, s.conns, "", func(c *Connection, e string) { c.ETag = e })
}

// DeleteConnection deletes a connection if unchanged since read.
func (s *Store) DeleteConnection(ctx context.Context, c *Connection) error {
	e := azcore.ETag(c.ETag)
	_, err := s.conns.DeleteEntity(ctx, partition, c.ID, &aztables.DeleteEntityOptions{IfMatch: &e})
	if err := translate("delete connection "+c.ID, err); err != nil && !errors.Is(err, ErrNotFound) {
		return err
	}
	return nil
}

// PutEnvironment creates e (empty ETag) or replaces it if unchanged since read.
func (s *Store) PutEnvironment(ctx context.Context, e *Environment) error {
	etag, err := s.put(ctx, s.envs, e.ID, e.ETag, e, entity{ConnectionId: e.ConnectionID, Url: e.URL})
	if err != nil {
		return fmt.Errorf("environment %w", err)
	}
	e.ETag = etag
	return nil
}

// GetEnvironment reads an environment.
func (s *Store) GetEnvironment(ctx context.Context, id string) (*Environment, error) {
	var e Environment
	etag, err := s.get(ctx, s.envs, id, &e)
	if err != nil {
		return nil, fmt.Errorf("environment %w", err)
	}
	e.ETag = etag
	return &e, nil
}

// ListEnvironments lists environments, all of them when connectionID is "".
// The backup scheduler reads policies through it.
func (s *Store) ListEnvironments(ctx context.Context, connectionID string) ([]Environment, error) {
	filter := ""
	if connectionID != "" {
		filter = "ConnectionId eq '" + escapeOData(connectionID) + "'"
	}
	return list(ctx, s.envs, filter, func(e *Environment, t string) { e.ETag = t })
}

func escapeOData(s string) string {
	out := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' {
			out = append(out, '\'')
		}
		out = append(out, s[i])
	}
	return string(out)
}
