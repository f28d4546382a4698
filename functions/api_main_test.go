package functions

import (
	"context"
	"os"
	"sync"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

var (
	apiAzOnce sync.Once
	apiAz     *azurite.Azurite
	apiAzErr  error
)

// sharedAzurite starts one Azurite for the package (TestMain stops it).
func sharedAzurite(t *testing.T) *azurite.Azurite {
	t.Helper()
	apiAzOnce.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), azurite.StartTimeout)
		defer cancel()
		apiAz, apiAzErr = azurite.StartProcess(ctx)
	})
	if apiAzErr != nil {
		t.Fatalf("start Azurite: %v", apiAzErr)
	}
	return apiAz
}

func TestMain(m *testing.M) {
	code := m.Run()
	if apiAz != nil {
		_ = apiAz.Stop()
	}
	os.Exit(code)
}
