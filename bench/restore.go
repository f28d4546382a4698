package main

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
	"github.com/cloudbackup-d365/cloudbackup/testkit/inproc"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
	"github.com/cloudbackup-d365/cloudbackup/wiring"
)

// engines runs the backup and restore engines in this process against
// Azurite and the simulator (testkit/inproc), delivering their messages one
// at a time as the host would (restore.Options.OneByOne, the comparison, is
// an engine option the handler does not expose).
type engines struct {
	*wiring.Stores
	sim    *dataversesim.Server
	envID  string
	cs     []*dataverse.Client
	sender *messaging.MemorySender
	bk     *backup.Engine
	log    *slog.Logger
}

func (p *engines) ListEnvironments(context.Context) ([]backup.Environment, error) {
	return []backup.Environment{p.environment()}, nil
}
func (p *engines) GetEnvironment(context.Context, string) (backup.Environment, error) {
	return p.environment(), nil
}
func (p *engines) Clients(context.Context, string) ([]*dataverse.Client, error) {
	return p.cs, nil
}
func (p *engines) environment() backup.Environment {
	return backup.Environment{ID: p.envID, URL: p.sim.Demo().URL(), Policy: backup.Policy{Enabled: true, AlwaysFull: true}}
}

func newEngines(ctx context.Context, az *azurite.Azurite, sim *dataversesim.Server) (*engines, error) {
	p := &engines{sim: sim, envID: fmt.Sprintf("bench%d", time.Now().UnixNano()%1e9), sender: messaging.NewMemorySender(),
		log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	c, err := inproc.SimClient(sim, sim.Demo().URL(), sim.SecretClients()[0], nil)
	if err != nil {
		return nil, err
	}
	p.cs = []*dataverse.Client{c}
	if p.Stores, err = inproc.OpenStores(ctx, az.ConnectionString()); err != nil {
		return nil, err
	}
	p.bk = backup.New(p, p.Runs, p.Blobs, p.sender, backup.Options{Log: p.log})
	return p, nil
}

// pump delivers every message, backup and (with rs) restore, through
// testkit/pump until the queues are empty; a message that fails 10 times
// ends the benchmark.
func (p *engines) pump(ctx context.Context, rs *restore.Engine) error {
	res, err := pump.Run(ctx, p.sender, inproc.Handlers(p.bk, rs), pump.Options{RetryDelay: time.Second})
	if err != nil {
		return err
	}
	if len(res.Poison) > 0 {
		d := res.Poison[0]
		return fmt.Errorf("poison message on %s: %w", d.Queue, d.Err)
	}
	return nil
}

// benchRestore is section 5: restore-as-new of the accounts and contacts of
// a backup (20,000 records) with $batch and with one request per record,
// same simulator settings; then $batch under the scaled limits.
func benchRestore(ctx context.Context, cfg *config, rep *report) error {
	n := cfg.size(20_000, 2_000)
	az, err := azurite.StartProcess(ctx)
	if err != nil {
		return err
	}
	defer az.Stop()
	sim, err := dataversesim.New(dataversesim.Options{Records: -1, Seed: 1, Limits: countLimits(),
		TableCounts: map[string]int{"account": n / 2, "contact": n / 2}})
	if err != nil {
		return err
	}
	defer sim.Close()
	p, err := newEngines(ctx, az, sim)
	if err != nil {
		return err
	}
	r, err := p.bk.StartRun(ctx, p.envID, runstate.TriggerOnDemand)
	if err != nil {
		return err
	}
	if err := p.pump(ctx, nil); err != nil {
		return err
	}
	if run, err := p.Runs.GetRun(ctx, p.envID, r.ID); err != nil || run.Status != runstate.RunSucceeded {
		return fmt.Errorf("backup for restore: %v %v", run, err)
	}
	f := false
	req := restore.Request{Environment: p.envID, Run: r.ID, Policy: plan.PolicyRestoreAsNew,
		Scope:   plan.Scope{Tables: []string{"account", "contact"}},
		Options: restore.JobOptions{Notes: &f, Associations: &f, Files: &f}}
	e := sim.Demo()
	job := func(o restore.Options) (float64, *restore.Job, error) {
		o.Log = p.log
		rs := restore.New(p, p.Jobs, p.Blobs, p.sender, o)
		start := time.Now()
		j, err := rs.Start(ctx, req)
		if err != nil {
			return 0, nil, err
		}
		if err := p.pump(ctx, rs); err != nil {
			return 0, nil, err
		}
		d := time.Since(start).Seconds()
		if j, err = rs.Job(ctx, j.ID); err != nil {
			return 0, nil, err
		}
		if j.Counts.Created != n {
			return 0, j, fmt.Errorf("restore %s: %+v, want %d created", j.Status, j.Counts, n)
		}
		return float64(n) / d, j, nil
	}
	var batch, single, limited []float64
	for i := range cfg.reps {
		b, _, err := job(restore.Options{})
		if err != nil {
			return err
		}
		batch = append(batch, b)
		if i > 0 {
			continue // one request per record takes about 90 s at 20,000: one run keeps make bench within budget
		}
		s, _, err := job(restore.Options{OneByOne: true})
		if err != nil {
			return err
		}
		logf("restore rep %d: $batch %.0f records/s, one by one %.0f records/s", i+1, b, s)
		single = append(single, s)
	}
	label := groupInt(int64(n))
	rep.add("5", "restore "+label+" records, $batch (10 growing to 200)", "records/s", batch, "restore-as-new of accounts + contacts, no latency")
	rep.add("5", "restore "+label+" records, one request per record", "records/s", single, "same settings; one run (about 90 s)")
	rep.ratio("5", "$batch / one request per record", batch[:1], single, "first $batch run and the one-by-one run after it")
	// Under the scaled limits with realistic timings.
	e.SetLatency(simLatency)
	e.SetServerTime(simRequest, simPerRecord)
	reps := 1 // about a minute a run
	for range reps {
		e.SetLimits(scaledLimits())
		b, j, err := job(restore.Options{})
		if err != nil {
			return err
		}
		logf("restore under limits: %.0f records/s (%+v)", b, j.Counts)
		limited = append(limited, b)
	}
	rep.add("5", "restore "+label+" records, $batch, scaled limits + realistic timings", "records/s", limited,
		fmt.Sprintf("%d run (about a minute); 20 ms latency, 50 ms + 0.5 ms/record", reps))
	return nil
}
