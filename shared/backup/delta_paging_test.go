package backup_test

import (
	"context"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// deltaTokenVersion is the version part of the $deltatoken of a delta link
// ("<version>!<timestamp>").
func deltaTokenVersion(t *testing.T, link string) int64 {
	t.Helper()
	u, err := url.Parse(link)
	if err != nil {
		t.Fatal(err)
	}
	if u.Query().Has("$skiptoken") {
		t.Fatalf("stored delta link carries a $skiptoken (an intermediate page's nextLink?): %s", link)
	}
	v, _, _ := strings.Cut(u.Query().Get("$deltatoken"), "!")
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil {
		t.Fatalf("delta link without a version token: %s", link)
	}
	return n
}

// runChanges reads what a run stored for a table: upserts id -> version and deletes.
func runChanges(t *testing.T, f *fixture, m *backupformat.Manifest, table string) (map[string]int64, map[string]bool) {
	t.Helper()
	ups, dels := map[string]int64{}, map[string]bool{}
	if err := backupformat.ReadTablePages(context.Background(), f.blobs, m, table, func(_ backupformat.PageRef, r backupformat.Record) error {
		if r.Op == backupformat.OpDelete {
			dels[r.ID] = true
		} else {
			ups[r.ID] = r.Version
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	return ups, dels
}

func version(t *testing.T, f *fixture, id string) int64 {
	t.Helper()
	row, ok := f.env.Get("account", id)
	if !ok {
		t.Fatalf("account %s missing", id)
	}
	return row["@version"].(int64)
}

// TestIncrementalWithPagedDelta: an incremental whose account delta spans
// several pages (the simulator pages deltas by odata.maxpagesize) stores
// every update, create and delete, ends at the simulator's state and keeps
// the delta link of the last page; a change made between two delta pages
// is in that run or, if not, in the next one.
func TestIncrementalWithPagedDelta(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{
		sim:    dataversesim.Options{Records: -1, TableCounts: map[string]int{"account": 200}, Seed: 31},
		engine: backup.Options{PageSize: 25, ClockSkew: time.Nanosecond},
	})
	mustSucceed := func(r *runstate.Run) {
		t.Helper()
		if r.Status != runstate.RunSucceeded {
			t.Fatalf("run %s: %s %s", r.ID, r.Status, r.Reason)
		}
	}
	// Deletes below must change only the deleted rows: without the account
	// hierarchy, no delete clears a child account's parentaccountid
	// (account_parent_account is RemoveLink in the simulator, as in Dataverse).
	for _, id := range f.env.IDs("account") {
		if err := f.env.Update("account", id, map[string]any{"parentaccountid": nil}); err != nil {
			t.Fatal(err)
		}
	}
	mustSucceed(f.backup(ctx, pumpOptions{}))
	// The first incremental re-reads and sweeps; the paged deltas come after it.
	mustSucceed(f.backup(ctx, pumpOptions{}))

	// Run 3: 60 updates, 10 creates, 15 deletes = 85 changes, 4 pages of 25.
	accs := f.env.IDs("account")
	changed, deleted := map[string]int64{}, map[string]bool{}
	for _, id := range accs[:60] {
		if err := f.env.Update("account", id, map[string]any{"name": "paged " + id[:8]}); err != nil {
			t.Fatal(err)
		}
		changed[id] = version(t, f, id)
	}
	var last int64
	for range 10 {
		id, err := f.env.Create("account", map[string]any{"name": "new paged"})
		if err != nil {
			t.Fatal(err)
		}
		changed[id] = version(t, f, id)
		last = changed[id]
	}
	for _, id := range accs[60:75] {
		if err := f.env.Delete("account", id); err != nil {
			t.Fatal(err)
		}
		deleted[id] = true
		last++ // each delete takes the next version
	}
	run3 := f.backup(ctx, pumpOptions{})
	mustSucceed(run3)
	m3 := checkRunMatchesSimulator(t, f, run3.ID)
	tm := m3.Table("account")
	if tm == nil || tm.Mode != backupformat.ModeDelta || len(tm.Pages) != 4 {
		t.Fatalf("account in run 3: %+v, want a delta of 4 pages", tm)
	}
	ups, dels := runChanges(t, f, m3, "account")
	if len(ups) != len(changed) || len(dels) != len(deleted) {
		t.Errorf("run 3 stored %d upserts and %d deletes, want %d and %d", len(ups), len(dels), len(changed), len(deleted))
	}
	for id, v := range changed {
		if ups[id] != v {
			t.Errorf("run 3: %s at version %d, want %d", id, ups[id], v)
		}
	}
	for id := range deleted {
		if !dels[id] {
			t.Errorf("run 3: delete of %s missing", id)
		}
	}
	if got := deltaTokenVersion(t, tm.DeltaLink); got != last {
		t.Errorf("run 3 stored a delta token at version %d, want %d (the last page's)", got, last)
	}

	// Run 4: 60 updates, so the delta has pages 1-3; after page 1 is
	// stored, a row already sent and a row not yet sent are updated, one is
	// created and a not yet sent one deleted.
	accs = f.env.IDs("account")
	for _, id := range accs[:60] {
		if err := f.env.Update("account", id, map[string]any{"name": "again " + id[:8]}); err != nil {
			t.Fatal(err)
		}
	}
	sent, unsent, victim := accs[0], accs[50], accs[55]
	var armed, done atomic.Bool
	late := map[string]int64{}
	var created string
	armed.Store(true)
	after := func(q string, m messaging.Message) {
		if q != messaging.QueueExtract || !armed.Load() || !strings.Contains(string(m.Body), `"table":"account","page":1`) || !done.CompareAndSwap(false, true) {
			return
		}
		for _, id := range []string{sent, unsent} {
			if err := f.env.Update("account", id, map[string]any{"name": "between pages"}); err != nil {
				t.Error(err)
			}
			late[id] = version(t, f, id)
		}
		id, err := f.env.Create("account", map[string]any{"name": "between pages"})
		if err != nil {
			t.Error(err)
		}
		created = id
		late[id] = version(t, f, id)
		if err := f.env.Delete("account", victim); err != nil {
			t.Error(err)
		}
	}
	run4 := f.backup(ctx, pumpOptions{After: after, Workers: 1})
	armed.Store(false)
	mustSucceed(run4)
	if !done.Load() {
		t.Fatal("no change was made between delta pages")
	}
	m4 := f.manifest(ctx, run4.ID)
	if tm := m4.Table("account"); tm == nil || tm.Mode != backupformat.ModeDelta || len(tm.Pages) < 2 {
		t.Fatalf("account in run 4: %+v, want a paged delta", tm)
	}
	ups4, dels4 := runChanges(t, f, m4, "account")
	run5 := f.backup(ctx, pumpOptions{})
	mustSucceed(run5)
	checkRunMatchesSimulator(t, f, run5.ID)
	ups5, dels5 := runChanges(t, f, f.manifest(ctx, run5.ID), "account")
	for id, v := range late {
		if ups4[id] != v && ups5[id] != v {
			t.Errorf("change of %s (version %d) made between delta pages is in neither run 4 (%d) nor run 5 (%d)", id, v, ups4[id], ups5[id])
		}
	}
	if !dels4[victim] && !dels5[victim] {
		t.Errorf("delete of %s made between delta pages is in neither run 4 nor run 5", victim)
	}
	t.Logf("between pages: in run 4 %d/%d upserts, delete %v; created %s", countIn(ups4, late), len(late), dels4[victim], created[:8])
}

func countIn(ups, want map[string]int64) int {
	n := 0
	for id, v := range want {
		if ups[id] == v {
			n++
		}
	}
	return n
}
