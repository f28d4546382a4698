package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
)

func main() {
	addr := flag.String("addr", "127.0.0.1:0", "listen address of the authority host; other endpoints use further ports on the same host")
	records := flag.Int("records", 1000, "business records seeded in the demo environment")
	seed := flag.Int64("seed", 1, "seed for data, ids and secrets")
	latency := flag.Duration("latency", 0, "latency added to every Web API response")
	caOut := flag.String("ca-out", "", "file to write the CA certificate (PEM) to")
	limits := flag.String("limits", "default", "service protection limits: default, off or a SCALE factor (10 = 30 s window)")
	state := flag.String("state", "", "state file: loaded at start when present, saved on exit")
	// small stays the default until the engine's scan reads a 600-table
	// organization in a bounded number of requests (issue 13, part 2): today
	// a full backup of the standard shape takes minutes here.
	orgFlag := flag.String("org", string(dataversesim.OrgSmall), "organization shape: small (about twenty tables, fast) or standard (Microsoft's table reference, about 600 tables)")
	flag.Parse()

	// Registered before anything is announced: a stop that arrives right
	// after the ready line must still close (and save) cleanly.
	sig := make(chan os.Signal, 1)
	signal.Notify(sig, os.Interrupt, syscall.SIGTERM)

	lim, err := dataversesim.ParseLimits(*limits)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dataverse-sim:", err)
		os.Exit(2)
	}
	org, err := dataversesim.ParseOrg(*orgFlag)
	if err != nil {
		fmt.Fprintln(os.Stderr, "dataverse-sim:", err)
		os.Exit(2)
	}
	n := *records
	if n == 0 {
		n = -1 // the package treats 0 as "default"; the flag means none
	}
	s, err := dataversesim.New(dataversesim.Options{Addr: *addr, Records: n, Seed: *seed, Latency: *latency, Limits: lim, StateFile: *state, Org: org,
		Logf: func(f string, a ...any) { fmt.Fprintf(os.Stderr, f+"\n", a...) }})
	if err != nil {
		fmt.Fprintln(os.Stderr, "dataverse-sim:", err)
		os.Exit(1)
	}
	if *caOut != "" {
		if err := os.WriteFile(*caOut, s.CAPEM(), 0o644); err != nil {
			fmt.Fprintln(os.Stderr, "dataverse-sim:", err)
			s.Close()
			os.Exit(1)
		}
	}
	info := s.ReadyInfo()
	info.CAFile = *caOut
	line, _ := json.Marshal(info)
	fmt.Println(string(line))

	<-sig
	if err := s.Close(); err != nil {
		fmt.Fprintln(os.Stderr, "dataverse-sim: close:", err)
		os.Exit(1)
	}
}
