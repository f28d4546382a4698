package backup_test

import (
	"context"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// scanOnly starts a run and handles its scan message, leaving the first
// extract messages queued.
func (f *fixture) scanOnly(ctx context.Context) (*runstate.Run, backup.ScanMessage) {
	f.t.Helper()
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		f.t.Fatal(err)
	}
	scan := f.sender.Take(messaging.QueueScan)
	m, _ := backup.DecodeScan(scan[0].Body)
	if err := f.eng.Scan(ctx, m, 1); err != nil {
		f.t.Fatal(err)
	}
	return r, m
}

// TestLostLaunchesSentAgain: the first extract messages the scan claimed in
// the run row are lost (the invocation died after the claim, before or
// while sending); the scan message's redelivery sends them again, and the
// run completes.
func TestLostLaunchesSentAgain(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 30, Seed: 41}, engine: smallPages})
	r, m := f.scanOnly(ctx)
	lost := f.sender.Take(messaging.QueueExtract)
	run, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(lost) == 0 || run.Launched.Len() != len(lost) {
		t.Fatalf("%d first messages sent, %d launches claimed", len(lost), run.Launched.Len())
	}
	// As if the claims were never cleared (the process died before).
	if _, err := f.state.ModifyRun(ctx, f.envID, r.ID, func(x *runstate.Run) (bool, error) {
		for i := range x.Tables {
			if x.Launched.Has(i) && !x.Ended.Has(i) {
				x.Launching = append(x.Launching, runstate.Launch{Order: i, Cause: -1, At: x.UpdatedAt})
			}
		}
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	if err := f.eng.Scan(ctx, m, 2); err != nil { // redelivered
		t.Fatal(err)
	}
	if again := f.sender.Sent(messaging.QueueExtract); len(again) != len(lost) {
		t.Fatalf("the redelivered scan sent %d first messages, want the %d lost", len(again), len(lost))
	}
	if p := f.pump(ctx, pumpOptions{}); len(p) != 0 {
		t.Fatalf("%d poison message(s)", len(p))
	}
	got, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != runstate.RunSucceeded || len(got.Launching) != 0 || got.Ended.Len() != got.Tables {
		t.Fatalf("run %s, %d claims left, %d of %d tables ended", got.Status, len(got.Launching), got.Ended.Len(), got.Tables)
	}
	checkRunMatchesSimulator(t, f, r.ID)
}

// TestRunProgressRebuiltFromTasks: a run row without the tables' progress
// (a run scanned before the row kept it) has it rebuilt from the tasks by
// the first move, and the run completes.
func TestRunProgressRebuiltFromTasks(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 30, Seed: 42}, engine: smallPages})
	r, _ := f.scanOnly(ctx)
	if _, err := f.state.ModifyRun(ctx, f.envID, r.ID, func(x *runstate.Run) (bool, error) {
		x.Tracked, x.Launched, x.Ended, x.Launching = false, runstate.OrderSet{}, runstate.OrderSet{}, nil
		return true, nil
	}); err != nil {
		t.Fatal(err)
	}
	// The old scan marked launched tasks running.
	for _, msg := range f.sender.Sent(messaging.QueueExtract) {
		xm, _ := backup.DecodeExtract(msg.Body)
		if _, err := f.state.ModifyTask(ctx, r.ID, xm.Table, func(t *runstate.Task) (bool, error) {
			t.Status = runstate.TaskRunning
			return true, nil
		}); err != nil {
			t.Fatal(err)
		}
	}
	if p := f.pump(ctx, pumpOptions{}); len(p) != 0 {
		t.Fatalf("%d poison message(s)", len(p))
	}
	got, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != runstate.RunSucceeded || !got.Tracked {
		t.Fatalf("run %s (%s), tracked %v", got.Status, got.Reason, got.Tracked)
	}
	checkRunMatchesSimulator(t, f, r.ID)
}
