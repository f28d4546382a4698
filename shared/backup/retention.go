package backup

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// RetentionResult lists the runs deleted and kept by a retention pass.
type RetentionResult struct {
	Deleted []string `json:"deleted"`
	// Protected are runs past retention kept because a kept run builds on them.
	Protected []string `json:"protected"`
	// FilesDeleted counts file contents no run refers to any more.
	FilesDeleted int `json:"filesDeleted"`
}

// ApplyRetention deletes, per environment, finished runs older than the
// policy's RetentionDays or beyond its RetentionCount newest, except: runs in
// progress (never touched), the newest finished run (the next incremental's
// base), and any run a kept run builds on (its manifest's BuildsOn).
func (e *Engine) ApplyRetention(ctx context.Context) (RetentionResult, error) {
	var res RetentionResult
	envs, err := e.dir.ListEnvironments(ctx)
	if err != nil {
		return res, fmt.Errorf("list environments: %w", err)
	}
	var errs []error
	for _, env := range envs {
		d, p, err := e.retainEnvironment(ctx, env, e.opts.Now().UTC())
		res.Deleted = append(res.Deleted, d...)
		res.Protected = append(res.Protected, p...)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", env.ID, err))
		}
	}
	if len(errs) == 0 {
		n, err := e.CollectFiles(ctx, e.opts.FileGrace)
		res.FilesDeleted = n
		if err != nil {
			errs = append(errs, fmt.Errorf("collect files: %w", err))
		}
	}
	return res, errors.Join(errs...)
}

// CollectFiles deletes file contents (ContainerFiles) that no file list of
// any run of any environment refers to, if older than grace. The file
// lists of runs in progress count too, and grace covers a file uploaded by
// a page whose list is not written yet. Every environment with blobs is
// considered, registered or not, so an environment removed from the
// connections store keeps its files while its runs exist.
func (e *Engine) CollectFiles(ctx context.Context, grace time.Duration) (int, error) {
	used := map[string]bool{}
	for b, err := range e.blobs.List(ctx, backupformat.ContainerBackups, "env/") {
		if err != nil {
			return 0, err
		}
		if !strings.Contains(b.Name, "/files-") {
			continue
		}
		if err := backupformat.ReadFileRefs(ctx, e.blobs, b.Name, func(fr backupformat.FileRef) error {
			used[backupformat.FileBlob(fr.SHA256)] = true
			return nil
		}); err != nil && !errors.Is(err, blobstore.ErrNotFound) {
			return 0, err
		}
	}
	now := e.opts.Now()
	n := 0
	for f, err := range e.blobs.List(ctx, backupformat.ContainerFiles, "sha256/") {
		if err != nil {
			return n, err
		}
		if used[f.Name] || now.Sub(f.LastModified) < grace {
			continue
		}
		if err := e.blobs.Delete(ctx, backupformat.ContainerFiles, f.Name); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}

// RetentionPlan decides which runs to delete. runs are oldest first;
// buildsOn maps a run to the runs it needs. Pure, for tests.
func RetentionPlan(runs []*runstate.Run, buildsOn map[string][]string, p Policy, now time.Time) (del, protected []string) {
	var finished []*runstate.Run
	for _, r := range runs {
		if runstate.Terminal(r.Status) {
			finished = append(finished, r)
		}
	}
	sort.Slice(finished, func(i, j int) bool { return finished[i].ID < finished[j].ID })
	expired := map[string]bool{}
	for i, r := range finished {
		if i == len(finished)-1 {
			break // the newest finished run is always kept
		}
		old := p.RetentionDays > 0 && now.Sub(r.CreatedAt) > time.Duration(p.RetentionDays)*24*time.Hour
		over := p.RetentionCount > 0 && len(finished)-i > p.RetentionCount
		if old || over {
			expired[r.ID] = true
		}
	}
	// Everything a kept run (finished or in progress) needs stays.
	needed := map[string]bool{}
	var mark func(id string)
	mark = func(id string) {
		for _, b := range buildsOn[id] {
			if !needed[b] {
				needed[b] = true
				mark(b)
			}
		}
	}
	for _, r := range runs {
		if !expired[r.ID] {
			needed[r.ID] = true
			mark(r.ID)
		}
	}
	for _, r := range finished {
		if !expired[r.ID] {
			continue
		}
		if needed[r.ID] {
			protected = append(protected, r.ID)
		} else {
			del = append(del, r.ID)
		}
	}
	return del, protected
}

func (e *Engine) retainEnvironment(ctx context.Context, env Environment, now time.Time) (del, protected []string, err error) {
	if env.Policy.RetentionDays <= 0 && env.Policy.RetentionCount <= 0 {
		return nil, nil, nil
	}
	runs, err := e.state.ListRuns(ctx, env.ID)
	if err != nil {
		return nil, nil, err
	}
	buildsOn := map[string][]string{}
	for _, r := range runs {
		m, err := backupformat.ReadManifest(ctx, e.blobs, env.ID, r.ID)
		if errors.Is(err, blobstore.ErrNotFound) {
			if r.BaseRun != "" { // in progress: it will build on its base's chains
				buildsOn[r.ID] = []string{r.BaseRun}
			}
			continue
		}
		if err != nil {
			return nil, nil, err
		}
		buildsOn[r.ID] = m.BuildsOn
	}
	// An incremental in progress may use any run its base builds on.
	del, protected = RetentionPlan(runs, buildsOn, env.Policy, now)
	for _, id := range del {
		if err := e.deleteRun(ctx, env.ID, id); err != nil {
			return del, protected, err
		}
		e.log.InfoContext(ctx, "run deleted by retention", "environment", env.ID, "run", id)
	}
	return del, protected, nil
}

// deleteRun removes the run's manifest first (so a half-deleted run is
// never taken for a complete one), then its blobs, tasks and row. File
// contents are shared between runs and are not deleted here.
func (e *Engine) deleteRun(ctx context.Context, env, run string) error {
	if err := e.blobs.Delete(ctx, backupformat.ContainerBackups, backupformat.ManifestBlob(env, run)); err != nil {
		return err
	}
	for b, err := range e.blobs.List(ctx, backupformat.ContainerBackups, backupformat.RunPrefix(env, run)) {
		if err != nil {
			return err
		}
		if err := e.blobs.Delete(ctx, backupformat.ContainerBackups, b.Name); err != nil {
			return err
		}
	}
	return e.state.DeleteRun(ctx, env, run)
}
