package main

import (
	"context"
	"fmt"
	"time"
)

// benchScale is section 6: full-run time at 100,000 records (and
// 1,000,000 with -scale-1m), beside the 200,000-record runs of section 1,
// and how the time per record grows.
func benchScale(ctx context.Context, cfg *config, rep *report) error {
	sizes := []int{cfg.size(100_000, 10_000)}
	if cfg.scale1m {
		sizes = append(sizes, 1_000_000)
	}
	for _, n := range sizes {
		reps := cfg.reps
		if n >= 1_000_000 {
			reps = 1 // about 4 minutes a run; one run keeps -scale-1m near 10 minutes
		}
		t0 := time.Now()
		s, err := startStack(ctx, cfg, stackOptions{Records: n, Identities: 1})
		if err != nil {
			return err
		}
		logf("stack with %d records up in %.1f s", n, time.Since(t0).Seconds())
		var secs, blobs, rows []float64
		for range reps {
			r, d, err := s.backup(ctx)
			if err != nil {
				s.Close()
				return err
			}
			nb, nr, err := s.written(ctx, r)
			if err != nil {
				s.Close()
				return err
			}
			logf("scale %d: %d records in %.1f s, %d blobs, %d entities", n, r.Records, d, nb, nr)
			secs, blobs, rows = append(secs, d), append(blobs, float64(nb)), append(rows, float64(nr))
		}
		s.Close()
		label := groupInt(int64(n))
		rep.add("6", "full run time, "+label+" records", "s", secs, "")
		rep.add("6", "blobs written per full run, "+label, "blobs", blobs, "")
		rep.add("6", "table entities written per full run, "+label, "entities", rows, "")
		rep.scale = append(rep.scale, scalePoint{n, median(secs)})
	}
	// Growth: time per record at each size against the smallest.
	var small scalePoint
	for _, p := range rep.scale {
		if small.records == 0 || p.records < small.records {
			small = p
		}
	}
	for _, p := range rep.scale {
		if p.records == small.records {
			continue
		}
		g := (p.seconds / float64(p.records)) / (small.seconds / float64(small.records))
		rep.add("6", fmt.Sprintf("time per record, %s vs %s records", groupInt(int64(p.records)), groupInt(int64(small.records))), "x",
			[]float64{g}, "1.0 = linear; from the medians above")
	}
	return nil
}
