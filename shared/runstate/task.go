package runstate

import (
	"context"
	"errors"
	"sort"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// Task statuses.
const (
	TaskQueued  = "queued"  // waiting for a concurrency slot
	TaskRunning = "running" // pages being extracted
	TaskFiles   = "files"   // every page read; file downloads outstanding
	TaskDone    = "done"
	TaskFailed  = "failed"
	TaskSkipped = "skipped"
)

// TaskTerminal reports whether a task status is an end state.
func TaskTerminal(status string) bool {
	return status == TaskDone || status == TaskFailed || status == TaskSkipped
}

// Task is the extraction of one table in one run.
type Task struct {
	Run         string `json:"run"`
	Table       string `json:"table"`
	Environment string `json:"environment"`
	Order       int    `json:"order"`
	EntitySet   string `json:"entitySet"`
	PrimaryID   string `json:"primaryId"`
	Status      string `json:"status"`
	// Mode is full or delta (backupformat.ModeFull/ModeDelta); Phase the
	// current phase (backupformat.PhaseFull/PhaseReread/PhaseDelta).
	Mode           string `json:"mode"`
	Phase          string `json:"phase"`
	ChangeTracking bool   `json:"changeTracking"`
	// Page is the number of pages written so far; NextLink the link of page
	// Page+1 in the current phase ("" = start of the phase).
	Page     int    `json:"page"`
	NextLink string `json:"nextLink,omitempty"`
	// Sent is the highest page whose continuation message has been sent.
	Sent int `json:"sent"`
	// DeltaLink: for a delta table, the link the delta phase starts from
	// (the previous run's); once the table is done, the link the next run
	// continues from.
	DeltaLink string `json:"deltaLink,omitempty"`
	// FullStartedAt: start of the table's last full read (carried along the
	// chain). RereadFrom: lower bound of the re-read phase (zero = none).
	FullStartedAt time.Time `json:"fullStartedAt,omitzero"`
	RereadFrom    time.Time `json:"rereadFrom,omitzero"`
	// RereadPending is set on a full read with change tracking: the next run
	// must re-read records modified since FullStartedAt.
	RereadPending bool `json:"rereadPending,omitempty"`
	// Sweep asks for the id sweep after the delta (and re-read) phases: set
	// on the first incremental after a full read (see docs/storage-format.md).
	// SweepFrom is the first page number of the sweep phase; Swept says the
	// sweep ended; SweepIDs counts the live ids read so far, SweepBackupIDs
	// the ids compared with, SweepTombstones the tombstones written.
	Sweep           bool  `json:"sweep,omitempty"`
	SweepFrom       int   `json:"sweepFrom,omitempty"`
	Swept           bool  `json:"swept,omitempty"`
	SweepIDs        int64 `json:"sweepIds,omitempty"`
	SweepBackupIDs  int64 `json:"sweepBackupIds,omitempty"`
	SweepTombstones int64 `json:"sweepTombstones,omitempty"`

	Chain          []string `json:"chain,omitempty"`
	FallbackReason string   `json:"fallbackReason,omitempty"`
	Reason         string   `json:"reason,omitempty"`
	FileColumns    []string `json:"fileColumns,omitempty"`
	ImageColumns   []string `json:"imageColumns,omitempty"`
	// InlineFiles names a column holding base64 file content in the record
	// (annotation.documentbody, activitymimeattachment.body).
	InlineFiles string `json:"inlineFiles,omitempty"`

	Records   int64 `json:"records"`
	Deletes   int64 `json:"deletes"`
	Bytes     int64 `json:"bytes"`
	Throttled int64 `json:"throttled"`
	// Pages are the stats of each written page, in order.
	Pages []backupformat.PageRef `json:"pages,omitempty"`
	// PageETags are the ETags of the page blobs as uploaded (finalize checks
	// them; a mismatch means a duplicate overwrote a page and it is re-hashed).
	PageETags []string `json:"pageETags,omitempty"`

	// UpdatedAt is the time of the last write (set by the store).
	UpdatedAt time.Time `json:"updatedAt,omitzero"`

	ETag tablestore.ETag `json:"-"`
}

// AddTasks inserts tasks that do not exist yet; existing rows (a scan
// replayed after a crash) are left as they are.
func (s *Store) AddTasks(ctx context.Context, tasks []*Task) error {
	for _, t := range tasks {
		t.UpdatedAt = s.now().UTC()
		etag, err := s.tasks.Insert(ctx, t.Run, t.Table, t)
		if errors.Is(err, ErrConflict) {
			continue
		}
		if err != nil {
			return err
		}
		t.ETag = etag
	}
	return nil
}

// GetTask reads one task.
func (s *Store) GetTask(ctx context.Context, run, table string) (*Task, error) {
	t, etag, err := s.tasks.Get(ctx, run, table)
	if err != nil {
		return nil, err
	}
	t.ETag = etag
	return t, nil
}

// UpdateTask writes t if unchanged since read (ErrConflict otherwise).
func (s *Store) UpdateTask(ctx context.Context, t *Task) error {
	t.UpdatedAt = s.now().UTC()
	etag, err := s.tasks.Replace(ctx, t.Run, t.Table, t, t.ETag)
	if err != nil {
		return err
	}
	t.ETag = etag
	return nil
}

// ModifyTask applies fn to the current task and writes it, re-reading and
// re-applying on conflict (tablestore.Modify). fn returning false writes
// nothing.
func (s *Store) ModifyTask(ctx context.Context, run, table string, fn func(*Task) (bool, error)) (*Task, error) {
	t, etag, err := s.tasks.Modify(ctx, run, table, func(t *Task) (bool, error) {
		ok, err := fn(t)
		if ok && err == nil {
			t.UpdatedAt = s.now().UTC()
		}
		return ok, err
	})
	if t != nil {
		t.ETag = etag
	}
	return t, err
}

// ModifyTaskFrom is ModifyTask starting from t as read before (its ETag):
// one conditional write when the task did not change since, ModifyTask's
// read-modify-write otherwise (and when fn declines t as read). fn may be
// applied to t and again to the task as re-read.
func (s *Store) ModifyTaskFrom(ctx context.Context, t *Task, fn func(*Task) (bool, error)) (*Task, error) {
	if t.ETag != "" {
		ok, err := fn(t)
		if err != nil {
			return nil, err
		}
		if ok {
			err := s.UpdateTask(ctx, t)
			if err == nil {
				return t, nil
			}
			if !errors.Is(err, ErrConflict) {
				return nil, err
			}
		}
	}
	return s.ModifyTask(ctx, t.Run, t.Table, fn)
}

// ListTasks lists a run's tasks by Order.
func (s *Store) ListTasks(ctx context.Context, run string) ([]*Task, error) {
	var out []*Task
	for it, err := range s.tasks.List(ctx, run, "") {
		if err != nil {
			return nil, err
		}
		it.Value.ETag = it.ETag
		out = append(out, it.Value)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].Order != out[j].Order {
			return out[i].Order < out[j].Order
		}
		return out[i].Table < out[j].Table
	})
	return out, nil
}

// DeleteTasks removes every task of a run.
func (s *Store) DeleteTasks(ctx context.Context, run string) error {
	tasks, err := s.ListTasks(ctx, run)
	if err != nil {
		return err
	}
	for _, t := range tasks {
		if err := s.tasks.Delete(ctx, run, t.Table, ""); err != nil {
			return err
		}
	}
	return nil
}
