package main

import (
	"fmt"
	"os"
	"os/signal"
	"runtime/pprof"
	"syscall"
)

// EnvCPUProfile names a file the handler writes a CPU profile to, from
// start until it receives SIGUSR1 (make bench profiles the handler, a
// separate process, this way). Unset: no profiling, SIGUSR1 keeps its
// default action.
const EnvCPUProfile = "CLOUDBACKUP_CPUPROFILE"

func init() {
	path := os.Getenv(EnvCPUProfile)
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err == nil {
		err = pprof.StartCPUProfile(f)
	}
	if err != nil {
		fmt.Fprintf(os.Stderr, "%s=%s: %v\n", EnvCPUProfile, path, err)
		return
	}
	ch := make(chan os.Signal, 1)
	signal.Notify(ch, syscall.SIGUSR1)
	go func() {
		<-ch
		pprof.StopCPUProfile()
		_ = f.Close()
	}()
}
