package connections

import (
	"context"
	"fmt"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// Table names and partition keys. Both tables hold one small partition each
// (an organization has tens, not thousands, of connections and environments):
// PartitionKey is constant, RowKey is the id, the row is the JSON document
// (tablestore), and ConnectionId and Url are columns too, for people
// reading the table.
const (
	TableConnections  = "connections"
	TableEnvironments = "environments"
	partition         = "all"
)

// Store persists connections and environments in Table Storage. Updates are
// conditional on the ETag read (optimistic concurrency): a concurrent change
// makes the second writer fail with ErrConflict instead of losing the first.
type Store struct {
	conns tablestore.Docs[Connection]
	envs  tablestore.Docs[Environment]
}

// NewStore returns a Store over svc, creating the tables when missing.
func NewStore(ctx context.Context, svc *aztables.ServiceClient) (*Store, error) {
	conns, err := tablestore.NewAzure(ctx, svc, TableConnections)
	if err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	envs, err := tablestore.NewAzure(ctx, svc, TableEnvironments)
	if err != nil {
		return nil, fmt.Errorf("connections: %w", err)
	}
	return NewStoreOn(conns, envs), nil
}

// NewStoreOn returns a Store on the connections and environments tables
// (tablestore.NewMemory for unit tests).
func NewStoreOn(conns, envs tablestore.Store) *Store {
	return &Store{
		conns: tablestore.Docs[Connection]{Store: conns},
		envs: tablestore.Docs[Environment]{Store: envs, Columns: func(e *Environment) map[string]string {
			cols := map[string]string{}
			if e.ConnectionID != "" {
				cols["ConnectionId"] = e.ConnectionID
			}
			if e.URL != "" {
				cols["Url"] = e.URL
			}
			return cols
		}},
	}
}

// put creates the document (empty ETag) or replaces it if unchanged since
// read, and returns the new ETag.
func put[T any](ctx context.Context, d tablestore.Docs[T], id, etag string, v *T) (string, error) {
	var et tablestore.ETag
	var err error
	if etag == "" {
		et, err = d.Insert(ctx, partition, id, v)
	} else {
		et, err = d.Replace(ctx, partition, id, v, tablestore.ETag(etag))
	}
	return string(et), err
}

// PutConnection creates c (empty ETag) or replaces it if unchanged since read.
// On success c.ETag is the new ETag.
func (s *Store) PutConnection(ctx context.Context, c *Connection) error {
	etag, err := put(ctx, s.conns, c.ID, c.ETag, c)
	if err != nil {
		return fmt.Errorf("connection %s: %w", c.ID, err)
	}
	c.ETag = etag
	return nil
}

// GetConnection reads a connection.
func (s *Store) GetConnection(ctx context.Context, id string) (*Connection, error) {
	c, etag, err := s.conns.Get(ctx, partition, id)
	if err != nil {
		return nil, fmt.Errorf("connection %s: %w", id, err)
	}
	c.ETag = string(etag)
	return c, nil
}

// ListConnections lists every connection.
func (s *Store) ListConnections(ctx context.Context) ([]Connection, error) {
	var out []Connection
	for it, err := range s.conns.List(ctx, partition, "") {
		if err != nil {
			return nil, fmt.Errorf("list connections: %w", err)
		}
		it.Value.ETag = string(it.ETag)
		out = append(out, *it.Value)
	}
	return out, nil
}

// DeleteConnection deletes a connection if unchanged since read (any
// version when c.ETag is empty); a connection already gone is success.
func (s *Store) DeleteConnection(ctx context.Context, c *Connection) error {
	if err := s.conns.Delete(ctx, partition, c.ID, tablestore.ETag(c.ETag)); err != nil {
		return fmt.Errorf("delete connection %s: %w", c.ID, err)
	}
	return nil
}

// PutEnvironment creates e (empty ETag) or replaces it if unchanged since read.
func (s *Store) PutEnvironment(ctx context.Context, e *Environment) error {
	etag, err := put(ctx, s.envs, e.ID, e.ETag, e)
	if err != nil {
		return fmt.Errorf("environment %s: %w", e.ID, err)
	}
	e.ETag = etag
	return nil
}

// DeleteEnvironment deletes an environment if unchanged since read (any
// version when e.ETag is empty); one already gone is success.
func (s *Store) DeleteEnvironment(ctx context.Context, e *Environment) error {
	if err := s.envs.Delete(ctx, partition, e.ID, tablestore.ETag(e.ETag)); err != nil {
		return fmt.Errorf("delete environment %s: %w", e.ID, err)
	}
	return nil
}

// GetEnvironment reads an environment.
func (s *Store) GetEnvironment(ctx context.Context, id string) (*Environment, error) {
	e, etag, err := s.envs.Get(ctx, partition, id)
	if err != nil {
		return nil, fmt.Errorf("environment %s: %w", id, err)
	}
	e.ETag = string(etag)
	return e, nil
}

// ListEnvironments lists environments, all of them when connectionID is "".
// The backup scheduler reads policies through it. The partition is small,
// so the connection is matched here rather than in a query.
func (s *Store) ListEnvironments(ctx context.Context, connectionID string) ([]Environment, error) {
	var out []Environment
	for it, err := range s.envs.List(ctx, partition, "") {
		if err != nil {
			return nil, fmt.Errorf("list environments: %w", err)
		}
		if connectionID != "" && it.Value.ConnectionID != connectionID {
			continue
		}
		it.Value.ETag = string(it.ETag)
		out = append(out, *it.Value)
	}
	return out, nil
}
