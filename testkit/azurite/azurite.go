package azurite

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Well-known development account that Azurite serves by default.
const (
	AccountName = "devstoreaccount1"
	AccountKey  = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)

// StartTimeout bounds how long Start waits for the three services to listen.
const StartTimeout = 60 * time.Second

// Bin is the Azurite launcher, relative to the repository root.
var Bin = filepath.Join("node_modules", ".bin", "azurite")

// ErrNotInstalled is returned when node_modules/.bin/azurite is missing.
var ErrNotInstalled = errors.New("azurite: not installed; run `npm ci` in the repository root (make test does)")

// Ports are the three service ports of one instance.
type Ports struct{ Blob, Queue, Table int }

// Azurite is one running (or stopped) emulator instance. Its methods are safe
// for concurrent use.
type Azurite struct {
	bin string

	mu    sync.Mutex
	ports Ports
	proc  *process // nil when stopped
}

// process is one Azurite OS process.
type process struct {
	cmd    *exec.Cmd
	dir    string
	done   chan struct{} // closed when the process has exited
	outMu  sync.Mutex
	output []string // last lines of stdout+stderr, for error messages
}

// Start starts Azurite for a test and stops it when the test ends. It fails
// the test when Azurite is not installed or does not come up.
func Start(t testing.TB) *Azurite {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
	defer cancel()
	a, err := StartProcess(ctx)
	if err != nil {
		t.Fatalf("start Azurite: %v", err)
	}
	t.Cleanup(func() {
		if err := a.Stop(); err != nil {
			t.Logf("stop Azurite: %v", err)
		}
	})
	return a
}

// StartProcess starts Azurite outside a test (dev host, make run). The caller
// must call Stop. ctx bounds the start only; the process runs until Stop.
func StartProcess(ctx context.Context) (*Azurite, error) {
	root, err := RepoRoot()
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(root, Bin)
	if _, err := os.Stat(bin); err != nil {
		return nil, fmt.Errorf("%w (looked for %s)", ErrNotInstalled, bin)
	}
	a := &Azurite{bin: bin}
	if err := a.start(ctx, Ports{}); err != nil {
		return nil, err
	}
	return a, nil
}

// RepoRoot returns the nearest directory at or above the working directory
// that holds go.mod (tests run in their package's directory).
func RepoRoot() (string, error) {
	dir, err := os.Getwd()
	if err != nil {
		return "", fmt.Errorf("azurite: working directory: %w", err)
	}
	for {
		if _, err := os.Stat(filepath.Join(dir, "go.mod")); err == nil {
			return dir, nil
		}
		parent := filepath.Dir(dir)
		if parent == dir {
			return "", errors.New("azurite: no go.mod found above the working directory")
		}
		dir = parent
	}
}

// Ports returns the ports of the current (or last) process.
func (a *Azurite) Ports() Ports {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.ports
}

// BlobURL is the blob endpoint including the account, as in a connection string.
func (a *Azurite) BlobURL() string { return endpoint(a.Ports().Blob) }

// QueueURL is the queue endpoint including the account.
func (a *Azurite) QueueURL() string { return endpoint(a.Ports().Queue) }

// TableURL is the table endpoint including the account.
func (a *Azurite) TableURL() string { return endpoint(a.Ports().Table) }

func endpoint(port int) string { return fmt.Sprintf("http://127.0.0.1:%d/%s", port, AccountName) }

// ConnectionString is a shared-key connection string for the instance, usable
// as AzureWebJobsStorage and by every azblob/azqueue/aztables constructor.
func (a *Azurite) ConnectionString() string {
	return "DefaultEndpointsProtocol=http;AccountName=" + AccountName + ";AccountKey=" + AccountKey +
		";BlobEndpoint=" + a.BlobURL() + ";QueueEndpoint=" + a.QueueURL() + ";TableEndpoint=" + a.TableURL() + ";"
}

// Running reports whether the process is up.
func (a *Azurite) Running() bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.proc == nil {
		return false
	}
	select {
	case <-a.proc.done:
		return false
	default:
		return true
	}
}

// Stop kills the process group and waits for it to exit. Stopping a stopped
// instance is a no-op.
func (a *Azurite) Stop() error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.stopLocked()
}

// Restart stops the instance and starts a new process, on the same ports if
// they can be bound again, otherwise on new ones (then ConnectionString and
// the URLs change: read them again). All data is lost: Azurite runs with
// --inMemoryPersistence.
func (a *Azurite) Restart(ctx context.Context) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	if err := a.stopLocked(); err != nil {
		return err
	}
	err := a.startLocked(ctx, a.ports)
	if err != nil && errors.Is(err, errAddrInUse) {
		err = a.startLocked(ctx, Ports{})
	}
	return err
}

func (a *Azurite) start(ctx context.Context, want Ports) error {
	a.mu.Lock()
	defer a.mu.Unlock()
	return a.startLocked(ctx, want)
}

var errAddrInUse = errors.New("azurite: port in use")

// listening matches Azurite's start-up lines, e.g.
// "Azurite Queue service is successfully listening at http://127.0.0.1:35553".
var listening = regexp.MustCompile(`Azurite (Blob|Queue|Table) service is successfully listening at https?://[^\s]*:(\d+)`)

// parseListening returns the service and port a start-up line announces.
func parseListening(line string) (service string, port int, ok bool) {
	m := listening.FindStringSubmatch(line)
	if m == nil {
		return "", 0, false
	}
	port, err := strconv.Atoi(m[2])
	if err != nil || port <= 0 {
		return "", 0, false
	}
	return m[1], port, true
}

func (a *Azurite) startLocked(ctx context.Context, want Ports) error {
	dir, err := os.MkdirTemp("", "azurite-")
	if err != nil {
		return fmt.Errorf("azurite: %w", err)
	}
	args := []string{
		"--silent", "--skipApiVersionCheck", "--loose", "--inMemoryPersistence",
		// Telemetry would try to reach the internet and writes under the temp dir.
		"--disableTelemetry",
		"--blobHost", "127.0.0.1", "--queueHost", "127.0.0.1", "--tableHost", "127.0.0.1",
		"--blobPort", strconv.Itoa(want.Blob), "--queuePort", strconv.Itoa(want.Queue), "--tablePort", strconv.Itoa(want.Table),
	}
	cmd := exec.Command(a.bin, args...)
	// A working directory of its own: nothing Azurite might write lands in the repo.
	cmd.Dir = dir
	// AZURITE_ACCOUNTS would replace the well-known account the connection
	// string names.
	cmd.Env = withoutEnv(os.Environ(), "AZURITE_ACCOUNTS")
	setProcAttr(cmd)
	pr, pw, err := os.Pipe()
	if err != nil {
		_ = os.RemoveAll(dir)
		return fmt.Errorf("azurite: %w", err)
	}
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		_ = pr.Close()
		_ = pw.Close()
		_ = os.RemoveAll(dir)
		return fmt.Errorf("azurite: start %s: %w", a.bin, err)
	}
	_ = pw.Close() // the child holds its own copy; EOF comes when it exits

	p := &process{cmd: cmd, dir: dir, done: make(chan struct{})}
	found := make(chan [2]any, 3)
	go func() {
		// Drain the output for the life of the process so Azurite never
		// blocks on a full pipe; keep the tail for error messages.
		sc := bufio.NewScanner(pr)
		for sc.Scan() {
			line := sc.Text()
			p.outMu.Lock()
			p.output = append(p.output, line)
			if len(p.output) > 50 {
				p.output = p.output[len(p.output)-50:]
			}
			p.outMu.Unlock()
			if svc, port, ok := parseListening(line); ok {
				select {
				case found <- [2]any{svc, port}:
				default: // only the first three matter
				}
			}
		}
		_ = pr.Close()
	}()
	go func() {
		_ = cmd.Wait()
		close(p.done)
	}()

	got := Ports{}
	for got.Blob == 0 || got.Queue == 0 || got.Table == 0 {
		select {
		case f := <-found:
			switch port := f[1].(int); f[0].(string) {
			case "Blob":
				got.Blob = port
			case "Queue":
				got.Queue = port
			case "Table":
				got.Table = port
			}
		case <-p.done:
			out := p.tail()
			p.cleanup()
			err := fmt.Errorf("azurite exited before listening (%s); output:\n%s", cmd.ProcessState, out)
			if strings.Contains(out, "EADDRINUSE") {
				err = fmt.Errorf("%w: %w", errAddrInUse, err)
			}
			return err
		case <-ctx.Done():
			p.kill()
			return fmt.Errorf("azurite did not listen on all three services: %w; output:\n%s", ctx.Err(), p.tail())
		}
	}
	a.proc, a.ports = p, got
	return nil
}

func (a *Azurite) stopLocked() error {
	p := a.proc
	if p == nil {
		return nil
	}
	a.proc = nil
	return p.kill()
}

// kill asks the group to terminate, escalates to SIGKILL if it lingers, and
// waits for the exit, so the ports are free when it returns.
func (p *process) kill() error {
	defer p.cleanup()
	select {
	case <-p.done:
		return nil
	default:
	}
	signalGroup(p.cmd, false)
	select {
	case <-p.done:
		return nil
	case <-time.After(3 * time.Second):
	}
	signalGroup(p.cmd, true)
	select {
	case <-p.done:
		return nil
	case <-time.After(10 * time.Second):
		return fmt.Errorf("azurite (pid %d) did not exit after SIGKILL", p.cmd.Process.Pid)
	}
}

func (p *process) cleanup() { _ = os.RemoveAll(p.dir) }

func (p *process) tail() string {
	p.outMu.Lock()
	defer p.outMu.Unlock()
	return strings.Join(p.output, "\n")
}

func withoutEnv(env []string, name string) []string {
	out := env[:0:0]
	for _, kv := range env {
		if !strings.HasPrefix(kv, name+"=") {
			out = append(out, kv)
		}
	}
	return out
}
