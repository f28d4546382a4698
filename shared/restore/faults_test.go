package restore_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// TestKilledRestoreResumes: the invocation dies after Dataverse answered a
// batch and before the results were stored; the message is delivered again
// to a new engine, which finishes the job without writing any record twice
// (restore-as-new, where a duplicate would be a second copy).
func TestKilledRestoreResumes(t *testing.T) {
	ctx := context.Background()
	var batches atomic.Int32
	f := newFixture(t, fixtureOptions{restore: restore.Options{ChunkSize: 15, InitialBatch: 4, LeaseDuration: 300 * time.Millisecond,
		AfterBatch: func(job string, chunk int) error {
			if batches.Add(1) == 2 {
				return errCrash
			}
			return nil
		}}})
	e := f.demo
	f.backup(ctx)
	ids := e.IDs("account")[:40]
	n := e.Count("account")
	j, err := f.rs.Start(ctx, restore.Request{Environment: f.envID, Policy: plan.PolicyRestoreAsNew, Scope: plan.Scope{Records: map[string][]string{"account": ids}}})
	if err != nil {
		t.Fatal(err)
	}
	left := f.pump(ctx, func(_ string, err error) bool { return err != nil && strings.Contains(err.Error(), "crash") })
	if len(left) == 0 {
		t.Fatal("the crash point was never reached")
	}
	mid := e.Count("account") - n
	t.Logf("crashed after %d new accounts; %d message(s) left", mid, len(left))
	if mid == 0 || mid >= len(ids) {
		t.Fatalf("the crash should fall mid-job: %d of %d written", mid, len(ids))
	}
	f.reopen(restore.Options{ChunkSize: 15, InitialBatch: 4, LeaseDuration: 300 * time.Millisecond})
	for _, p := range left {
		must(t, f.sender.Send(ctx, p.queue, p.msg))
	}
	f.pump(ctx, nil)
	j, rep := f.finished(ctx, j.ID)
	created := 0
	for _, r := range rep {
		if r.Table == "account" && r.Status == restore.ResCreated {
			created++
		}
	}
	if j.Status != restore.StatusSucceeded || created != len(ids) {
		t.Fatalf("job %s counts %+v failures %v", j.Status, j.Counts, failures(rep))
	}
	if got := e.Count("account") - n; got != len(ids) {
		t.Fatalf("%d accounts added, want %d: a record was written twice or lost", got, len(ids))
	}
	replayed := 0
	for _, r := range rep {
		if strings.Contains(r.Reason, "earlier attempt") {
			replayed++
		}
	}
	if replayed == 0 {
		t.Error("no record was recognised as written by the crashed attempt")
	}
}

// TestThrottledRestoreLosesNothing: with tight (scaled) service protection
// limits the restore is slowed by 429s and Retry-After, and restores
// everything.
func TestThrottledRestoreLosesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{identities: 1, restore: restore.Options{ChunkSize: 40, InitialBatch: 1, MaxBatch: 3}})
	e := f.demo
	keys := victims(t, e, 4)
	f.backup(ctx)
	before := takeSnapshot(e, keys)
	deleteAll(t, e, keys)
	e.SetLimits(dataversesim.Limits{Enabled: true, Window: time.Second, MaxRequests: 4})
	j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true, Tables: []string{"account", "contact", "annotation", "task"}}})
	e.SetLimits(dataversesim.Limits{})
	if j.Status != restore.StatusSucceeded {
		t.Fatalf("job %s %s %v", j.Status, j.Error, failures(rep))
	}
	if j.Throttled == 0 {
		t.Error("the limits never throttled the restore; the test proves nothing")
	}
	t.Logf("throttled %d times, %d records", j.Throttled, j.Counts.Created)
	compare(t, e, before)
}

// TestTransientFaultsRetriedInRestore: planning reads answered 429 are
// waited out and counted in the job's Throttled; $batch calls answered 500
// or cut mid-answer are sent again (idempotently: a cut batch may have been
// applied), and everything is restored.
func TestTransientFaultsRetriedInRestore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{identities: 1, restore: restore.Options{ChunkSize: 40, InitialBatch: 5, MaxBatch: 5}})
	e := f.demo
	keys := victims(t, e, 3)
	f.backup(ctx)
	before := takeSnapshot(e, keys)
	deleteAll(t, e, keys)
	e.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault429, Count: 2, Method: "GET", Path: "EntityDefinitions"})
	e.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault500, Count: 2, Method: "POST", Path: "$batch"})
	e.InjectFault(dataversesim.Fault{Kind: dataversesim.FaultReset, Count: 1, Method: "POST", Path: "$batch"})
	j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true, Tables: []string{"account", "contact", "task"}}})
	if j.Status != restore.StatusSucceeded {
		t.Fatalf("job %s %s %v", j.Status, j.Error, failures(rep))
	}
	if j.Throttled != 2 {
		t.Errorf("job throttled %d times, want the 2 planning throttles injected", j.Throttled)
	}
	// The cut batch was applied before its answer was lost: its records are
	// recognised as this job's writes, not as records created by someone else.
	replayed := 0
	for _, r := range rep {
		if strings.Contains(r.Reason, "after the job was planned") {
			t.Errorf("%s %s: %s %q; want it recognised as written by an earlier attempt", r.Table, r.ID, r.Status, r.Reason)
		}
		if strings.Contains(r.Reason, "earlier attempt") {
			replayed++
		}
	}
	if replayed == 0 {
		t.Error("no record was recognised as written by the cut batch: the fault proved nothing")
	}
	compare(t, e, before)
}
