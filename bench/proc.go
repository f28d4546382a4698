package main

import (
	"bufio"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

// handlerPID finds the handler process: a child of this process (the dev
// host runs in-process and starts it) whose executable is named "handler".
func handlerPID() (int, error) {
	me := os.Getpid()
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return 0, err
	}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile(filepath.Join("/proc", e.Name(), "stat"))
		if err != nil {
			continue
		}
		s := string(raw)
		r := strings.LastIndexByte(s, ')')
		l := strings.IndexByte(s, '(')
		if l < 0 || r < 0 || s[l+1:r] != "handler" {
			continue
		}
		f := strings.Fields(s[r+1:])
		if len(f) > 1 {
			if pp, _ := strconv.Atoi(f[1]); pp == me {
				return pid, nil
			}
		}
	}
	return 0, fmt.Errorf("no handler process among the children of %d", me)
}

// statusKB reads a "Name:   123 kB" line of /proc/<pid>/status.
func statusKB(pid int, name string) (int64, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if strings.HasPrefix(line, name+":") {
			fs := strings.Fields(line[len(name)+1:])
			if len(fs) > 0 {
				return strconv.ParseInt(fs[0], 10, 64)
			}
		}
	}
	return 0, fmt.Errorf("no %s in /proc/%d/status", name, pid)
}

// resetPeak resets the kernel's peak RSS (VmHWM) of pid to its current RSS
// (clear_refs 5, Linux 4.0+).
func resetPeak(pid int) error {
	return os.WriteFile(fmt.Sprintf("/proc/%d/clear_refs", pid), []byte("5"), 0)
}

// peakWatch polls VmRSS every 20 ms besides the kernel's VmHWM, in case
// clear_refs is refused; Stop returns the larger, in MB.
type peakWatch struct {
	pid  int
	stop chan struct{}
	done sync.WaitGroup
	max  int64
}

func watchPeak(pid int) *peakWatch {
	_ = resetPeak(pid)
	w := &peakWatch{pid: pid, stop: make(chan struct{})}
	w.done.Add(1)
	go func() {
		defer w.done.Done()
		t := time.NewTicker(20 * time.Millisecond)
		defer t.Stop()
		for {
			if kb, err := statusKB(pid, "VmRSS"); err == nil && kb > w.max {
				w.max = kb
			}
			select {
			case <-w.stop:
				return
			case <-t.C:
			}
		}
	}()
	return w
}

func (w *peakWatch) Stop() float64 {
	close(w.stop)
	w.done.Wait()
	if kb, err := statusKB(w.pid, "VmHWM"); err == nil && kb > w.max {
		w.max = kb
	}
	return float64(w.max) / 1024
}

// stopProfile makes the handler write its CPU profile (cmd/handler/profile.go).
func stopProfile(pid int) error { return syscall.Kill(pid, syscall.SIGUSR1) }

// cpuSeconds is the user+system CPU time of pid so far (0 for self).
func cpuSeconds(pid int) float64 {
	name := "self"
	if pid > 0 {
		name = strconv.Itoa(pid)
	}
	raw, err := os.ReadFile("/proc/" + name + "/stat")
	if err != nil {
		return 0
	}
	s := string(raw)
	f := strings.Fields(s[strings.LastIndexByte(s, ')')+1:])
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseFloat(f[11], 64)
	k, _ := strconv.ParseFloat(f[12], 64)
	return (u + k) / 100 // USER_HZ
}

// childPID finds a child of this process by its command name.
func childPID(comm string) int {
	me := os.Getpid()
	ents, _ := os.ReadDir("/proc")
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		raw, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue
		}
		s := string(raw)
		l, r := strings.IndexByte(s, '('), strings.LastIndexByte(s, ')')
		if l < 0 || r < 0 || s[l+1:r] != comm {
			continue
		}
		if f := strings.Fields(s[r+1:]); len(f) > 1 && f[1] == strconv.Itoa(me) {
			return pid
		}
	}
	return 0
}
