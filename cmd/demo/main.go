package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/testkit/backupdemo"
)

func main() {
	app := flag.String("app", ".local/app", "app folder (host.json, function folders, handler): make app-local builds it")
	records := flag.Int("records", 1000, "records seeded in the demo organization")
	seed := flag.Int64("seed", 1, "seed of the demo organization")
	org := flag.String("org", string(dataversesim.OrgSmall), "organization shape: small (about forty tables, fast) or standard (Microsoft's table reference, about 650 tables)")
	timeout := flag.Duration("timeout", 5*time.Minute, "give up after this long")
	flag.Parse()
	shape, err := dataversesim.ParseOrg(*org)
	if err != nil {
		fail(err)
	}

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()

	// The documented service protection limits are on, as in Dataverse.
	s, err := backupdemo.Start(ctx, backupdemo.Options{AppDir: *app, Records: *records, Seed: *seed, Org: shape, Progress: os.Stderr, Limits: dataversesim.DefaultLimits()})
	if err != nil {
		fail(err)
	}
	sum, err := backupdemo.Scenario(ctx, s)
	s.Close()
	b, _ := json.Marshal(sum)
	if err != nil {
		fmt.Fprintln(os.Stderr, "summary so far:", string(b))
		fail(err)
	}
	fmt.Println(string(b))
	if !sum.Backup.Verified || sum.Restore == nil || !sum.Restore.Identical {
		os.Exit(1)
	}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "demo failed:", err)
	os.Exit(1)
}
