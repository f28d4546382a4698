package plan

import (
	"context"
	"io"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
)

// Source is the backup a job restores from: the state of its tables as of
// one run and the contents of their files. backupformat.RunReader reads it
// from the backup engine's storage format.
type Source interface {
	// Tables lists the tables the run holds a usable state of.
	Tables(ctx context.Context) ([]string, error)
	// Records streams a table's records as of the run.
	Records(ctx context.Context, table string, fn func(backupformat.Record) error) error
	// Files streams the file references of a table's records as of the run
	// (a later reference to the same record and column wins); a table
	// without files may answer backupformat.ErrTableNotInRun.
	Files(ctx context.Context, table string, fn func(backupformat.FileRef) error) error
	// OpenFile opens a file's content by sha256.
	OpenFile(ctx context.Context, sha256 string) (io.ReadCloser, error)
}

var _ Source = (*backupformat.RunReader)(nil)
