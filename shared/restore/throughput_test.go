package restore_test

import (
	"context"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

// TestRestoreThroughput restores the same records (restore-as-new, so each
// run writes fresh copies) with $batch and with one request per record, on
// the simulator with 5 ms of latency per request, and logs records/s. It
// asserts only that $batch is not slower (the figure goes in the report).
func TestRestoreThroughput(t *testing.T) {
	if testing.Short() {
		t.Skip("throughput comparison skipped in -short mode")
	}
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 400}, identities: 1})
	e := f.demo
	f.backup(ctx)
	e.SetLatency(5 * time.Millisecond)
	ids := e.IDs("account")[:100]
	req := restore.Request{Policy: restore.PolicyRestoreAsNew, Scope: restore.Scope{Records: map[string][]string{"account": ids}},
		Options: restore.JobOptions{Notes: ptr(false), Associations: ptr(false)}}
	rate := func(o restore.Options) float64 {
		f.reopen(o)
		start := time.Now()
		j, rep := f.restore(ctx, req)
		d := time.Since(start)
		if j.Status != restore.StatusSucceeded || j.Counts.Created != len(ids) {
			t.Fatalf("job %s counts %+v %v", j.Status, j.Counts, failures(rep))
		}
		return float64(len(ids)) / d.Seconds()
	}
	batch := rate(restore.Options{InitialBatch: 10, MaxBatch: 100})
	single := rate(restore.Options{OneByOne: true})
	t.Logf("restore throughput, %d accounts, 5 ms latency, 1 identity: $batch %.0f records/s, one request per record %.0f records/s (x%.1f)", len(ids), batch, single, batch/single)
	if batch < single {
		t.Errorf("$batch (%.0f/s) slower than one request per record (%.0f/s)", batch, single)
	}
}

func ptr(b bool) *bool { return &b }
