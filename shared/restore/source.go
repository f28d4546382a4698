package restore

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
)

// Source is the backup a job restores from: the state of a table as of one
// run and the contents of its files. BackupSource reads it from the backup
// engine's storage format; tests may give their own.
type Source interface {
	// Tables lists the tables the run holds a usable state of.
	Tables(ctx context.Context) ([]string, error)
	// Records streams a table's records as of the run.
	Records(ctx context.Context, table string, fn func(backupformat.Record) error) error
	// Files streams the file references of a table's records as of the run
	// (a later reference to the same record and column wins).
	Files(ctx context.Context, table string, fn func(backupformat.FileRef) error) error
	// OpenFile opens a file's content by sha256.
	OpenFile(ctx context.Context, sha256 string) (io.ReadCloser, error)
}

// BackupSource reads run Run of environment Env from blob storage.
type BackupSource struct {
	Blobs backupformat.Blobs
	Env   string
	Run   string
	m     *backupformat.Manifest
}

var _ Source = (*BackupSource)(nil)

func (s *BackupSource) manifest(ctx context.Context) (*backupformat.Manifest, error) {
	if s.m != nil {
		return s.m, nil
	}
	m, err := backupformat.ReadManifest(ctx, s.Blobs, s.Env, s.Run)
	if err != nil {
		return nil, err
	}
	s.m = m
	return m, nil
}

// Tables lists the done tables of the run.
func (s *BackupSource) Tables(ctx context.Context) ([]string, error) {
	m, err := s.manifest(ctx)
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range m.Tables {
		if t.Status == backupformat.TableDone && len(t.Chain) > 0 {
			out = append(out, t.Name)
		}
	}
	return out, nil
}

// Records streams backupformat.TableState.
func (s *BackupSource) Records(ctx context.Context, table string, fn func(backupformat.Record) error) error {
	return backupformat.TableState(ctx, s.Blobs, s.Env, s.Run, table, fn)
}

// Files streams the file lists of every run in the table's chain, oldest first.
func (s *BackupSource) Files(ctx context.Context, table string, fn func(backupformat.FileRef) error) error {
	m, err := s.manifest(ctx)
	if err != nil {
		return err
	}
	tm := m.Table(table)
	if tm == nil {
		return fmt.Errorf("%w: %s", backupformat.ErrTableNotInRun, table)
	}
	for _, r := range tm.Chain {
		rm := m
		if r != m.Run {
			if rm, err = backupformat.ReadManifest(ctx, s.Blobs, s.Env, r); err != nil {
				return err
			}
		}
		if rm.Table(table) == nil {
			continue
		}
		if err := backupformat.TableFiles(ctx, s.Blobs, rm, table, fn); err != nil && !errors.Is(err, backupformat.ErrTableNotInRun) {
			return err
		}
	}
	return nil
}

// OpenFile opens a content-addressed file blob.
func (s *BackupSource) OpenFile(ctx context.Context, sum string) (io.ReadCloser, error) {
	return backupformat.OpenFile(ctx, s.Blobs, sum)
}
