package backupdemo_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/backupdemo"
)

// maxScanRequests bounds the scan of the standard organization (issue 13:
// "under 60" instead of seven per table).
const maxScanRequests = 60

// TestStandardOrganizationFullBackup: a full backup of the shape of a real
// organization (dataversesim.OrgStandard, 600+ tables, most of them empty)
// through the HTTP API, the dev host and the real handler succeeds; tables
// that refuse RetrieveMultiple are skipped with their reason; the scan reads
// the metadata in a bounded number of requests, which the run records; and
// what was stored verifies against the simulator.
func TestStandardOrganizationFullBackup(t *testing.T) {
	s := start(t, backupdemo.Options{Records: 200, Seed: 7, Sim: func(o *dataversesim.Options) { o.Org = dataversesim.OrgStandard }})
	ctx, cancel := context.WithTimeout(context.Background(), 8*time.Minute)
	defer cancel()
	env, err := s.Connect(ctx)
	if err != nil {
		t.Fatal(err)
	}
	e := s.Sim.Demo()
	all0, meta0 := e.Requests()
	began := time.Now()
	r, err := s.Backup(ctx, env)
	if err != nil {
		t.Fatal(err)
	}
	took := time.Since(began)
	all1, meta1 := e.Requests()
	t.Logf("standard organization: %d tables (%d skipped, %d failed), %d records in %.1f s; scan: %d requests (%d metadata at the simulator), metadata read %s (%s); %d Web API requests in all",
		r.Tables, r.Skipped, r.Failed, r.Records, took.Seconds(), r.ScanRequests, meta1-meta0, r.MetadataRead, r.MetadataReason, all1-all0)
	if r.Status != runstate.RunSucceeded {
		t.Fatalf("run %s: %s (%s)", r.ID, r.Status, r.Reason)
	}
	if r.Tables < 600 {
		t.Errorf("%d tables planned, want the whole organization (600 or more)", r.Tables)
	}
	if r.ScanRequests <= 0 || r.ScanRequests >= maxScanRequests {
		t.Errorf("the scan sent %d requests, want fewer than %d", r.ScanRequests, maxScanRequests)
	}
	// Nothing but the scan reads metadata during a backup, and the scan's
	// count includes its one WhoAmI.
	if meta1-meta0 == 0 || meta1-meta0 > int64(r.ScanRequests) {
		t.Errorf("the simulator served %d metadata requests during the backup; the run counts %d scan requests", meta1-meta0, r.ScanRequests)
	}

	m, err := backupformat.ReadManifest(ctx, s.Blobs, env, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	byName := map[string]backupformat.TableManifest{}
	for _, tm := range m.Tables {
		byName[tm.Name] = tm
	}
	refusing := 0
	for _, name := range e.Tables() {
		def := e.Table(name)
		if !def.RefuseRetrieveMultiple {
			continue
		}
		refusing++
		tm, ok := byName[name]
		switch {
		case !ok:
			t.Errorf("%s (refuses RetrieveMultiple) is not in the manifest", name)
		case tm.Status != backupformat.TableSkipped || !strings.Contains(tm.Reason, "RetrieveMultiple") && !strings.Contains(tm.Reason, "virtual table"):
			t.Errorf("%s refuses RetrieveMultiple: status %s, reason %q; want skipped with the reason", name, tm.Status, tm.Reason)
		}
	}
	if refusing == 0 {
		t.Error("the standard organization has no table that refuses RetrieveMultiple; nothing was checked")
	}
	t.Logf("%d tables refusing RetrieveMultiple skipped with their reason, e.g. %q", refusing, firstSkipReason(m))
	n, probs, err := s.Verify(ctx, env, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if n != 0 {
		t.Fatalf("the run differs from the simulator in %d places: %v", n, probs[:min(len(probs), 10)])
	}
}

func firstSkipReason(m *backupformat.Manifest) string {
	for _, tm := range m.Tables {
		if tm.Status == backupformat.TableSkipped {
			return tm.Name + ": " + tm.Reason
		}
	}
	return ""
}
