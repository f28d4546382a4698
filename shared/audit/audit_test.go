package audit_test

import (
	"context"
	"os"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }

// TestLog: entries come back newest first across months, up to the limit,
// on Table Storage and on the in-memory table.
func TestLog(t *testing.T) {
	t.Run("azure", func(t *testing.T) {
		svc, err := aztables.NewServiceClientFromConnectionString(azurite.Shared(t).ConnectionString(), nil)
		if err != nil {
			t.Fatal(err)
		}
		l, err := audit.NewTableLog(context.Background(), svc)
		if err != nil {
			t.Fatal(err)
		}
		testLog(t, l)
	})
	t.Run("memory", func(t *testing.T) { testLog(t, audit.NewLog(tablestore.NewMemory(audit.Table))) })
}

func testLog(t *testing.T, l audit.Log) {
	ctx := context.Background()
	now := time.Now().UTC()
	for i, at := range []time.Time{now.AddDate(0, 0, -40), now.Add(-time.Minute), now} {
		e := audit.Entry{Time: at, Actor: "José", Action: "connection.update", Target: "connections/c" + string(rune('0'+i)), Outcome: "ok"}
		if err := l.Write(ctx, e); err != nil {
			t.Fatal(err)
		}
	}
	got, err := l.List(ctx, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 3 || got[0].Target != "connections/c2" || got[1].Target != "connections/c1" || got[2].Target != "connections/c0" {
		t.Fatalf("listed %+v, want c2, c1, c0", got)
	}
	if got[0].Actor != "José" || !got[0].Time.Equal(now) {
		t.Fatalf("entry read back as %+v", got[0])
	}
	if got, err := l.List(ctx, 2); err != nil || len(got) != 2 || got[1].Target != "connections/c1" {
		t.Fatalf("limit 2: %+v %v", got, err)
	}
}
