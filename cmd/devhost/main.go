package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/devhost"
)

func main() {
	var opts devhost.Options
	flag.StringVar(&opts.Root, "root", "dist", "app folder: host.json and one folder per function")
	flag.StringVar(&opts.HandlerPath, "handler", "", "handler executable (default: host.json's defaultExecutablePath in -root)")
	flag.StringVar(&opts.Addr, "addr", "127.0.0.1:7071", "address to serve on")
	flag.StringVar(&opts.FunctionKey, "function-key", os.Getenv("DEVHOST_FUNCTION_KEY"), "function key (default: $DEVHOST_FUNCTION_KEY, else random)")
	flag.StringVar(&opts.MasterKey, "master-key", os.Getenv("DEVHOST_MASTER_KEY"), "master key (default: $DEVHOST_MASTER_KEY, else random)")
	flag.IntVar(&opts.MaxDeliveryCount, "max-delivery", 10, "deliveries before a message moves to <queue>-poison")
	flag.DurationVar(&opts.RetryDelay, "retry-delay", time.Second, "how long a failed message stays invisible before redelivery")
	flag.BoolVar(&opts.PassPrincipalHeaders, "pass-principal", false, "forward X-MS-CLIENT-PRINCIPAL headers from clients (local role play)")
	readyFile := flag.String("ready-file", "", "also write the ready JSON line to this file")
	flag.BoolVar(&opts.DisableTimers, "no-timers", false, "do not fire timers on their schedule (POST /admin/functions/<name> still does)")
	flag.Parse()

	opts.Log = slog.New(slog.NewJSONHandler(os.Stderr, nil))
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	h, err := devhost.Start(ctx, opts)
	if err != nil {
		fmt.Fprintln(os.Stderr, "devhost:", err)
		os.Exit(1)
	}
	ready, _ := json.Marshal(map[string]string{
		"url":         h.URL(),
		"apiBaseUrl":  h.URL() + "/api",
		"functionKey": h.FunctionKey(),
		"masterKey":   h.MasterKey(),
	})
	fmt.Println(string(ready))
	if *readyFile != "" {
		if err := os.WriteFile(*readyFile, append(ready, '\n'), 0o600); err != nil {
			fmt.Fprintln(os.Stderr, "devhost: write ready file:", err)
		}
	}
	<-ctx.Done()
	opts.Log.Info("stopping dev host")
	_ = h.Close()
	st := h.Stats()
	opts.Log.Info("dev host stopped", "invocations", st.Invocations.Load(), "failures", st.Failures.Load(), "poisoned", st.Poisoned.Load())
}
