package restore_test

import (
	"context"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// TestSucceededJobCarriesNoStaleError: a job that carried the error of an
// earlier failed delivery ("the custom handler did not answer") and then
// ends succeeded has no error any more.
func TestSucceededJobCarriesNoStaleError(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	run := f.backup(ctx)
	id := f.demo.IDs("account")[0]
	j, err := f.rs.Start(ctx, restore.Request{Environment: f.envID, Run: run,
		Scope: plan.Scope{Tables: []string{"account"}, Records: map[string][]string{"account": {id}}}})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.store.ModifyJob(ctx, j.ID, func(x *restore.Job) (bool, error) {
		x.Error = "the custom handler did not answer: connection reset"
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	f.pump(ctx, nil)
	got, _ := f.finished(ctx, j.ID)
	if got.Status != restore.StatusSucceeded {
		t.Fatalf("job %s ended %s (%s), want succeeded", j.ID, got.Status, got.Error)
	}
	if got.Error != "" {
		t.Errorf("succeeded job still carries error %q", got.Error)
	}
}
