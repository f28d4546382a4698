package runstate

import (
	"context"
	"errors"
	"strings"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// Run statuses.
const (
	RunPending    = "pending"    // created, scan message sent
	RunRunning    = "running"    // scanned, tables being extracted
	RunFinalizing = "finalizing" // every table ended, manifest being written
	RunSucceeded  = "succeeded"
	RunPartial    = "partial" // some tables failed; their reasons are in the tasks and the manifest
	RunFailed     = "failed"
	RunCancelled  = "cancelled" // ended on request before it finished; Reason says by whom
)

// Terminal reports whether status is an end state.
func Terminal(status string) bool {
	return status == RunSucceeded || status == RunPartial || status == RunFailed || status == RunCancelled
}

// Triggers.
const (
	TriggerSchedule = "schedule"
	TriggerOnDemand = "on-demand"
)

// Run is one backup of one environment.
type Run struct {
	Environment string `json:"environment"`
	ID          string `json:"id"`
	Status      string `json:"status"`
	Kind        string `json:"kind,omitempty"` // full | incremental (decided at scan)
	Trigger     string `json:"trigger"`
	// FullRequested: the run was asked to read every table in full
	// (on demand, {"full": true}), whatever the policy says.
	FullRequested bool      `json:"fullRequested,omitempty"`
	CreatedAt     time.Time `json:"createdAt"`
	StartedAt     time.Time `json:"startedAt,omitzero"`
	FinishedAt    time.Time `json:"finishedAt,omitzero"`
	// BaseRun is the previous finished run the incremental builds on.
	BaseRun string `json:"baseRun,omitempty"`
	// Concurrency is the current number of tables extracted at once
	// (adapted: x-ms-dop-hint to start, halved on 429, +1 per clean table).
	Concurrency    int `json:"concurrency,omitempty"`
	MaxConcurrency int `json:"maxConcurrency,omitempty"`
	// Identities is how many identities of the connection pages are spread over.
	Identities int `json:"identities,omitempty"`

	Tables    int    `json:"tables"`
	Done      int    `json:"done"`
	Failed    int    `json:"failed"`
	Skipped   int    `json:"skipped"`
	Records   int64  `json:"records"`
	Deletes   int64  `json:"deletes"`
	Pages     int    `json:"pages"`
	Bytes     int64  `json:"bytes"`
	Files     int64  `json:"files"`
	FileBytes int64  `json:"fileBytes"`
	Throttled int64  `json:"throttled"`
	Reason    string `json:"reason,omitempty"`

	// MetadataBlob, MetadataBytes and MetadataSHA256 describe the snapshot
	// written by the scan.
	MetadataBlob   string `json:"metadataBlob,omitempty"`
	MetadataBytes  int64  `json:"metadataBytes,omitempty"`
	MetadataSHA256 string `json:"metadataSha256,omitempty"`
	// Progress of the table tasks, kept in the run row so that moving the
	// run on (launching queued tables, noticing the last one ended) reads
	// one row instead of every task (see shared/backup lifecycle.go):
	// Launched holds the orders of the tasks whose first extract message was
	// claimed, Ended those of the tasks that ended (skipped ones from the
	// scan on), Launching the claimed orders whose messages may not be sent
	// yet (re-sent by the next move until cleared). Tracked says the run
	// keeps them (runs scanned before did not; they are rebuilt from the
	// tasks once).
	Tracked   bool     `json:"tracked,omitempty"`
	Launched  OrderSet `json:"launched,omitzero"`
	Ended     OrderSet `json:"ended,omitzero"`
	Launching []Launch `json:"launching,omitempty"`

	// ScanRequests is how many Web API requests the scan sent (WhoAmI, the
	// table list, the metadata reads, retries included); MetadataRead how the
	// table metadata was read ("full" or "incremental", the changes since the
	// previous run's snapshot) and MetadataReason why.
	ScanRequests   int    `json:"scanRequests,omitempty"`
	MetadataRead   string `json:"metadataRead,omitempty"`
	MetadataReason string `json:"metadataReason,omitempty"`

	// UpdatedAt is the time of the last write (set by the store).
	UpdatedAt time.Time `json:"updatedAt,omitzero"`

	ETag tablestore.ETag `json:"-"`
}

// Launch is a claimed launch of a task: its order, the order of the task
// whose end made room for it (-1: the scan), and when it was claimed.
type Launch struct {
	Order int       `json:"order"`
	Cause int       `json:"cause"`
	At    time.Time `json:"at"`
}

// Seconds is the run's duration so far (or in total once finished).
func (r *Run) Seconds(now time.Time) float64 {
	end := r.FinishedAt
	if end.IsZero() {
		end = now
	}
	return end.Sub(r.CreatedAt).Seconds()
}

type lock struct {
	RunID string `json:"runId"`
}

// RunRequest is what a caller asks of a new run beyond its trigger.
type RunRequest struct {
	// Full reads every table in full (Run.FullRequested).
	Full bool
}

// CreateRun creates a pending run of env, unless env has a run in progress
// (*ActiveError). It takes the environment's "~active" row with a
// conditional write first, so two concurrent callers cannot both succeed.
func (s *Store) CreateRun(ctx context.Context, env, trigger string) (*Run, error) {
	return s.CreateRunWith(ctx, env, trigger, RunRequest{})
}

// CreateRunWith is CreateRun with the run's request.
func (s *Store) CreateRunWith(ctx context.Context, env, trigger string, req RunRequest) (*Run, error) {
	now := s.now().UTC()
	r := &Run{Environment: env, ID: NewRunID(now), Status: RunPending, Trigger: trigger, FullRequested: req.Full, CreatedAt: now, UpdatedAt: now}
	l, etag, err := s.locks.Get(ctx, env, lockRow)
	switch {
	case errors.Is(err, ErrNotFound):
		if _, err := s.locks.Insert(ctx, env, lockRow, &lock{RunID: r.ID}); err != nil {
			if errors.Is(err, ErrConflict) {
				return nil, &ActiveError{RunID: "(just created)"}
			}
			return nil, err
		}
	case err != nil:
		return nil, err
	default:
		if l.RunID != "" {
			cur, err := s.GetRun(ctx, env, l.RunID)
			if err == nil && !Terminal(cur.Status) {
				return nil, &ActiveError{RunID: l.RunID}
			}
			if err != nil && !errors.Is(err, ErrNotFound) {
				return nil, err
			}
			// A lock whose run row is not written yet belongs to a CreateRun
			// in progress: taking it would start a second run. Only a lock
			// left by a crash between the two writes (older than a minute,
			// by the time in its run id) is taken over.
			if errors.Is(err, ErrNotFound) {
				if at, perr := time.Parse(RunIDTimeLayout, strings.SplitN(l.RunID, "-", 2)[0]); perr == nil && now.Sub(at) < time.Minute {
					return nil, &ActiveError{RunID: l.RunID}
				}
			}
		}
		if _, err := s.locks.Replace(ctx, env, lockRow, &lock{RunID: r.ID}, etag); err != nil {
			if errors.Is(err, ErrConflict) {
				return nil, &ActiveError{RunID: "(just taken)"}
			}
			return nil, err
		}
	}
	etag, err = s.runs.Insert(ctx, env, r.ID, r)
	if err != nil {
		return nil, err
	}
	r.ETag = etag
	return r, nil
}

// ActiveRun returns the id of env's run in progress ("" when none).
func (s *Store) ActiveRun(ctx context.Context, env string) (string, error) {
	l, _, err := s.locks.Get(ctx, env, lockRow)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if l.RunID == "" {
		return "", nil
	}
	r, err := s.GetRun(ctx, env, l.RunID)
	if errors.Is(err, ErrNotFound) {
		return "", nil
	}
	if err != nil {
		return "", err
	}
	if Terminal(r.Status) {
		return "", nil
	}
	return r.ID, nil
}

// ReleaseRun clears env's "~active" row if it still names runID.
func (s *Store) ReleaseRun(ctx context.Context, env, runID string) error {
	l, etag, err := s.locks.Get(ctx, env, lockRow)
	if errors.Is(err, ErrNotFound) {
		return nil
	}
	if err != nil {
		return err
	}
	if l.RunID != runID {
		return nil
	}
	err = s.locks.Delete(ctx, env, lockRow, etag)
	if errors.Is(err, ErrConflict) {
		return nil // taken over meanwhile
	}
	return err
}

// GetRun reads a run.
func (s *Store) GetRun(ctx context.Context, env, id string) (*Run, error) {
	r, etag, err := s.runs.Get(ctx, env, id)
	if err != nil {
		return nil, err
	}
	r.ETag = etag
	return r, nil
}

// UpdateRun writes r if it has not changed since read (ErrConflict otherwise).
func (s *Store) UpdateRun(ctx context.Context, r *Run) error {
	r.UpdatedAt = s.now().UTC()
	etag, err := s.runs.Replace(ctx, r.Environment, r.ID, r, r.ETag)
	if err != nil {
		return err
	}
	r.ETag = etag
	return nil
}

// ModifyRun applies fn to the current run and writes it, re-reading and
// re-applying on conflict (tablestore.Modify). fn returning false writes
// nothing.
func (s *Store) ModifyRun(ctx context.Context, env, id string, fn func(*Run) (bool, error)) (*Run, error) {
	r, etag, err := s.runs.Modify(ctx, env, id, func(r *Run) (bool, error) {
		ok, err := fn(r)
		if ok && err == nil {
			r.UpdatedAt = s.now().UTC()
		}
		return ok, err
	})
	if r != nil {
		r.ETag = etag
	}
	return r, err
}

// ListRuns lists env's runs, oldest first.
func (s *Store) ListRuns(ctx context.Context, env string) ([]*Run, error) {
	var out []*Run
	for e, err := range s.runs.Store.List(ctx, env, "") {
		if err != nil {
			return out, err
		}
		if e.RowKey == lockRow {
			continue
		}
		r, err := tablestore.Decode[Run](e)
		if err != nil {
			return out, err
		}
		r.ETag = e.ETag
		out = append(out, r)
	}
	return out, nil
}

// DeleteRun removes a run row and its tasks.
func (s *Store) DeleteRun(ctx context.Context, env, id string) error {
	if err := s.DeleteTasks(ctx, id); err != nil {
		return err
	}
	return s.runs.Delete(ctx, env, id, "")
}
