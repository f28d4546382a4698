package restore_test

import (
	"context"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// TestRestoreRefusesARunThatFailsVerification: one page of contact in the
// full run an incremental builds on is corrupted. Verify names it; a
// restore from the incremental fails before writing anything, naming the
// blob; with proceedIfDamaged it restores the intact tables (account) and
// says which were left out (contact).
func TestRestoreRefusesARunThatFailsVerification(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	run1 := f.backup(ctx)
	run2 := f.backup(ctx)
	m1, err := backupformat.ReadManifest(ctx, f.blobs, f.envID, run1)
	if err != nil {
		t.Fatal(err)
	}
	ct := m1.Table("contact")
	if ct == nil || len(ct.Pages) == 0 {
		t.Fatal("run 1 has no contact page")
	}
	bad := ct.Pages[0].Blob
	if _, err := f.blobs.Put(ctx, backupformat.ContainerBackups, bad, strings.NewReader("not the page that was written"), nil); err != nil {
		t.Fatal(err)
	}
	probs, err := backupformat.Verify(ctx, f.blobs, f.envID, run1)
	if err != nil || len(probs) != 1 || probs[0].Blob != bad {
		t.Fatalf("verify of run 1: %v %v; want the corrupted page named", probs, err)
	}

	accounts, contacts := e.IDs("account")[:2], e.IDs("contact")[:2]
	for _, id := range accounts {
		must(t, e.Delete("account", id))
	}
	for _, id := range contacts {
		if _, ok := e.Get("contact", id); ok {
			must(t, e.Delete("contact", id))
		}
	}
	nAcc, nCon := e.Count("account"), e.Count("contact")
	scope := plan.Scope{Tables: []string{"account", "contact"}, Deleted: true}

	j, _ := f.restore(ctx, restore.Request{Run: run2, Scope: scope})
	if j.Status != restore.StatusFailed || !strings.Contains(j.Error, "fails verification") || !strings.Contains(j.Error, bad) || !strings.Contains(j.Error, "proceedIfDamaged") {
		t.Errorf("restore from a damaged chain: %s %q; want failed naming %s", j.Status, j.Error, bad)
	}
	if e.Count("account") != nAcc || e.Count("contact") != nCon {
		t.Fatalf("the refused restore wrote: accounts %d -> %d, contacts %d -> %d", nAcc, e.Count("account"), nCon, e.Count("contact"))
	}

	j, rep := f.restore(ctx, restore.Request{Run: run2, Scope: scope, ProceedIfDamaged: true})
	if j.Status != restore.StatusSucceeded {
		t.Fatalf("restore of the intact tables: %s %q %v", j.Status, j.Error, failures(rep))
	}
	for _, id := range accounts {
		if _, ok := e.Get("account", id); !ok {
			t.Errorf("account %s not restored", id)
		}
	}
	if e.Count("contact") != nCon {
		t.Errorf("contacts were restored from a damaged table: %d -> %d", nCon, e.Count("contact"))
	}
	if !strings.Contains(strings.Join(j.Notes, "\n"), "tables left out: contact") {
		t.Errorf("job notes %q do not say contact was left out", j.Notes)
	}
}
