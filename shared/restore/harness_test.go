package restore_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
	"github.com/cloudbackup-d365/cloudbackup/testkit/inproc"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
)

func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }

// dir serves both engines: environment id -> simulated environment.
type dir struct {
	sim     *dataversesim.Server
	envs    map[string]*dataversesim.Env
	clients map[string][]*dataverse.Client
	mu      sync.Mutex
	ids     int      // identities per environment
	include []string // tables backed up (empty: all)
}

func (d *dir) ListEnvironments(context.Context) ([]backup.Environment, error) {
	var out []backup.Environment
	for id, e := range d.envs {
		out = append(out, backup.Environment{ID: id, URL: e.URL(), Policy: backup.Policy{Enabled: true, Include: d.include}})
	}
	return out, nil
}

func (d *dir) GetEnvironment(_ context.Context, id string) (backup.Environment, error) {
	e := d.envs[id]
	if e == nil {
		return backup.Environment{}, fmt.Errorf("no environment %s", id)
	}
	return backup.Environment{ID: id, URL: e.URL(), Policy: backup.Policy{Enabled: true, Include: d.include}}, nil
}

// Clients serves both engines: their Directory interfaces share this shape.
func (d *dir) Clients(_ context.Context, id string) ([]*dataverse.Client, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if cs := d.clients[id]; cs != nil {
		return cs, nil
	}
	e := d.envs[id]
	if e == nil {
		return nil, fmt.Errorf("no environment %s", id)
	}
	var out []*dataverse.Client
	apps := d.sim.SecretClients()
	for _, app := range apps[:min(max(d.ids, 1), len(apps))] {
		c, err := simClient(d.sim, e.URL(), app, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	d.clients[id] = out
	return out, nil
}

// simClient is a client of the simulated environment at url acting as app,
// through rt (default: a transport that trusts the simulator's CA).
var simClient = inproc.SimClient

type fixture struct {
	t      *testing.T
	sim    *dataversesim.Server
	demo   *dataversesim.Env
	envID  string
	second string
	dir    *dir
	blobs  blobstore.Store
	sender *messaging.MemorySender
	bk     *backup.Engine
	st     *runstate.Store
	rs     *restore.Engine
	ropts  restore.Options
	store  *restore.Store
}

type fixtureOptions struct {
	sim        dataversesim.Options
	identities int
	restore    restore.Options
	// include limits the backups to these tables (a standard-shaped
	// organization has hundreds).
	include []string
}

func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	az := azurite.Shared(t)
	if o.sim.Seed == 0 {
		o.sim.Seed = 1
	}
	if o.sim.Records == 0 {
		o.sim.Records = 200
	}
	sim := dataversesim.Start(t, o.sim)
	suffix := fmt.Sprintf("%d%s", time.Now().UnixNano()%1e9, sanitize(t.Name()))
	f := &fixture{t: t, sim: sim, demo: sim.Demo(), envID: "d" + suffix, second: "s" + suffix}
	f.dir = &dir{sim: sim, envs: map[string]*dataversesim.Env{f.envID: sim.Demo(), f.second: sim.Env("second")},
		clients: map[string][]*dataverse.Client{}, ids: o.identities, include: o.include}
	stores, err := inproc.OpenStores(context.Background(), az.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	f.st, f.blobs, f.store = stores.Runs, stores.Blobs, stores.Jobs
	f.sender = messaging.NewMemorySender()
	log := slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	f.bk = backup.New(f.dir, f.st, f.blobs, f.sender, backup.Options{Log: log})
	f.ropts = o.restore
	f.ropts.Log = log
	f.rs = restore.New(f.dir, f.store, f.blobs, f.sender, f.ropts)
	return f
}

// reopen rebuilds the restore engine (a new process after a crash).
func (f *fixture) reopen(o restore.Options) {
	o.Log = f.ropts.Log
	f.rs = restore.New(f.dir, f.store, f.blobs, f.sender, o)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimSpace(string(p)))
	return len(p), nil
}

func sanitize(s string) string {
	var out []byte
	for _, c := range []byte(strings.ToLower(s)) {
		if c >= 'a' && c <= 'z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	if len(out) > 30 {
		out = out[len(out)-30:]
	}
	return string(out)
}

// pending is a message the pump left undelivered.
type pending struct {
	queue string
	msg   messaging.Message
}

// pump delivers every queued message (backup and restore) like the host
// (testkit/pump): one at a time, delayed ones when due, failed ones again
// (up to 10 deliveries). stop, when it returns true after a delivery, ends
// the pump with that message and the rest left undelivered (a crash).
func (f *fixture) pump(ctx context.Context, stop func(queue string, err error) bool) []pending {
	f.t.Helper()
	var o pump.Options
	if stop != nil {
		o.After = func(d pump.Delivery) bool { return stop(d.Queue, d.Err) }
	}
	res, err := pump.Run(ctx, f.sender, inproc.Handlers(f.bk, f.rs), o)
	if err != nil {
		f.t.Fatalf("pump: %v", err)
	}
	for _, p := range res.Poison {
		f.t.Errorf("poison message on %s: %s: %v", p.Queue, p.Message.Body, p.Err)
	}
	var left []pending
	for _, d := range res.Left {
		left = append(left, pending{queue: d.Queue, msg: d.Message})
	}
	return left
}

// backup runs one complete backup of the demo environment.
func (f *fixture) backup(ctx context.Context) string {
	f.t.Helper()
	r, err := f.bk.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		f.t.Fatalf("start run: %v", err)
	}
	f.pump(ctx, nil)
	run, err := f.st.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	if run.Status != runstate.RunSucceeded {
		f.t.Fatalf("backup run %s ended %s", r.ID, run.Status)
	}
	return r.ID
}

// restore starts a job, pumps it to its end and returns the job and report.
func (f *fixture) restore(ctx context.Context, req restore.Request) (*restore.Job, []restore.RecordResult) {
	f.t.Helper()
	if req.Environment == "" {
		req.Environment = f.envID
	}
	j, err := f.rs.Start(ctx, req)
	if err != nil {
		f.t.Fatalf("start restore: %v", err)
	}
	f.pump(ctx, nil)
	return f.finished(ctx, j.ID)
}

func (f *fixture) finished(ctx context.Context, id string) (*restore.Job, []restore.RecordResult) {
	f.t.Helper()
	j, err := f.rs.Job(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	if !restore.Terminal(j.Status) {
		f.t.Fatalf("restore %s did not finish: %s", id, j.Status)
	}
	rep, err := f.rs.Report(ctx, id)
	if err != nil {
		f.t.Fatal(err)
	}
	return j, rep
}

var errCrash = errors.New("crash")
