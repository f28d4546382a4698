package azurite

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue/queueerror"
)

func TestMain(m *testing.M) { os.Exit(RunShared(m)) }

// TestShared: one instance for every caller, running, usable.
func TestShared(t *testing.T) {
	a, b := Shared(t), Shared(t)
	if a != b || !a.Running() {
		t.Fatalf("Shared returned %p and %p (running %v): want one running instance", a, b, a.Running())
	}
	svc, err := azqueue.NewServiceClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateQueue(context.Background(), "shared", nil); err != nil {
		t.Fatalf("create queue on the shared instance: %v", err)
	}
}

// fatalRecorder records Fatal instead of ending the test.
type fatalRecorder struct {
	testing.TB
	msg string
}

func (f *fatalRecorder) Helper()                   {}
func (f *fatalRecorder) Fatal(args ...any)         { f.msg = fmt.Sprint(args...) }
func (f *fatalRecorder) Fatalf(s string, a ...any) { f.msg = fmt.Sprintf(s, a...) }

// TestSharedWithoutRunShared: without RunShared as TestMain, Shared refuses
// and says how to fix it, rather than leaving a process behind.
func TestSharedWithoutRunShared(t *testing.T) {
	shared.mu.Lock()
	shared.active = false
	shared.mu.Unlock()
	defer func() {
		shared.mu.Lock()
		shared.active = true
		shared.mu.Unlock()
	}()
	f := &fatalRecorder{TB: t}
	if a := Shared(f); a != nil || !strings.Contains(f.msg, "RunShared(m)") {
		t.Fatalf("Shared without RunShared: %v, message %q", a, f.msg)
	}
}

func TestParseListening(t *testing.T) {
	for _, tc := range []struct {
		line    string
		service string
		port    int
		ok      bool
	}{
		{"Azurite Blob service is successfully listening at http://127.0.0.1:35553", "Blob", 35553, true},
		{"Azurite Queue service is successfully listening at http://127.0.0.1:10001", "Queue", 10001, true},
		{"Azurite Table service is successfully listening at http://127.0.0.1:40329", "Table", 40329, true},
		{"Azurite Blob service is starting at http://127.0.0.1:0", "", 0, false},
		{"Azurite Blob service is successfully listening at http://127.0.0.1:0", "", 0, false},
		{"In-memory extent storage is enabled", "", 0, false},
	} {
		svc, port, ok := parseListening(tc.line)
		if svc != tc.service || port != tc.port || ok != tc.ok {
			t.Errorf("parseListening(%q) = %q, %d, %v; want %q, %d, %v", tc.line, svc, port, ok, tc.service, tc.port, tc.ok)
		}
	}
}

func TestRepoRoot(t *testing.T) {
	root, err := RepoRoot()
	if err != nil {
		t.Fatal(err)
	}
	// The test runs in testkit/azurite, two levels below the module root.
	wd, _ := os.Getwd()
	if want := filepath.Dir(filepath.Dir(wd)); root != want {
		t.Fatalf("RepoRoot() = %q, want %q", root, want)
	}
	if _, err := os.Stat(filepath.Join(root, Bin)); err != nil {
		t.Fatalf("Azurite launcher missing under the root (run npm ci): %v", err)
	}
}

// TestStartRestartStop checks the kit end to end: the connection string works
// with the real SDK, Restart keeps the ports and loses the data, Stop frees
// the ports.
func TestStartRestartStop(t *testing.T) {
	a := Start(t)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	p := a.Ports()
	if p.Blob == 0 || p.Queue == 0 || p.Table == 0 || p.Blob == p.Queue || p.Queue == p.Table {
		t.Fatalf("ports not parsed: %+v", p)
	}
	cs := a.ConnectionString()
	for _, want := range []string{"AccountName=devstoreaccount1", "QueueEndpoint=" + a.QueueURL(), "BlobEndpoint=http://127.0.0.1:" + strconv.Itoa(p.Blob) + "/devstoreaccount1", "TableEndpoint=" + a.TableURL()} {
		if !strings.Contains(cs, want) {
			t.Errorf("connection string lacks %q", want)
		}
	}
	for _, port := range []int{p.Blob, p.Table} {
		c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(port), time.Second)
		if err != nil {
			t.Fatalf("port %d not listening: %v", port, err)
		}
		_ = c.Close()
	}

	svc, err := azqueue.NewServiceClientFromConnectionString(cs, nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateQueue(ctx, "kit", nil); err != nil {
		t.Fatalf("create queue through the connection string: %v", err)
	}
	if _, err := svc.NewQueueClient("kit").EnqueueMessage(ctx, "hello", nil); err != nil {
		t.Fatal(err)
	}

	if err := a.Restart(ctx); err != nil {
		t.Fatalf("restart: %v", err)
	}
	if got := a.Ports(); got != p {
		t.Logf("restart moved ports %+v -> %+v (allowed when a port was taken)", p, got)
		svc, err = azqueue.NewServiceClientFromConnectionString(a.ConnectionString(), nil)
		if err != nil {
			t.Fatal(err)
		}
	}
	// In-memory data is gone after a restart.
	_, err = svc.NewQueueClient("kit").PeekMessage(ctx, nil)
	if !queueerror.HasCode(err, queueerror.QueueNotFound) {
		t.Fatalf("after restart, peek on the old queue: err = %v, want QueueNotFound", err)
	}

	if err := a.Stop(); err != nil {
		t.Fatal(err)
	}
	if a.Running() {
		t.Fatal("Running after Stop")
	}
	if c, err := net.DialTimeout("tcp", "127.0.0.1:"+strconv.Itoa(a.Ports().Queue), time.Second); err == nil {
		_ = c.Close()
		t.Fatal("queue port still accepts connections after Stop")
	}
	if err := a.Stop(); err != nil {
		t.Fatalf("second Stop: %v", err)
	}
}
