package devhost

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

var appDir string

func TestMain(m *testing.M) {
	code, err := setup(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devhost tests:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

// setup copies testdata/app to a temp folder, builds the fake handler into it
// and runs the tests with one Azurite for the package (azurite.Shared).
func setup(m *testing.M) (int, error) {
	tmp, err := os.MkdirTemp("", "devhost-test-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	appDir = filepath.Join(tmp, "app")
	if err := exec.Command("cp", "-r", "testdata/app", appDir).Run(); err != nil {
		return 0, err
	}
	if out, err := exec.Command("go", "build", "-o", filepath.Join(appDir, "fakehandler"), "./testdata/fakehandler").CombinedOutput(); err != nil {
		return 0, fmt.Errorf("build fake handler: %v\n%s", err, out)
	}
	return azurite.RunShared(m), nil
}

type harness struct {
	host   *Host
	log    string
	queues *azqueue.ServiceClient
	queue  string
}

func start(t *testing.T, opts Options) *harness {
	t.Helper()
	h := &harness{log: filepath.Join(t.TempDir(), "invocations.jsonl"), queue: "flaky-" + strings.ToLower(strings.ReplaceAll(t.Name(), "/", "-"))}
	if len(h.queue) > 63 {
		h.queue = h.queue[:63]
	}
	opts.Root = appDir
	az := azurite.Shared(t)
	settings := map[string]string{
		"AzureWebJobsStorage": az.ConnectionString(),
		"FAKE_LOG":            h.log,
		"FLAKY_QUEUE":         h.queue,
		"TICK_SCHEDULE":       "0 0 0 1 1 *",
	}
	for k, v := range opts.Settings {
		settings[k] = v
	}
	opts.Settings = settings
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	host, err := Start(ctx, opts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { host.Close() })
	h.host = host
	h.queues, err = azqueue.NewServiceClientFromConnectionString(az.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	return h
}

func (h *harness) records(t *testing.T, function string) []map[string]any {
	t.Helper()
	f, err := os.Open(h.log)
	if os.IsNotExist(err) {
		return nil
	} else if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []map[string]any
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r["function"] == function {
			out = append(out, r)
		}
	}
	return out
}

// waitFor polls cond for up to d; tests wait on observable state, not on time.
func waitFor(t *testing.T, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (h *harness) enqueue(t *testing.T, queue, text string) {
	t.Helper()
	if _, err := h.queues.NewQueueClient(queue).EnqueueMessage(context.Background(), text, nil); err != nil {
		t.Fatal(err)
	}
}

func (h *harness) peekAll(t *testing.T, queue string) []string {
	t.Helper()
	n := int32(32)
	resp, err := h.queues.NewQueueClient(queue).PeekMessages(context.Background(), &azqueue.PeekMessagesOptions{NumberOfMessages: &n})
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for _, m := range resp.Messages {
		out = append(out, *m.MessageText)
	}
	return out
}

// A message that keeps failing is delivered MaxDeliveryCount times with
// increasing DeliveryCount, then moved to <queue>-poison with its text intact.
func TestPoisonAfterMaxDeliveries(t *testing.T) {
	h := start(t, Options{MaxDeliveryCount: 3, RetryDelay: time.Second})
	text := `{"failAlways":true,"id":"p-1"}`
	h.enqueue(t, h.queue, text)
	waitFor(t, 30*time.Second, "the message in the poison queue", func() bool { return len(h.peekAll(t, messaging.PoisonQueue(h.queue))) == 1 })

	recs := h.records(t, "Flaky")
	if len(recs) != 3 {
		t.Fatalf("delivered %d times, want 3: %v", len(recs), recs)
	}
	for i, r := range recs {
		if int(r["deliveryCount"].(float64)) != i+1 || r["body"] != text {
			t.Errorf("delivery %d: %v", i+1, r)
		}
	}
	if got := h.peekAll(t, messaging.PoisonQueue(h.queue)); got[0] != text {
		t.Errorf("poison text %q, want %q", got[0], text)
	}
	if left := h.peekAll(t, h.queue); len(left) != 0 {
		t.Errorf("message still on its queue: %v", left)
	}
	if h.host.Stats().Poisoned.Load() != 1 {
		t.Errorf("poisoned counter = %d", h.host.Stats().Poisoned.Load())
	}
}

// A message that succeeds on its second delivery is retried once and deleted;
// the envelope's message id reaches the handler as MessageId.
func TestRetryThenSuccessWithEnvelope(t *testing.T) {
	h := start(t, Options{MaxDeliveryCount: 5, RetryDelay: time.Second})
	body := `{"succeedOn":2}`
	env, err := messaging.WrapEnvelope(messaging.Message{ID: "run-42", Body: []byte(body)})
	if err != nil {
		t.Fatal(err)
	}
	h.enqueue(t, h.queue, string(env))
	waitFor(t, 30*time.Second, "two deliveries", func() bool { return len(h.records(t, "Flaky")) >= 2 })
	waitFor(t, 10*time.Second, "the queue to empty", func() bool { return len(h.peekAll(t, h.queue)) == 0 })
	recs := h.records(t, "Flaky")
	if len(recs) != 2 || recs[0]["messageId"] != "run-42" || recs[1]["body"] != body || int(recs[1]["deliveryCount"].(float64)) != 2 {
		t.Errorf("records = %v", recs)
	}
	if p := h.peekAll(t, messaging.PoisonQueue(h.queue)); len(p) != 0 {
		t.Errorf("poisoned: %v", p)
	}
}

// A handler that dies mid-invocation is restarted and the message is
// delivered again once its lock expires.
func TestHandlerCrashIsRestartedAndMessageRedelivered(t *testing.T) {
	h := start(t, Options{MaxDeliveryCount: 5, RetryDelay: time.Second, LockDuration: 2 * time.Second})
	h.enqueue(t, "crash", `{"x":1}`)
	waitFor(t, 30*time.Second, "the redelivery after the crash", func() bool { return len(h.records(t, "Crash")) >= 2 })
	recs := h.records(t, "Crash")
	if recs[0]["pid"] == recs[1]["pid"] {
		t.Errorf("second delivery ran in the same process %v: the handler was not restarted", recs[1]["pid"])
	}
	if int(recs[1]["deliveryCount"].(float64)) != 2 {
		t.Errorf("second delivery count = %v", recs[1]["deliveryCount"])
	}
	waitFor(t, 10*time.Second, "the crash queue to empty", func() bool { return len(h.peekAll(t, "crash")) == 0 })
}

// An invocation that runs longer than the lock keeps its message: the host
// renews the lock, as the Functions host does for Service Bus, instead of
// letting it be delivered a second time while the first is still running.
func TestLockRenewedWhileInvocationRuns(t *testing.T) {
	h := start(t, Options{MaxDeliveryCount: 5, RetryDelay: time.Second, LockDuration: 2 * time.Second})
	h.enqueue(t, "slow", `{"sleepMs":5000}`)
	waitFor(t, 30*time.Second, "the slow invocation to succeed", func() bool { return h.host.Stats().Succeeded.Load() >= 1 })
	waitFor(t, 10*time.Second, "the slow queue to empty", func() bool { return len(h.peekAll(t, "slow")) == 0 })
	if n := len(h.records(t, "Slow")); n != 1 {
		t.Errorf("delivered %d times, want once (the lock lapsed while the invocation ran)", n)
	}
	if h.host.Stats().LockRenewals.Load() == 0 {
		t.Error("no lock renewal recorded")
	}
}

func TestLockRenewalSetting(t *testing.T) {
	for v, want := range map[string]time.Duration{"": 5 * time.Minute, "00:10:00": 10 * time.Minute, "01:00:30": time.Hour + 30*time.Second} {
		a := &App{}
		a.Host.Extensions.ServiceBus.MaxAutoLockRenewalDuration = v
		if got, err := a.lockRenewal(); err != nil || got != want {
			t.Errorf("%q: %v %v, want %v", v, got, err, want)
		}
	}
	for _, v := range []string{"10 minutes", "00:61:00", "-1:00:00"} {
		a := &App{}
		a.Host.Extensions.ServiceBus.MaxAutoLockRenewalDuration = v
		if _, err := a.lockRenewal(); err == nil {
			t.Errorf("%q accepted", v)
		}
	}
}

func get(t *testing.T, url string, header map[string]string) (int, map[string]string) {
	t.Helper()
	req, _ := http.NewRequest(http.MethodGet, url, nil)
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var body map[string]string
	b, _ := io.ReadAll(resp.Body)
	_ = json.Unmarshal(b, &body)
	if body == nil {
		body = map[string]string{"raw": string(b)}
	}
	return resp.StatusCode, body
}

func TestHTTPForwardingAndKeys(t *testing.T) {
	h := start(t, Options{FunctionKey: "fk", MasterKey: "mk"})
	base := h.host.URL() + "/api"

	if st, _ := get(t, base+"/echo/a/b", nil); st != 401 {
		t.Errorf("no key: %d, want 401", st)
	}
	if st, _ := get(t, base+"/echo/a/b", map[string]string{"x-functions-key": "wrong"}); st != 401 {
		t.Errorf("wrong key: %d, want 401", st)
	}
	st, body := get(t, base+"/echo/a/b?x=1", map[string]string{"x-functions-key": "fk"})
	if st != 200 || body["path"] != "/api/echo/a/b" || body["query"] != "x=1" {
		t.Errorf("forwarded: %d %v", st, body)
	}
	if st, body := get(t, base+"/echo?code=mk", nil); st != 200 || body["path"] != "/api/echo" {
		t.Errorf("master key via code=: %d %v", st, body)
	}
	if st, _ := get(t, base+"/open", nil); st != 200 {
		t.Errorf("anonymous: %d", st)
	}
	if st, _ := get(t, base+"/nothing", nil); st != 404 {
		t.Errorf("unknown route: %d, want 404", st)
	}
	// Client-sent principal headers are stripped unless the host is told to pass them.
	if _, body := get(t, base+"/open", map[string]string{"X-MS-CLIENT-PRINCIPAL": "forged"}); body["principal"] != "" {
		t.Errorf("principal header forwarded: %q", body["principal"])
	}
}

func TestPrincipalHeaderPassedWhenAllowed(t *testing.T) {
	h := start(t, Options{PassPrincipalHeaders: true})
	if _, body := get(t, h.host.URL()+"/api/open", map[string]string{"X-MS-CLIENT-PRINCIPAL": "abc"}); body["principal"] != "abc" {
		t.Errorf("principal = %q", body["principal"])
	}
}

func TestTimerOnScheduleAndOnDemand(t *testing.T) {
	h := start(t, Options{MasterKey: "mk", Settings: map[string]string{"TICK_SCHEDULE": "* * * * * *"}})
	waitFor(t, 10*time.Second, "two scheduled ticks", func() bool { return len(h.records(t, "Tick")) >= 2 })

	h2 := start(t, Options{MasterKey: "mk"}) // schedule: once a year
	req, _ := http.NewRequest(http.MethodPost, h2.host.URL()+"/admin/functions/Tick", strings.NewReader(`{"input":""}`))
	if resp, err := http.DefaultClient.Do(req); err != nil || resp.StatusCode != 401 {
		t.Fatalf("admin without key: %v %v", resp, err)
	}
	req, _ = http.NewRequest(http.MethodPost, h2.host.URL()+"/admin/functions/Tick", strings.NewReader(`{"input":""}`))
	req.Header.Set("x-functions-key", "mk")
	resp, err := http.DefaultClient.Do(req)
	if err != nil || resp.StatusCode != 202 {
		t.Fatalf("admin invoke: %v %v", resp, err)
	}
	waitFor(t, 10*time.Second, "the on-demand tick", func() bool { return len(h2.records(t, "Tick")) == 1 })
}

func TestStartErrors(t *testing.T) {
	ctx := context.Background()
	if _, err := Start(ctx, Options{Root: t.TempDir()}); err == nil || !strings.Contains(err.Error(), "host.json") {
		t.Errorf("empty folder: %v", err)
	}
	// A %Setting% that is not set is reported at start, naming it.
	_, err := Start(ctx, Options{Root: appDir, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
		Settings: map[string]string{"AzureWebJobsStorage": azurite.Shared(t).ConnectionString(), "FLAKY_QUEUE": "q"}})
	if err == nil || !strings.Contains(err.Error(), "TICK_SCHEDULE") {
		t.Errorf("missing setting: %v", err)
	}
}
