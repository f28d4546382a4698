package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

type config struct {
	app, root, out, md string
	quick, scale1m     bool
	verbose            bool
	reps               int
	only               map[string]bool
	command            string
}

func (c *config) want(name string) bool { return len(c.only) == 0 || c.only[name] }

// size picks the full size or, with -quick, the small one.
func (c *config) size(full, quick int) int {
	if c.quick {
		return quick
	}
	return full
}

func main() {
	cfg := &config{}
	flag.StringVar(&cfg.app, "app", ".local/app", "app folder with the handler (make app-local)")
	flag.StringVar(&cfg.root, "root", ".", "repository root")
	flag.StringVar(&cfg.out, "out", "bench/results/latest.json", "results file")
	flag.StringVar(&cfg.md, "md", "BENCHMARKS.md", "markdown file whose bench:table section is replaced (empty: none)")
	flag.BoolVar(&cfg.quick, "quick", false, "small sizes and one repetition (development)")
	flag.BoolVar(&cfg.scale1m, "scale-1m", false, "add the 1,000,000-record scale point (about 10 more minutes)")
	flag.BoolVar(&cfg.verbose, "v", false, "progress of the stacks on stderr")
	flag.IntVar(&cfg.reps, "reps", 3, "repetitions per figure (median)")
	only := flag.String("only", "", "comma-separated sections: extract,limits,memory,incremental,restore,scale")
	flag.Parse()
	cfg.command = "go run ./bench " + strings.Join(os.Args[1:], " ")
	if len(os.Args) == 1 {
		cfg.command = "make bench"
	}
	if cfg.quick {
		cfg.reps = 1
	}
	cfg.only = map[string]bool{}
	for _, s := range strings.Split(*only, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.only[s] = true
		}
	}
	if abs, err := filepath.Abs(cfg.root); err == nil {
		cfg.root = abs
	}
	if abs, err := filepath.Abs(cfg.app); err == nil {
		cfg.app = abs
	}
	if err := run(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

func run(cfg *config) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Hour)
	defer cancel()
	rep := newReport(cfg)
	start := time.Now()
	steps := []struct {
		name string
		fn   func(context.Context, *config, *report) error
	}{
		{"extract", benchExtract}, // also incremental and the 200k scale point
		{"limits", benchLimits},
		{"memory", benchMemory},
		{"restore", benchRestore},
		{"scale", benchScale},
	}
	for _, s := range steps {
		if !cfg.want(s.name) && !(s.name == "extract" && cfg.want("incremental")) {
			continue
		}
		t := time.Now()
		logf("== %s", s.name)
		if err := s.fn(ctx, cfg, rep); err != nil {
			rep.fail(s.name, err)
			logf("%s failed: %v", s.name, err)
		}
		logf("== %s took %.0f s", s.name, time.Since(t).Seconds())
	}
	rep.Seconds = time.Since(start).Seconds()
	rep.print(os.Stdout)
	return rep.write(cfg)
}

func logf(format string, args ...any) {
	fmt.Fprintf(os.Stderr, time.Now().Format("15:04:05 ")+format+"\n", args...)
}
