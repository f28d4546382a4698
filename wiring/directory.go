package wiring

import (
	"context"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

// Directory is the engines' view of the registered environments: policies
// from the connections store, a Dataverse client per identity of an
// environment's connection. It is both engines' Directory.
type Directory struct{ svc *connections.Service }

var (
	_ backup.Directory  = Directory{}
	_ restore.Directory = Directory{}
)

// NewDirectory returns the Directory of svc's environments.
func NewDirectory(svc *connections.Service) Directory { return Directory{svc: svc} }

// ListEnvironments lists every registered environment with its policy.
func (d Directory) ListEnvironments(ctx context.Context) ([]backup.Environment, error) {
	envs, err := d.svc.Environments(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]backup.Environment, 0, len(envs))
	for _, e := range envs {
		out = append(out, BackupEnvironment(e))
	}
	return out, nil
}

// GetEnvironment returns one registered environment.
func (d Directory) GetEnvironment(ctx context.Context, id string) (backup.Environment, error) {
	e, err := d.svc.Environment(ctx, id)
	if err != nil {
		return backup.Environment{}, err
	}
	return BackupEnvironment(*e), nil
}

// Clients returns one Dataverse client per identity of the connection of
// environment.
func (d Directory) Clients(ctx context.Context, environment string) ([]*dataverse.Client, error) {
	cs, err := d.svc.Clients(ctx, environment)
	if err != nil {
		return nil, err
	}
	out := make([]*dataverse.Client, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Client)
	}
	return out, nil
}

// BackupEnvironment maps a registered environment and its policy to the
// backup engine's: an environment disabled or gone is not backed up
// whatever its policy says; without incrementals (or with no full
// interval) every run is full.
func BackupEnvironment(e connections.Environment) backup.Environment {
	p := e.Policy
	return backup.Environment{ID: e.ID, URL: e.URL, Policy: backup.Policy{
		Enabled: p.Enabled && e.State != connections.StateDisabled && e.State != connections.StateGone,
		Include: p.IncludeTables, Exclude: p.ExcludeTables, Schedule: p.Schedule,
		RetentionDays: p.RetentionDays, RetentionCount: p.RetentionCount,
		AlwaysFull: !p.Incremental || p.FullEveryDays == 0,
		FullEvery:  time.Duration(p.FullEveryDays) * 24 * time.Hour,
	}}
}
