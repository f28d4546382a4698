package backup_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

const testRecords = 400

// smallPages makes tables span several pages with modest record counts.
var smallPages = backup.Options{PageSize: 40, ClockSkew: time.Nanosecond}

// checkRunMatchesSimulator checks a finished run against the simulator:
// counts per table, reconstruction, checksums (Verify) and skipped tables.
func checkRunMatchesSimulator(t *testing.T, f *fixture, run string) *backupformat.Manifest {
	t.Helper()
	ctx := context.Background()
	m := f.manifest(ctx, run)
	if probs, err := backupformat.Verify(ctx, f.blobs, f.envID, run); err != nil || len(probs) > 0 {
		t.Errorf("verify %s: %v %v", run, err, probs)
	}
	for _, tm := range m.Tables {
		switch tm.Status {
		case backupformat.TableSkipped:
			continue
		case backupformat.TableFailed:
			t.Errorf("table %s failed: %s", tm.Name, tm.Reason)
			continue
		}
		want := simState(f.env, tm.Name)
		got := f.backedUpState(ctx, run, tm.Name)
		if d := diffStates(want, got); d != "" {
			t.Errorf("table %s at run %s differs from the simulator: %s", tm.Name, run, d)
		}
	}
	return m
}

// TestFullRunOfSeededOrganization: a full run of the seeded demo
// organization; counts per table equal the simulator's, every blob's
// checksum matches the manifest, file/image columns and note attachments
// are byte-identical, tables refusing RetrieveMultiple are skipped with
// their reason.
func TestFullRunOfSeededOrganization(t *testing.T) {
	old := dataverse.FileChunkSize
	dataverse.FileChunkSize = 64 << 10 // several Range chunks for the larger files
	defer func() { dataverse.FileChunkSize = old }()
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: testRecords, Seed: 7}, identities: 2, engine: smallPages})
	start := time.Now()
	run := f.backup(ctx, pumpOptions{})
	t.Logf("full run %s: %s, %d records in %s (%.0f records/s), %d pages, %d files, %d bytes",
		run.ID, run.Status, run.Records, time.Since(start).Round(time.Millisecond), float64(run.Records)/time.Since(start).Seconds(), run.Pages, run.Files, run.Bytes)
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run status %s (%s), want succeeded", run.Status, run.Reason)
	}
	m := checkRunMatchesSimulator(t, f, run.ID)
	if m.Kind != backupformat.KindFull || len(m.BuildsOn) != 0 {
		t.Errorf("first run: kind %s buildsOn %v, want full and nothing", m.Kind, m.BuildsOn)
	}
	seen := map[string]bool{}
	var total int64
	for _, tm := range m.Tables {
		seen[tm.Name] = true
		if tm.Status == backupformat.TableDone {
			if int(tm.Records) != f.env.Count(tm.Name) {
				t.Errorf("%s: %d records backed up, simulator has %d", tm.Name, tm.Records, f.env.Count(tm.Name))
			}
			total += tm.Records
		}
	}
	for _, name := range f.env.Tables() {
		if !seen[name] {
			t.Errorf("table %s of the simulator is not in the manifest", name)
		}
	}
	if total != run.Records || total == 0 {
		t.Errorf("run records %d, tables sum to %d", run.Records, total)
	}
	for _, name := range []string{"postregarding", "postrole", "sharepointdocument"} {
		tm := m.Table(name)
		if tm == nil || tm.Status != backupformat.TableSkipped || !strings.Contains(tm.Reason, "RetrieveMultiple") {
			t.Errorf("%s: want skipped with the RetrieveMultiple reason, got %+v", name, tm)
		}
	}
	for _, name := range []string{"account", "contact", "task", "annotation", "cr1_project"} {
		if tm := m.Table(name); tm == nil || len(tm.Pages) < 2 && f.env.Count(name) > 40 {
			t.Errorf("%s: expected several pages, got %+v", name, tm)
		}
	}
	if m.Metadata == nil || m.Metadata.SHA256 == "" {
		t.Errorf("manifest has no metadata snapshot")
	}

	// Files: byte-identical with the simulator's.
	files := 0
	err := backupformat.TableFiles(ctx, f.blobs, m, "cr1_project", func(fr backupformat.FileRef) error {
		row, ok := f.env.Get("cr1_project", fr.ID)
		if !ok {
			t.Errorf("file of unknown record %s", fr.ID)
			return nil
		}
		key := fr.Column
		if fr.Column == "cr1_image" {
			key = "cr1_imageid"
		}
		fid, _ := row[key].(string)
		_, _, want, ok := f.env.File(fid)
		if !ok {
			t.Errorf("%s %s: simulator has no file %q", fr.ID, fr.Column, fid)
			return nil
		}
		got := readFile(t, f, fr.SHA256)
		if !bytes.Equal(got, want) {
			t.Errorf("%s %s: %d bytes stored, simulator has %d (content differs)", fr.ID, fr.Column, len(got), len(want))
		}
		files++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := 0
	for _, id := range f.env.IDs("cr1_project") {
		row, _ := f.env.Get("cr1_project", id)
		if row["cr1_document"] != nil {
			wantFiles++
		}
		if row["cr1_imageid"] != nil {
			wantFiles++
		}
	}
	if files != wantFiles || files == 0 {
		t.Errorf("cr1_project: %d files backed up, simulator has %d", files, wantFiles)
	}
	notes := 0
	err = backupformat.TableFiles(ctx, f.blobs, m, "annotation", func(fr backupformat.FileRef) error {
		row, _ := f.env.Get("annotation", fr.ID)
		want, _ := base64.StdEncoding.DecodeString(row["documentbody"].(string))
		if !bytes.Equal(readFile(t, f, fr.SHA256), want) {
			t.Errorf("note %s: attachment differs", fr.ID)
		}
		notes++
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if notes == 0 {
		t.Errorf("no note attachment backed up")
	}
	if run.Files != int64(files+notes) {
		t.Errorf("run counts %d files, found %d", run.Files, files+notes)
	}
	// The "run in progress" row was released.
	if active, err := f.state.ActiveRun(ctx, f.envID); err != nil || active != "" {
		t.Errorf("active run after the end: %q %v", active, err)
	}
}

func readFile(t *testing.T, f *fixture, sum string) []byte {
	t.Helper()
	rc, err := backupformat.OpenFile(context.Background(), f.blobs, sum)
	if err != nil {
		t.Fatalf("file %s: %v", sum, err)
	}
	defer rc.Close()
	b, err := io.ReadAll(rc)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestIncrementalContainsExactlyTheChanges: after updates, creates and
// deletes, the next run holds exactly those changes and tombstones, and the
// state reconstructed at each run equals the simulator's at that time.
func TestIncrementalContainsExactlyTheChanges(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: testRecords, Seed: 8}, engine: smallPages})
	run1 := f.backup(ctx, pumpOptions{})
	if run1.Status != runstate.RunSucceeded {
		t.Fatalf("run 1: %s %s", run1.Status, run1.Reason)
	}
	before := map[string]map[string]int64{}
	for _, tb := range []string{"account", "contact", "lead", "task"} {
		before[tb] = simState(f.env, tb)
	}
	// Changes: 3 updates and 2 deletes of accounts, 2 new contacts, an update of a lead (no change tracking).
	accs := f.env.IDs("account")
	changed := map[string]bool{}
	deleted := map[string]bool{}
	for _, id := range accs[:3] {
		if err := f.env.Update("account", id, map[string]any{"name": "Changed " + id[:8]}); err != nil {
			t.Fatal(err)
		}
		changed[id] = true
	}
	for _, id := range leafAccounts(f.env, 2) {
		if err := f.env.Delete("account", id); err != nil {
			t.Fatal(err)
		}
		deleted[id] = true
	}
	newContacts := map[string]bool{}
	for i := 0; i < 2; i++ {
		id, err := f.env.Create("contact", map[string]any{"firstname": "New", "lastname": "Contact"})
		if err != nil {
			t.Fatal(err)
		}
		newContacts[id] = true
	}
	// A project loses its document.
	var docless string
	for _, id := range f.env.IDs("cr1_project") {
		if row, _ := f.env.Get("cr1_project", id); row["cr1_document"] != nil {
			docless = id
			break
		}
	}
	if err := f.env.Update("cr1_project", docless, map[string]any{"cr1_document": nil, "cr1_document_name": nil}); err != nil {
		t.Fatal(err)
	}
	changedProjects := map[string]bool{docless: true}
	lead := f.env.IDs("lead")[0]
	if err := f.env.Update("lead", lead, map[string]any{"subject": "changed"}); err != nil {
		t.Fatal(err)
	}

	run2 := f.backup(ctx, pumpOptions{})
	if run2.Status != runstate.RunSucceeded {
		t.Fatalf("run 2: %s %s", run2.Status, run2.Reason)
	}
	m2 := checkRunMatchesSimulator(t, f, run2.ID)
	if m2.Kind != backupformat.KindIncremental || len(m2.BuildsOn) != 1 || m2.BuildsOn[0] != run1.ID {
		t.Errorf("run 2: kind %s buildsOn %v, want incremental on %s", m2.Kind, m2.BuildsOn, run1.ID)
	}
	// Exactly the changes: account upserts = changed, tombstones = deleted.
	ups, dels := map[string]bool{}, map[string]bool{}
	if err := backupformat.ReadTablePages(ctx, f.blobs, m2, "account", func(_ backupformat.PageRef, r backupformat.Record) error {
		if r.Op == backupformat.OpDelete {
			dels[r.ID] = true
		} else {
			ups[r.ID] = true
		}
		return nil
	}); err != nil {
		t.Fatal(err)
	}
	if !sameSet(ups, changed) || !sameSet(dels, deleted) {
		t.Errorf("account delta: upserts %v deletes %v; want %v and %v", keys(ups), keys(dels), keys(changed), keys(deleted))
	}
	cups := map[string]bool{}
	_ = backupformat.ReadTablePages(ctx, f.blobs, m2, "contact", func(_ backupformat.PageRef, r backupformat.Record) error {
		cups[r.ID] = true
		return nil
	})
	if !sameSet(cups, newContacts) {
		t.Errorf("contact delta: %v, want %v", keys(cups), keys(newContacts))
	}
	if tm := m2.Table("opportunity"); tm == nil || tm.Mode != backupformat.ModeDelta || tm.Records+tm.Deletes != 0 {
		t.Errorf("unchanged opportunity: %+v, want an empty delta", tm)
	}
	if tm := m2.Table("lead"); tm == nil || tm.Mode != backupformat.ModeFull {
		t.Errorf("lead (no change tracking) must be read in full, got %+v", tm)
	}
	// Files as of each run: the cleared document is gone at run 2 only.
	fileState := func(run string) map[string]bool {
		out := map[string]bool{}
		if err := backupformat.TableFileState(ctx, f.blobs, f.envID, run, "cr1_project", func(fr backupformat.FileRef) error {
			out[fr.ID+"/"+fr.Column] = true
			return nil
		}); err != nil {
			t.Fatal(err)
		}
		return out
	}
	simFiles := func() map[string]bool {
		out := map[string]bool{}
		for _, id := range f.env.IDs("cr1_project") {
			row, _ := f.env.Get("cr1_project", id)
			if row["cr1_document"] != nil {
				out[id+"/cr1_document"] = true
			}
			if row["cr1_imageid"] != nil {
				out[id+"/cr1_image"] = true
			}
		}
		return out
	}
	f1, f2 := fileState(run1.ID), fileState(run2.ID)
	if !f1[docless+"/cr1_document"] || f2[docless+"/cr1_document"] || !sameSet(f2, simFiles()) {
		t.Errorf("file state: run 1 has the document %v, run 2 has it %v; run 2 matches the simulator %v", f1[docless+"/cr1_document"], f2[docless+"/cr1_document"], sameSet(f2, simFiles()))
	}
	pups := map[string]bool{}
	_ = backupformat.ReadTablePages(ctx, f.blobs, m2, "cr1_project", func(_ backupformat.PageRef, r backupformat.Record) error {
		pups[r.ID] = true
		return nil
	})
	if !sameSet(pups, changedProjects) {
		t.Errorf("cr1_project delta: %v, want %v", keys(pups), keys(changedProjects))
	}
	// The old run still reconstructs the old state.
	for tb, want := range before {
		if d := diffStates(want, f.backedUpState(ctx, run1.ID, tb)); d != "" {
			t.Errorf("%s at run 1 after run 2: %s", tb, d)
		}
	}
}

func sameSet(a, b map[string]bool) bool {
	if len(a) != len(b) {
		return false
	}
	for k := range a {
		if !b[k] {
			return false
		}
	}
	return true
}

func keys(m map[string]bool) []string {
	var out []string
	for k := range m {
		out = append(out, k[:8])
	}
	return out
}

// TestDuplicateDeliveries: every extract and files message delivered twice
// leaves one blob per page and correct counts.
func TestDuplicateDeliveries(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 200, Seed: 9}, engine: smallPages})
	run := f.backup(ctx, pumpOptions{Duplicate: true})
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	m := checkRunMatchesSimulator(t, f, run.ID)
	for _, tm := range m.Tables {
		if tm.Status != backupformat.TableDone {
			continue
		}
		blobs, err := blobstore.Collect(f.blobs.List(ctx, backupformat.ContainerBackups, backupformat.TablePrefix(f.envID, run.ID, tm.Name)+"page-"))
		if err != nil {
			t.Fatal(err)
		}
		if len(blobs) != len(tm.Pages) {
			t.Errorf("%s: %d page blobs, manifest lists %d", tm.Name, len(blobs), len(tm.Pages))
		}
		if int(tm.Records) != f.env.Count(tm.Name) {
			t.Errorf("%s: %d records, simulator has %d", tm.Name, tm.Records, f.env.Count(tm.Name))
		}
	}
}

// TestThrottlingLosesNothing: bursts of 429 (Retry-After) slow the run but
// every record arrives; throttles are counted and re-sent with the delay.
func TestThrottlingLosesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 200, Seed: 10}, identities: 2, engine: smallPages})
	for _, p := range []string{"/accounts", "/contacts", "/tasks", "/annotations"} {
		f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault429, Count: 2, Path: p})
	}
	var delayed atomic.Int64
	f.sender.Hook = func(_ context.Context, q string, msgs []messaging.Message) error {
		for _, m := range msgs {
			if q == messaging.QueueExtract && m.Delay >= time.Second {
				delayed.Add(1)
			}
		}
		return nil
	}
	run := f.backup(ctx, pumpOptions{})
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	checkRunMatchesSimulator(t, f, run.ID)
	if run.Throttled < 8 || delayed.Load() < 8 {
		t.Errorf("throttled %d, delayed re-sends %d; want at least 8 each", run.Throttled, delayed.Load())
	}
}

// TestExpiredDeltaTokenFallsBackToFull: when the stored delta token has
// expired, the table is read in full again, recorded in the run, and the
// reconstruction is still right.
func TestExpiredDeltaTokenFallsBackToFull(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 200, Seed: 11}, engine: smallPages})
	run1 := f.backup(ctx, pumpOptions{})
	if run1.Status != runstate.RunSucceeded {
		t.Fatalf("run 1: %s", run1.Status)
	}
	acc := f.env.IDs("account")[0]
	if err := f.env.Update("account", acc, map[string]any{"name": "after expiry"}); err != nil {
		t.Fatal(err)
	}
	f.env.SetChangeTrackingExpiry(time.Millisecond)
	time.Sleep(1100 * time.Millisecond) // tokens carry whole seconds
	run2 := f.backup(ctx, pumpOptions{})
	if run2.Status != runstate.RunSucceeded {
		t.Fatalf("run 2: %s %s", run2.Status, run2.Reason)
	}
	m2 := checkRunMatchesSimulator(t, f, run2.ID)
	tm := m2.Table("account")
	if tm.Mode != backupformat.ModeFull || !strings.Contains(tm.FallbackReason, "expired") || len(tm.Chain) != 1 {
		t.Errorf("account after expiry: mode %s fallback %q chain %v; want full with the reason", tm.Mode, tm.FallbackReason, tm.Chain)
	}
	if int(tm.Records) != f.env.Count("account") {
		t.Errorf("account: %d records, want %d", tm.Records, f.env.Count("account"))
	}
}

// TestRecordChangedMidLoadIsInNextRun: a record changed during the full
// read, after its page was read, is not in the delta after the full read
// (the delta link comes with the last page), so the first incremental
// re-reads records modified since the full read started.
func TestRecordChangedMidLoadIsInNextRun(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 400, Seed: 12}, engine: smallPages})
	target := f.env.IDs("account")[0] // on page 1
	var changedVersion int64
	var once atomic.Bool
	after := func(q string, m messaging.Message) {
		if q != messaging.QueueExtract || !strings.Contains(string(m.Body), `"table":"account","page":2`) || !once.CompareAndSwap(false, true) {
			return
		}
		if err := f.env.Update("account", target, map[string]any{"name": "changed mid-load"}); err != nil {
			t.Error(err)
		}
		row, _ := f.env.Get("account", target)
		changedVersion = row["@version"].(int64)
	}
	run1 := f.backup(ctx, pumpOptions{After: after, Workers: 1})
	if !once.Load() {
		t.Fatal("the mid-load change was not made (account has a single page?)")
	}
	s1 := f.backedUpState(ctx, run1.ID, "account")
	if s1[target] == changedVersion {
		t.Fatalf("the full read already has the change; the test does not exercise the rule")
	}
	run2 := f.backup(ctx, pumpOptions{})
	m2 := checkRunMatchesSimulator(t, f, run2.ID)
	found := false
	_ = backupformat.ReadTablePages(ctx, f.blobs, m2, "account", func(p backupformat.PageRef, r backupformat.Record) error {
		if r.ID == target && r.Version == changedVersion {
			found = true
		}
		return nil
	})
	if !found {
		t.Errorf("the record changed mid-load (version %d) is not in the next run", changedVersion)
	}
	if s2 := f.backedUpState(ctx, run2.ID, "account"); s2[target] != changedVersion {
		t.Errorf("state at run 2 has version %d of the record, want %d", s2[target], changedVersion)
	}
}

// TestServiceProtectionLimits: with a small request budget per identity
// (the simulator's sliding window), the run meets real 429s during the scan
// and the extraction, waits them out by delayed re-sends, spreads its
// requests over both identities, and loses nothing.
func TestServiceProtectionLimits(t *testing.T) {
	ctx := context.Background()
	// The scan reads metadata two tables a request here (about twenty
	// requests, not the default two or three for this organization), so it
	// meets the budget too.
	o := smallPages
	o.MetadataTablesPerRequest = 2
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 200, Seed: 14}, identities: 2, engine: o})
	f.env.SetLimits(dataversesim.Limits{Enabled: true, Window: 2 * time.Second, MaxRequests: 8, MaxExecution: time.Hour, MaxConcurrent: 52})
	run := f.backup(ctx, pumpOptions{})
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	checkRunMatchesSimulator(t, f, run.ID)
	a, b := f.requests[0].Load(), f.requests[1].Load()
	t.Logf("throttled %d times; requests per identity: %d and %d; concurrency %d of %d", run.Throttled, a, b, run.Concurrency, run.MaxConcurrency)
	if run.Throttled == 0 {
		t.Errorf("no 429 met; the limits did not bite")
	}
	if a == 0 || b == 0 || a > 3*b || b > 3*a {
		t.Errorf("requests not spread over the identities: %d and %d", a, b)
	}
}

// TestFailingTableEndsRunPartial: a table whose pages fail on every
// delivery is marked failed with the reason on the last delivery, the other
// tables complete, and the run ends partial.
func TestFailingTableEndsRunPartial(t *testing.T) {
	ctx := context.Background()
	eo := smallPages
	eo.MaxDeliveries = 3
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 150, Seed: 15}, engine: eo})
	f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault503, Count: 1000, Path: "/leads"})
	run := f.backup(ctx, pumpOptions{MaxDeliveries: 3})
	if run.Status != runstate.RunPartial || run.Failed != 1 || !strings.Contains(run.Reason, "lead") {
		t.Fatalf("run: %s failed=%d reason %q; want partial with lead failed", run.Status, run.Failed, run.Reason)
	}
	m := f.manifest(ctx, run.ID)
	tm := m.Table("lead")
	if tm.Status != backupformat.TableFailed || !strings.Contains(tm.Reason, "3 deliveries") || !strings.Contains(tm.Reason, "503") {
		t.Errorf("lead: %s %q", tm.Status, tm.Reason)
	}
	for _, other := range m.Tables {
		if other.Name != "lead" && other.Status == backupformat.TableDone && int(other.Records) != f.env.Count(other.Name) {
			t.Errorf("%s: %d records, want %d", other.Name, other.Records, f.env.Count(other.Name))
		}
	}
	// The next run reads lead in full and the rest as deltas.
	f.env.ClearFaults()
	run2 := f.backup(ctx, pumpOptions{})
	m2 := checkRunMatchesSimulator(t, f, run2.ID)
	if run2.Status != runstate.RunSucceeded || m2.Table("lead").Mode != backupformat.ModeFull || m2.Table("account").Mode != backupformat.ModeDelta {
		t.Errorf("run after the failure: %s, lead %s, account %s", run2.Status, m2.Table("lead").Mode, m2.Table("account").Mode)
	}
}

// TestStalledRunIsEndedByScheduler: a run whose messages were lost outside
// the engine's sight (no progress for StallAfter) is ended by the next
// scheduler pass, with the reason, and a new run starts.
func TestStalledRunIsEndedByScheduler(t *testing.T) {
	ctx := context.Background()
	var offset atomic.Int64
	eo := smallPages
	eo.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 50, Seed: 16}, engine: eo})
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	scan := f.sender.Take(messaging.QueueScan)
	m, _ := backup.DecodeScan(scan[0].Body)
	if err := f.eng.Scan(ctx, m, 1); err != nil {
		t.Fatal(err)
	}
	f.sender.Take(messaging.QueueExtract) // lost
	if res, err := f.eng.Schedule(ctx); err != nil || len(res.Started) != 0 {
		t.Fatalf("schedule while the run is young: %+v %v", res, err)
	}
	offset.Store(int64(2 * time.Hour))
	res, err := f.eng.Schedule(ctx)
	if err != nil || len(res.Started) != 1 {
		t.Fatalf("schedule after the stall: %+v %v", res, err)
	}
	old, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if old.Status != runstate.RunFailed || !strings.Contains(old.Reason, "failed") {
		t.Errorf("stalled run: %s %q", old.Status, old.Reason)
	}
	mf := f.manifest(ctx, r.ID)
	if tm := mf.Table("account"); tm.Status != backupformat.TableFailed || !strings.Contains(tm.Reason, "no progress") {
		t.Errorf("account in the stalled run: %s %q", tm.Status, tm.Reason)
	}
	// The new run completes normally.
	if p := f.pump(ctx, pumpOptions{}); len(p) != 0 {
		t.Fatalf("poison: %v", p)
	}
	nr, _ := f.state.GetRun(ctx, f.envID, res.Started[0])
	if nr.Status != runstate.RunSucceeded || nr.Kind != backupformat.KindFull {
		t.Errorf("new run: %s %s", nr.Status, nr.Kind)
	}
}

// TestTransientFaultsRetried: 500/503 bursts, connections reset mid-body
// and truncated JSON on pages are retried (in the invocation, then by
// redelivery) and the run is complete.
func TestTransientFaultsRetried(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 200, Seed: 17}, engine: smallPages})
	f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault500, Count: 4, Path: "/accounts"})
	f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.FaultReset, Count: 2, Path: "/contacts"})
	f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.FaultTruncate, Count: 2, Path: "/tasks"})
	f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault503, Count: 3, Path: "$value"})
	run := f.backup(ctx, pumpOptions{})
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	checkRunMatchesSimulator(t, f, run.ID)
}

// An environment with its own schedule is due at the first scheduler firing
// at or after an occurrence later than its last run, and not before.
func TestPolicyScheduleDecidesWhenDue(t *testing.T) {
	ctx := context.Background()
	var offset atomic.Int64
	eo := smallPages
	eo.Now = func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 20, Seed: 17}, engine: eo})
	// Every six hours: 00:00, 06:00, 12:00, 18:00 UTC.
	f.dir.env.Policy.Schedule = "0 0 */6 * * *"

	res, err := f.eng.Schedule(ctx)
	if err != nil || len(res.Started) != 1 {
		t.Fatalf("first firing (no run yet): %+v %v", res, err)
	}
	if p := f.pump(ctx, pumpOptions{}); len(p) != 0 {
		t.Fatalf("poison: %v", p)
	}
	first, err := f.state.GetRun(ctx, f.envID, res.Started[0])
	if err != nil {
		t.Fatal(err)
	}
	next := first.CreatedAt.UTC().Truncate(6 * time.Hour).Add(6 * time.Hour)

	// A firing before the next occurrence starts nothing and says when.
	offset.Store(int64(time.Until(next.Add(-time.Minute))))
	res, err = f.eng.Schedule(ctx)
	if err != nil || len(res.Started) != 0 || len(res.Skipped) != 1 || !strings.Contains(res.Skipped[0], next.Format(time.RFC3339)) {
		t.Fatalf("firing before %v: %+v %v", next, res, err)
	}
	// The first firing at or after it starts the run.
	offset.Store(int64(time.Until(next.Add(time.Minute))))
	res, err = f.eng.Schedule(ctx)
	if err != nil || len(res.Started) != 1 {
		t.Fatalf("firing after %v: %+v %v", next, res, err)
	}
}

// 429s met by the scan (no table task sees them) stay in the run's count
// after it is finalized.
func TestScanThrottlesCountedInRun(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 20, Seed: 18}, engine: smallPages})
	f.sim.Demo().InjectFault(dataversesim.Fault{Kind: dataversesim.Fault429, Path: "WhoAmI", Count: 2})
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	if p := f.pump(ctx, pumpOptions{}); len(p) != 0 {
		t.Fatalf("poison: %v", p)
	}
	got, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != runstate.RunSucceeded || got.Throttled < 2 {
		t.Errorf("run %s with %d throttles, want succeeded with at least the scan's 2", got.Status, got.Throttled)
	}
}

// leafAccounts returns the last n accounts whose delete changes nothing but
// themselves: the simulator applies Dataverse's delete cascades, so deleting
// an account with contacts, opportunities or child accounts also deletes or
// changes those (dataversesim cascade.go).
func leafAccounts(e *dataversesim.Env, n int) []string {
	var out []string
	ids := e.IDs("account")
	for i := len(ids) - 1; i >= 0 && len(out) < n; i-- {
		if deleted, changed, restricted := e.DeleteEffects("account", ids[i]); len(deleted) == 1 && len(changed) == 0 && restricted == "" {
			out = append(out, ids[i])
		}
	}
	return out
}
