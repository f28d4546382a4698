package functions

import (
	"context"
	"log/slog"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// While storage is down every API call that needs it would fail after the
// storage SDK's retries (9 to 16 s) with a 500. Instead the API answers 503
// with Retry-After, quickly:
//   - each API request carries shortened storage retries (apiRetry), so a
//     call meets the outage in about a second rather than after the SDK's
//     default back-off;
//   - a request that fails for a reason the API does not know probes
//     storage (a ping with a short deadline): storage down makes it a 503;
//   - once storage was seen down, requests are gated: a probe (at most one
//     per probeEvery, shared) decides, and while it fails they are answered
//     503 before the handler runs, writing nothing. The gate opens with the
//     first probe that succeeds.

const (
	// retryAfterSeconds is the Retry-After of a 503 (health, like the gate,
	// notices the outage within seconds).
	retryAfterSeconds = 5
	probeTimeout      = 3 * time.Second
	probeEvery        = time.Second
	// rememberDown: how long after the last failed probe requests are still
	// gated (then they go through and meet storage themselves).
	rememberDown = 30 * time.Second
)

// apiRetry are the storage SDK retries of an API request: two retries
// within about a second (the engines' invocations keep the SDK defaults).
var apiRetry = policy.RetryOptions{MaxRetries: 2, RetryDelay: 200 * time.Millisecond, MaxRetryDelay: time.Second}

// storageGate remembers whether storage answered the last probe.
type storageGate struct {
	ping Pinger
	log  *slog.Logger
	// now is the wall clock (not Deps.Now, which tests may freeze).
	now func() time.Time

	mu        sync.Mutex
	probing   chan struct{} // closed when the probe in flight ends
	checkedAt time.Time
	downAt    time.Time // last failed probe (zero: none remembered)
	down      []string  // services that failed it
}

// gated answers whether requests must be refused now, probing if storage
// was seen down recently and the last probe is older than probeEvery.
func (g *storageGate) gated(ctx context.Context) []string {
	g.mu.Lock()
	if g.downAt.IsZero() || g.now().Sub(g.downAt) > rememberDown {
		g.mu.Unlock()
		return nil
	}
	fresh := g.now().Sub(g.checkedAt) < probeEvery
	down := g.down
	g.mu.Unlock()
	if fresh {
		return down
	}
	return g.probe(ctx)
}

// probe pings storage (one probe at a time; concurrent callers share its
// result) and returns the services that did not answer.
func (g *storageGate) probe(ctx context.Context) []string {
	g.mu.Lock()
	if ch := g.probing; ch != nil {
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
		}
		g.mu.Lock()
		defer g.mu.Unlock()
		return g.down
	}
	ch := make(chan struct{})
	g.probing = ch
	g.mu.Unlock()

	pctx, cancel := context.WithTimeout(policy.WithRetryOptions(context.WithoutCancel(ctx), policy.RetryOptions{MaxRetries: 1, RetryDelay: 100 * time.Millisecond, MaxRetryDelay: 200 * time.Millisecond}), probeTimeout)
	results := g.ping.Ping(pctx)
	cancel()
	var down []string
	for name, err := range results {
		// The API needs blobs and tables; the queue service is not used
		// when messages go through Service Bus.
		if err != nil && (name == "blob" || name == "table") {
			down = append(down, name)
			g.log.WarnContext(ctx, "storage probe failed", "service", name, "error", shortError(err))
		}
	}
	sort.Strings(down)

	g.mu.Lock()
	defer g.mu.Unlock()
	g.checkedAt = g.now()
	if len(down) > 0 {
		g.downAt = g.checkedAt
	} else {
		g.downAt = time.Time{}
	}
	g.down = down
	g.probing = nil
	close(ch)
	return down
}

// knownDown reports whether the last probe, recent, found storage down.
func (g *storageGate) knownDown() bool {
	g.mu.Lock()
	defer g.mu.Unlock()
	return !g.downAt.IsZero() && g.now().Sub(g.downAt) <= rememberDown
}

// unavailable is the 503 of services being down.
func unavailable(services []string) *apiError {
	return &apiError{Status: http.StatusServiceUnavailable, Code: "storage_unavailable", retryAfter: retryAfterSeconds,
		Detail: "the storage account (" + strings.Join(services, ", ") + ") is not answering, so the request was not completed; retry after " +
			strconv.Itoa(retryAfterSeconds) + " s (GET /api/health shows the storage state)"}
}
