package restore_test

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// TestRestoreThroughput restores the same records (restore-as-new, so each
// run writes fresh copies) with $batch and with one request per record, on
// the simulator with 5 ms of latency per request, and logs records/s (make
// bench measures the speed). What it asserts is not timed: $batch must send
// a fraction of the write requests that one request per record sends.
func TestRestoreThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("throughput comparison skipped in -short mode")
	}
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 400}, identities: 1})
	e := f.demo
	f.backup(ctx)
	e.SetLatency(5 * time.Millisecond)
	app, ok := f.sim.App("backup-app-1")
	if !ok {
		t.Fatal("the simulator lacks backup-app-1")
	}
	ids := e.IDs("account")[:100]
	req := restore.Request{Policy: plan.PolicyRestoreAsNew, Scope: plan.Scope{Records: map[string][]string{"account": ids}},
		Options: restore.JobOptions{Notes: ptr(false), Associations: ptr(false)}}
	run := func(o restore.Options) (rate float64, writes int64) {
		counter := &writeCounter{next: f.sim.Client().Transport}
		f.dir.mu.Lock()
		f.dir.clients[f.envID] = []*dataverse.Client{appClient(t, f, app, counter)}
		f.dir.mu.Unlock()
		f.reopen(o)
		start := time.Now()
		j, rep := f.restore(ctx, req)
		d := time.Since(start)
		if j.Status != restore.StatusSucceeded || j.Counts.Created != len(ids) {
			t.Fatalf("job %s counts %+v %v", j.Status, j.Counts, failures(rep))
		}
		return float64(len(ids)) / d.Seconds(), counter.n.Load()
	}
	batch, batchWrites := run(restore.Options{InitialBatch: 10, MaxBatch: 100})
	single, singleWrites := run(restore.Options{OneByOne: true})
	t.Logf("restore of %d accounts, 5 ms latency, 1 identity: $batch %.0f records/s in %d write requests, one request per record %.0f records/s in %d (x%.1f)",
		len(ids), batch, batchWrites, single, singleWrites, batch/single)
	if singleWrites < int64(len(ids)) {
		t.Errorf("one request per record sent %d write requests for %d records", singleWrites, len(ids))
	}
	if batchWrites*4 > singleWrites {
		t.Errorf("$batch sent %d write requests, one request per record %d: batching saves too little", batchWrites, singleWrites)
	}
}

// writeCounter counts the HTTP requests that write (a $batch is one).
type writeCounter struct {
	next http.RoundTripper
	n    atomic.Int64
}

func (c *writeCounter) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method != http.MethodGet && strings.Contains(r.URL.Path, "/api/data/") {
		c.n.Add(1)
	}
	return c.next.RoundTrip(r)
}

func ptr(b bool) *bool { return &b }
