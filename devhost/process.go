package devhost

import (
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/exec"
	"sync"
	"syscall"
	"time"
)

// handlerProcess supervises the custom handler executable: starts it on a free
// port, waits until it answers, restarts it when it exits unexpectedly.
type handlerProcess struct {
	path, dir string
	args      []string
	env       []string
	log       *slog.Logger
	stdout    *os.File
	stderr    *os.File

	mu       sync.Mutex
	cmd      *exec.Cmd
	port     int
	exited   chan struct{}
	stopping bool
	restarts int
}

// freePort asks the kernel for a free loopback port.
func freePort() (int, error) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port, nil
}

// start launches the handler and waits (up to 60 s, like the host) for it to answer.
func (p *handlerProcess) start(ctx context.Context) error {
	port, err := freePort()
	if err != nil {
		return err
	}
	cmd := exec.Command(p.path, p.args...)
	cmd.Dir = p.dir
	cmd.Env = append(append([]string{}, p.env...),
		fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port),
		"FUNCTIONS_CUSTOMHANDLER_WORKER_ID=devhost",
		"FUNCTIONS_APP_ROOT_PATH="+p.dir,
	)
	cmd.Stdout, cmd.Stderr = p.stdout, p.stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start handler %s: %w", p.path, err)
	}
	exited := make(chan struct{})
	p.mu.Lock()
	p.cmd, p.port, p.exited = cmd, port, exited
	p.mu.Unlock()
	go func() {
		err := cmd.Wait()
		close(exited)
		p.mu.Lock()
		stopping := p.stopping
		p.mu.Unlock()
		if !stopping {
			p.log.Warn("handler exited; restarting", "error", fmt.Sprint(err))
			p.restart()
		}
	}()
	deadline := time.Now().Add(60 * time.Second)
	client := &http.Client{Timeout: time.Second}
	for {
		select {
		case <-exited:
			return fmt.Errorf("handler %s exited during start-up (see its output above)", p.path)
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		resp, err := client.Get(fmt.Sprintf("http://127.0.0.1:%d/", port))
		if err == nil {
			resp.Body.Close()
			p.log.Info("handler ready", "port", port, "pid", cmd.Process.Pid)
			return nil
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("handler did not answer on port %d within 60 s", port)
		}
		time.Sleep(25 * time.Millisecond)
	}
}

func (p *handlerProcess) restart() {
	p.mu.Lock()
	p.restarts++
	n := p.restarts
	p.mu.Unlock()
	delay := time.Duration(min(n, 10)) * 200 * time.Millisecond
	time.Sleep(delay)
	p.mu.Lock()
	stopping := p.stopping
	p.mu.Unlock()
	if stopping {
		return
	}
	if err := p.start(context.Background()); err != nil {
		p.log.Error("handler restart failed", "error", err.Error())
	}
}

// base returns the handler's base URL (changes after a restart).
func (p *handlerProcess) base() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	return fmt.Sprintf("http://127.0.0.1:%d", p.port)
}

// kill ends the handler abruptly (SIGKILL), as a crashed instance; the
// supervisor restarts it. Used by fault tests.
func (p *handlerProcess) kill() {
	p.mu.Lock()
	cmd := p.cmd
	p.mu.Unlock()
	if cmd != nil && cmd.Process != nil {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
	}
}

// stop ends the handler: SIGTERM, then SIGKILL after grace.
func (p *handlerProcess) stop(grace time.Duration) {
	p.mu.Lock()
	p.stopping = true
	cmd, exited := p.cmd, p.exited
	p.mu.Unlock()
	if cmd == nil || cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGTERM)
	select {
	case <-exited:
	case <-time.After(grace):
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}
}
