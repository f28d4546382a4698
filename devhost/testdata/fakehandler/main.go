// Command fakehandler is a custom handler for the dev host's own tests: it
// records every invocation to $FAKE_LOG (one JSON line each) and fails or
// crashes on request, so retry, poison and restart behaviour can be observed.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"os"
	"strconv"
	"sync"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/customhandler"
)

type record struct {
	Function      string `json:"function"`
	MessageID     string `json:"messageId,omitempty"`
	DeliveryCount int    `json:"deliveryCount,omitempty"`
	Body          string `json:"body,omitempty"`
	PID           int    `json:"pid"`
}

var mu sync.Mutex

func logRecord(r record) {
	mu.Lock()
	defer mu.Unlock()
	r.PID = os.Getpid()
	f, err := os.OpenFile(os.Getenv("FAKE_LOG"), os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o600)
	if err != nil {
		panic(err)
	}
	defer f.Close()
	b, _ := json.Marshal(r)
	_, _ = f.Write(append(b, '\n'))
}

func main() {
	port, _ := strconv.Atoi(os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT"))
	s := customhandler.NewServer(slog.New(slog.NewJSONHandler(os.Stderr, nil)))
	s.HandleTrigger("Flaky", func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		m, err := inv.ServiceBusMessage("message")
		if err != nil {
			return nil, err
		}
		logRecord(record{Function: "Flaky", MessageID: m.MessageID, DeliveryCount: m.DeliveryCount, Body: string(m.Body)})
		var b struct {
			SucceedOn int `json:"succeedOn"`
		}
		_ = json.Unmarshal(m.Body, &b)
		if b.SucceedOn == 0 || m.DeliveryCount < b.SucceedOn {
			return nil, errors.New("flaky: failing on purpose")
		}
		return &customhandler.Result{Logs: []string{"flaky succeeded"}}, nil
	})
	s.HandleTrigger("Crash", func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		m, err := inv.ServiceBusMessage("message")
		if err != nil {
			return nil, err
		}
		logRecord(record{Function: "Crash", MessageID: m.MessageID, DeliveryCount: m.DeliveryCount})
		if m.DeliveryCount == 1 {
			os.Exit(3) // a crashed instance: no answer at all
		}
		return nil, nil
	})
	s.HandleTrigger("Slow", func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		m, err := inv.ServiceBusMessage("message")
		if err != nil {
			return nil, err
		}
		logRecord(record{Function: "Slow", MessageID: m.MessageID, DeliveryCount: m.DeliveryCount, Body: string(m.Body)})
		var b struct {
			SleepMs int `json:"sleepMs"`
		}
		_ = json.Unmarshal(m.Body, &b)
		time.Sleep(time.Duration(b.SleepMs) * time.Millisecond)
		return nil, nil
	})
	s.HandleTrigger("Tick", func(ctx context.Context, inv *customhandler.Invocation) (*customhandler.Result, error) {
		if _, err := inv.Timer("timer"); err != nil {
			return nil, err
		}
		logRecord(record{Function: "Tick"})
		return nil, nil
	})
	mux := http.NewServeMux()
	mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]string{
			"path": r.URL.Path, "query": r.URL.RawQuery, "method": r.Method,
			"principal": r.Header.Get("X-MS-CLIENT-PRINCIPAL"), "pid": strconv.Itoa(os.Getpid()),
		})
	})
	s.HandleAPI(mux)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	if err := s.ListenAndServe(ctx, port, 5*time.Second); err != nil {
		panic(err)
	}
}
