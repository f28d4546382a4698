package restore

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/azerr"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
)

// Table Storage tables of restore jobs.
const (
	TableJobs    = "restorejobs"
	TableResults = "restoreresults"
)

// Tables lists the Table Storage tables the package uses.
func Tables() []string { return []string{TableJobs, TableResults} }

// Errors of the store.
var (
	ErrNotFound = errors.New("restore: not found")
	ErrConflict = errors.New("restore: concurrent update")
)

// Job statuses.
const (
	StatusQueued    = "queued"
	StatusPlanning  = "planning"
	StatusRunning   = "running"
	StatusSucceeded = "succeeded"
	StatusPartial   = "partial"
	StatusFailed    = "failed"
)

// Terminal reports a finished job status.
func Terminal(s string) bool { return s == StatusSucceeded || s == StatusPartial || s == StatusFailed }

// Job is a restore job's state (one row; the request itself is a blob).
type Job struct {
	ID          string      `json:"id"`
	Environment string      `json:"environment"`
	Run         string      `json:"run"`
	Target      string      `json:"target"`
	Policy      plan.Policy `json:"policy"`
	DryRun      bool        `json:"dryRun"`
	Status      string      `json:"status"`
	Error       string      `json:"error,omitempty"`
	CreatedAt   time.Time   `json:"createdAt"`
	StartedAt   time.Time   `json:"startedAt,omitzero"`
	FinishedAt  time.Time   `json:"finishedAt,omitzero"`
	Seconds     float64     `json:"seconds,omitempty"`
	// Phases of the chunk sequence (name, first chunk, chunk count).
	Phases    []plan.Phase `json:"phases,omitempty"`
	Chunks    int          `json:"chunks"`
	NextChunk int          `json:"nextChunk"`
	// Lease of the chunk being written.
	LeaseID    string    `json:"leaseId,omitempty"`
	LeaseUntil time.Time `json:"leaseUntil,omitzero"`
	// BatchSize is the adaptive $batch size carried from chunk to chunk.
	BatchSize int    `json:"batchSize,omitempty"`
	Throttled int    `json:"throttled"`
	Counts    Counts `json:"counts"`
	// Unmapped lists references that could not be mapped (first 100).
	Unmapped []plan.Unmapped `json:"unmapped,omitempty"`
	// Notes are job-level findings (e.g. tables of the scope not in the run).
	Notes []string `json:"notes,omitempty"`
	etag  azcore.ETag
}

// Counts sum a job's per-record results (and predictions for a dry run).
type Counts struct {
	Records      int `json:"records"`
	Created      int `json:"created"`
	Updated      int `json:"updated"`
	Skipped      int `json:"skipped"`
	Conflicts    int `json:"conflicts"`
	Failed       int `json:"failed"`
	Associations int `json:"associations"`
	Files        int `json:"files"`
	Unmapped     int `json:"unmapped"`
}

// Result statuses of an operation.
const (
	ResPlanned   = "planned"
	ResPending   = "pending"
	ResCreated   = "created"
	ResUpdated   = "updated"
	ResDone      = "done"
	ResSkipped   = "skipped"
	ResConflict  = "conflict"
	ResFailed    = "failed"
	ResPredicted = "predicted"
)

func finalStatus(s string) bool {
	return s != ResPlanned && s != ResPending
}

// Result is one row of a job's results: an operation or a decision.
type Result struct {
	Key     string      `json:"key"`
	Kind    plan.Kind   `json:"kind"`
	Table   string      `json:"table"`
	Source  string      `json:"sourceId"`
	ID      string      `json:"targetId"`
	Predict plan.Action `json:"predicted"`
	Status  string      `json:"status"`
	Reason  string      `json:"reason,omitempty"`
	Code    string      `json:"code,omitempty"`
	Message string      `json:"message,omitempty"`
	// Warnings: unmapped or dropped references, deferred lookups that failed.
	Warnings []string         `json:"warnings,omitempty"`
	Diff     []plan.FieldDiff `json:"diff,omitempty"`
	Attempts int              `json:"attempts,omitempty"`
}

// Store keeps jobs and results in Table Storage.
type Store struct {
	jobs, results *aztables.Client
}

// OpenStore returns a Store on svc, creating the tables when missing.
func OpenStore(ctx context.Context, svc *aztables.ServiceClient) (*Store, error) {
	s := &Store{jobs: svc.NewClient(TableJobs), results: svc.NewClient(TableResults)}
	if err := storageaccount.EnsureTables(ctx, svc, Tables()...); err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	return s, nil
}

var statusOf = azerr.Status

const jobPartition = "job"

type entity struct {
	aztables.Entity
	Data string `json:"Data"`
}

// CreateJob inserts a new job (ErrConflict when the id exists).
func (s *Store) CreateJob(ctx context.Context, j *Job) error {
	b, err := s.marshalJob(j)
	if err != nil {
		return err
	}
	resp, err := s.jobs.AddEntity(ctx, b, nil)
	if err != nil {
		if statusOf(err) == 409 {
			return ErrConflict
		}
		return fmt.Errorf("restore: create job: %w", err)
	}
	j.etag = resp.ETag
	return nil
}

func (s *Store) marshalJob(j *Job) ([]byte, error) {
	data, err := json.Marshal(j)
	if err != nil {
		return nil, err
	}
	return json.Marshal(entity{Entity: aztables.Entity{PartitionKey: jobPartition, RowKey: j.ID}, Data: string(data)})
}

// GetJob reads a job.
func (s *Store) GetJob(ctx context.Context, id string) (*Job, error) {
	resp, err := s.jobs.GetEntity(ctx, jobPartition, id, nil)
	if err != nil {
		if statusOf(err) == 404 {
			return nil, ErrNotFound
		}
		return nil, fmt.Errorf("restore: get job: %w", err)
	}
	var e entity
	if err := json.Unmarshal(resp.Value, &e); err != nil {
		return nil, err
	}
	var j Job
	if err := json.Unmarshal([]byte(e.Data), &j); err != nil {
		return nil, err
	}
	j.etag = resp.ETag
	return &j, nil
}

// UpdateJob writes j if it did not change since it was read (ErrConflict).
func (s *Store) UpdateJob(ctx context.Context, j *Job) error {
	b, err := s.marshalJob(j)
	if err != nil {
		return err
	}
	et := j.etag
	resp, err := s.jobs.UpdateEntity(ctx, b, &aztables.UpdateEntityOptions{IfMatch: &et, UpdateMode: aztables.UpdateModeReplace})
	if err != nil {
		if statusOf(err) == 412 || statusOf(err) == 409 {
			return ErrConflict
		}
		return fmt.Errorf("restore: update job: %w", err)
	}
	j.etag = resp.ETag
	return nil
}

// ModifyJob re-reads and changes a job until its conditional write succeeds;
// fn returning false leaves it unchanged.
func (s *Store) ModifyJob(ctx context.Context, id string, fn func(*Job) (bool, error)) (*Job, error) {
	for i := 0; ; i++ {
		j, err := s.GetJob(ctx, id)
		if err != nil {
			return nil, err
		}
		ok, err := fn(j)
		if err != nil || !ok {
			return j, err
		}
		err = s.UpdateJob(ctx, j)
		if err == nil {
			return j, nil
		}
		if !errors.Is(err, ErrConflict) || i > 20 {
			return nil, err
		}
	}
}

// ListJobs returns jobs, newest first (ids sort by time).
func (s *Store) ListJobs(ctx context.Context, limit int) ([]*Job, error) {
	f := "PartitionKey eq '" + jobPartition + "'"
	p := s.jobs.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &f})
	var out []*Job
	for p.More() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			return nil, err
		}
		for _, raw := range pg.Entities {
			var e entity
			if json.Unmarshal(raw, &e) != nil {
				continue
			}
			var j Job
			if json.Unmarshal([]byte(e.Data), &j) == nil {
				out = append(out, &j)
			}
		}
	}
	sort.Slice(out, func(i, k int) bool { return out[i].ID > out[k].ID })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

type resultEntity struct {
	aztables.Entity
	Data string `json:"Data"`
}

// PutResults upserts result rows of a job, in transactions of up to 100.
func (s *Store) PutResults(ctx context.Context, job string, rs []Result) error {
	for len(rs) > 0 {
		n := min(len(rs), 100)
		var acts []aztables.TransactionAction
		for _, r := range rs[:n] {
			d, err := json.Marshal(r)
			if err != nil {
				return err
			}
			if len(d) > 30000 { // Table Storage property limit: trim the diff
				r.Diff = nil
				r.Warnings = append(r.Warnings, "field diff too large to store")
				d, _ = json.Marshal(r)
			}
			b, _ := json.Marshal(resultEntity{Entity: aztables.Entity{PartitionKey: job, RowKey: r.Key}, Data: string(d)})
			acts = append(acts, aztables.TransactionAction{ActionType: aztables.TransactionTypeInsertReplace, Entity: b})
		}
		if _, err := s.results.SubmitTransaction(ctx, acts, nil); err != nil {
			return fmt.Errorf("restore: store %d results: %w", n, err)
		}
		rs = rs[n:]
	}
	return nil
}

// Results streams a job's rows whose keys start with prefix, by key.
func (s *Store) Results(ctx context.Context, job, prefix string, fn func(Result) error) error {
	f := "PartitionKey eq '" + job + "'"
	if prefix != "" {
		f += " and RowKey ge '" + prefix + "' and RowKey lt '" + prefix + "~'"
	}
	p := s.results.NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &f})
	for p.More() {
		pg, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("restore: list results: %w", err)
		}
		for _, raw := range pg.Entities {
			var e resultEntity
			if err := json.Unmarshal(raw, &e); err != nil {
				return err
			}
			var r Result
			if err := json.Unmarshal([]byte(e.Data), &r); err != nil {
				return err
			}
			if err := fn(r); err != nil {
				return err
			}
		}
	}
	return nil
}
