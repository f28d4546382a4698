package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// distDir is the package built once by TestMain with `make build`.
var distDir string

func TestMain(m *testing.M) {
	code, err := run(m)
	if err != nil {
		fmt.Fprintln(os.Stderr, "e2e:", err)
		os.Exit(1)
	}
	os.Exit(code)
}

func run(m *testing.M) (int, error) {
	root, err := azurite.RepoRoot()
	if err != nil {
		return 0, err
	}
	tmp, err := os.MkdirTemp("", "cloudbackup-dist-")
	if err != nil {
		return 0, err
	}
	defer os.RemoveAll(tmp)
	distDir = filepath.Join(tmp, "dist")
	cmd := exec.Command("make", "--no-print-directory", "build", "DIST="+distDir)
	cmd.Dir = root
	if out, err := cmd.CombinedOutput(); err != nil {
		return 0, fmt.Errorf("make build: %v\n%s", err, out)
	}
	return m.Run(), nil
}
