package functions

import (
	"os"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// One Azurite for the package.
func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }
