package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/testkit/backupdemo"
)

func main() {
	api := flag.String("api", "", "API base URL, e.g. http://127.0.0.1:7071/api")
	key := flag.String("key", "", "function key")
	simReady := flag.String("sim", "", "file holding the simulator's ready line (JSON)")
	identities := flag.Int("identities", 2, "client-secret identities of the connection")
	timeout := flag.Duration("timeout", 10*time.Minute, "give up after this long")
	flag.Parse()
	if err := run(*api, *key, *simReady, *identities, *timeout); err != nil {
		fmt.Fprintln(os.Stderr, "first backup:", err)
		os.Exit(1)
	}
}

func run(api, key, simReady string, identities int, timeout time.Duration) error {
	raw, err := os.ReadFile(simReady)
	if err != nil {
		return err
	}
	var ready struct {
		DataverseURL string `json:"dataverseUrl"`
		TenantID     string `json:"tenantId"`
		Clients      []struct {
			ClientID     string `json:"clientId"`
			ClientSecret string `json:"clientSecret"`
			AppUser      string `json:"appUser"`
		} `json:"clients"`
	}
	if err := json.Unmarshal(raw, &ready); err != nil {
		return fmt.Errorf("simulator ready line: %w", err)
	}
	var ids []backupdemo.ClientSecret
	for _, c := range ready.Clients {
		if c.AppUser == "sysadmin" && len(ids) < identities {
			ids = append(ids, backupdemo.ClientSecret{ClientID: c.ClientID, Secret: c.ClientSecret})
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	c := backupdemo.NewAPI(api, key, os.Stderr)
	env, err := c.Connect(ctx, ready.TenantID, ready.DataverseURL, ids)
	if err != nil {
		return err
	}
	start := time.Now()
	r, err := c.Backup(ctx, env)
	if err != nil {
		return err
	}
	fmt.Printf("Backup %s of %s: %s (%s)\n", r.ID, ready.DataverseURL, r.Status, r.Kind)
	fmt.Printf("  tables   : %d (%d done, %d skipped, %d failed)\n", r.Tables, r.Done, r.Skipped, r.Failed)
	fmt.Printf("  records  : %d (+%d deletions)\n", r.Records, r.Deletes)
	fmt.Printf("  files    : %d (%d bytes)\n", r.Files, r.FileBytes)
	fmt.Printf("  bytes    : %d stored (pages %d)\n", r.Bytes+r.FileBytes, r.Bytes)
	fmt.Printf("  duration : %.1f s\n", time.Since(start).Seconds())
	fmt.Printf("  throttled: %d\n", r.Throttled)
	if r.Reason != "" {
		fmt.Printf("  reason   : %s\n", r.Reason)
	}
	return nil
}
