package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"runtime"
	"sort"
	"strings"
	"text/tabwriter"
	"time"
)

// figure is one measured quantity: its repetitions and their median.
type figure struct {
	Section string    `json:"section"`
	Name    string    `json:"name"`
	Unit    string    `json:"unit"`
	Median  float64   `json:"median"`
	Values  []float64 `json:"values"`
	Note    string    `json:"note,omitempty"`
}

type machine struct {
	CPUs     int    `json:"nproc"`
	CPU      string `json:"cpu"`
	MemoryGB string `json:"memory"`
	Go       string `json:"go"`
}

type report struct {
	Date     string            `json:"date"`
	Command  string            `json:"command"`
	Machine  machine           `json:"machine"`
	Quick    bool              `json:"quick"`
	Seconds  float64           `json:"seconds"`
	Figures  []figure          `json:"figures"`
	Failures map[string]string `json:"failures,omitempty"`
	Notes    []string          `json:"notes,omitempty"`
	Profile  string            `json:"profileTop,omitempty"`
	scale    []scalePoint
}

// scalePoint is a full run's median time at a size (section 6).
type scalePoint struct {
	records int
	seconds float64
}

func newReport(cfg *config) *report {
	return &report{Date: time.Now().UTC().Format(time.RFC3339), Command: cfg.command, Quick: cfg.quick, Machine: machineInfo()}
}

func machineInfo() machine {
	m := machine{CPUs: runtime.NumCPU(), Go: runtime.Version()}
	if f, err := os.Open("/proc/cpuinfo"); err == nil {
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			if k, v, ok := strings.Cut(sc.Text(), ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPU = strings.TrimSpace(v)
				break
			}
		}
		f.Close()
	}
	if kb, err := statusFileKB("/proc/meminfo", "MemTotal"); err == nil {
		m.MemoryGB = fmt.Sprintf("%.1f GB", float64(kb)/1024/1024)
	}
	return m
}

func statusFileKB(path, name string) (int64, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(raw), "\n") {
		if strings.HasPrefix(line, name+":") {
			var n int64
			_, err := fmt.Sscan(strings.TrimSpace(line[len(name)+1:]), &n)
			return n, err
		}
	}
	return 0, fmt.Errorf("no %s in %s", name, path)
}

func median(v []float64) float64 {
	if len(v) == 0 {
		return 0
	}
	s := append([]float64(nil), v...)
	sort.Float64s(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// add records a figure from its repetitions.
func (r *report) add(section, name, unit string, values []float64, note string) {
	r.Figures = append(r.Figures, figure{Section: section, Name: name, Unit: unit, Median: median(values), Values: values, Note: note})
	logf("  %s / %s: %s %s %v", section, name, fmtNum(median(values)), unit, values)
}

// ratio records per-repetition ratios a[i]/b[i] (same repetition, same run).
func (r *report) ratio(section, name string, a, b []float64, note string) {
	var v []float64
	for i := range min(len(a), len(b)) {
		if b[i] != 0 {
			v = append(v, a[i]/b[i])
		}
	}
	r.add(section, name, "x", v, note)
}

func (r *report) note(format string, args ...any) {
	r.Notes = append(r.Notes, fmt.Sprintf(format, args...))
}

func (r *report) fail(section string, err error) {
	if r.Failures == nil {
		r.Failures = map[string]string{}
	}
	r.Failures[section] = err.Error()
}

func fmtNum(f float64) string {
	switch {
	case f == 0:
		return "0"
	case f >= 1000 || f <= -1000:
		return groupInt(int64(f + 0.5))
	case f >= 100:
		return fmt.Sprintf("%.0f", f)
	case f >= 10:
		return fmt.Sprintf("%.1f", f)
	case f >= 0.01:
		return fmt.Sprintf("%.2f", f)
	}
	return fmt.Sprintf("%.4f", f)
}

func groupInt(n int64) string {
	s := fmt.Sprint(n)
	var b strings.Builder
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 && s[i-1] != '-' {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// markdown renders the table.
func (r *report) markdown() string {
	var b strings.Builder
	b.WriteString("| # | figure | median | unit | n | values | note |\n|---|---|---:|---|---:|---|---|\n")
	for _, f := range r.Figures {
		var vs []string
		for _, v := range f.Values {
			vs = append(vs, fmtNum(v))
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d | %s | %s |\n", f.Section, f.Name, fmtNum(f.Median), f.Unit, len(f.Values), strings.Join(vs, " "), f.Note)
	}
	return b.String()
}

func (r *report) print(w io.Writer) {
	fmt.Fprintf(w, "\nBenchmarks %s on %d CPUs (%s), %s; %s, %.0f s\n\n", r.Date, r.Machine.CPUs, r.Machine.CPU, r.Machine.MemoryGB, r.Machine.Go, r.Seconds)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "#\tfigure\tmedian\tunit\tn\tnote")
	for _, f := range r.Figures {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\t%s\n", f.Section, f.Name, fmtNum(f.Median), f.Unit, len(f.Values), f.Note)
	}
	tw.Flush()
	for _, n := range r.Notes {
		fmt.Fprintln(w, "note:", n)
	}
	for s, e := range r.Failures {
		fmt.Fprintf(w, "FAILED %s: %s\n", s, e)
	}
	fmt.Fprintf(w, "\nreproduce: %s\n", r.Command)
}

const mdBegin, mdEnd = "<!-- bench:table -->", "<!-- /bench:table -->"

func (r *report) write(cfg *config) error {
	raw, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(cfg.out, append(raw, '\n'), 0o644); err != nil {
		return err
	}
	logf("wrote %s", cfg.out)
	if cfg.md == "" || cfg.quick || len(cfg.only) > 0 {
		return nil // only complete runs go into BENCHMARKS.md
	}
	md, err := os.ReadFile(cfg.md)
	if err != nil {
		return err
	}
	s := string(md)
	i, j := strings.Index(s, mdBegin), strings.Index(s, mdEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %s ... %s section", cfg.md, mdBegin, mdEnd)
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%s\nMeasured %s by `%s` in %.0f s on %d CPUs (%s), %s memory, %s.\n\n", mdBegin, r.Date, r.Command, r.Seconds,
		r.Machine.CPUs, r.Machine.CPU, r.Machine.MemoryGB, r.Machine.Go)
	b.WriteString(r.markdown())
	for _, n := range r.Notes {
		b.WriteString("\n- " + n)
	}
	for sec, e := range r.Failures {
		fmt.Fprintf(&b, "\n- FAILED %s: %s", sec, e)
	}
	b.WriteString("\n")
	s = s[:i] + b.String() + s[j:]
	if err := os.WriteFile(cfg.md, []byte(s), 0o644); err != nil {
		return err
	}
	logf("updated %s", cfg.md)
	return nil
}
