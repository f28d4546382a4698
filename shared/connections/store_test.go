package connections_test

import (
	"context"
	"errors"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// TestStoreOnMemory: the store on in-memory tables (what unit tests of the
// service's callers can use) keeps the contract: conditional writes, the
// connection filter, idempotent delete.
func TestStoreOnMemory(t *testing.T) {
	ctx := context.Background()
	s := connections.NewStoreOn(tablestore.NewMemory(connections.TableConnections), tablestore.NewMemory(connections.TableEnvironments))
	c := &connections.Connection{ID: "c1", Name: "one"}
	if err := s.PutConnection(ctx, c); err != nil || c.ETag == "" {
		t.Fatalf("create: %v (ETag %q)", err, c.ETag)
	}
	dup := &connections.Connection{ID: "c1"}
	if err := s.PutConnection(ctx, dup); !errors.Is(err, connections.ErrConflict) {
		t.Fatalf("second create: %v, want ErrConflict", err)
	}
	for _, e := range []*connections.Environment{{ID: "e1", ConnectionID: "c1"}, {ID: "e2", ConnectionID: "c2"}, {ID: "e3", ConnectionID: "c1"}} {
		if err := s.PutEnvironment(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	envs, err := s.ListEnvironments(ctx, "c1")
	if err != nil || len(envs) != 2 || envs[0].ID != "e1" || envs[1].ID != "e3" || envs[0].ETag == "" {
		t.Fatalf("environments of c1: %+v %v", envs, err)
	}
	stale := envs[0]
	envs[0].DisplayName = "renamed"
	if err := s.PutEnvironment(ctx, &envs[0]); err != nil {
		t.Fatal(err)
	}
	if err := s.PutEnvironment(ctx, &stale); !errors.Is(err, connections.ErrConflict) {
		t.Fatalf("stale update: %v, want ErrConflict", err)
	}
	if _, err := s.GetConnection(ctx, "nope"); !errors.Is(err, connections.ErrNotFound) {
		t.Fatalf("get missing: %v, want ErrNotFound", err)
	}
	if err := s.DeleteConnection(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteConnection(ctx, c); err != nil {
		t.Fatalf("second delete: %v", err)
	}
}
