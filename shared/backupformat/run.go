package backupformat

import (
	"context"
	"errors"
	"fmt"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"io"
	"sort"
	"strings"
)

// Statuses of a finished run's manifest (the run's own status, as the
// backup engine's run state names them).
const (
	RunSucceeded = "succeeded"
	RunPartial   = "partial"
	RunFailed    = "failed"
)

// Restorable reports whether the run ended with a usable state
// (succeeded, or partial: some tables failed, the others are whole).
func (m *Manifest) Restorable() bool { return m.Status == RunSucceeded || m.Status == RunPartial }

// LatestRun returns the newest restorable run of env (run ids sort by
// time). blobstore.ErrNotFound when there is none; a manifest that cannot
// be read for another reason is an error, never a reason to fall back to an
// older run.
func LatestRun(ctx context.Context, b blobstore.Store, env string) (string, error) {
	prefix := EnvironmentPrefix(env) + "run/"
	infos, err := blobstore.Collect(b.List(ctx, ContainerBackups, prefix))
	if err != nil {
		return "", fmt.Errorf("list the runs of %s: %w", env, err)
	}
	var runs []string
	for _, in := range infos {
		if rest, ok := strings.CutSuffix(strings.TrimPrefix(in.Name, prefix), "/manifest.json"); ok && !strings.Contains(rest, "/") {
			runs = append(runs, rest)
		}
	}
	sort.Sort(sort.Reverse(sort.StringSlice(runs)))
	for _, r := range runs {
		m, err := ReadManifest(ctx, b, env, r)
		if errors.Is(err, blobstore.ErrNotFound) {
			continue // deleted by retention since the listing
		}
		if err != nil {
			return "", err
		}
		if m.Restorable() {
			return r, nil
		}
	}
	return "", fmt.Errorf("%w: environment %s has no finished backup run", blobstore.ErrNotFound, env)
}

// RunReader reads the state of a backup run: its tables, their records and
// files as of the run, and file contents. It reads the manifest once, on
// first use. Not safe for concurrent use.
type RunReader struct {
	blobs    blobstore.Store
	env, run string
	m        *Manifest
}

// NewRunReader returns a reader of run of env.
func NewRunReader(b blobstore.Store, env, run string) *RunReader {
	return &RunReader{blobs: b, env: env, run: run}
}

// Manifest returns the run's manifest (blobstore.ErrNotFound when the run has none).
func (r *RunReader) Manifest(ctx context.Context) (*Manifest, error) {
	if r.m != nil {
		return r.m, nil
	}
	m, err := ReadManifest(ctx, r.blobs, r.env, r.run)
	if err != nil {
		return nil, err
	}
	r.m = m
	return m, nil
}

// Tables lists the tables the run holds a usable state of.
func (r *RunReader) Tables(ctx context.Context) ([]string, error) {
	m, err := r.Manifest(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range m.Tables {
		if t.Status == TableDone && len(t.Chain) > 0 {
			out = append(out, t.Name)
		}
	}
	return out, nil
}

// CheckTable returns nil when the run holds a usable state of table,
// ErrTableNotInRun (wrapped, with the reason) when not, and
// blobstore.ErrNotFound when the run has no manifest.
func (r *RunReader) CheckTable(ctx context.Context, table string) error {
	m, err := r.Manifest(ctx)
	if err != nil {
		return err
	}
	tm := m.Table(table)
	switch {
	case tm == nil:
		return fmt.Errorf("%w: %s is not in run %s", ErrTableNotInRun, table, r.run)
	case tm.Status != TableDone || len(tm.Chain) == 0:
		return fmt.Errorf("%w: %s is %s in run %s", ErrTableNotInRun, table, tm.Status, r.run)
	}
	return nil
}

// Records streams the records of table as of the run (TableState).
func (r *RunReader) Records(ctx context.Context, table string, fn func(Record) error) error {
	return TableState(ctx, r.blobs, r.env, r.run, table, fn)
}

// Files streams the file lists of every run in the table's chain, oldest
// first: a later reference to the same record and column replaces an
// earlier one.
func (r *RunReader) Files(ctx context.Context, table string, fn func(FileRef) error) error {
	m, err := r.Manifest(ctx)
	if err != nil {
		return err
	}
	tm := m.Table(table)
	if tm == nil {
		return fmt.Errorf("%w: %s", ErrTableNotInRun, table)
	}
	for _, run := range tm.Chain {
		rm := m
		if run != m.Run {
			if rm, err = ReadManifest(ctx, r.blobs, r.env, run); err != nil {
				return err
			}
		}
		if rm.Table(table) == nil {
			continue
		}
		if err := TableFiles(ctx, r.blobs, rm, table, fn); err != nil && !errors.Is(err, ErrTableNotInRun) {
			return err
		}
	}
	return nil
}

// OpenFile opens a content-addressed file by its sha256.
func (r *RunReader) OpenFile(ctx context.Context, sha256hex string) (io.ReadCloser, error) {
	return OpenFile(ctx, r.blobs, sha256hex)
}
