package backup_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
)

// TestStorageStoppedAndRestartedMidRun: the storage account (Azurite, seen
// through a TCP relay on fixed ports) goes away in the middle of a run,
// with page uploads and table writes in flight: connections are cut and
// refused for a while, then it comes back on the same address with its
// data, as a real storage account does after an outage. (Restarting the
// Azurite process itself would wipe its data: the test kit runs it with
// --inMemoryPersistence.) Deliveries fail and are redelivered; the run
// completes with nothing lost or doubled.
func TestStorageStoppedAndRestartedMidRun(t *testing.T) {
	ctx := context.Background()
	eo := smallPages
	eo.MaxDeliveries = 1000 // the outage must not exhaust deliveries
	f := newFixture(t, fixtureOptions{sim: dataversesim.Options{Records: 300, Seed: 28}, engine: eo})
	f.env.SetLatency(5 * time.Millisecond)
	az := azurite.Shared(t)
	p := az.Ports()
	relays := []*relay{newRelay(t, p.Blob), newRelay(t, p.Table)}
	conn := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://%s/%s;TableEndpoint=http://%s/%s;",
		azurite.AccountName, azurite.AccountKey, relays[0].addr, azurite.AccountName, relays[1].addr, azurite.AccountName)
	// Quick SDK retries: the outage is met by failed deliveries, not waited
	// out inside one.
	co := azcore.ClientOptions{Retry: policy.RetryOptions{MaxRetries: 1, RetryDelay: 20 * time.Millisecond, MaxRetryDelay: 50 * time.Millisecond}}
	tables, err := aztables.NewServiceClientFromConnectionString(conn, &aztables.ClientOptions{ClientOptions: co})
	if err != nil {
		t.Fatal(err)
	}
	st, err := runstate.Open(ctx, tables)
	if err != nil {
		t.Fatal(err)
	}
	bc, err := azblob.NewClientFromConnectionString(conn, &azblob.ClientOptions{ClientOptions: co})
	if err != nil {
		t.Fatal(err)
	}
	f.eng = backup.New(f.dir, st, blobstore.NewAzure(bc), f.sender, eo)

	var failures atomic.Int64
	var outage sync.Once
	r, err := f.eng.StartRun(ctx, f.envID, runstate.TriggerOnDemand)
	if err != nil {
		t.Fatal(err)
	}
	down := make(chan struct{})
	after := func(q string, m messaging.Message) {
		if q == messaging.QueueExtract && strings.Contains(string(m.Body), `"page":2`) {
			outage.Do(func() {
				for _, rl := range relays {
					rl.stop()
				}
				close(down)
				go func() {
					// Down until several deliveries have failed against it.
					for failures.Load() < 4 {
						time.Sleep(20 * time.Millisecond)
					}
					for _, rl := range relays {
						rl.start(t)
					}
				}()
			})
		}
	}
	poison := f.pumpCounting(ctx, pumpOptions{After: after, MaxDeliveries: 1000}, &failures)
	select {
	case <-down:
	default:
		t.Fatal("the outage never happened")
	}
	if len(poison) != 0 {
		t.Fatalf("%d poison message(s)", len(poison))
	}
	run, err := f.state.GetRun(ctx, f.envID, r.ID)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("deliveries failed during the outage: %d", failures.Load())
	if run.Status != runstate.RunSucceeded {
		t.Fatalf("run: %s %s", run.Status, run.Reason)
	}
	onePagePerBlob(t, f, checkRunMatchesSimulator(t, f, run.ID))
}

// pumpCounting is pump with one worker, a count of failed deliveries and
// a deadline per delivery (a request into the outage must not hang).
func (f *fixture) pumpCounting(ctx context.Context, o pumpOptions, failures *atomic.Int64) []pump.Delivery {
	o.Workers, o.RetryDelay = 1, 50*time.Millisecond
	o.Handler = func(next pump.Handler) pump.Handler {
		return func(ctx context.Context, queue string, body []byte, n int) error {
			dctx, cancel := context.WithTimeout(ctx, 30*time.Second)
			defer cancel()
			err := next(dctx, queue, body, n)
			if err != nil {
				failures.Add(1)
			}
			return err
		}
	}
	return f.pump(ctx, o)
}

// relay forwards a local port to an Azurite port; stop cuts every
// connection and refuses new ones, start listens again on the same port.
type relay struct {
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]bool
}

func newRelay(t *testing.T, port int) *relay {
	r := &relay{target: fmt.Sprintf("127.0.0.1:%d", port), conns: map[net.Conn]bool{}}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r.addr = ln.Addr().String()
	r.serve(ln)
	t.Cleanup(r.stop)
	return r
}

func (r *relay) start(t *testing.T) {
	var ln net.Listener
	var err error
	for i := 0; i < 50; i++ { // the port was just released
		if ln, err = net.Listen("tcp", r.addr); err == nil {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err != nil {
		t.Errorf("relay restart on %s: %v", r.addr, err)
		return
	}
	r.serve(ln)
}

func (r *relay) serve(ln net.Listener) {
	r.mu.Lock()
	r.ln = ln
	r.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", r.target)
			if err != nil {
				c.Close()
				continue
			}
			r.mu.Lock()
			r.conns[c], r.conns[up] = true, true
			r.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
}

func (r *relay) stop() {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.ln != nil {
		r.ln.Close()
		r.ln = nil
	}
	for c := range r.conns {
		c.Close()
	}
	r.conns = map[net.Conn]bool{}
}
