package dataversesim

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestDynamicsWebApiClient checks the simulator with the npm package
// dynamics-web-api (pinned in package.json), unmodified.
func TestDynamicsWebApiClient(t *testing.T) {
	if _, err := os.Stat("../node_modules/dynamics-web-api/package.json"); err != nil {
		t.Fatalf("node_modules/dynamics-web-api is missing: run `npm ci` in the repository root (make test does): %v", err)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		t.Fatalf("node is not installed; it is needed to run dynamics-web-api: %v", err)
	}
	s := Start(t, Options{Records: -1, TableCounts: map[string]int{"account": 120, "contact": 20}, Seed: 11})
	e := s.Demo()
	ca := filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(ca, s.CAPEM(), 0o644); err != nil {
		t.Fatal(err)
	}
	app := s.SecretClients()[0]
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, node, "testdata/webapi-check.mjs")
	cmd.Env = append(os.Environ(), "DV_URL="+e.URL(), "TOKEN_URL="+s.TokenURL(), "CLIENT_ID="+app.ClientID, "CLIENT_SECRET="+app.Secret,
		fmt.Sprintf("EXPECT_ACCOUNTS=%d", e.Count("account")), "NODE_EXTRA_CA_CERTS="+ca)
	out, err := cmd.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `{"ok":true`) {
		t.Fatalf("dynamics-web-api check failed: %v\n%s", err, out)
	}
	t.Logf("dynamics-web-api: %s", strings.TrimSpace(string(out)))
}
