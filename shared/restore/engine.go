package restore

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// Directory gives the engine a Dataverse client per identity of an
// environment's connection (shared/connections in the app).
type Directory interface {
	Clients(ctx context.Context, environment string) ([]*dataverse.Client, error)
}

// Options tune the engine. Zero values take the documented defaults.
type Options struct {
	// ChunkSize is the number of operations per chunk message (default 500).
	ChunkSize int
	// InitialBatch is the first $batch size (default 10, as Microsoft
	// advises); MaxBatch its ceiling (default 200; Dataverse allows 1000).
	InitialBatch, MaxBatch int
	// OneByOne sends one request per operation instead of $batch (for
	// comparison benchmarks).
	OneByOne bool
	// MaxInlineWait is the longest Retry-After slept inside an invocation;
	// a longer one re-sends the chunk message with that delay (default 10 s).
	MaxInlineWait time.Duration
	// LeaseDuration bounds how long a chunk is held by one invocation
	// before a redelivered message may take it over (default 5 minutes).
	LeaseDuration time.Duration
	// MaxDeliveries: on this delivery of a failing chunk message the
	// chunk's unfinished operations are marked failed and the job goes on
	// (default 10).
	MaxDeliveries int
	// SourceFor opens the backup of a run (default: a
	// backupformat.RunReader on the engine's blobs).
	SourceFor func(env, run string) plan.Source
	// Target tunes how live records of the target are read.
	Target TargetOptions
	// AfterBatch, when set, is called after each batch was answered and
	// before its results are stored; an error aborts the chunk (tests: the
	// worst crash point).
	AfterBatch func(job string, chunk int) error
	Log        *slog.Logger
	Now        func() time.Time
}

// Engine runs restore jobs.
type Engine struct {
	opts   Options
	dir    Directory
	store  *Store
	blobs  blobstore.Store
	sender messaging.Sender
}

// New returns an engine.
func New(dir Directory, store *Store, blobs blobstore.Store, sender messaging.Sender, o Options) *Engine {
	if o.ChunkSize <= 0 {
		o.ChunkSize = 500
	}
	if o.InitialBatch <= 0 {
		o.InitialBatch = 10
	}
	if o.MaxBatch <= 0 {
		o.MaxBatch = 200
	}
	o.MaxBatch = min(o.MaxBatch, dataverse.MaxBatchRequests)
	if o.MaxInlineWait <= 0 {
		o.MaxInlineWait = 10 * time.Second
	}
	if o.LeaseDuration <= 0 {
		o.LeaseDuration = 5 * time.Minute
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 10
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	e := &Engine{opts: o, dir: dir, store: store, blobs: blobs, sender: sender}
	if e.opts.SourceFor == nil {
		e.opts.SourceFor = func(env, run string) plan.Source { return backupformat.NewRunReader(blobs, env, run) }
	}
	return e
}

// Store returns the engine's job store.
func (e *Engine) Store() *Store { return e.store }

// Start validates req, records the job and sends its plan message.
func (e *Engine) Start(ctx context.Context, req Request) (*Job, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	if req.Run == "" {
		r, err := backupformat.LatestRun(ctx, e.blobs, req.Environment)
		if err != nil {
			return nil, err
		}
		req.Run = r
	} else if _, err := backupformat.ReadManifest(ctx, e.blobs, req.Environment, req.Run); errors.Is(err, blobstore.ErrNotFound) {
		return nil, fmt.Errorf("%w: run %s of %s has no manifest (not finished, or deleted)", ErrNotFound, req.Run, req.Environment)
	} else if err != nil {
		return nil, err // unreadable (storage down, newer format): not a missing run
	}
	if err := e.checkColumns(ctx, &req); err != nil {
		return nil, err
	}
	now := e.opts.Now().UTC()
	j := &Job{ID: newJobID(now), Environment: req.Environment, Run: req.Run, Target: req.Target, Policy: req.Policy,
		DryRun: req.DryRun, Status: StatusQueued, CreatedAt: now}
	if err := putJSON(ctx, e.blobs, requestBlob(j.ID), req); err != nil {
		return nil, fmt.Errorf("store request: %w", err)
	}
	if err := e.store.CreateJob(ctx, j); err != nil {
		return nil, err
	}
	if err := e.send(ctx, Message{Job: j.ID, Step: StepPlan}, 0); err != nil {
		return nil, err
	}
	return j, nil
}

// checkColumns refuses filter conditions and scope.fields on columns the
// table does not have (in the target's metadata): a filter would match
// nothing and a field list would restore nothing of that column, without a
// word. Tables unknown to the target are left to the plan (which notes
// them).
func (e *Engine) checkColumns(ctx context.Context, req *Request) error {
	if len(req.Scope.Filter) == 0 && len(req.Scope.Fields) == 0 {
		return nil
	}
	clients, err := e.dir.Clients(ctx, req.Target)
	if err != nil {
		return err
	}
	if len(clients) == 0 {
		return fmt.Errorf("environment %s has no identity to read with", req.Target)
	}
	meta, err := newMetadata(ctx, clients[0], &planReads{})
	if err != nil {
		return err
	}
	var errs []FieldError
	check := func(field, table string, cols []string) error {
		if !meta.has(table) {
			return nil
		}
		tm, err := meta.Table(ctx, table)
		if err != nil {
			return err
		}
		for i, c := range cols {
			if !tm.HasColumn(c) {
				errs = append(errs, FieldError{fmt.Sprintf(field, table, i), fmt.Sprintf("table %s has no column %s", table, c)})
			}
		}
		return nil
	}
	for _, t := range sortedKeys(req.Scope.Filter) {
		cols := make([]string, len(req.Scope.Filter[t]))
		for i, c := range req.Scope.Filter[t] {
			cols[i] = c.Column
		}
		if err := check("scope.filter.%s[%d].column", t, cols); err != nil {
			return err
		}
	}
	for _, t := range sortedKeys(req.Scope.Fields) {
		if err := check("scope.fields.%s[%d]", t, req.Scope.Fields[t]); err != nil {
			return err
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	return nil
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// Job reads a job.
func (e *Engine) Job(ctx context.Context, id string) (*Job, error) { return e.store.GetJob(ctx, id) }

// Handle processes one restore queue message; an error makes the host
// redeliver it (delivery counts up to Options.MaxDeliveries).
func (e *Engine) Handle(ctx context.Context, m Message, delivery int) error {
	j, err := e.store.GetJob(ctx, m.Job)
	if errors.Is(err, ErrNotFound) {
		e.opts.Log.WarnContext(ctx, "restore message for an unknown job", "job", m.Job)
		return nil
	}
	if err != nil {
		return err
	}
	if Terminal(j.Status) {
		return nil
	}
	switch m.Step {
	case StepPlan:
		return e.planStep(ctx, j, delivery)
	case StepChunk:
		return e.chunkStep(ctx, j, m, delivery)
	case StepFinish:
		return e.finish(ctx, j.ID, "")
	}
	return fmt.Errorf("restore %s: unknown step %q", m.Job, m.Step)
}

// PermanentError is a failure retrying cannot fix.
type PermanentError struct{ Msg string }

func (e *PermanentError) Error() string { return e.Msg }

// isTransient reports a failure a later delivery may cure: not one of the
// engine's own PermanentErrors, and one dataverse.Classify calls retryable.
func isTransient(err error) bool {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return false
	}
	return dataverse.Classify(err).Retryable()
}

// finish computes the counts and the final status.
func (e *Engine) finish(ctx context.Context, id, fatal string) error {
	recs, err := e.Report(ctx, id)
	if err != nil {
		return err
	}
	var c Counts
	ok := 0
	for _, r := range recs {
		switch r.Kind {
		case plan.KindAssociation:
			if r.Status == ResCreated || r.Status == ResPredicted {
				c.Associations++
			}
		case plan.KindRelink:
			// A line of its own (not a record), counted by lookups
			// re-pointed; a failure or conflict still counts below.
			switch r.Status {
			case ResDone, ResPredicted:
				c.Relinked += len(r.Diff)
				ok++
			case ResFailed:
				c.Failed++
			case ResConflict:
				c.Conflicts++
			}
			continue
		default:
			c.Records++
			if r.Cascade != "" && (r.Status == ResCreated || r.Status == ResPredicted) {
				c.CascadeRestored++
			}
		}
		switch r.Status {
		case ResCreated:
			if r.Kind != plan.KindAssociation {
				c.Created++
			}
			ok++
		case ResUpdated:
			c.Updated++
			ok++
		case ResSkipped:
			c.Skipped++
		case ResConflict:
			c.Conflicts++
		case ResFailed:
			c.Failed++
		case ResPredicted:
			switch r.Action {
			case plan.ActionCreate:
				c.Created++
			case plan.ActionUpdate:
				c.Updated++
			}
			ok++
		}
		c.Files += r.Files
	}
	_, err = e.store.ModifyJob(ctx, id, func(x *Job) (bool, error) {
		if Terminal(x.Status) {
			return false, nil
		}
		c.Unmapped, c.NotWritable = x.Counts.Unmapped, x.Counts.NotWritable
		x.Counts = c
		x.FinishedAt = e.opts.Now().UTC()
		x.Seconds = x.FinishedAt.Sub(x.CreatedAt).Seconds()
		x.LeaseID, x.LeaseUntil = "", time.Time{}
		switch {
		case fatal != "":
			x.Status, x.Error = StatusFailed, fatal
		case c.Failed == 0:
			// An earlier failed delivery may have left its error text on
			// the job; a job that succeeded carries none.
			x.Status, x.Error = StatusSucceeded, ""
		case ok == 0:
			x.Status = StatusFailed
		default:
			x.Status = StatusPartial
		}
		return true, nil
	})
	return err
}

// Cancel ends a job as failed with reason; chunk messages still queued find
// it ended and write nothing more (a chunk being written finishes its batch).
func (e *Engine) Cancel(ctx context.Context, id, reason string) (*Job, error) {
	return e.store.ModifyJob(ctx, id, func(x *Job) (bool, error) {
		if Terminal(x.Status) {
			return false, nil
		}
		x.Status, x.Error = StatusFailed, reason
		x.FinishedAt = e.opts.Now().UTC()
		x.Seconds = x.FinishedAt.Sub(x.CreatedAt).Seconds()
		return true, nil
	})
}
