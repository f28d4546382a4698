package azurite

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"testing"
)

// One Azurite per test binary: started by the first Shared call (so a
// package whose selected tests need no storage starts none) and stopped by
// RunShared when the tests end.
var shared struct {
	mu      sync.Mutex
	active  bool // RunShared is running the tests
	started bool // a start was attempted (it is not retried)
	a       *Azurite
	err     error
}

// errNoRunShared explains the one way to use Shared.
var errNoRunShared = errors.New("azurite.Shared needs the package's TestMain to be `func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }` (otherwise nothing stops the process)")

// RunShared runs the tests of a package that uses Shared and stops the
// shared instance after them; it returns m.Run's exit code. Use it as the
// package's TestMain:
//
//	func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }
func RunShared(m *testing.M) int {
	shared.mu.Lock()
	shared.active = true
	shared.mu.Unlock()
	code := m.Run()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	shared.active = false
	if shared.a != nil {
		if err := shared.a.Stop(); err != nil {
			fmt.Fprintln(os.Stderr, "stop shared Azurite:", err)
		}
		shared.a = nil
	}
	return code
}

// Shared returns the test binary's one Azurite, starting it on first use
// (about a second and a half, paid once instead of per test). Tests that
// share it must keep their data apart (their own tables, containers,
// queues, environment ids) or reset what they use; a test that stops or
// restarts Azurite must use Start instead. Shared fails the test when the
// package's TestMain is not RunShared, or when Azurite did not start (a
// failed start is not retried, so every test reports the same cause).
func Shared(t testing.TB) *Azurite {
	t.Helper()
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if !shared.active {
		t.Fatal(errNoRunShared)
		return nil
	}
	if !shared.started {
		shared.started = true
		ctx, cancel := context.WithTimeout(context.Background(), StartTimeout)
		shared.a, shared.err = StartProcess(ctx)
		cancel()
	}
	if shared.err != nil {
		t.Fatalf("start shared Azurite: %v", shared.err)
		return nil
	}
	return shared.a
}
