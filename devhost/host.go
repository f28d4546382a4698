package devhost

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azqueue"

	"github.com/cloudbackup-d365/cloudbackup/shared/ncrontab"
)

// Options configure a dev host. Zero values become the documented defaults.
type Options struct {
	// Root is the app folder (host.json + function folders). Required.
	Root string
	// HandlerPath overrides host.json's defaultExecutablePath (e.g. a native
	// build when dist/ holds the linux/amd64 one).
	HandlerPath string
	// Addr is where the host serves HTTP; default 127.0.0.1:0.
	Addr string
	// Settings are app settings for the handler and for %Setting% references;
	// they override the process environment and local.settings.json.
	Settings map[string]string
	// FunctionKey and MasterKey are generated when empty.
	FunctionKey, MasterKey string
	// MaxDeliveryCount is how many deliveries a message gets before it moves to
	// the poison queue; default 10 (Service Bus's default maxDeliveryCount).
	MaxDeliveryCount int
	// RetryDelay is how long a failed message stays invisible; default 1 s
	// (Service Bus abandons make it available again at once; a small delay
	// keeps a failing handler from spinning).
	RetryDelay time.Duration
	// LockDuration is the visibility timeout while a message is being
	// processed; default 5 min. While the invocation runs the lock is renewed
	// (every half LockDuration) for up to host.json's
	// serviceBus.maxAutoLockRenewalDuration, as the Functions host does, so a
	// long invocation is not redelivered while it is still running.
	LockDuration time.Duration
	// MaxPollInterval caps the back-off of an empty queue; default 1 s.
	MaxPollInterval time.Duration
	// Concurrency per queue-triggered function; default host.json's
	// serviceBus.maxConcurrentCalls, else 16.
	Concurrency int
	// DisableTimers stops schedule-driven timer firing (on-demand still works).
	DisableTimers bool
	// MaxRequestBodyBytes caps HTTP request bodies; a larger one is answered
	// 413 (problem+json) without reaching the handler. Default
	// DefaultMaxRequestBodyBytes, the Functions host's limit.
	MaxRequestBodyBytes int64
	// PassPrincipalHeaders forwards X-MS-CLIENT-PRINCIPAL* headers from the
	// client (tests, local role play). Otherwise they are stripped, as the App
	// Service front end does with headers it did not set itself.
	PassPrincipalHeaders bool
	// Log receives the host's own logs; default JSON to stderr.
	Log *slog.Logger
	// HandlerStdout/HandlerStderr receive the handler's output; default os.Stdout/os.Stderr.
	HandlerStdout, HandlerStderr *os.File
}

// Host is a running dev host.
type Host struct {
	opts    Options
	app     *App
	log     *slog.Logger
	env     map[string]string
	handler *handlerProcess
	queues  *azqueue.ServiceClient
	client  *http.Client
	ln      net.Listener
	srv     *http.Server
	cancel  context.CancelFunc
	wg      sync.WaitGroup
	seq     atomic.Int64
	stats   Stats
	// renewFor is how long locks of running invocations are renewed.
	renewFor time.Duration
}

// Stats counts what the host did, for tests and the shutdown summary.
type Stats struct {
	Invocations atomic.Int64
	Succeeded   atomic.Int64
	Failures    atomic.Int64
	Poisoned    atomic.Int64
	// LockRenewals counts lock renewals of long-running invocations.
	LockRenewals atomic.Int64
}

// Start loads the app, starts the handler and begins serving.
func Start(ctx context.Context, opts Options) (*Host, error) {
	if opts.Root == "" {
		return nil, errors.New("devhost: Options.Root (the app folder) is required")
	}
	app, err := LoadApp(opts.Root)
	if err != nil {
		return nil, err
	}
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.FunctionKey == "" {
		opts.FunctionKey = randomKey()
	}
	if opts.MasterKey == "" {
		opts.MasterKey = randomKey()
	}
	if opts.MaxDeliveryCount <= 0 {
		opts.MaxDeliveryCount = 10
	}
	if opts.RetryDelay <= 0 {
		opts.RetryDelay = time.Second
	}
	if opts.LockDuration <= 0 {
		opts.LockDuration = 5 * time.Minute
	}
	if opts.MaxRequestBodyBytes <= 0 {
		opts.MaxRequestBodyBytes = DefaultMaxRequestBodyBytes
	}
	if opts.MaxPollInterval <= 0 {
		opts.MaxPollInterval = time.Second
	}
	if opts.Concurrency <= 0 {
		opts.Concurrency = app.Host.Extensions.ServiceBus.MaxConcurrentCalls
		if opts.Concurrency <= 0 {
			opts.Concurrency = 16
		}
	}
	if opts.Log == nil {
		opts.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	}
	if opts.HandlerStdout == nil {
		opts.HandlerStdout = os.Stdout
	}
	if opts.HandlerStderr == nil {
		opts.HandlerStderr = os.Stderr
	}
	h := &Host{opts: opts, app: app, log: opts.Log.With("component", "devhost"), client: &http.Client{}}
	h.env = mergeEnv(os.Environ(), app.Settings, opts.Settings)

	if err := h.checkBindings(); err != nil {
		return nil, err
	}
	if h.renewFor, err = app.lockRenewal(); err != nil {
		return nil, err
	}
	if h.needsQueues() {
		cs := h.env["AzureWebJobsStorage"]
		if cs == "" {
			return nil, errors.New("devhost: queue-triggered functions need AzureWebJobsStorage (an Azurite connection string) in the settings")
		}
		if h.queues, err = azqueue.NewServiceClientFromConnectionString(cs, nil); err != nil {
			return nil, errors.New("devhost: AzureWebJobsStorage is not a valid storage connection string")
		}
	}

	handlerPath := opts.HandlerPath
	if handlerPath == "" {
		handlerPath = app.HandlerPath()
	}
	env := make([]string, 0, len(h.env))
	for k, v := range h.env {
		env = append(env, k+"="+v)
	}
	h.handler = &handlerProcess{
		path: handlerPath, dir: app.Root, args: app.Host.CustomHandler.Description.Arguments, env: env,
		log: h.log, stdout: opts.HandlerStdout, stderr: opts.HandlerStderr,
	}
	if err := h.handler.start(ctx); err != nil {
		h.handler.stop(time.Second)
		return nil, err
	}

	h.ln, err = net.Listen("tcp", opts.Addr)
	if err != nil {
		h.handler.stop(5 * time.Second)
		return nil, fmt.Errorf("devhost: listen on %s: %w", opts.Addr, err)
	}
	h.srv = &http.Server{Handler: h.httpHandler(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = h.srv.Serve(h.ln) }()

	runCtx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	for _, f := range app.Functions {
		trig, _ := f.Trigger()
		switch trig.Type {
		case "timerTrigger":
			if err := h.startTimer(runCtx, f, trig); err != nil {
				h.Close()
				return nil, err
			}
		case "serviceBusTrigger", "queueTrigger":
			queue, _ := resolve(trig.QueueName, h.lookup)
			if err := h.ensureQueue(ctx, queue); err != nil {
				h.Close()
				return nil, err
			}
			h.wg.Add(1)
			go func() { defer h.wg.Done(); h.pollQueue(runCtx, f, trig, queue) }()
		}
	}
	h.log.Info("dev host ready", "url", h.URL(), "functions", len(app.Functions))
	return h, nil
}

// checkBindings resolves every %Setting% now, so a missing setting is
// reported at start rather than when the trigger first fires.
func (h *Host) checkBindings() error {
	var problems []string
	for _, f := range h.app.Functions {
		trig, _ := f.Trigger()
		switch trig.Type {
		case "timerTrigger":
			s, err := resolve(trig.Schedule, h.lookup)
			if err == nil {
				_, err = ncrontab.Parse(s)
			}
			if err != nil {
				problems = append(problems, f.Name+": "+err.Error())
			}
		case "serviceBusTrigger", "queueTrigger":
			if _, err := resolve(trig.QueueName, h.lookup); err != nil {
				problems = append(problems, f.Name+": "+err.Error())
			}
		case "httpTrigger":
		default:
			problems = append(problems, fmt.Sprintf("%s: trigger type %q is not supported by the dev host", f.Name, trig.Type))
		}
	}
	if len(problems) > 0 {
		return errors.New("devhost: " + strings.Join(problems, "; "))
	}
	return nil
}

func (h *Host) needsQueues() bool {
	for _, f := range h.app.Functions {
		if t, _ := f.Trigger(); t.Type == "serviceBusTrigger" || t.Type == "queueTrigger" {
			return true
		}
	}
	return false
}

func (h *Host) lookup(name string) (string, bool) {
	v, ok := h.env[name]
	return v, ok
}

// URL is the host's base URL (http://127.0.0.1:port); the API is under /api.
func (h *Host) URL() string { return "http://" + h.ln.Addr().String() }

// FunctionKey is the key accepted for authLevel function.
func (h *Host) FunctionKey() string { return h.opts.FunctionKey }

// MasterKey is the key for /admin and any function.
func (h *Host) MasterKey() string { return h.opts.MasterKey }

// Stats returns the counters.
func (h *Host) Stats() *Stats { return &h.stats }

// KillHandler kills the handler process abruptly; the host restarts it.
func (h *Host) KillHandler() { h.handler.kill() }

// Close stops timers and pollers, the HTTP server and the handler.
func (h *Host) Close() error {
	if h.cancel != nil {
		h.cancel()
	}
	if h.srv != nil {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		_ = h.srv.Shutdown(sctx)
		cancel()
	}
	h.wg.Wait()
	h.handler.stop(10 * time.Second)
	return nil
}

// InvocationError is a failed invocation: the handler's status and logs.
type InvocationError struct {
	Function string
	Status   int
	Logs     []string
	Err      error
}

func (e *InvocationError) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("invoke %s: %v", e.Function, e.Err)
	}
	return fmt.Sprintf("invoke %s: handler answered %d: %s", e.Function, e.Status, strings.Join(e.Logs, "; "))
}

func (e *InvocationError) Unwrap() error { return e.Err }

// invoke posts one invocation and returns its result.
func (h *Host) invoke(ctx context.Context, function string, payload []byte) error {
	h.stats.Invocations.Add(1)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, h.handler.base()+"/"+function, bytes.NewReader(payload))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Azure-Functions-InvocationId", newGUID())
	req.Header.Set("X-Azure-Functions-HostVersion", "4.0.0-devhost")
	resp, err := h.client.Do(req)
	if err != nil {
		h.stats.Failures.Add(1)
		return &InvocationError{Function: function, Err: err}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	var res struct {
		Logs []string `json:"Logs"`
	}
	_ = json.Unmarshal(body, &res)
	if resp.StatusCode/100 != 2 {
		h.stats.Failures.Add(1)
		return &InvocationError{Function: function, Status: resp.StatusCode, Logs: res.Logs}
	}
	for _, l := range res.Logs {
		h.log.Info(l, "function", function)
	}
	h.stats.Succeeded.Add(1)
	return nil
}

func mergeEnv(environ []string, layers ...map[string]string) map[string]string {
	env := map[string]string{}
	// local.settings.json values first, then the process environment wins, as
	// with func start; explicit Options.Settings win over both.
	if len(layers) > 0 {
		for k, v := range layers[0] {
			env[k] = v
		}
	}
	for _, kv := range environ {
		if k, v, ok := strings.Cut(kv, "="); ok {
			env[k] = v
		}
	}
	for _, l := range layers[1:] {
		for k, v := range l {
			env[k] = v
		}
	}
	return env
}

func randomKey() string {
	var b [24]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}
