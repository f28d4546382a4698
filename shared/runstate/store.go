package runstate

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// Table names used by the app's run state. The infra tests compare them with
// the tables the Bicep templates create.
const (
	TableRuns  = "runs"
	TableTasks = "tabletasks"
)

// Tables lists the Table Storage tables this package uses.
func Tables() []string { return []string{TableRuns, TableTasks} }

// The store's errors are tablestore's; these names stay because the
// engines and handlers test runstate's errors with errors.Is.
var (
	// ErrNotFound: the run or task does not exist.
	ErrNotFound = tablestore.ErrNotFound
	// ErrConflict: the entity changed since it was read (ETag mismatch) or
	// already exists; re-read and decide again.
	ErrConflict = tablestore.ErrConflict
)

// ActiveError is returned by CreateRun when the environment has a run in progress.
type ActiveError struct{ RunID string }

func (e *ActiveError) Error() string {
	return "runstate: run " + e.RunID + " is in progress for this environment"
}

const lockRow = "~active"

// Store reads and writes runs and tasks.
type Store struct {
	runs  tablestore.Docs[Run]
	locks tablestore.Docs[lock] // the "~active" rows, in the runs table
	tasks tablestore.Docs[Task]
	now   func() time.Time
}

// Open returns a Store on svc, creating the tables when missing.
func Open(ctx context.Context, svc *aztables.ServiceClient) (*Store, error) {
	return OpenWithClock(ctx, svc, time.Now)
}

// OpenWithClock is Open with the clock that stamps CreatedAt/UpdatedAt (tests).
func OpenWithClock(ctx context.Context, svc *aztables.ServiceClient, now func() time.Time) (*Store, error) {
	runs, err := tablestore.NewAzure(ctx, svc, TableRuns)
	if err != nil {
		return nil, fmt.Errorf("runstate: %w", err)
	}
	tasks, err := tablestore.NewAzure(ctx, svc, TableTasks)
	if err != nil {
		return nil, fmt.Errorf("runstate: %w", err)
	}
	return New(runs, tasks, now), nil
}

// New returns a Store on the runs and tasks tables (tablestore.NewMemory for
// engine unit tests). now stamps CreatedAt/UpdatedAt; nil means time.Now.
func New(runs, tasks tablestore.Store, now func() time.Time) *Store {
	if now == nil {
		now = time.Now
	}
	status := func(s string) map[string]string { return map[string]string{"Status": s} }
	return &Store{
		runs:  tablestore.Docs[Run]{Store: runs, Columns: func(r *Run) map[string]string { return status(r.Status) }},
		locks: tablestore.Docs[lock]{Store: runs, Columns: func(*lock) map[string]string { return status("lock") }},
		tasks: tablestore.Docs[Task]{Store: tasks, Columns: func(t *Task) map[string]string { return status(t.Status) }},
		now:   now,
	}
}

// RunIDTimeLayout is the time prefix of run ids (UTC, microseconds), so
// run ids of an environment sort in creation order.
const RunIDTimeLayout = "20060102T150405.000000Z"

// NewRunID returns a new run id: the UTC time and 8 random hex digits.
func NewRunID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return now.UTC().Format(RunIDTimeLayout) + "-" + hex.EncodeToString(b[:])
}
