package functions

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// While the storage account does not answer, API calls are answered 503
// with Retry-After and a problem saying what is down and what to do
// (before: 500 after 9 to 16 s of SDK retries). Storage is cut with a relay
// in front of Azurite's blob, queue and table ports that resets every
// connection; once it forwards again the same calls succeed.
func TestStorageDownAnswers503(t *testing.T) {
	az := azurite.Shared(t)
	p := az.Ports()
	blob, queue, table := newCutRelay(t, p.Blob), newCutRelay(t, p.Queue), newCutRelay(t, p.Table)
	cs := fmt.Sprintf("DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://%s/%s;QueueEndpoint=http://%s/%s;TableEndpoint=http://%s/%s;",
		azurite.AccountName, azurite.AccountKey, blob.addr, azurite.AccountName, queue.addr, azurite.AccountName, table.addr, azurite.AccountName)
	f := newAPIOn(t, config.AuthEasyAuth, cs)
	reg := f.connect()
	op := map[string]string{principalHeader: principal("olga", RoleAdmin, RoleOperator, RoleRestore)}
	app, _ := f.sim.App("backup-app-1")
	calls := []struct {
		method, path string
		body         any
	}{
		{"GET", "/api/environments", nil},
		{"GET", "/api/environments/" + reg.env, nil},
		{"GET", "/api/backups/" + reg.env, nil},
		{"POST", "/api/backups/" + reg.env, nil},
		{"GET", "/api/connections", nil},
		{"POST", "/api/connections", map[string]any{"name": "second", "kind": "appProfile", "tenantId": f.sim.TenantID(),
			"identities": []map[string]any{{"mode": "clientSecret", "clientId": app.ClientID, "clientSecret": app.Secret}}}},
		{"PUT", "/api/environments/" + reg.env + "/policy", map[string]any{"enabled": true, "retentionDays": 7}},
		{"GET", "/api/restores", nil},
		{"POST", "/api/restores", map[string]any{"environment": reg.env}},
		{"GET", "/api/audit", nil},
	}

	for _, r := range []*cutRelay{blob, queue, table} {
		r.cut(true)
	}
	for round := range 2 { // the first meets the outage, the second the gate
		for _, c := range calls {
			start := time.Now()
			accepted := blob.accepted.Load() + table.accepted.Load() + queue.accepted.Load()
			st, pb, h := f.do(c.method, c.path, c.body, op)
			tries := blob.accepted.Load() + table.accepted.Load() + queue.accepted.Load() - accepted
			d, _ := pb["detail"].(string)
			if st != http.StatusServiceUnavailable || h.Get("Retry-After") != "5" || pb["code"] != "storage_unavailable" ||
				!strings.Contains(d, "retry after 5 s") || !strings.Contains(d, "table") || internalText.MatchString(d) {
				t.Errorf("round %d, %s %s with storage down: %d Retry-After %q %v", round, c.method, c.path, st, h.Get("Retry-After"), pb)
			}
			t.Logf("round %d, %s %s: %d in %v, %d storage connection(s) tried", round, c.method, c.path, st, time.Since(start).Round(time.Millisecond), tries)
		}
	}
	if st, h, _ := f.do("GET", "/api/health", nil, nil); st != http.StatusOK || h["status"] != "degraded" {
		t.Errorf("health with storage down: %d %v", st, h)
	}
	if !strings.Contains(f.logs.String(), "audit entry not written: storage down") {
		t.Error("the refused changes are not in the log (their audit entries could not be written)")
	}

	for _, r := range []*cutRelay{blob, queue, table} {
		r.cut(false)
	}
	// The gate opens with the first probe that succeeds (at most a second
	// after the last one): wait for it through the API itself.
	deadline := time.Now().Add(30 * time.Second)
	for {
		st, _, _ := f.do("GET", "/api/environments/"+reg.env, nil, op)
		if st == http.StatusOK {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("storage back, the API still answers %d", st)
		}
		time.Sleep(200 * time.Millisecond)
	}
	if st, p, _ := f.do("POST", "/api/backups/"+reg.env, nil, op); st != http.StatusAccepted {
		t.Errorf("start a backup with storage back: %d %v", st, p)
	}
}

// cutRelay forwards a local port to an Azurite port; cut(true) resets every
// open connection and each new one at once (a storage account that does
// not answer), counting the attempts.
type cutRelay struct {
	addr     string
	target   string
	down     atomic.Bool
	accepted atomic.Int64
	mu       sync.Mutex
	conns    map[net.Conn]bool
}

func newCutRelay(t *testing.T, port int) *cutRelay {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	r := &cutRelay{addr: ln.Addr().String(), target: fmt.Sprintf("127.0.0.1:%d", port), conns: map[net.Conn]bool{}}
	t.Cleanup(func() { ln.Close(); r.cut(true) })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			if r.down.Load() {
				r.accepted.Add(1)
				if tc, ok := c.(*net.TCPConn); ok {
					_ = tc.SetLinger(0) // a reset, not a clean close
				}
				c.Close()
				continue
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
	return r
}

func (r *cutRelay) cut(down bool) {
	r.down.Store(down)
	if !down {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for c := range r.conns {
		c.Close()
	}
	r.conns = map[net.Conn]bool{}
}
