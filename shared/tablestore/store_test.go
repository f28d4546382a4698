package tablestore_test

import (
	"context"
	"fmt"
	"os"
	"sync/atomic"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore/tablestoretest"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }

func TestMemory(t *testing.T) {
	tablestoretest.Run(t, func(t *testing.T) tablestore.Store { return tablestore.NewMemory("test") })
}

// TestAzure runs the suite against Azurite through the real aztables client,
// one new table per subtest.
func TestAzure(t *testing.T) {
	svc := tableService(t)
	var n atomic.Int64
	tablestoretest.Run(t, func(t *testing.T) tablestore.Store {
		s, err := tablestore.NewAzure(context.Background(), svc, fmt.Sprintf("conformance%d", n.Add(1)))
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func tableService(t *testing.T) *aztables.ServiceClient {
	t.Helper()
	az := azurite.Shared(t)
	svc, err := aztables.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return svc
}

// TestAzureReadsLegacyEntities: rows written by the stores before this
// package (runstate's D0..Dn, the single Data property of the others) are
// read through the real client, so existing tables keep working.
func TestAzureReadsLegacyEntities(t *testing.T) {
	ctx := context.Background()
	svc := tableService(t)
	s, err := tablestore.NewAzure(ctx, svc, "legacy")
	if err != nil {
		t.Fatal(err)
	}
	for _, raw := range []string{
		`{"PartitionKey":"env","RowKey":"r1","Status":"running","Chunks":2,"D0":"{\"id\":\"r1\",","D1":"\"status\":\"running\"}"}`,
		`{"PartitionKey":"env","RowKey":"r2","Data":"{\"id\":\"r2\",\"status\":\"done\"}","Url":"https://x"}`,
	} {
		if _, err := svc.NewClient("legacy").AddEntity(ctx, []byte(raw), nil); err != nil {
			t.Fatal(err)
		}
	}
	e, err := s.Get(ctx, "env", "r1")
	if err != nil || string(e.Doc) != `{"id":"r1","status":"running"}` || e.Columns["Status"] != "running" {
		t.Fatalf("legacy runstate row: %+v %v", e, err)
	}
	var got []string
	for e, err := range s.List(ctx, "env", "") {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, string(e.Doc))
	}
	if len(got) != 2 || got[1] != `{"id":"r2","status":"done"}` {
		t.Fatalf("listed %v", got)
	}
	// Rewriting a legacy row through the store replaces the old properties.
	if _, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "env", RowKey: "r1", Doc: []byte(`{"id":"r1"}`)}, e.ETag); err != nil {
		t.Fatal(err)
	}
	if e, err := s.Get(ctx, "env", "r1"); err != nil || string(e.Doc) != `{"id":"r1"}` || len(e.Columns) != 0 {
		t.Fatalf("rewritten legacy row: %+v %v", e, err)
	}
}
