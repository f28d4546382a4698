package restore

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"sync/atomic"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
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
	// SourceFor opens the backup of a run (default: BackupSource on the
	// engine's blobs).
	SourceFor func(env, run string) Source
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
	blobs  backupformat.Blobs
	sender messaging.Sender
}

// New returns an engine.
func New(dir Directory, store *Store, blobs backupformat.Blobs, sender messaging.Sender, o Options) *Engine {
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
		e.opts.SourceFor = func(env, run string) Source { return &BackupSource{Blobs: blobs, Env: env, Run: run} }
	}
	return e
}

// Store returns the engine's job store.
func (e *Engine) Store() *Store { return e.store }

// Message is a restore queue message.
type Message struct {
	Job     string `json:"job"`
	Step    string `json:"step"` // plan, chunk, finish
	Chunk   int    `json:"chunk,omitempty"`
	Attempt int    `json:"attempt,omitempty"`
}

// DecodeMessage parses a restore queue message.
func DecodeMessage(b []byte) (Message, error) {
	var m Message
	dec := json.NewDecoder(strings.NewReader(string(b)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&m); err != nil {
		return m, fmt.Errorf("restore message: %w", err)
	}
	if !reID.MatchString(m.Job) || (m.Step != "plan" && m.Step != "chunk" && m.Step != "finish") || m.Chunk < 0 {
		return m, errors.New("restore message: bad job, step or chunk")
	}
	return m, nil
}

func (e *Engine) send(ctx context.Context, m Message, delay time.Duration) error {
	b, _ := json.Marshal(m)
	id := fmt.Sprintf("%s-%s-%d-%d", m.Job, m.Step, m.Chunk, m.Attempt)
	return e.sender.Send(ctx, messaging.QueueRestore, messaging.Message{ID: id, Body: b, Delay: delay})
}

func newJobID(now time.Time) string {
	var b [4]byte
	_, _ = rand.Read(b[:])
	return "r" + now.UTC().Format("20060102T150405") + "-" + hex.EncodeToString(b[:])
}

// LatestRun returns the newest finished (succeeded or partial) run of env.
func LatestRun(ctx context.Context, b backupformat.Blobs, env string) (string, error) {
	infos, err := blobstore.Collect(b.List(ctx, backupformat.ContainerBackups, backupformat.EnvironmentPrefix(env)+"run/"))
	if err != nil {
		return "", err
	}
	var runs []string
	for _, in := range infos {
		if strings.HasSuffix(in.Name, "/manifest.json") {
			rest := strings.TrimPrefix(in.Name, backupformat.EnvironmentPrefix(env)+"run/")
			runs = append(runs, strings.TrimSuffix(rest, "/manifest.json"))
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(runs)))
	for _, r := range runs {
		m, err := backupformat.ReadManifest(ctx, b, env, r)
		if err == nil && (m.Status == "succeeded" || m.Status == "partial") {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: environment %s has no finished backup run", ErrNotFound, env)
}

// Start validates req, records the job and sends its plan message.
func (e *Engine) Start(ctx context.Context, req Request) (*Job, error) {
	if err := req.Normalize(); err != nil {
		return nil, err
	}
	if req.Run == "" {
		r, err := LatestRun(ctx, e.blobs, req.Environment)
		if err != nil {
			return nil, err
		}
		req.Run = r
	} else if _, err := backupformat.ReadManifest(ctx, e.blobs, req.Environment, req.Run); err != nil {
		return nil, fmt.Errorf("%w: run %s of %s: %v", ErrNotFound, req.Run, req.Environment, err)
	}
	if err := e.checkFilterColumns(ctx, &req); err != nil {
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
	if err := e.send(ctx, Message{Job: j.ID, Step: "plan"}, 0); err != nil {
		return nil, err
	}
	return j, nil
}

// checkFilterColumns refuses filter conditions on columns the table does
// not have (in the target's metadata), which would otherwise match nothing
// without a word. Tables unknown to the target are left to the plan (which
// notes them).
func (e *Engine) checkFilterColumns(ctx context.Context, req *Request) error {
	if len(req.Scope.Filter) == 0 {
		return nil
	}
	clients, err := e.dir.Clients(ctx, req.Target)
	if err != nil {
		return err
	}
	if len(clients) == 0 {
		return fmt.Errorf("environment %s has no identity to read with", req.Target)
	}
	meta, err := newMetadata(ctx, clients[0])
	if err != nil {
		return err
	}
	var errs []FieldError
	for _, t := range sortedKeys(req.Scope.Filter) {
		if !meta.has(t) {
			continue
		}
		tm, err := meta.table(ctx, t)
		if err != nil {
			return err
		}
		for i, c := range req.Scope.Filter[t] {
			if _, ok := tm.Attrs[c.Column]; !ok {
				errs = append(errs, FieldError{fmt.Sprintf("scope.filter.%s[%d].column", t, i), fmt.Sprintf("table %s has no column %s", t, c.Column)})
			}
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Errors: errs}
	}
	return nil
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
	case "plan":
		return e.planStep(ctx, j, delivery)
	case "chunk":
		return e.chunkStep(ctx, j, m, delivery)
	default:
		return e.finish(ctx, j.ID, "")
	}
}

func (e *Engine) planStep(ctx context.Context, j *Job, delivery int) error {
	if j.Status != StatusQueued && j.Status != StatusPlanning {
		return nil // planned already: a duplicate message
	}
	var req Request
	if err := getJSON(ctx, e.blobs, requestBlob(j.ID), &req); err != nil {
		return err
	}
	if j.Status == StatusQueued {
		j.Status, j.StartedAt = StatusPlanning, e.opts.Now().UTC()
		if err := e.store.UpdateJob(ctx, j); err != nil {
			return err
		}
	}
	fail := func(err error) error {
		if delivery < e.opts.MaxDeliveries && isTransient(err) {
			return err
		}
		_, uerr := e.store.ModifyJob(ctx, j.ID, func(x *Job) (bool, error) {
			x.Status, x.Error, x.FinishedAt = StatusFailed, "plan: "+err.Error(), e.opts.Now().UTC()
			x.Seconds = x.FinishedAt.Sub(x.CreatedAt).Seconds()
			return true, nil
		})
		return uerr
	}
	var throttles atomic.Int64
	ctx = withThrottleCount(ctx, &throttles)
	clients, err := e.dir.Clients(ctx, req.Target)
	if err != nil {
		return fail(err)
	}
	if len(clients) == 0 {
		return fail(fmt.Errorf("environment %s has no identity to write with", req.Target))
	}
	if req.Options.BypassBusinessLogic {
		for _, c := range clients {
			var ok bool
			var why string
			err := retry(ctx, func() (err error) { ok, why, err = c.CanBypassBusinessLogic(ctx); return err })
			var re *dataverse.ResponseError
			if errors.As(err, &re) && re.StatusCode == 403 {
				// An identity without roles may not even read its own
				// roles: it certainly lacks the privilege.
				return fail(&PermanentError{"bypassBusinessLogic was requested but an identity of the connection lacks prvBypassCustomBusinessLogic " +
					"(System Administrator role): it may not read its security roles (" + err.Error() + "); nothing was written"})
			}
			if err != nil {
				return fail(fmt.Errorf("check the bypass privilege: %w", err))
			}
			if !ok {
				return fail(&PermanentError{"bypassBusinessLogic was requested but " + why + "; nothing was written"})
			}
		}
	}
	meta, err := newMetadata(ctx, clients[0])
	if err != nil {
		return fail(err)
	}
	// The run and the runs it builds on must verify, unless the request
	// accepts restoring only the intact tables.
	src := e.opts.SourceFor(req.Environment, req.Run)
	dmg, err := verifySource(ctx, e.blobs, req.Environment, req.Run)
	if err != nil {
		return fail(err)
	}
	if len(dmg.problems) > 0 {
		if !req.ProceedIfDamaged {
			return fail(&PermanentError{fmt.Sprintf("run %s fails verification (%s); nothing was restored: set proceedIfDamaged to restore the intact tables (damaged: %s)",
				req.Run, dmg, strings.Join(dmg.tableList(), ", "))})
		}
		j.Notes = append(j.Notes, fmt.Sprintf("run %s fails verification (%s); tables left out: %s", req.Run, dmg, strings.Join(dmg.tableList(), ", ")))
		src = intactSource{Source: src, skip: dmg.tables}
	}
	p := &planner{e: e, job: j, req: &req, src: src, meta: meta, c: clients[0],
		srcT: map[string]map[string]*srec{}, liveT: map[string]map[string]map[string]json.RawMessage{},
		chosen: map[string]*cand{}, unmapped: map[string]*Unmapped{}, fileCache: map[string]map[string]backupformat.FileRef{}}
	chunks, phases, err := p.plan(ctx)
	if err != nil {
		return fail(err)
	}
	if !req.DryRun {
		for i, ch := range chunks {
			if err := putJSON(ctx, e.blobs, chunkBlob(j.ID, i+1), ch); err != nil {
				return err
			}
		}
	}
	if err := e.store.PutResults(ctx, j.ID, p.results); err != nil {
		return err
	}
	var unm []Unmapped
	for _, k := range sortedKeys(p.unmapped) {
		unm = append(unm, *p.unmapped[k])
	}
	notes := j.Notes
	j, err = e.store.ModifyJob(ctx, j.ID, func(x *Job) (bool, error) {
		if x.Status != StatusPlanning {
			return false, nil
		}
		x.Phases, x.Chunks, x.NextChunk = phases, len(chunks), 1
		x.Counts.Unmapped = len(unm)
		x.Unmapped = unm[:min(len(unm), 100)]
		x.Notes = notes
		x.Status = StatusRunning
		x.Throttled += int(throttles.Load())
		if x.BatchSize == 0 {
			x.BatchSize = e.opts.InitialBatch
		}
		return true, nil
	})
	if err != nil {
		return err
	}
	if req.DryRun || len(chunks) == 0 {
		return e.finish(ctx, j.ID, "")
	}
	return e.send(ctx, Message{Job: j.ID, Step: "chunk", Chunk: 1}, 0)
}

// PermanentError is a failure retrying cannot fix.
type PermanentError struct{ Msg string }

func (e *PermanentError) Error() string { return e.Msg }

func isTransient(err error) bool {
	var pe *PermanentError
	if errors.As(err, &pe) {
		return false
	}
	var re *dataverse.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode >= 500 || re.StatusCode == 408
	}
	return true
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
		case KindAssociation:
			if r.Status == ResCreated || r.Status == ResPredicted {
				c.Associations++
			}
		default:
			c.Records++
		}
		switch r.Status {
		case ResCreated:
			if r.Kind != KindAssociation {
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
			case "create":
				c.Created++
			case "update":
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
		c.Unmapped = x.Counts.Unmapped
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
