package backup_test

import (
	"context"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"sort"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/shared/tlsroots"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
	"github.com/cloudbackup-d365/cloudbackup/testkit/inproc"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
)

// staticDir is a Directory of one simulated environment whose clients use
// real azidentity client-secret credentials against the simulator's Entra.
type staticDir struct {
	env     backup.Environment
	clients []*dataverse.Client
}

func (d *staticDir) ListEnvironments(context.Context) ([]backup.Environment, error) {
	return []backup.Environment{d.env}, nil
}
func (d *staticDir) GetEnvironment(_ context.Context, id string) (backup.Environment, error) {
	if id != d.env.ID {
		return backup.Environment{}, fmt.Errorf("no environment %s", id)
	}
	return d.env, nil
}
func (d *staticDir) Clients(context.Context, string) ([]*dataverse.Client, error) {
	return d.clients, nil
}

// fixture is one test's stack: Azurite, the simulator, the engine.
type fixture struct {
	t      *testing.T
	sim    *dataversesim.Server
	env    *dataversesim.Env
	dir    *staticDir
	state  *runstate.Store
	blobs  blobstore.Store
	sender *messaging.MemorySender
	eng    *backup.Engine
	envID  string
	// requests counts the Web API requests per identity.
	requests []*atomic.Int64
}

type fixtureOptions struct {
	sim        dataversesim.Options
	identities int
	engine     backup.Options
}

// One Azurite for the package's tests (each test uses its own environment
// id, so they do not see each other's data).
func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }

func newFixture(t *testing.T, o fixtureOptions) *fixture {
	t.Helper()
	az := azurite.Shared(t)
	sim := dataversesim.Start(t, o.sim)
	env := sim.Demo()
	if o.identities <= 0 {
		o.identities = 1
	}
	var clients []*dataverse.Client
	var counts []*atomic.Int64
	for _, app := range sim.SecretClients()[:min(o.identities, len(sim.SecretClients()))] {
		base, err := tlsroots.Transport(sim.CAPEM())
		if err != nil {
			t.Fatal(err)
		}
		n := &atomic.Int64{}
		counts = append(counts, n)
		c, err := inproc.SimClient(sim, env.URL(), app, countingTransport{base, n})
		if err != nil {
			t.Fatal(err)
		}
		clients = append(clients, c)
	}
	envID := fmt.Sprintf("t%d-%s", time.Now().UnixNano()%1e9, sanitize(t.Name()))
	dir := &staticDir{env: backup.Environment{ID: envID, URL: env.URL(), Policy: backup.Policy{Enabled: true}}, clients: clients}
	stores, err := inproc.OpenStores(context.Background(), az.ConnectionString())
	if err != nil {
		t.Fatal(err)
	}
	st, blobs := stores.Runs, stores.Blobs
	sender := messaging.NewMemorySender()
	eo := o.engine
	if eo.Log == nil {
		eo.Log = slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return &fixture{t: t, sim: sim, env: env, dir: dir, state: st, blobs: blobs, sender: sender,
		eng: backup.New(dir, st, blobs, sender, eo), envID: envID, requests: counts}
}

// countingTransport counts the requests sent as one identity.
type countingTransport struct {
	base http.RoundTripper
	n    *atomic.Int64
}

func (c countingTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	c.n.Add(1)
	return c.base.RoundTrip(r)
}

type testWriter struct{ t *testing.T }

func (w testWriter) Write(p []byte) (int, error) { w.t.Log(string(p)); return len(p), nil }

func sanitize(s string) string {
	out := []byte{}
	for _, c := range []byte(s) {
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			out = append(out, c)
		}
	}
	if len(out) > 40 {
		out = out[:40]
	}
	return string(out)
}

// pumpOptions script the delivery of messages (see testkit/pump).
type pumpOptions struct {
	// Duplicate delivers every extract and files message twice.
	Duplicate bool
	// MaxDeliveries before a message is set aside as poison (default 10).
	MaxDeliveries int
	// After runs after each successful delivery (test hooks).
	After func(queue string, m messaging.Message)
	// Workers deliver at once (default 4).
	Workers int
	// RetryDelay before a failed message comes again (default 20 ms).
	RetryDelay time.Duration
	// Handler wraps the engine's Handle (fault injection, counting).
	Handler func(next pump.Handler) pump.Handler
}

// pump delivers the sender's messages to the engine's Handle like the host
// (testkit/pump) until nothing is left, and returns the poison messages.
func (f *fixture) pump(ctx context.Context, o pumpOptions) []pump.Delivery {
	f.t.Helper()
	po := pump.Options{Workers: o.Workers, MaxDeliveries: o.MaxDeliveries, RetryDelay: o.RetryDelay}
	if po.Workers == 0 {
		po.Workers = 4
	}
	if o.Duplicate {
		po.Copies = func(q string) int {
			if q == messaging.QueueScan {
				return 1
			}
			return 2
		}
	}
	if o.After != nil {
		po.After = func(d pump.Delivery) bool {
			if d.Err == nil {
				o.After(d.Queue, d.Message)
			}
			return false
		}
	}
	h := pump.Handler(f.eng.Handle)
	if o.Handler != nil {
		h = o.Handler(h)
	}
	res, err := pump.Run(ctx, f.sender, pump.Handlers{}.On(h, backup.Queues()...), po)
	if err != nil {
		f.t.Fatalf("pump: %v", err)
	}
	return res.Poison
}

// backup runs one complete backup and returns the finished run.
func (f *fixture) backup(ctx context.Context, o pumpOptions) *runstate.Run {
	f.t.Helper()
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		f.t.Fatalf("start run: %v", err)
	}
	if poison := f.pump(ctx, o); len(poison) > 0 {
		for _, p := range poison {
			f.t.Errorf("poison message on %s: %s: %v", p.Queue, p.Message.Body, p.Err)
		}
	}
	run, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		f.t.Fatal(err)
	}
	if !runstate.Terminal(run.Status) {
		tasks, _ := f.state.ListTasks(ctx, r.ID)
		for _, tk := range tasks {
			f.t.Logf("task %s: %s page %d", tk.Table, tk.Status, tk.Page)
		}
		f.t.Fatalf("run %s did not finish: %s", r.ID, run.Status)
	}
	return run
}

func (f *fixture) manifest(ctx context.Context, run string) *backupformat.Manifest {
	f.t.Helper()
	m, err := backupformat.ReadManifest(ctx, f.blobs, f.envID, run)
	if err != nil {
		f.t.Fatal(err)
	}
	return m
}

// simState is id -> version of every row of a table in the simulator.
func simState(e *dataversesim.Env, table string) map[string]int64 {
	out := map[string]int64{}
	for _, id := range e.IDs(table) {
		if row, ok := e.Get(table, id); ok {
			out[id] = row["@version"].(int64)
		}
	}
	return out
}

// backedUpState is id -> version of a table reconstructed at run.
func (f *fixture) backedUpState(ctx context.Context, run, table string) map[string]int64 {
	f.t.Helper()
	out := map[string]int64{}
	err := backupformat.TableState(ctx, f.blobs, f.envID, run, table, func(r backupformat.Record) error {
		if _, dup := out[r.ID]; dup {
			return fmt.Errorf("record %s twice in the state of %s", r.ID, table)
		}
		out[r.ID] = r.Version
		return nil
	})
	if err != nil {
		f.t.Fatalf("state of %s at %s: %v", table, run, err)
	}
	return out
}

func diffStates(want, got map[string]int64) string {
	var d []string
	for id, v := range want {
		if g, ok := got[id]; !ok {
			d = append(d, "missing "+id)
		} else if g != v {
			d = append(d, fmt.Sprintf("%s: version %d, want %d", id, g, v))
		}
	}
	for id := range got {
		if _, ok := want[id]; !ok {
			d = append(d, "extra "+id)
		}
	}
	sort.Strings(d)
	if len(d) > 10 {
		d = append(d[:10], fmt.Sprintf("... %d more", len(d)-10))
	}
	if len(d) == 0 {
		return ""
	}
	return fmt.Sprint(d)
}
