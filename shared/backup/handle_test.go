package backup_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// Handle refuses what is not a backup message, with a reason: the host
// redelivers it and finally dead-letters it.
func TestHandleRefusesOtherQueuesAndBadBodies(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 5, Seed: 3}})
	cases := []struct{ queue, body, want string }{
		{messaging.QueueRestore, `{"job":"r1","step":"plan"}`, "not a backup queue"},
		{messaging.QueueScan, `not json`, "scan message"},
		{messaging.QueueExtract, `{"environment":"e","run":"r","table":"account"}`, "page >= 1"},
		{messaging.QueueFiles, `{}`, "files message"},
	}
	for _, c := range cases {
		if err := f.eng.Handle(ctx, c.queue, []byte(c.body), 1); err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("Handle(%s, %s): %v, want an error saying %q", c.queue, c.body, err, c.want)
		}
	}
}

// Cancel ends a run in progress as cancelled with the reason and frees the
// environment; its queued messages then do nothing; a second Cancel is
// ErrRunEnded. LatestRun and LatestRuns answer the newest run.
func TestCancelEndsRunAndFreesEnvironment(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 20, Seed: 4}, engine: smallPages})
	done := f.backup(ctx, pumpOptions{})
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	got, err := f.eng.Cancel(ctx, f.envID, r.ID, "cancelled by tester")
	if err != nil || got.Status != runstate.RunCancelled || got.Reason != "cancelled by tester" || got.FinishedAt.IsZero() {
		t.Fatalf("cancel: %+v %v", got, err)
	}
	if active, err := f.state.ActiveRun(ctx, f.envID); err != nil || active != "" {
		t.Errorf("the cancelled run still holds the environment: %q %v", active, err)
	}
	if p := f.pump(ctx, pumpOptions{}); len(p) != 0 {
		t.Errorf("%d poison message(s) after the cancel", len(p))
	}
	after, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil || after.Status != runstate.RunCancelled || after.Reason != "cancelled by tester" || after.Tables != 0 {
		t.Errorf("the queued scan of a cancelled run did work: %+v %v", after, err)
	}
	if _, err := f.eng.Cancel(ctx, f.envID, r.ID, "again"); !errors.Is(err, backup.ErrRunEnded) {
		t.Errorf("second cancel: %v, want ErrRunEnded", err)
	}
	if _, err := f.eng.Cancel(ctx, f.envID, "20200101T000000.000000Z-00000000", "x"); !errors.Is(err, runstate.ErrNotFound) {
		t.Errorf("cancel of an unknown run: %v, want ErrNotFound", err)
	}

	latest, err := f.eng.LatestRun(ctx, f.envID)
	if err != nil || latest == nil || latest.ID != r.ID {
		t.Errorf("latest run: %+v %v, want %s (the older run is %s)", latest, err, r.ID, done.ID)
	}
	all, err := f.eng.LatestRuns(ctx)
	if err != nil || all[f.envID] == nil || all[f.envID].ID != r.ID {
		t.Errorf("latest runs: %v %v, want %s for %s", all[f.envID], err, r.ID, f.envID)
	}
	if none, err := f.eng.LatestRun(ctx, f.envID+"x"); err != nil || none != nil {
		t.Errorf("latest run of an environment without runs: %+v %v", none, err)
	}
}
