package backup

import (
	"context"
	"slices"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// PurgeEnvironment deletes every run of env, the way retention deletes one
// (manifest first, then the run's blobs, tasks and row), including runs
// whose row is gone but whose blobs remain, and returns their ids, oldest
// first. It refuses (*runstate.ActiveError) while a run is in progress.
// File contents are shared between environments: those no run refers to
// any more go with the next retention pass (CollectFiles).
func (e *Engine) PurgeEnvironment(ctx context.Context, env string) ([]string, error) {
	runs, err := e.state.ListRuns(ctx, env)
	if err != nil {
		return nil, err
	}
	var ids []string
	for _, r := range runs {
		if !runstate.Terminal(r.Status) {
			return nil, &runstate.ActiveError{RunID: r.ID}
		}
		ids = append(ids, r.ID)
	}
	prefix := backupformat.EnvironmentPrefix(env) + "run/"
	for b, err := range e.blobs.List(ctx, backupformat.ContainerBackups, prefix) {
		if err != nil {
			return nil, err
		}
		if run, _, ok := strings.Cut(strings.TrimPrefix(b.Name, prefix), "/"); ok && !slices.Contains(ids, run) {
			ids = append(ids, run)
		}
	}
	slices.Sort(ids)
	for i, id := range ids {
		if err := e.deleteRun(ctx, env, id); err != nil {
			return ids[:i], err
		}
	}
	e.log.InfoContext(ctx, "environment's backups purged", "environment", env, "runs", len(ids))
	return ids, nil
}
