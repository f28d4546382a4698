package backup_test

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// snapshotOf reads a run's metadata snapshot.
type snapshotDoc struct {
	EntityDefinitions    []struct{ LogicalName string }        `json:"entityDefinitions"`
	Tables               map[string]map[string]json.RawMessage `json:"tables"`
	MetadataRead         string                                `json:"metadataRead"`
	MetadataBase         string                                `json:"metadataBase"`
	MetadataVersionStamp string                                `json:"metadataVersionStamp"`
}

func (f *fixture) snapshot(ctx context.Context, run *runstate.Run) snapshotDoc {
	f.t.Helper()
	rc, err := f.blobs.Get(ctx, backupformat.ContainerBackups, run.MetadataBlob)
	if err != nil {
		f.t.Fatal(err)
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		f.t.Fatal(err)
	}
	var s snapshotDoc
	if err := json.NewDecoder(gz).Decode(&s); err != nil {
		f.t.Fatal(err)
	}
	return s
}

type partItem struct {
	LogicalName string
	MetadataID  string `json:"MetadataId"`
	Targets     []string
	MaxSizeInKB *int
	OptionSet   *struct {
		Name    string
		Options []struct{ Value int }
	}
	ReferencingAttribute string
	SchemaName           string
}

func part(t *testing.T, s snapshotDoc, table, name string) []partItem {
	t.Helper()
	raw := s.Tables[table][name]
	if raw == nil {
		t.Fatalf("snapshot has no %s of %s (parts %v)", name, table, partNames(s.Tables[table]))
	}
	var out []partItem
	if err := json.Unmarshal(raw, &out); err != nil {
		t.Fatalf("%s of %s: %v", name, table, err)
	}
	return out
}

func partNames[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

func has(items []partItem, name string) *partItem {
	for i := range items {
		if items[i].LogicalName == name || items[i].SchemaName == name {
			return &items[i]
		}
	}
	return nil
}

// TestScanReadsMetadataInFewRequests: the scan reads every table's columns,
// lookups with their targets, choices with their options, file columns and
// relationships with a bounded number of requests (WhoAmI, the table list,
// one RetrieveMetadataChanges per MetadataTablesPerRequest tables), not
// seven per table, and records the count in the run; the snapshot keeps
// its per-table parts.
func TestScanReadsMetadataInFewRequests(t *testing.T) {
	ctx := context.Background()
	const per = 10
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 20, Seed: 31}, engine: backup.Options{MetadataTablesPerRequest: per}})
	_, meta0 := f.env.Requests()
	run := f.backup(ctx, pumpOptions{})
	_, meta1 := f.env.Requests()
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	tables := len(f.env.Tables())
	chunks := (tables + per - 1) / per
	t.Logf("%d tables: %d scan requests, %d metadata requests at the simulator", tables, run.ScanRequests, meta1-meta0)
	if want := 2 + chunks; run.ScanRequests != want {
		t.Errorf("scan requests = %d, want %d (WhoAmI, EntityDefinitions, %d metadata reads)", run.ScanRequests, want, chunks)
	}
	if meta1-meta0 != int64(run.ScanRequests-1) {
		t.Errorf("the simulator served %d metadata requests, the run counts %d besides WhoAmI", meta1-meta0, run.ScanRequests-1)
	}
	if run.MetadataRead != backup.MetadataFull || run.MetadataReason == "" {
		t.Errorf("metadata read %q (%q), want full with a reason", run.MetadataRead, run.MetadataReason)
	}
	s := f.snapshot(ctx, run)
	if len(s.Tables) != tables || s.MetadataVersionStamp == "" {
		t.Fatalf("snapshot: %d tables of %d, stamp %q", len(s.Tables), tables, s.MetadataVersionStamp)
	}
	for tb, parts := range s.Tables {
		for k := range parts {
			if strings.HasSuffix(k, "Error") {
				t.Errorf("%s: %s = %s", tb, k, parts[k])
			}
		}
	}
	// The parts hold what the engine and restore need, as the per-part
	// endpoints gave it.
	if a := has(part(t, s, "contact", "lookups"), "parentcustomerid"); a == nil || len(a.Targets) != 2 {
		t.Errorf("contact.parentcustomerid lookup: %+v", a)
	}
	if a := has(part(t, s, "cr1_project", "files"), "cr1_document"); a == nil || a.MaxSizeInKB == nil || *a.MaxSizeInKB == 0 {
		t.Errorf("cr1_project.cr1_document file column: %+v", a)
	}
	if a := has(part(t, s, "account", "picklists"), "industrycode"); a == nil || a.OptionSet == nil || len(a.OptionSet.Options) == 0 {
		t.Errorf("account.industrycode choices: %+v", a)
	}
	if has(part(t, s, "account", "attributes"), "name") == nil || len(part(t, s, "account", "oneToMany")) == 0 ||
		len(part(t, s, "contact", "manyToOne")) == 0 || len(part(t, s, "systemuser", "manyToMany")) == 0 {
		t.Error("columns or relationships missing from the snapshot")
	}
	checkRunMatchesSimulator(t, f, run.ID)
}

// TestScanResumesMetadataAfterThrottle: a metadata read throttled in the
// middle of the scan re-queues it; the next attempt goes on from the
// partial snapshot, reading only what was not read yet.
func TestScanResumesMetadataAfterThrottle(t *testing.T) {
	ctx := context.Background()
	const per = 8
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 20, Seed: 32}, engine: backup.Options{MetadataTablesPerRequest: per}})
	// Only the read whose tables include lead is throttled (the names are
	// in the request's query, JSON-quoted).
	f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault429, Path: "%22lead%22"})
	run := f.backup(ctx, pumpOptions{})
	if run.Status != runstate.RunSucceeded || run.Throttled < 1 {
		t.Fatalf("run: %s %s, throttled %d", run.Status, run.Reason, run.Throttled)
	}
	chunks := (len(f.env.Tables()) + per - 1) / per
	if want := 2 + chunks + 1; run.ScanRequests != want {
		t.Errorf("scan requests = %d, want %d: the throttled read again, nothing read twice", run.ScanRequests, want)
	}
	if s := f.snapshot(ctx, run); has(part(t, s, "lead", "attributes"), "subject") == nil {
		t.Error("lead's columns missing after the resumed scan")
	}
	checkRunMatchesSimulator(t, f, run.ID)
}

// TestScanReadsMetadataChangesIncrementally: the next run reads only what
// changed since the previous run's snapshot (RetrieveMetadataChanges with
// its ServerVersionStamp): a column added (with its relationship) and a
// column deleted show in the new snapshot, which equals what a full read
// gives; once the stamp has expired the scan falls back to a full read and
// says why.
func TestScanReadsMetadataChangesIncrementally(t *testing.T) {
	ctx := context.Background()
	var offset atomic.Int64 // the engine's clock follows the simulator's
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 20, Seed: 33},
		engine: backup.Options{Now: func() time.Time { return time.Now().Add(time.Duration(offset.Load())) }}})
	r1 := f.backup(ctx, pumpOptions{})
	if r1.Status != runstate.RunSucceeded || r1.MetadataRead != backup.MetadataFull {
		t.Fatalf("run 1: %s %s, metadata %s", r1.Status, r1.Reason, r1.MetadataRead)
	}
	s1 := f.snapshot(ctx, r1)
	if has(part(t, s1, "account", "attributes"), "fax") == nil {
		t.Fatal("account.fax not in the first snapshot")
	}
	if err := f.env.AddColumn("account", dataversesim.AttrDef{Name: "cr1_referrerid", Type: dataversesim.TLookup, Targets: []string{"contact"}}); err != nil {
		t.Fatal(err)
	}
	if err := f.env.DeleteColumn("account", "fax"); err != nil {
		t.Fatal(err)
	}
	r2 := f.backup(ctx, pumpOptions{})
	if r2.Status != runstate.RunSucceeded || r2.MetadataRead != backup.MetadataIncremental || r2.ScanRequests != 3 {
		t.Fatalf("run 2: %s %s, metadata %s (%s) in %d requests; want incremental in 3 (WhoAmI, table list, changes)",
			r2.Status, r2.Reason, r2.MetadataRead, r2.MetadataReason, r2.ScanRequests)
	}
	s2 := f.snapshot(ctx, r2)
	if s2.MetadataBase != r1.ID || s2.MetadataVersionStamp == "" || s2.MetadataVersionStamp == s1.MetadataVersionStamp {
		t.Errorf("snapshot 2: base %q stamp %q (run 1's %q)", s2.MetadataBase, s2.MetadataVersionStamp, s1.MetadataVersionStamp)
	}
	if has(part(t, s2, "account", "attributes"), "fax") != nil {
		t.Error("the deleted column account.fax is still in the snapshot")
	}
	if a := has(part(t, s2, "account", "lookups"), "cr1_referrerid"); a == nil || len(a.Targets) != 1 || a.Targets[0] != "contact" {
		t.Errorf("the new lookup in the snapshot: %+v", a)
	}
	rel := false
	for _, r := range part(t, s2, "contact", "oneToMany") {
		rel = rel || r.ReferencingAttribute == "cr1_referrerid"
	}
	if !rel {
		t.Error("the new lookup's relationship is not among contact's one-to-many relationships")
	}
	// The stamp expires (organization.expiresubscriptionsindays, 90 days):
	// a full read again, which must give the snapshot the changes built.
	f.sim.AdvanceClock(91 * 24 * time.Hour)
	offset.Store(int64(91 * 24 * time.Hour))
	f.dir.clients = freshClients(t, f, nil, nil) // the old tokens expired with the clock
	r3 := f.backup(ctx, pumpOptions{})
	if r3.Status != runstate.RunSucceeded || r3.MetadataRead != backup.MetadataFull || !strings.Contains(r3.MetadataReason, "expired") {
		t.Fatalf("run 3: %s %s, metadata %s (%s)", r3.Status, r3.Reason, r3.MetadataRead, r3.MetadataReason)
	}
	s3 := f.snapshot(ctx, r3)
	if len(s3.Tables) != len(s2.Tables) {
		t.Fatalf("tables: %d after the full read, %d kept up to date", len(s3.Tables), len(s2.Tables))
	}
	for tb, parts := range s3.Tables {
		for p, raw := range parts {
			if string(s2.Tables[tb][p]) != string(raw) {
				t.Errorf("%s %s differs: full read %.200s, kept up to date %.200s", tb, p, raw, s2.Tables[tb][p])
			}
		}
	}
	checkRunMatchesSimulator(t, f, r3.ID)
}
