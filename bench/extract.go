package main

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// benchExtract is sections 1 (CPU-bound extraction beside the read ceiling
// and the plain client, with the handler's CPU profile) and 4 (incremental
// after 1% changed), on one stack of 200,000 records without latency or
// limits.
func benchExtract(ctx context.Context, cfg *config, rep *report) error {
	n := cfg.size(200_000, 20_000)
	profile := filepath.Join(cfg.root, "bench/results/handler-cpu.pprof")
	t0 := time.Now()
	s, err := startStack(ctx, cfg, stackOptions{Records: n, Identities: 1, Profile: profile})
	if err != nil {
		return err
	}
	defer s.Close()
	e := s.Sim.Demo()
	total := 0
	for _, t := range readTables(e) {
		total += e.Count(t.LogicalName)
	}
	logf("stack with %d records (%d readable) up in %.1f s", n, total, time.Since(t0).Seconds())
	var bRate, bMB, cRate, cMB, pRate, pMB, bSecs, reqs, blobs, rows []float64
	var srcBytes, fullBytes float64
	app := s.Sim.SecretClients()[0]
	if _, err := s.requests(); err != nil {
		return err
	}
	azPID := childPID("node")
	var cpuH, cpuA, cpuS []float64
	for i := range cfg.reps {
		h0, a0, s0 := cpuSeconds(s.pid), cpuSeconds(azPID), cpuSeconds(0)
		r, secs, err := s.backup(ctx)
		if err != nil {
			return err
		}
		cpuH = append(cpuH, cpuSeconds(s.pid)-h0)
		cpuA = append(cpuA, cpuSeconds(azPID)-a0)
		cpuS = append(cpuS, cpuSeconds(0)-s0)
		q, err := s.requests()
		if err != nil {
			return err
		}
		nb, nr, err := s.written(ctx, r)
		if err != nil {
			return err
		}
		c, err := readCeiling(ctx, e, app.ClientID, 4)
		if err != nil {
			return err
		}
		p, err := plainClient(ctx, cfg, s.Sim)
		if err != nil {
			return err
		}
		if _, err := s.requests(); err != nil { // ceiling and plain are not the backup's
			return err
		}
		srcBytes, fullBytes = float64(c.Bytes), float64(r.Bytes)
		logf("rep %d: backup %d records %.1f s (%d requests, %d pages, %d stored bytes); ceiling %d records %.1f s; plain %d records %.1f s",
			i+1, r.Records, secs, q, r.Pages, r.Bytes, c.Records, c.Seconds, p.Records, p.Seconds)
		bSecs = append(bSecs, secs)
		bRate = append(bRate, float64(r.Records)/secs)
		bMB = append(bMB, srcBytes/1e6/secs)
		cRate = append(cRate, float64(c.Records)/c.Seconds)
		cMB = append(cMB, float64(c.Bytes)/1e6/c.Seconds)
		pRate = append(pRate, float64(p.Records)/p.Seconds)
		pMB = append(pMB, float64(p.Bytes)/1e6/p.Seconds)
		reqs = append(reqs, float64(q))
		blobs = append(blobs, float64(nb))
		rows = append(rows, float64(nr))
		if i == 0 {
			rep.add("1", "records backed up per run", "records", []float64{float64(r.Records)}, fmt.Sprintf("%d tables, %d pages", r.Done, r.Pages))
		}
	}
	sec := "1"
	label := groupInt(int64(n))
	rep.add(sec, "backup (handler + dev host + Azurite), "+label, "records/s", bRate, "full run, creation to finish")
	rep.add(sec, "backup, source JSON read", "MB/s", bMB, fmt.Sprintf("%.0f MB of Web API JSON per run", srcBytes/1e6))
	rep.add(sec, "read ceiling (Go loop, 4 tables at once, discard)", "records/s", cRate, "")
	rep.add(sec, "read ceiling", "MB/s", cMB, "")
	rep.add(sec, "plain client (dynamics-web-api, sequential, NDJSON)", "records/s", pRate, "")
	rep.add(sec, "plain client, NDJSON written", "MB/s", pMB, "")
	rep.add(sec, "CPU during a full run: handler", "s", cpuH, "user+system, /proc/<pid>/stat")
	rep.add(sec, "CPU during a full run: Azurite (node)", "s", cpuA, "")
	rep.add(sec, "CPU during a full run: simulator + dev host (bench process)", "s", cpuS, "")
	rep.ratio(sec, "backup / read ceiling", bRate, cRate, "per repetition")
	rep.ratio(sec, "backup / plain client", bRate, pRate, "per repetition")
	rep.add("6", "full run time, "+label+" records", "s", bSecs, "same runs as section 1")
	rep.add("6", "blobs written per full run, "+label, "blobs", blobs, "pages, file lists, metadata, manifest")
	rep.add("6", "table entities written per full run, "+label, "entities", rows, "runs + tabletasks rows (distinct)")
	rep.add("4", "requests of a full run", "requests", reqs, "Web API requests, all identities")
	rep.scale = append(rep.scale, scalePoint{n, median(bSecs)})

	if err := stopProfile(s.pid); err == nil {
		time.Sleep(500 * time.Millisecond)
		rep.Profile = profileTop(cfg, profile)
	}
	if cfg.want("incremental") || cfg.want("extract") {
		return benchIncremental(ctx, cfg, rep, s, median(bSecs), median(reqs), fullBytes)
	}
	return nil
}

// written counts the blobs under the run's folder and the table entities of
// the run (its runs row and its tabletasks rows).
func (s *stack) written(ctx context.Context, r *runstate.Run) (int, int, error) {
	list, err := blobstore.Collect(s.Blobs.List(ctx, "backups", "env/"+s.env+"/run/"+r.ID+"/"))
	if err != nil {
		return 0, 0, err
	}
	svc, err := aztables.NewServiceClientFromConnectionString(s.Az.ConnectionString(), nil)
	if err != nil {
		return 0, 0, err
	}
	filter := fmt.Sprintf("PartitionKey eq '%s'", r.ID)
	pager := svc.NewClient(runstate.TableTasks).NewListEntitiesPager(&aztables.ListEntitiesOptions{Filter: &filter, Select: ptr("RowKey")})
	rows := 1
	for pager.More() {
		p, err := pager.NextPage(ctx)
		if err != nil {
			return 0, 0, err
		}
		rows += len(p.Entities)
	}
	return len(list), rows, nil
}

func ptr[T any](v T) *T { return &v }

// benchIncremental: full base run, then rounds of (change 1% of the
// records, incremental run). The first incremental after a full read also
// re-reads what changed during it (docs/storage-format.md), so it is
// reported apart from the later ones.
func benchIncremental(ctx context.Context, cfg *config, rep *report, s *stack, fullSecs, fullReqs, fullBytes float64) error {
	if err := s.policy(ctx, true); err != nil {
		return err
	}
	base, baseSecs, err := s.backup(ctx)
	if err != nil {
		return err
	}
	baseReqs, err := s.requests()
	if err != nil {
		return err
	}
	logf("incremental base run %s (%s) %.1f s, %d requests", base.ID, base.Kind, baseSecs, baseReqs)
	e := s.Sim.Demo()
	rng := rand.New(rand.NewPCG(8, 8))
	var secs, reqs, bytes, recs []float64
	var first [3]float64
	for round := range cfg.reps + 1 {
		changed := 0
		for _, t := range readTables(e) {
			if t.PrimaryName == "" || t.IsIntersect {
				continue
			}
			ids := e.IDs(t.LogicalName)
			for k := 0; k < len(ids)/100; k++ {
				id := ids[rng.IntN(len(ids))]
				if err := e.Update(t.LogicalName, id, map[string]any{t.PrimaryName: fmt.Sprintf("changed %d %d", round, k)}); err != nil {
					return err
				}
				changed++
			}
		}
		r, d, err := s.backup(ctx)
		if err != nil {
			return err
		}
		q, err := s.requests()
		if err != nil {
			return err
		}
		logf("incremental %d: %d changed, run %s %.1f s, %d records, %d requests, %d bytes", round, changed, r.Kind, d, r.Records, q, r.Bytes)
		if round == 0 {
			first = [3]float64{d, float64(q), float64(r.Bytes)}
			continue
		}
		secs = append(secs, d)
		reqs = append(reqs, float64(q))
		bytes = append(bytes, float64(r.Bytes))
		recs = append(recs, float64(r.Records))
	}
	var fs, fq, fb []float64
	for i := range secs {
		fs = append(fs, secs[i]/fullSecs)
		fq = append(fq, reqs[i]/fullReqs)
		fb = append(fb, bytes[i]/fullBytes)
	}
	rep.add("4", "incremental after 1% changed: records read", "records", recs, "changed records + untracked table (lead) read in full")
	rep.add("4", "incremental: time / full run", "x", fs, "rounds 2..; full = median of section 1")
	rep.add("4", "incremental: requests / full run", "x", fq, "")
	rep.add("4", "incremental: stored bytes / full run", "x", fb, "")
	rep.add("4", "first incremental after a full (delta + re-read): time / full", "x", []float64{first[0] / fullSecs}, "one run by nature")
	rep.add("4", "first incremental: requests / full", "x", []float64{first[1] / fullReqs}, "")
	rep.add("4", "first incremental: stored bytes / full", "x", []float64{first[2] / fullBytes}, "")
	return nil
}

// profileTop summarises the handler's CPU profile with go tool pprof.
func profileTop(cfg *config, profile string) string {
	if st, err := os.Stat(profile); err != nil || st.Size() == 0 {
		return ""
	}
	out, err := exec.Command("go", "tool", "pprof", "-top", "-nodecount=30", filepath.Join(cfg.app, "handler"), profile).CombinedOutput()
	if err != nil {
		logf("pprof: %v %s", err, out)
		return ""
	}
	txt := string(out)
	if err := os.WriteFile(strings.TrimSuffix(profile, ".pprof")+"-top.txt", out, 0o644); err != nil {
		logf("pprof top: %v", err)
	}
	return txt
}
