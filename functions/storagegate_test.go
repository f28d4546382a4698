package functions

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// fakePinger answers blob and table as told, counting pings; each ping
// takes a little while so concurrent callers overlap.
type fakePinger struct {
	down  atomic.Bool
	pings atomic.Int64
}

func (p *fakePinger) Ping(ctx context.Context) map[string]error {
	p.pings.Add(1)
	time.Sleep(20 * time.Millisecond)
	var err error
	if p.down.Load() {
		err = errors.New("dial tcp: connection refused")
	}
	return map[string]error{"blob": err, "table": err, "queue": errors.New("queue down (not needed)")}
}

// The gate lets requests through until a probe finds storage down; then
// concurrent requests share one probe and are refused while it fails; the
// queue service alone never closes it; it opens with the first probe that
// succeeds.
func TestStorageGate(t *testing.T) {
	now := time.Unix(1_000_000, 0)
	var mu sync.Mutex
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	advance := func(d time.Duration) { mu.Lock(); now = now.Add(d); mu.Unlock() }
	p := &fakePinger{}
	g := &storageGate{ping: p, log: slog.New(slog.NewTextHandler(io.Discard, nil)), now: clock}
	ctx := context.Background()

	if down := g.gated(ctx); down != nil || p.pings.Load() != 0 {
		t.Fatalf("storage never seen down: gated %v after %d pings", down, p.pings.Load())
	}
	if down := g.probe(ctx); len(down) != 0 {
		t.Fatalf("queue alone down closes the gate: %v", down)
	}
	p.down.Store(true)
	if down := g.probe(ctx); len(down) != 2 || down[0] != "blob" || down[1] != "table" {
		t.Fatalf("probe with storage down: %v", down)
	}
	before := p.pings.Load()
	var wg sync.WaitGroup
	var refused atomic.Int64
	advance(2 * probeEvery) // the last probe is stale: the next callers probe, once
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if len(g.gated(ctx)) > 0 {
				refused.Add(1)
			}
		}()
	}
	wg.Wait()
	if refused.Load() != 20 {
		t.Errorf("%d of 20 concurrent requests refused while storage is down", refused.Load())
	}
	if n := p.pings.Load() - before; n < 1 || n > 2 {
		t.Errorf("20 concurrent requests made %d probes, want them to share one", n)
	}
	if !g.knownDown() {
		t.Error("knownDown is false after a failed probe")
	}
	p.down.Store(false)
	if down := g.gated(ctx); len(down) == 0 {
		t.Error("a fresh failed probe is re-used within probeEvery")
	}
	advance(2 * probeEvery)
	if down := g.gated(ctx); len(down) != 0 {
		t.Errorf("storage back, still gated: %v", down)
	}
	if g.knownDown() || g.gated(ctx) != nil {
		t.Error("the gate did not open")
	}
	p.down.Store(true)
	_ = g.probe(ctx)
	advance(rememberDown + time.Second)
	pings := p.pings.Load()
	if down := g.gated(ctx); down != nil || p.pings.Load() != pings {
		t.Errorf("a failure older than rememberDown still gates (%v, %d probe(s))", down, p.pings.Load()-pings)
	}
}
