package runstate_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }

var tableSeq atomic.Int64

// stores runs a test on the Azure store (Azurite, fresh tables) and on the
// in-memory one: the engines' unit tests may use either.
func stores(t *testing.T, test func(t *testing.T, s *runstate.Store)) {
	t.Run("azure", func(t *testing.T) {
		svc, err := aztables.NewServiceClientFromConnectionString(azurite.Shared(t).ConnectionString(), nil)
		if err != nil {
			t.Fatal(err)
		}
		n := tableSeq.Add(1)
		ctx := context.Background()
		runs, err := tablestore.NewAzure(ctx, svc, fmt.Sprintf("runs%d", n))
		if err != nil {
			t.Fatal(err)
		}
		tasks, err := tablestore.NewAzure(ctx, svc, fmt.Sprintf("tasks%d", n))
		if err != nil {
			t.Fatal(err)
		}
		test(t, runstate.New(runs, tasks, nil))
	})
	t.Run("memory", func(t *testing.T) {
		test(t, runstate.New(tablestore.NewMemory(runstate.TableRuns), tablestore.NewMemory(runstate.TableTasks), nil))
	})
}

// TestOpen: Open creates the tables and the store works on them.
func TestOpen(t *testing.T) {
	svc, err := aztables.NewServiceClientFromConnectionString(azurite.Shared(t).ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s, err := runstate.Open(context.Background(), svc)
	if err != nil {
		t.Fatal(err)
	}
	r, err := s.CreateRun(context.Background(), "envopen", runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	if got, err := s.GetRun(context.Background(), "envopen", r.ID); err != nil || got.ID != r.ID || got.ETag != r.ETag {
		t.Fatalf("read back %+v %v", got, err)
	}
}

// TestOneRunPerEnvironment: concurrent CreateRun calls for one environment
// give exactly one run; after it ends, a new one can start.
func TestOneRunPerEnvironment(t *testing.T) { stores(t, testOneRunPerEnvironment) }

func testOneRunPerEnvironment(t *testing.T, s *runstate.Store) {
	ctx := context.Background()
	var wg sync.WaitGroup
	var mu sync.Mutex
	var created []*runstate.Run
	active := 0
	for i := 0; i < 8; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			r, err := s.CreateRun(ctx, "env1", runstate.TriggerOnDemand)
			mu.Lock()
			defer mu.Unlock()
			var ae *runstate.ActiveError
			switch {
			case errors.As(err, &ae):
				active++
			case err != nil:
				t.Error(err)
			default:
				created = append(created, r)
			}
		}()
	}
	wg.Wait()
	if len(created) != 1 || active != 7 {
		t.Fatalf("created %d runs, %d refused; want 1 and 7", len(created), active)
	}
	id, err := s.ActiveRun(ctx, "env1")
	if err != nil || id != created[0].ID {
		t.Fatalf("active run %q %v, want %s", id, err, created[0].ID)
	}
	// A stale ETag is refused.
	stale := *created[0]
	created[0].Status = runstate.RunRunning
	if err := s.UpdateRun(ctx, created[0]); err != nil {
		t.Fatal(err)
	}
	stale.Status = runstate.RunFailed
	if err := s.UpdateRun(ctx, &stale); !errors.Is(err, runstate.ErrConflict) {
		t.Fatalf("update with a stale ETag: %v, want ErrConflict", err)
	}
	// Ended: the next run may start (the lock is taken over even if not released).
	if _, err := s.ModifyRun(ctx, "env1", created[0].ID, func(r *runstate.Run) (bool, error) {
		r.Status = runstate.RunSucceeded
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	r2, err := s.CreateRun(ctx, "env1", runstate.TriggerSchedule)
	if err != nil {
		t.Fatalf("second run: %v", err)
	}
	runs, err := s.ListRuns(ctx, "env1")
	if err != nil || len(runs) != 2 || runs[1].ID != r2.ID {
		t.Fatalf("runs %v %v", runs, err)
	}
	// Another environment is independent.
	if _, err := s.CreateRun(ctx, "env2", runstate.TriggerSchedule); err != nil {
		t.Fatal(err)
	}
}

// TestLargeTaskState: a task with thousands of page entries is stored over
// several properties and read back whole.
func TestLargeTaskState(t *testing.T) { stores(t, testLargeTaskState) }

func testLargeTaskState(t *testing.T, s *runstate.Store) {
	ctx := context.Background()
	task := &runstate.Task{Run: "r1", Table: "account", Environment: "e", Status: runstate.TaskQueued}
	if err := s.AddTasks(ctx, []*runstate.Task{task}); err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 2000; i++ {
		task.Pages = append(task.Pages, backupformat.PageRef{N: i, Phase: "full", Blob: fmt.Sprintf("env/e/run/r1/tables/account/page-%06d.ndjson.gz", i),
			PageStats: backupformat.PageStats{Records: 5000, Bytes: 123456, SHA256: strings.Repeat("ab", 32)}})
	}
	task.Page = 2000
	if err := s.UpdateTask(ctx, task); err != nil {
		t.Fatal(err)
	}
	got, err := s.GetTask(ctx, "r1", "account")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Pages) != 2000 || got.Pages[1999].N != 2000 || got.Page != 2000 {
		t.Fatalf("read back %d pages", len(got.Pages))
	}
	// AddTasks does not reset an existing task (replayed scan).
	if err := s.AddTasks(ctx, []*runstate.Task{{Run: "r1", Table: "account", Status: runstate.TaskQueued}}); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.GetTask(ctx, "r1", "account"); got.Page != 2000 {
		t.Fatalf("AddTasks reset an existing task")
	}
	_ = time.Now
}
