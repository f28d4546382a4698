package restore

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// Table Storage tables of restore jobs.
const (
	TableJobs    = "restorejobs"
	TableResults = "restoreresults"
)

// Tables lists the Table Storage tables the package uses.
func Tables() []string { return []string{TableJobs, TableResults} }

// Errors of the store: tablestore's sentinels, under the names the engine
// and the API test (ErrNotFound also means "no such run" to the engine).
var (
	ErrNotFound = tablestore.ErrNotFound
	ErrConflict = tablestore.ErrConflict
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
	// NotWritable lists, by table and column, the backed-up values the job
	// cannot write, with the reason (first 200; Counts.NotWritable counts
	// them all).
	NotWritable []plan.NotWritable `json:"notWritable,omitempty"`
	// Notes are job-level findings (e.g. tables of the scope not in the run).
	Notes []string `json:"notes,omitempty"`
	etag  tablestore.ETag
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
	// CascadeRestored counts the records created whose parent, also
	// created by the job, had taken them with it when deleted (a Cascade
	// relationship: an account's contacts, notes, activities).
	CascadeRestored int `json:"cascadeRestored"`
	// Relinked counts the lookups of surviving records re-pointed at a
	// restored record (cleared by its delete through a RemoveLink
	// relationship): one per survivor and column.
	Relinked int `json:"relinked"`
	// NotWritable counts the (table, column) pairs with backed-up values
	// the job cannot write (Job.NotWritable lists them).
	NotWritable int `json:"notWritable"`
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
	// Cascade names the Cascade relationship a created record came back
	// through with its parent (plan.Prediction.Cascade).
	Cascade string `json:"cascade,omitempty"`
}

// Store keeps jobs and results in Table Storage (tablestore): a job is a
// document in the partition "job" of the jobs table, keyed by its id; a
// result is a document in the job's partition of the results table, keyed
// by Result.Key.
type Store struct {
	jobs    tablestore.Docs[Job]
	results tablestore.Docs[Result]
}

// OpenStore returns a Store on svc, creating the tables when missing.
func OpenStore(ctx context.Context, svc *aztables.ServiceClient) (*Store, error) {
	jobs, err := tablestore.NewAzure(ctx, svc, TableJobs)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	results, err := tablestore.NewAzure(ctx, svc, TableResults)
	if err != nil {
		return nil, fmt.Errorf("restore: %w", err)
	}
	return NewStore(jobs, results), nil
}

// NewStore returns a Store on the jobs and results tables
// (tablestore.NewMemory for engine unit tests).
func NewStore(jobs, results tablestore.Store) *Store {
	return &Store{
		jobs:    tablestore.Docs[Job]{Store: jobs, Columns: func(j *Job) map[string]string { return map[string]string{"Status": j.Status} }},
		results: tablestore.Docs[Result]{Store: results},
	}
}

const jobPartition = "job"

// CreateJob inserts a new job (ErrConflict when the id exists).
func (s *Store) CreateJob(ctx context.Context, j *Job) error {
	etag, err := s.jobs.Insert(ctx, jobPartition, j.ID, j)
	if err != nil {
		return fmt.Errorf("restore: create job: %w", err)
	}
	j.etag = etag
	return nil
}

// GetJob reads a job.
func (s *Store) GetJob(ctx context.Context, id string) (*Job, error) {
	j, etag, err := s.jobs.Get(ctx, jobPartition, id)
	if err != nil {
		return nil, fmt.Errorf("restore: get job: %w", err)
	}
	j.etag = etag
	return j, nil
}

// UpdateJob writes j if it did not change since it was read (ErrConflict).
func (s *Store) UpdateJob(ctx context.Context, j *Job) error {
	etag, err := s.jobs.Replace(ctx, jobPartition, j.ID, j, j.etag)
	if err != nil {
		return fmt.Errorf("restore: update job: %w", err)
	}
	j.etag = etag
	return nil
}

// ModifyJob re-reads and changes a job until its conditional write succeeds
// (tablestore.Modify); fn returning false leaves it unchanged.
func (s *Store) ModifyJob(ctx context.Context, id string, fn func(*Job) (bool, error)) (*Job, error) {
	j, etag, err := s.jobs.Modify(ctx, jobPartition, id, fn)
	if j != nil {
		j.etag = etag
	}
	return j, err
}

// ListJobs returns jobs, newest first (ids sort by time).
func (s *Store) ListJobs(ctx context.Context, limit int) ([]*Job, error) {
	var out []*Job
	for it, err := range s.jobs.List(ctx, jobPartition, "") {
		if err != nil {
			return nil, fmt.Errorf("restore: list jobs: %w", err)
		}
		it.Value.etag = it.ETag
		out = append(out, it.Value)
	}
	slices.SortFunc(out, func(a, b *Job) int { return cmp.Compare(b.ID, a.ID) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, nil
}

// PutResults upserts result rows of a job (tablestore.UpsertBatch: few
// requests). A row too large for a table entity loses its field diff, with
// a warning saying so, rather than failing the job.
func (s *Store) PutResults(ctx context.Context, job string, rs []Result) error {
	es := make([]tablestore.Entity, 0, len(rs))
	for _, r := range rs {
		e, err := resultEntity(job, r)
		if errors.Is(err, tablestore.ErrTooLarge) {
			r.Diff = nil
			r.Warnings = append(r.Warnings, "field diff too large to store")
			e, err = resultEntity(job, r)
		}
		if err != nil {
			return fmt.Errorf("restore: result %s: %w", r.Key, err)
		}
		es = append(es, e)
	}
	if err := s.results.Store.UpsertBatch(ctx, es); err != nil {
		return fmt.Errorf("restore: store %d results: %w", len(es), err)
	}
	return nil
}

func resultEntity(job string, r Result) (tablestore.Entity, error) {
	doc, err := json.Marshal(r)
	if err != nil {
		return tablestore.Entity{}, err
	}
	e := tablestore.Entity{PartitionKey: job, RowKey: r.Key, Doc: doc}
	return e, tablestore.Check(e)
}

// Results streams a job's rows whose keys start with prefix, by key.
func (s *Store) Results(ctx context.Context, job, prefix string, fn func(Result) error) error {
	for it, err := range s.results.List(ctx, job, prefix) {
		if err != nil {
			return fmt.Errorf("restore: list results: %w", err)
		}
		if err := fn(*it.Value); err != nil {
			return err
		}
	}
	return nil
}
