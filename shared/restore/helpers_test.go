package restore_test

import (
	"context"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

type restoreResult = restore.Result

func dumpRows(t *testing.T, f *fixture, job string) {
	_ = f.store.Results(context.Background(), job, "", func(r restoreResult) error {
		if r.Status == "failed" {
			t.Logf("row %+v", r)
		}
		return nil
	})
}
