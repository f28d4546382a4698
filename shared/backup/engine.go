package backup

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// Environment is what the engine needs of a registered environment.
type Environment struct {
	ID  string
	URL string // https://<org>.crm.dynamics.com
	// Policy is the environment's backup policy.
	Policy Policy
}

// Policy decides when and what to back up.
type Policy struct {
	Enabled bool
	// Schedule is the environment's own NCRONTAB (six fields, UTC). With it a
	// scheduled run is due at the first scheduler firing (BACKUP_SCHEDULE, the
	// app-wide tick) at or after an occurrence later than the last run's
	// start. Empty: due at every firing of BACKUP_SCHEDULE.
	Schedule string
	// MinInterval: a scheduled run is due only when the last run was created
	// at least this long ago (zero: at every firing of the schedule).
	MinInterval time.Duration
	// Include lists the only tables to back up (logical names); empty means
	// every table. Exclude removes tables.
	Include, Exclude []string
	// FullEvery forces a full run when the last full run is at least this
	// old (e.g. 7 days: weekly full, incrementals in between). Zero: only the
	// first run is full (and tables whose change tracking is off or expired).
	FullEvery time.Duration
	// AlwaysFull makes every run full (no change tracking between runs).
	AlwaysFull bool
	// RetentionDays deletes finished runs older than this; RetentionCount
	// keeps at most this many finished runs. Zero disables each rule.
	RetentionDays  int
	RetentionCount int
}

// Directory gives the engine the registered environments and a Dataverse
// client per identity of their connection. The app's implementation adapts
// shared/connections (package wiring); Clients has the shape of
// restore.Directory's, so one adapter serves both engines.
type Directory interface {
	ListEnvironments(ctx context.Context) ([]Environment, error)
	GetEnvironment(ctx context.Context, id string) (Environment, error)
	// Clients returns one client per identity of the environment's connection.
	Clients(ctx context.Context, environment string) ([]*dataverse.Client, error)
}

// Options tune the engine. Zero values take the documented defaults.
type Options struct {
	// MaxConcurrency caps the tables read at once per environment (default 8).
	MaxConcurrency int
	// PageSize is the Prefer: odata.maxpagesize (default 5000).
	PageSize int
	// SweepPageSize is the page size of the id sweep (default 5000): the
	// first incremental after a full read reads the table's primary keys
	// only, SweepPageSize per request, to find records deleted during the
	// full read (see sweep.go).
	SweepPageSize int
	// MetadataTablesPerRequest is how many tables one full metadata read
	// (RetrieveMetadataChanges) asks for (default 50; see scanmeta.go).
	MetadataTablesPerRequest int
	// MaxDeliveries is the queue's max delivery count (default 10): on that
	// delivery a failing page marks its table failed instead of failing.
	MaxDeliveries int
	// ClockSkew widens the mid-load re-read window (default 2 minutes):
	// the first incremental after a full read re-reads records with
	// modifiedon >= full start - ClockSkew.
	ClockSkew time.Duration
	// StallAfter: a run in progress whose run row and table tasks have not
	// changed for this long is ended by the scheduler (default 1 h): its
	// unfinished tables are marked failed ("no progress"), the run is
	// finalized (partial or failed), and the environment is free again. This
	// covers messages lost outside the engine's sight (dead-lettered by the
	// host without reaching the handler).
	StallAfter time.Duration
	// FileGrace: retention deletes an unreferenced file content only when
	// it is at least this old (default 24 h), so a file stored by a page
	// whose file list is not written yet is never taken.
	FileGrace time.Duration
	// Log receives the engine's logs (default slog.Default()).
	Log *slog.Logger
	// Now is the clock (default time.Now).
	Now func() time.Time
}

// Engine runs backups.
type Engine struct {
	opts   Options
	dir    Directory
	state  *runstate.Store
	blobs  blobstore.Store
	sender messaging.Sender
	log    *slog.Logger

	mu      sync.Mutex
	clients map[string]clientSet
	names   map[string][]string // run -> its tasks' tables by Order (lifecycle.go)
}

type clientSet struct {
	clients []*dataverse.Client
	made    time.Time
}

// New returns an engine.
func New(dir Directory, state *runstate.Store, blobs blobstore.Store, sender messaging.Sender, o Options) *Engine {
	if o.MaxConcurrency <= 0 {
		o.MaxConcurrency = 8
	}
	if o.PageSize <= 0 || o.PageSize > dataverse.MaxPageSize {
		o.PageSize = dataverse.MaxPageSize
	}
	if o.SweepPageSize <= 0 || o.SweepPageSize > dataverse.MaxPageSize {
		o.SweepPageSize = dataverse.MaxPageSize
	}
	if o.MetadataTablesPerRequest <= 0 {
		o.MetadataTablesPerRequest = 50
	}
	if o.MaxDeliveries <= 0 {
		o.MaxDeliveries = 10
	}
	if o.ClockSkew == 0 {
		o.ClockSkew = 2 * time.Minute
	}
	if o.FileGrace <= 0 {
		o.FileGrace = 24 * time.Hour
	}
	if o.StallAfter <= 0 {
		o.StallAfter = time.Hour
	}
	if o.Log == nil {
		o.Log = slog.Default()
	}
	if o.Now == nil {
		o.Now = time.Now
	}
	return &Engine{opts: o, dir: dir, state: state, blobs: blobs, sender: sender, log: o.Log, clients: map[string]clientSet{}, names: map[string][]string{}}
}

// Blobs is the backup blob store (for restore and browsing).
func (e *Engine) Blobs() blobstore.Store { return e.blobs }

// clientsFor returns one Dataverse client per identity of env's connection,
// cached for 10 minutes (credentials cache their tokens).
func (e *Engine) clientsFor(ctx context.Context, envID string) ([]*dataverse.Client, error) {
	e.mu.Lock()
	cs, ok := e.clients[envID]
	e.mu.Unlock()
	if ok && e.opts.Now().Sub(cs.made) < 10*time.Minute {
		return cs.clients, nil
	}
	out, err := e.dir.Clients(ctx, envID)
	if err != nil {
		return nil, fmt.Errorf("clients of environment %s: %w", envID, err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("environment %s: its connection has no identity", envID)
	}
	e.mu.Lock()
	e.clients[envID] = clientSet{clients: out, made: e.opts.Now()}
	e.mu.Unlock()
	return out, nil
}

// StartRun creates a run of env and sends its scan message: the path of
// both the scheduler and on-demand runs (the HTTP API). It returns a
// *runstate.ActiveError when env has a run in progress.
func (e *Engine) StartRun(ctx context.Context, envID, trigger string) (*runstate.Run, error) {
	return e.StartRunWith(ctx, envID, trigger, runstate.RunRequest{})
}

// StartRunWith is StartRun with the run's request (e.g. Full: every table
// read in full, whatever the policy; the scan decides the run's kind).
func (e *Engine) StartRunWith(ctx context.Context, envID, trigger string, req runstate.RunRequest) (*runstate.Run, error) {
	if !backupformat.ValidID(envID) {
		return nil, fmt.Errorf("environment id %q is not usable in blob names", envID)
	}
	r, err := e.state.CreateRunWith(ctx, envID, trigger, req)
	if err != nil {
		return nil, err
	}
	body, _ := encode(ScanMessage{Environment: envID, Run: r.ID})
	if err := e.sender.Send(ctx, messaging.QueueScan, messaging.Message{ID: "scan-" + r.ID, Body: body}); err != nil {
		// Leave no run that nothing will ever process.
		_ = e.failRun(ctx, envID, r.ID, "could not queue the scan: "+err.Error())
		return nil, fmt.Errorf("queue scan of run %s: %w", r.ID, err)
	}
	e.log.InfoContext(ctx, "run created", "environment", envID, "run", r.ID, "trigger", trigger)
	return r, nil
}

// IsActive reports a *runstate.ActiveError.
func IsActive(err error) bool {
	var ae *runstate.ActiveError
	return errors.As(err, &ae)
}
