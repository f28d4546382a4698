package backup_test

// The fault scenarios of issue 9 that TestTransientFaultsRetried,
// TestThrottlingLosesNothing, TestDuplicateDeliveries and
// TestExpiredDeltaTokenFallsBackToFull do not already cover. Each asserts:
// nothing lost, nothing duplicated (checkRunMatchesSimulator reconstructs
// every table and fails on a record seen twice; page blobs are counted
// against the manifest), the run ends in the right state with the reason.

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/shared/tlsroots"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
)

// onePagePerBlob checks that every done table has exactly as many page
// blobs as its manifest lists (a replay overwrote, never added).
func onePagePerBlob(t *testing.T, f *fixture, m *backupformat.Manifest) {
	t.Helper()
	ctx := context.Background()
	for _, tm := range m.Tables {
		if tm.Status != backupformat.TableDone {
			continue
		}
		blobs, err := blobstore.Collect(f.blobs.List(ctx, backupformat.ContainerBackups, backupformat.TablePrefix(f.envID, m.Run, tm.Name)+"page-"))
		if err != nil {
			t.Fatal(err)
		}
		if len(blobs) != len(tm.Pages) {
			t.Errorf("%s: %d page blobs, manifest lists %d", tm.Name, len(blobs), len(tm.Pages))
		}
	}
}

// Test429StormLosesNothing: a storm of throttling answers on every kind of
// Web API request (metadata during the scan, pages, file downloads), far
// more than TestThrottlingLosesNothing's bursts: the run waits them out by
// delayed re-sends and is complete.
func Test429StormLosesNothing(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 150, Seed: 21}, engine: smallPages})
	var throttled atomic.Int64
	f.dir.clients = freshClients(t, f, nil, func(r *http.Response) {
		if r.StatusCode == http.StatusTooManyRequests {
			throttled.Add(1)
		}
	})
	const storm = 10                                                                                 // every answer waits Retry-After: 1 s
	f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault429, Count: 4, Path: "/api/data/"}) // the scan's metadata reads
	f.env.InjectFault(dataversesim.Fault{Kind: dataversesim.Fault429, Count: 6, Path: "/accounts?"}) // pages
	run := f.backup(ctx, pumpOptions{})
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	onePagePerBlob(t, f, checkRunMatchesSimulator(t, f, run.ID))
	t.Logf("429 answers met: %d, run throttles (re-sent with delay): %d", throttled.Load(), run.Throttled)
	if throttled.Load() != storm {
		t.Errorf("%d 429 answers met, want the whole storm (%d)", throttled.Load(), storm)
	}
}

// TestTokenEndpointOutage: Entra's token endpoint answers 503 to every
// request for a while (a scaled-down "minute": the first deliveries of the
// scan all meet it); the scan fails, is redelivered, and once tokens are
// issued again the run completes. A longer outage that outlasts every
// delivery ends the run failed with the reason.
func TestTokenEndpointOutage(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 80, Seed: 22}, engine: smallPages})
	var tokenCalls atomic.Int64
	f.dir.clients = freshClients(t, f, func(r *http.Request) *http.Response {
		if strings.Contains(r.URL.Path, "/oauth2/") {
			tokenCalls.Add(1)
		}
		return nil
	}, nil)
	const outage = 12 // token requests refused: more than one acquisition's retries
	f.sim.InjectTokenFault(dataversesim.Fault{Kind: dataversesim.Fault503, Count: outage})
	run := f.backup(ctx, pumpOptions{})
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run after the outage: %s %s", run.Status, run.Reason)
	}
	checkRunMatchesSimulator(t, f, run.ID)
	if tokenCalls.Load() <= outage {
		t.Errorf("%d token requests: the outage was not met", tokenCalls.Load())
	}

	// An outage longer than the deliveries: the run fails with the reason.
	eo := smallPages
	eo.MaxDeliveries = 2
	g := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 20, Seed: 23}, engine: eo})
	g.dir.clients = freshClients(t, g, nil, nil)
	g.sim.InjectTokenFault(dataversesim.Fault{Kind: dataversesim.Fault503, Count: 100000})
	r, err := g.eng.StartRun(ctx, g.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	if p := g.pump(ctx, pumpOptions{MaxDeliveries: 2}); len(p) != 0 {
		t.Errorf("%d message(s) poisoned; the engine should have ended the run on the last delivery", len(p))
	}
	got, err := g.state.GetRun(ctx, g.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.Status != runstate.RunFailed || !strings.Contains(got.Reason, "scan failed") || !strings.Contains(strings.ToLower(got.Reason), "token") {
		t.Errorf("run during a long outage: %s %q; want failed naming the token failure", got.Status, got.Reason)
	}
	if active, _ := g.state.ActiveRun(ctx, g.envID); active != "" {
		t.Errorf("the failed run still holds the environment: %s", active)
	}
}

// TestDeltaTokenExpiresMidRun: the delta links stored by the first run are
// valid when the incremental starts (its scan plans delta reads) and
// expire before the first delta page is read: each table falls back to a
// full read in that run, the reason is recorded, and the state is exact.
// (The simulator answers a delta in one page, so "mid-run" is between the
// scan and the reads.)
func TestDeltaTokenExpiresMidRun(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 300, Seed: 24}, engine: smallPages})
	run1 := f.backup(ctx, pumpOptions{})
	if run1.Status != runstate.RunSucceeded {
		t.Fatalf("run 1: %s %s", run1.Status, run1.Reason)
	}
	for _, id := range f.env.IDs("account")[:10] {
		if err := f.env.Update("account", id, map[string]any{"name": "delta " + id[:8]}); err != nil {
			t.Fatal(err)
		}
	}
	var expired atomic.Bool
	after := func(q string, m messaging.Message) {
		if q == messaging.QueueScan && expired.CompareAndSwap(false, true) {
			f.env.SetChangeTrackingExpiry(time.Millisecond)
			f.sim.AdvanceClock(2 * time.Second) // tokens carry whole seconds
		}
	}
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	if p := f.pump(ctx, pumpOptions{After: after, Workers: 1}); len(p) != 0 {
		t.Fatalf("%d poison message(s)", len(p))
	}
	if !expired.Load() {
		t.Fatal("the expiry was never triggered")
	}
	run2, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run2.Status != runstate.RunSucceeded {
		t.Fatalf("run 2: %s %s", run2.Status, run2.Reason)
	}
	m2 := checkRunMatchesSimulator(t, f, run2.ID)
	onePagePerBlob(t, f, m2)
	if m2.Kind != backupformat.KindIncremental {
		t.Errorf("run 2 is %s; the scan should have planned an incremental", m2.Kind)
	}
	tm := m2.Table("account")
	if tm.Mode != backupformat.ModeFull || !strings.Contains(tm.FallbackReason, "expired") || len(tm.Chain) != 1 || int(tm.Records) != f.env.Count("account") {
		t.Errorf("account: mode %s fallback %q chain %v records %d; want a full read of %d with the reason", tm.Mode, tm.FallbackReason, tm.Chain, tm.Records, f.env.Count("account"))
	}
}

// TestTableDeletedBetweenScanAndExtraction: the scan sees lead; by the
// time its pages are read the table is gone (Dataverse answers 404
// "Resource not found for the segment 'leads'"). The table ends failed
// with that reason, the others are complete, the run is partial.
func TestTableDeletedBetweenScanAndExtraction(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 100, Seed: 25}, engine: smallPages})
	var scanned atomic.Bool
	f.dir.clients = freshClients(t, f, func(r *http.Request) *http.Response {
		if scanned.Load() && strings.Contains(r.URL.Path, "/api/data/v9.2/leads") {
			body := `{"error":{"code":"0x8006088a","message":"Resource not found for the segment 'leads'."}}`
			return &http.Response{StatusCode: 404, Status: "404 Not Found", Header: http.Header{"Content-Type": {"application/json; odata.metadata=minimal"}},
				Body: io.NopCloser(strings.NewReader(body)), ContentLength: int64(len(body)), Request: r}
		}
		return nil
	}, nil)
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	scan := f.sender.Take(messaging.QueueScan)
	sm, _ := backup.DecodeScan(scan[0].Body)
	if err := f.eng.Scan(ctx, sm, 1); err != nil {
		t.Fatal(err)
	}
	if tk, err := f.state.GetTask(ctx, r.ID, "lead"); err != nil || tk.Status == runstate.TaskSkipped {
		t.Fatalf("lead after the scan: %+v %v; want a task", tk, err)
	}
	scanned.Store(true) // the table disappears now
	if p := f.pump(ctx, pumpOptions{}); len(p) != 0 {
		t.Fatalf("%d poison message(s)", len(p))
	}
	run, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != runstate.RunPartial || run.Failed != 1 || !strings.Contains(run.Reason, "lead") {
		t.Fatalf("run: %s failed=%d %q; want partial with lead failed", run.Status, run.Failed, run.Reason)
	}
	m := f.manifest(ctx, r.ID)
	if tm := m.Table("lead"); tm.Status != backupformat.TableFailed || !strings.Contains(tm.Reason, "404") || !strings.Contains(tm.Reason, "not found") {
		t.Errorf("lead: %s %q; want failed with the 404", tm.Status, tm.Reason)
	}
	for _, tm := range m.Tables {
		if tm.Name != "lead" && tm.Status == backupformat.TableDone {
			if d := diffStates(simState(f.env, tm.Name), f.backedUpState(ctx, r.ID, tm.Name)); d != "" {
				t.Errorf("%s: %s", tm.Name, d)
			}
		}
	}
}

// TestRecordDeletedBetweenPages: during a full read two accounts are
// deleted after page 1 is stored: one on page 1 (already read), one on the
// last page (not yet read). The run is complete and has no duplicate; the
// record already read is in it, the other is not; the next run carries the
// tombstone (from its id sweep: the delta does not report a deletion made
// before its token's version) and its state equals the simulator's.
func TestRecordDeletedBetweenPages(t *testing.T) {
	ctx := context.Background()
	opts := smallPages
	opts.SweepPageSize = 100 // several sweep pages
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 500, Seed: 26}, engine: opts})
	ids := f.env.IDs("account") // primary key order: the order of the full read
	if len(ids) < 3*40 {
		t.Fatalf("only %d accounts", len(ids))
	}
	early, late := ids[0], ids[len(ids)-1]
	var done atomic.Bool
	after := func(q string, m messaging.Message) {
		if q == messaging.QueueExtract && strings.Contains(string(m.Body), `"table":"account","page":1`) && done.CompareAndSwap(false, true) {
			for _, id := range []string{early, late} {
				if err := f.env.Delete("account", id); err != nil {
					t.Error(err)
				}
			}
		}
	}
	run1 := f.backup(ctx, pumpOptions{After: after, Workers: 1})
	if !done.Load() || run1.Status != runstate.RunSucceeded {
		t.Fatalf("run 1: %s %s (deleted mid-read: %v)", run1.Status, run1.Reason, done.Load())
	}
	s1 := f.backedUpState(ctx, run1.ID, "account") // fails on a duplicate
	if _, ok := s1[early]; !ok {
		t.Errorf("the record deleted after its page was read is missing from the run")
	}
	if _, ok := s1[late]; ok {
		t.Errorf("the record deleted before its page was read is in the run")
	}
	if len(s1) != f.env.Count("account")+1 {
		t.Errorf("run 1 has %d accounts, want %d", len(s1), f.env.Count("account")+1)
	}
	run2 := f.backup(ctx, pumpOptions{})
	if run2.Status != runstate.RunSucceeded {
		t.Fatalf("run 2: %s %s", run2.Status, run2.Reason)
	}
	m2 := f.manifest(ctx, run2.ID)
	tomb := false
	_ = backupformat.ReadTablePages(ctx, f.blobs, m2, "account", func(_ backupformat.PageRef, r backupformat.Record) error {
		if r.ID == early && r.Op == backupformat.OpDelete {
			tomb = true
		}
		return nil
	})
	s2 := f.backedUpState(ctx, run2.ID, "account")
	if _, still := s2[early]; still {
		t.Errorf("record %s deleted during the full read, after its page, is still in the state of the next run", early[:8])
	}
	if !tomb {
		t.Errorf("run 2 has no tombstone of the deleted record")
	}
	// The tombstone comes from the id sweep, which ran (over several pages)
	// and found exactly that record.
	if sw := m2.Table("account").Sweep; sw == nil || sw.Tombstones != 1 || sw.LiveIDs != int64(f.env.Count("account")) {
		t.Errorf("account sweep of run 2: %+v, want 1 tombstone and %d live ids", sw, f.env.Count("account"))
	}
	// The full run still has it (deleted after it was read).
	if _, ok := f.backedUpState(ctx, run1.ID, "account")[early]; !ok {
		t.Errorf("run 1 lost the record after run 2")
	}
	checkRunMatchesSimulator(t, f, run2.ID)
}

// TestChaosDeliveryOrderAndDuplicates: every message (scan included) is
// delivered twice, in random order (seeded), and one delivery in five
// "crashes": half of those before the engine ran, half after it ran but
// before the host saw the answer (so the message comes again). The run is
// complete, with one blob per page.
func TestChaosDeliveryOrderAndDuplicates(t *testing.T) {
	for _, seed := range []uint64{1, 2} {
		t.Run(fmt.Sprint("seed", seed), func(t *testing.T) {
			ctx := context.Background()
			f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 150, Seed: int64(30 + seed)}, engine: smallPages})
			r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
			if err != nil {
				t.Fatal(err)
			}
			stats := chaosPump(ctx, t, f, rand.New(rand.NewPCG(seed, 99)))
			t.Logf("deliveries %d, crashes before %d, after %d, out of order %d", stats.deliveries, stats.crashBefore, stats.crashAfter, stats.outOfOrder)
			if stats.crashBefore == 0 || stats.crashAfter == 0 || stats.outOfOrder == 0 {
				t.Fatalf("the chaos did not happen: %+v", stats)
			}
			run, err := f.state.GetRun(ctx, f.envID, r.ID)
			if err != nil {
				t.Fatal(err)
			}
			if run.Status != runstate.RunSucceeded {
				t.Fatalf("run: %s %s", run.Status, run.Reason)
			}
			onePagePerBlob(t, f, checkRunMatchesSimulator(t, f, run.ID))
		})
	}
}

type chaosStats struct{ deliveries, crashBefore, crashAfter, outOfOrder int }

// chaosPump delivers one message at a time, picking a random due message
// (not the oldest), with every message queued twice; one delivery in ten
// crashes before the engine runs and one in ten after it ran (for the
// first four deliveries of a message).
func chaosPump(ctx context.Context, t *testing.T, f *fixture, rng *rand.Rand) chaosStats {
	var st chaosStats
	errCrash := errors.New("crash")
	crashing := func(ctx context.Context, queue string, body []byte, n int) error {
		roll := rng.IntN(10)
		if roll == 0 && n < 5 {
			st.crashBefore++
			return fmt.Errorf("%w before the invocation", errCrash)
		}
		err := f.eng.Handle(ctx, queue, body, n)
		if err == nil && roll == 1 && n < 5 {
			st.crashAfter++
			return fmt.Errorf("%w after the invocation", errCrash)
		}
		return err
	}
	res, err := pump.Run(ctx, f.sender, pump.Handlers{}.On(crashing, backup.Queues()...), pump.Options{
		Shuffle: rng, Copies: func(string) int { return 2 }, RetryDelay: 5 * time.Millisecond, Limit: 20000})
	if err != nil {
		t.Fatalf("chaos pump: %v", err)
	}
	for _, p := range res.Poison {
		t.Fatalf("message on %s failed %d times: %v (%s)", p.Queue, p.Count, p.Err, p.Message.Body)
	}
	st.deliveries, st.outOfOrder = res.Deliveries, res.OutOfOrder
	return st
}

// TestBlobWriteFailsAfterPartialUpload: the first uploads of several page
// blobs fail after part of the page went up (the stream breaks after 300
// bytes). No partial page becomes visible, the pages are written again on
// redelivery, and the run is complete with checksums that verify.
func TestBlobWriteFailsAfterPartialUpload(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 150, Seed: 27}, engine: smallPages})
	fb := &failingBlobs{Store: f.blobs, failFirst: 6, match: "/page-"}
	f.eng = backup.New(f.dir, f.state, fb, f.sender, smallPages)
	run := f.backup(ctx, pumpOptions{})
	if fb.failed.Load() < 6 {
		t.Fatalf("only %d uploads broken", fb.failed.Load())
	}
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	m := checkRunMatchesSimulator(t, f, run.ID)
	onePagePerBlob(t, f, m)
}

// failingBlobs breaks the first failFirst uploads whose name contains
// match: the real upload receives 300 bytes, then the stream fails.
type failingBlobs struct {
	blobstore.Store
	failFirst int64
	match     string
	failed    atomic.Int64
}

func (b *failingBlobs) Put(ctx context.Context, container, name string, r io.Reader, o *blobstore.PutOptions) (blobstore.Info, error) {
	if strings.Contains(name, b.match) && b.failed.Add(1) <= b.failFirst {
		r = io.MultiReader(io.LimitReader(r, 300), errReader{errors.New("injected: connection lost during upload")})
	}
	return b.Store.Put(ctx, container, name, r, o)
}

type errReader struct{ err error }

func (e errReader) Read([]byte) (int, error) { return 0, e.err }

// freshClients makes the fixture's identity again with a new credential
// (empty token cache) and a transport that lets hook answer a request
// instead of the simulator (nil: pass through) and seen observe each
// answer. Token requests go through the hook too. The credential retries
// quickly (an outage is scaled down, not waited out in real minutes).
func freshClients(t *testing.T, f *fixture, hook func(*http.Request) *http.Response, seen func(*http.Response)) []*dataverse.Client {
	t.Helper()
	app := f.sim.SecretClients()[0]
	base, err := tlsroots.Transport(f.sim.CAPEM())
	if err != nil {
		t.Fatal(err)
	}
	tr := hookTransport{base: base, hook: hook, seen: seen}
	cred, err := azidentity.NewClientSecretCredential(f.sim.TenantID(), app.ClientID, app.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions: azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: f.sim.AuthorityHost}, Transport: &http.Client{Transport: tr},
			Retry: policy.RetryOptions{MaxRetries: 3, RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 100 * time.Millisecond}},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dataverse.NewClient(f.env.URL(), cred, &dataverse.ClientOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	return []*dataverse.Client{c}
}

type hookTransport struct {
	base http.RoundTripper
	hook func(*http.Request) *http.Response
	seen func(*http.Response)
}

func (h hookTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	if h.hook != nil {
		if resp := h.hook(r); resp != nil {
			return resp, nil
		}
	}
	resp, err := h.base.RoundTrip(r)
	if err == nil && h.seen != nil {
		h.seen(resp)
	}
	return resp, err
}

// TestScanDeliveredTwiceAtOnce: the scan message is delivered twice at the
// same time (a duplicate, or a redelivery after the lock expired while the
// first invocation still runs). Both write the metadata snapshot; the run
// must name the snapshot that is stored (verify checks it), and the run is
// complete. Found by TestHandlerKilledAtRandomPointsOfRunAndRestore: the
// losing delivery overwrote metadata.json.gz after the winner recorded its
// checksum, and every restore from the run was refused by verification.
func TestScanDeliveredTwiceAtOnce(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 60, Seed: 29}, engine: smallPages})
	f.env.SetLatency(10 * time.Millisecond)
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	scan := f.sender.Take(messaging.QueueScan)
	m, _ := backup.DecodeScan(scan[0].Body)
	errs := make(chan error, 2)
	for i := 1; i <= 2; i++ {
		go func() { errs <- f.eng.Scan(ctx, m, i) }()
	}
	for range 2 {
		if err := <-errs; err != nil {
			t.Logf("a scan delivery failed (it will be redelivered): %v", err)
			f.sender.Send(ctx, messaging.QueueScan, scan[0])
		}
	}
	if p := f.pump(ctx, pumpOptions{}); len(p) != 0 {
		t.Fatalf("%d poison message(s)", len(p))
	}
	run, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	onePagePerBlob(t, f, checkRunMatchesSimulator(t, f, run.ID)) // verify includes the metadata snapshot
}

// TestScanRetriesTransientMetadataFailures: a table's metadata read that
// fails transiently during the scan (503, a reset connection) is retried,
// not recorded in the snapshot as that table's metadata error (which would
// leave, say, its file columns out of the backup).
func TestScanRetriesTransientMetadataFailures(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 20, Seed: 19}, engine: smallPages})
	f.sim.Demo().InjectFault(dataversesim.Fault{Kind: dataversesim.Fault503, Method: "GET", Path: "RetrieveMetadataChanges", Count: 2})
	f.sim.Demo().InjectFault(dataversesim.Fault{Kind: dataversesim.FaultReset, Method: "GET", Path: "RetrieveMetadataChanges", Count: 1})
	run := f.backup(ctx, pumpOptions{})
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	rc, err := f.blobs.Get(ctx, backupformat.ContainerBackups, run.MetadataBlob)
	if err != nil {
		t.Fatal(err)
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		t.Fatal(err)
	}
	var snap struct {
		Tables map[string]map[string]json.RawMessage `json:"tables"`
	}
	if err := json.NewDecoder(gz).Decode(&snap); err != nil {
		t.Fatal(err)
	}
	if len(snap.Tables) == 0 {
		t.Fatal("the snapshot has no table metadata")
	}
	for table, parts := range snap.Tables {
		for k, v := range parts {
			if strings.HasSuffix(k, "Error") {
				t.Errorf("%s: %s = %s; a transient failure was recorded as metadata", table, k, v)
			}
		}
	}
	checkRunMatchesSimulator(t, f, run.ID)
}
