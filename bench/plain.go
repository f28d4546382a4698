package main

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
)

// plainClient runs bench/plain/export.mjs (dynamics-web-api, sequential
// paging, NDJSON to disk) against the demo environment with one identity.
func plainClient(ctx context.Context, cfg *config, sim *dataversesim.Server) (readResult, error) {
	e := sim.Demo()
	dir, err := os.MkdirTemp("", "bench-plain-*")
	if err != nil {
		return readResult{}, err
	}
	defer os.RemoveAll(dir)
	ca := filepath.Join(dir, "ca.pem")
	if err := os.WriteFile(ca, sim.CAPEM(), 0o600); err != nil {
		return readResult{}, err
	}
	out := filepath.Join(dir, "out")
	if err := os.Mkdir(out, 0o700); err != nil {
		return readResult{}, err
	}
	var tables []string
	for _, t := range readTables(e) {
		spec := t.SetName
		if t.ChangeTracking {
			spec += ":t"
		}
		tables = append(tables, spec)
	}
	app := sim.SecretClients()[0]
	cmd := exec.CommandContext(ctx, "node", filepath.Join(cfg.root, "bench/plain/export.mjs"))
	cmd.Dir = cfg.root
	cmd.Env = append(os.Environ(), "DV_URL="+e.URL(), "TOKEN_URL="+sim.TokenURL(), "CLIENT_ID="+app.ClientID,
		"CLIENT_SECRET="+app.Secret, "TABLES="+strings.Join(tables, ","), "OUT_DIR="+out, "NODE_EXTRA_CA_CERTS="+ca)
	raw, err := cmd.CombinedOutput()
	if err != nil {
		return readResult{}, fmt.Errorf("plain client: %v\n%s", err, raw)
	}
	lines := strings.Split(strings.TrimSpace(string(raw)), "\n")
	var r readResult
	if err := json.Unmarshal([]byte(lines[len(lines)-1]), &r); err != nil {
		return readResult{}, fmt.Errorf("plain client output %q: %w", raw, err)
	}
	return r, nil
}
