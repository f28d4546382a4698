package main

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/backupdemo"
)

// countLimits are limits that never trip (an hour's window, a billion
// requests) but make the simulator count each identity's requests, read
// back from x-ms-ratelimit-burst-remaining-xrm-requests.
func countLimits() dataversesim.Limits {
	return dataversesim.Limits{Enabled: true, Scale: 1, Window: time.Hour, MaxRequests: 1 << 30,
		MaxExecution: 10000 * time.Hour, MaxConcurrent: 10000}
}

// scaledLimits are the documented limits scaled to a 30 s window
// (600 requests and 120 s of execution time per identity per 30 s).
func scaledLimits() dataversesim.Limits { return dataversesim.Limits{Enabled: true, Scale: 10} }

// stack is a backupdemo stack (Azurite, simulator, dev host, real handler)
// with the demo organization connected.
type stack struct {
	*backupdemo.Stack
	env    string
	ids    int
	limits dataversesim.Limits
	pid    int
}

type stackOptions struct {
	Records    int
	Identities int
	Limits     dataversesim.Limits // zero: countLimits
	Profile    string              // CPU profile file of the handler
	Sim        func(*dataversesim.Options)
}

func startStack(ctx context.Context, cfg *config, o stackOptions) (*stack, error) {
	if o.Identities == 0 {
		o.Identities = 1
	}
	if !o.Limits.Enabled {
		o.Limits = countLimits()
	}
	if o.Profile != "" {
		os.Setenv("CLOUDBACKUP_CPUPROFILE", o.Profile)
		defer os.Unsetenv("CLOUDBACKUP_CPUPROFILE")
	}
	var progress io.Writer
	var hout *os.File
	if cfg.verbose {
		progress = os.Stderr
		if f, err := os.CreateTemp("", "bench-handler-*.log"); err == nil {
			hout = f
			logf("handler log: %s", f.Name())
		}
	}
	bs, err := backupdemo.Start(ctx, backupdemo.Options{AppDir: cfg.app, Records: o.Records, Seed: 1,
		Identities: o.Identities, Limits: o.Limits, Sim: o.Sim, Progress: progress, HandlerOutput: hout})
	if err != nil {
		return nil, err
	}
	s := &stack{Stack: bs, ids: o.Identities, limits: o.Limits}
	if s.env, err = bs.Connect(ctx); err != nil {
		bs.Close()
		return nil, err
	}
	if s.pid, err = handlerPID(); err != nil {
		bs.Close()
		return nil, err
	}
	return s, s.policy(ctx, false)
}

// policy makes every run full (incremental=false) or incremental.
func (s *stack) policy(ctx context.Context, incremental bool, exclude ...string) error {
	p := map[string]any{"enabled": false, "incremental": incremental, "fullEveryDays": 0, "retentionDays": 3650,
		"excludeTables": append([]string{}, exclude...)}
	if incremental {
		p["fullEveryDays"] = 366
	}
	return s.SetPolicy(ctx, s.env, p)
}

// backup runs one backup through the API and returns it with its duration
// (creation to finish, as the run records them).
func (s *stack) backup(ctx context.Context) (*runstate.Run, float64, error) {
	start := time.Now()
	id, err := s.StartBackup(ctx, s.env)
	if err != nil {
		return nil, 0, err
	}
	r, err := s.Wait(ctx, s.env, id)
	if err != nil {
		return nil, 0, err
	}
	if r.Status != runstate.RunSucceeded {
		return r, 0, fmt.Errorf("run %s ended %s: %s", r.ID, r.Status, r.Reason)
	}
	d := time.Since(start).Seconds()
	if !r.FinishedAt.IsZero() && !r.CreatedAt.IsZero() {
		d = r.FinishedAt.Sub(r.CreatedAt).Seconds()
	}
	return r, d, nil
}

// requests returns how many Web API requests the stack's identities made
// since the last call (from the counting limits) and resets the count.
func (s *stack) requests() (int, error) {
	e := s.Sim.Demo()
	total := 0
	for _, app := range s.Sim.SecretClients()[:s.ids] {
		hc := e.AuthorizedClient(app.ClientID)
		resp, err := hc.Get(e.APIURL() + "WhoAmI")
		if err != nil {
			return 0, err
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return 0, fmt.Errorf("WhoAmI: %d", resp.StatusCode)
		}
		rem, err := strconv.Atoi(resp.Header.Get("x-ms-ratelimit-burst-remaining-xrm-requests"))
		if err != nil {
			return 0, err
		}
		total += s.limits.MaxRequests - rem - 1
	}
	e.SetLimits(s.limits)
	return total, nil
}
