package backup

import (
	"context"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// ConnectionsDirectory is the Directory of registered environments
// (shared/connections): policies from Table Storage, clients from the
// connection's identities.
func ConnectionsDirectory(svc *connections.Service) Directory { return connDir{svc} }

type connDir struct{ svc *connections.Service }

func (d connDir) ListEnvironments(ctx context.Context) ([]Environment, error) {
	envs, err := d.svc.Store().ListEnvironments(ctx, "")
	if err != nil {
		return nil, err
	}
	out := make([]Environment, 0, len(envs))
	for _, e := range envs {
		out = append(out, fromConnections(e))
	}
	return out, nil
}

func (d connDir) GetEnvironment(ctx context.Context, id string) (Environment, error) {
	e, err := d.svc.Environment(ctx, id)
	if err != nil {
		return Environment{}, err
	}
	return fromConnections(*e), nil
}

func (d connDir) Clients(ctx context.Context, env Environment) ([]*dataverse.Client, error) {
	cs, err := d.svc.Clients(ctx, env.ID)
	if err != nil {
		return nil, err
	}
	out := make([]*dataverse.Client, 0, len(cs))
	for _, c := range cs {
		out = append(out, c.Client)
	}
	return out, nil
}

// fromConnections maps a registered environment's policy to the engine's.
func fromConnections(e connections.Environment) Environment {
	p := e.Policy
	out := Environment{ID: e.ID, URL: e.URL, Policy: Policy{
		Enabled: p.Enabled && e.State != connections.StateDisabled && e.State != connections.StateGone,
		Include: p.IncludeTables, Exclude: p.ExcludeTables, Schedule: p.Schedule,
		RetentionDays: p.RetentionDays, RetentionCount: p.RetentionCount,
		AlwaysFull: !p.Incremental || p.FullEveryDays == 0,
		FullEvery:  time.Duration(p.FullEveryDays) * 24 * time.Hour,
	}}
	return out
}
