package backup_test

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

func TestRetentionPlan(t *testing.T) {
	now := time.Date(2026, 1, 30, 0, 0, 0, 0, time.UTC)
	mk := func(id string, daysAgo int, status string) *runstate.Run {
		return &runstate.Run{ID: id, Status: status, CreatedAt: now.Add(-time.Duration(daysAgo) * 24 * time.Hour)}
	}
	runs := []*runstate.Run{mk("a", 20, runstate.RunSucceeded), mk("b", 15, runstate.RunSucceeded), mk("c", 10, runstate.RunSucceeded),
		mk("d", 9, runstate.RunFailed), mk("e", 1, runstate.RunSucceeded), mk("f", 0, runstate.RunRunning)}
	buildsOn := map[string][]string{"b": {"a"}, "c": {"a", "b"}, "e": {"c"}, "f": {"e", "c"}}
	del, prot := backup.RetentionPlan(runs, buildsOn, backup.Policy{RetentionDays: 5}, now)
	// a, b, c, d are past retention; e builds on c, c on a and b: kept. d deleted.
	if !slices.Equal(del, []string{"d"}) || !slices.Equal(prot, []string{"a", "b", "c"}) {
		t.Errorf("days: delete %v protect %v", del, prot)
	}
	del, _ = backup.RetentionPlan(runs, map[string][]string{}, backup.Policy{RetentionCount: 2}, now)
	if !slices.Equal(del, []string{"a", "b", "c"}) {
		t.Errorf("count: delete %v", del)
	}
	// Never the newest finished run, never one in progress.
	del, _ = backup.RetentionPlan(runs, map[string][]string{}, backup.Policy{RetentionDays: 0, RetentionCount: 1}, now)
	if slices.Contains(del, "e") || slices.Contains(del, "f") {
		t.Errorf("deleted the newest or a running run: %v", del)
	}
}

// TestRetentionKeepsWhatIncrementalsNeed: with a count of 1, the full run
// the kept incremental builds on stays and stays restorable; once a new
// full run exists, the old chain goes.
func TestRetentionKeepsWhatIncrementalsNeed(t *testing.T) {
	ctx := context.Background()
	eo := smallPages
	eo.FileGrace = time.Nanosecond
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 100, Seed: 13}, engine: eo})
	run1 := f.backup(ctx, pumpOptions{})
	_ = f.env.Update("account", f.env.IDs("account")[0], map[string]any{"name": "x"})
	run2 := f.backup(ctx, pumpOptions{})
	f.dir.env.Policy.RetentionCount = 1
	res, err := f.eng.ApplyRetention(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Deleted) != 0 || !slices.Contains(res.Protected, run1.ID) {
		t.Fatalf("retention: %+v; want run 1 protected", res)
	}
	checkRunMatchesSimulator(t, f, run2.ID)
	// A new full run: the old chain is no longer needed, nor the content of
	// a document cleared before it.
	var doc string
	for _, id := range f.env.IDs("cr1_project") {
		if row, _ := f.env.Get("cr1_project", id); row["cr1_document"] != nil {
			fid := row["cr1_document"].(string)
			_, _, data, _ := f.env.File(fid)
			doc = sha256hex(data)
			if err := f.env.Update("cr1_project", id, map[string]any{"cr1_document": nil}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if _, err := f.blobs.Stat(ctx, backupformat.ContainerFiles, backupformat.FileBlob(doc)); err != nil {
		t.Fatalf("the document was not backed up: %v", err)
	}
	f.dir.env.Policy.AlwaysFull = true
	run3 := f.backup(ctx, pumpOptions{})
	res, err = f.eng.ApplyRetention(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Deleted, []string{run1.ID, run2.ID}) {
		runs, _ := f.state.ListRuns(ctx, f.envID)
		for _, r := range runs {
			m, err := backupformat.ReadManifest(ctx, f.blobs, f.envID, r.ID)
			if err == nil {
				t.Logf("run %s %s buildsOn %v", r.ID, r.Status, m.BuildsOn)
			} else {
				t.Logf("run %s %s: %v", r.ID, r.Status, err)
			}
		}
		t.Fatalf("retention after a new full run: %+v (runs %s %s %s)", res, run1.ID, run2.ID, run3.ID)
	}
	if _, err := backupformat.ReadManifest(ctx, f.blobs, f.envID, run1.ID); err == nil {
		t.Errorf("run 1 manifest still there")
	}
	left, _ := blobstore.Collect(f.blobs.List(ctx, backupformat.ContainerBackups, backupformat.RunPrefix(f.envID, run2.ID)))
	if len(left) != 0 {
		t.Errorf("%d blobs of run 2 left", len(left))
	}
	checkRunMatchesSimulator(t, f, run3.ID)
	if _, err := f.blobs.Stat(ctx, backupformat.ContainerFiles, backupformat.FileBlob(doc)); err == nil || res.FilesDeleted < 1 {
		t.Errorf("the cleared document's content is still stored (files deleted: %d)", res.FilesDeleted)
	}
	if probs, err := backupformat.Verify(ctx, f.blobs, f.envID, run3.ID); err != nil || len(probs) > 0 {
		t.Errorf("run 3 after file collection: %v %v", probs, err)
	}
}

func sha256hex(b []byte) string {
	s := sha256.Sum256(b)
	return hex.EncodeToString(s[:])
}
