package backup_test

import (
	"context"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// sweepFixture: small record pages and small id-sweep pages, so the sweep
// spans several pages (continuation messages).
func sweepFixture(t *testing.T, seed int64) *fixture {
	o := smallPages
	o.SweepPageSize = 30
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 150, Seed: seed}, engine: o})
	// Two change-tracked tables and one without change tracking keep it short.
	f.dir.env.Policy.Include = []string{"account", "contact", "lead"}
	return f
}

// sweepPhasePages counts the pages of phase sweep of table in m.
func sweepPhasePages(m *backupformat.Manifest, table string) int {
	n := 0
	for _, p := range m.Table(table).Pages {
		if p.Phase == backupformat.PhaseSweep {
			n++
		}
	}
	return n
}

// TestSweepWritesNothingWhenNothingWasDeletedMidRead: a full run, then
// changes between runs (updates and a deletion the delta reports), then an
// incremental: the id sweep runs on every change-tracked table and writes no
// tombstone (the delta's own tombstone is not repeated); a second
// incremental does not sweep again; tables without change tracking are read
// in full and not swept.
func TestSweepWritesNothingWhenNothingWasDeletedMidRead(t *testing.T) {
	ctx := context.Background()
	f := sweepFixture(t, 41)
	run1 := f.backup(ctx, pumpOptions{})
	if run1.Status != runstate.RunSucceeded {
		t.Fatalf("run 1: %s %s", run1.Status, run1.Reason)
	}
	accs := f.env.IDs("account")
	if err := f.env.Delete("account", accs[3]); err != nil {
		t.Fatal(err)
	}
	if err := f.env.Update("account", accs[5], map[string]any{"name": "changed between runs"}); err != nil {
		t.Fatal(err)
	}
	run2 := f.backup(ctx, pumpOptions{})
	if run2.Status != runstate.RunSucceeded {
		t.Fatalf("run 2: %s %s", run2.Status, run2.Reason)
	}
	m2 := checkRunMatchesSimulator(t, f, run2.ID)
	swept := 0
	for _, tm := range m2.Tables {
		if tm.Status != backupformat.TableDone {
			continue
		}
		switch {
		case tm.Mode == backupformat.ModeDelta:
			if tm.Sweep == nil {
				t.Errorf("%s: delta table not swept on the first incremental", tm.Name)
				continue
			}
			swept++
			if tm.Sweep.Tombstones != 0 || sweepPhasePages(m2, tm.Name) != 0 {
				t.Errorf("%s: sweep wrote %d tombstones (%d pages), want none", tm.Name, tm.Sweep.Tombstones, sweepPhasePages(m2, tm.Name))
			}
			if want := int64(f.env.Count(tm.Name)); tm.Sweep.LiveIDs != want {
				t.Errorf("%s: sweep read %d ids, table has %d", tm.Name, tm.Sweep.LiveIDs, want)
			}
		case tm.Sweep != nil:
			t.Errorf("%s: table read in %s mode was swept", tm.Name, tm.Mode)
		}
	}
	if swept == 0 || m2.Table("account").Sweep == nil {
		t.Fatalf("no table swept in run 2")
	}
	if acc := m2.Table("account"); acc.Deletes != 1 || acc.Sweep.BackupIDs != int64(f.env.Count("account")) {
		t.Errorf("account: %d deletes (want the delta's 1), sweep compared %d ids (want %d)", acc.Deletes, acc.Sweep.BackupIDs, f.env.Count("account"))
	}
	if m2.Totals.SweepTombstones != 0 {
		t.Errorf("run 2 totals: %d sweep tombstones", m2.Totals.SweepTombstones)
	}
	// The sweep's scratch blobs are gone.
	left, err := blobstore.Collect(f.blobs.List(ctx, backupformat.ContainerBackups, backupformat.TablePrefix(f.envID, run2.ID, "account")+"sweep-"))
	if err != nil || len(left) != 0 {
		t.Errorf("sweep id blobs left: %d %v", len(left), err)
	}
	run3 := f.backup(ctx, pumpOptions{})
	if run3.Status != runstate.RunSucceeded {
		t.Fatalf("run 3: %s %s", run3.Status, run3.Reason)
	}
	m3 := checkRunMatchesSimulator(t, f, run3.ID)
	for _, tm := range m3.Tables {
		if tm.Sweep != nil {
			t.Errorf("run 3 swept %s again", tm.Name)
		}
	}
}

// TestSweepDuplicateDelivery: an account is deleted during the full read
// after its page was read; the incremental that sweeps gets every message
// twice: it writes the tombstone once, one page blob per page, and its
// state equals the simulator's.
func TestSweepDuplicateDelivery(t *testing.T) {
	ctx := context.Background()
	f := sweepFixture(t, 42)
	early := f.env.IDs("account")[0]
	var done atomic.Bool
	run1 := f.backup(ctx, pumpOptions{Workers: 1, After: func(q string, m messaging.Message) {
		if q == messaging.QueueExtract && strings.Contains(string(m.Body), `"table":"account","page":1`) && done.CompareAndSwap(false, true) {
			if err := f.env.Delete("account", early); err != nil {
				t.Error(err)
			}
		}
	}})
	if !done.Load() || run1.Status != runstate.RunSucceeded {
		t.Fatalf("run 1: %s %s (deleted mid-read: %v)", run1.Status, run1.Reason, done.Load())
	}
	if _, ok := f.backedUpState(ctx, run1.ID, "account")[early]; !ok {
		t.Fatalf("the record deleted after its page was read is missing from run 1")
	}
	run2 := f.backup(ctx, pumpOptions{Duplicate: true})
	if run2.Status != runstate.RunSucceeded {
		t.Fatalf("run 2: %s %s", run2.Status, run2.Reason)
	}
	m2 := checkRunMatchesSimulator(t, f, run2.ID)
	onePagePerBlob(t, f, m2)
	acc := m2.Table("account")
	if acc.Sweep == nil || acc.Sweep.Tombstones != 1 || sweepPhasePages(m2, "account") != 1 {
		t.Fatalf("account sweep: %+v, %d sweep pages; want 1 tombstone in 1 page", acc.Sweep, sweepPhasePages(m2, "account"))
	}
	n := 0
	_ = backupformat.ReadTablePages(ctx, f.blobs, m2, "account", func(p backupformat.PageRef, r backupformat.Record) error {
		if r.ID == early {
			n++
			if r.Op != backupformat.OpDelete || p.Phase != backupformat.PhaseSweep {
				t.Errorf("record %s in run 2: %s in a %s page", early, r.Op, p.Phase)
			}
		}
		return nil
	})
	if n != 1 {
		t.Errorf("run 2 holds %d lines of %s, want its one tombstone", n, early)
	}
	if _, ok := f.backedUpState(ctx, run2.ID, "account")[early]; ok {
		t.Errorf("record %s still in the state of run 2", early)
	}
	// A stale sweep message delivered again after the run changes nothing.
	last := acc.Pages[len(acc.Pages)-1]
	if err := f.eng.ExtractPage(ctx, backup.ExtractMessage{Environment: f.envID, Run: run2.ID, Table: "account", Page: last.N}, 1); err != nil {
		t.Fatal(err)
	}
	if m := f.manifest(ctx, run2.ID); m.Table("account").Sweep.Tombstones != 1 || len(m.Table("account").Pages) != len(acc.Pages) {
		t.Errorf("a late duplicate changed run 2")
	}
}
