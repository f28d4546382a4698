package e2e

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/cloudbackup-d365/cloudbackup/devhost"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// startPackage runs the built package under the dev host against az.
func startPackage(t *testing.T, az *azurite.Azurite, opts devhost.Options) *devhost.Host {
	t.Helper()
	opts.Root = distDir
	settings := map[string]string{
		"AzureWebJobsStorage": az.ConnectionString(),
		"MESSAGING_TRANSPORT": "storagequeue",
		"BACKUP_SCHEDULE":     "0 0 2 * * *",
		"RETENTION_SCHEDULE":  "0 30 3 * * *",
		"LOG_LEVEL":           "warn",
		"API_AUTHORIZATION":   "local-admin",
		"LOCAL_SECRETS_DIR":   filepath.Join(t.TempDir(), "secrets"),
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	opts.Settings = settings
	opts.DisableTimers = true
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	h, err := devhost.Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { h.Close() })
	return h
}

type health struct {
	Status       string
	Version      string
	Dependencies []struct {
		Name      string
		Reachable bool
		Error     string
	}
}

func getHealth(t *testing.T, url string) health {
	t.Helper()
	resp, err := http.Get(url + "/api/health")
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("health: %d", resp.StatusCode)
	}
	var h health
	if err := json.NewDecoder(resp.Body).Decode(&h); err != nil {
		t.Fatal(err)
	}
	return h
}

// The deployable package, under the dev host, reports its version and whether
// storage is reachable, and keeps answering 200 when it is not.
func TestHealthReportsDependencies(t *testing.T) {
	az := azurite.Start(t)
	h := startPackage(t, az, devhost.Options{})
	got := getHealth(t, h.URL())
	if got.Status != "ok" || got.Version == "" || len(got.Dependencies) < 3 {
		t.Fatalf("health with Azurite up: %+v", got)
	}
	for _, d := range got.Dependencies {
		if !d.Reachable {
			t.Errorf("%s unreachable with Azurite up: %s", d.Name, d.Error)
		}
	}
	if err := az.Stop(); err != nil {
		t.Fatal(err)
	}
	got = getHealth(t, h.URL())
	if got.Status != "degraded" {
		t.Errorf("status with Azurite down = %q", got.Status)
	}
	for _, d := range got.Dependencies {
		if d.Reachable || d.Error == "" {
			t.Errorf("%s reachable with Azurite down: %+v", d.Name, d)
		}
	}
}

// Admin API routes need a function key at the edge.
func TestAPIRequiresFunctionKey(t *testing.T) {
	az := azurite.Start(t)
	h := startPackage(t, az, devhost.Options{FunctionKey: "k1"})
	resp, err := http.Get(h.URL() + "/api/connections")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("without key: %d", resp.StatusCode)
	}
	req, _ := http.NewRequest(http.MethodGet, h.URL()+"/api/connections", nil)
	req.Header.Set("x-functions-key", "k1")
	resp, err = http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	// Forwarded to the handler: whatever the API answers, it is not the edge's 401/404.
	if resp.StatusCode == http.StatusUnauthorized || resp.StatusCode == http.StatusNotFound || resp.StatusCode == http.StatusBadGateway {
		t.Errorf("with key: %d", resp.StatusCode)
	}
}

// A message on the scan queue that can never succeed reaches ScanEnvironment,
// is retried, and ends in scan-poison after the allowed deliveries.
func TestUnprocessableScanMessageEndsInPoison(t *testing.T) {
	az := azurite.Start(t)
	h := startPackage(t, az, devhost.Options{MaxDeliveryCount: 3, RetryDelay: time.Second})
	qs, err := azqueue.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	text := "this is not a scan message"
	if _, err := qs.NewQueueClient(messaging.QueueScan).EnqueueMessage(context.Background(), text, nil); err != nil {
		t.Fatal(err)
	}
	poison := qs.NewQueueClient(messaging.PoisonQueue(messaging.QueueScan))
	deadline := time.Now().Add(45 * time.Second)
	for {
		n := int32(5)
		resp, err := poison.PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
		if err == nil && len(resp.Messages) == 1 {
			if *resp.Messages[0].MessageText != text {
				t.Errorf("poison text = %q", *resp.Messages[0].MessageText)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no poison message after 45 s; invocations %d failures %d", h.Stats().Invocations.Load(), h.Stats().Failures.Load())
		}
		time.Sleep(100 * time.Millisecond)
	}
	if inv, fail := h.Stats().Invocations.Load(), h.Stats().Failures.Load(); inv != 3 || fail != 3 {
		t.Errorf("invocations %d failures %d, want 3 and 3", inv, fail)
	}
}
