package customhandler

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
)

func newTestServer(t *testing.T) *httptest.Server {
	s := NewServer(slog.New(slog.NewJSONHandler(io.Discard, nil)))
	s.HandleTrigger("Echo", func(ctx context.Context, inv *Invocation) (*Result, error) {
		m, err := inv.ServiceBusMessage("queue")
		if err != nil {
			return nil, err
		}
		return &Result{ReturnValue: string(m.Body), Logs: []string{"got " + m.MessageID}}, nil
	})
	s.HandleTrigger("Fails", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return nil, errors.New("dataverse unreachable")
	})
	s.HandleTrigger("Later", func(ctx context.Context, inv *Invocation) (*Result, error) {
		return nil, &StatusError{Status: http.StatusNotImplemented, Err: errors.New("not implemented")}
	})
	s.HandleTrigger("Panics", func(ctx context.Context, inv *Invocation) (*Result, error) {
		panic("boom")
	})
	mux := http.NewServeMux()
	mux.HandleFunc("GET /api/things/{id}", func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, "thing "+r.PathValue("id")+" "+r.URL.Query().Get("q"))
	})
	s.HandleAPI(mux)
	srv := httptest.NewServer(s)
	t.Cleanup(srv.Close)
	return srv
}

func post(t *testing.T, url, body string) (int, Result) {
	t.Helper()
	resp, err := http.Post(url, "application/json", strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var r Result
	if err := json.NewDecoder(resp.Body).Decode(&r); err != nil {
		t.Fatalf("response is not {Outputs,Logs,ReturnValue}: %v", err)
	}
	return resp.StatusCode, r
}

func TestServerAnswersHostProtocol(t *testing.T) {
	srv := newTestServer(t)
	captured, _ := os.ReadFile("testdata/servicebus.json")

	if resp, err := http.Get(srv.URL + "/"); err != nil || resp.StatusCode != 200 {
		t.Fatalf("GET / (host readiness poll) = %v %v", resp, err)
	}

	status, r := post(t, srv.URL+"/Echo", string(captured))
	if status != 200 || r.ReturnValue != `{"message":"hello","number":2}` || len(r.Logs) != 1 || r.Outputs == nil {
		t.Errorf("Echo: %d %+v", status, r)
	}

	// Failures must be non-2xx so the host abandons and redelivers.
	for fn, want := range map[string]int{"Fails": 500, "Later": 501, "Panics": 500, "Missing": 404} {
		status, r := post(t, srv.URL+"/"+fn, string(captured))
		if status != want || len(r.Logs) == 0 {
			t.Errorf("%s: status %d logs %v, want %d with a log line", fn, status, r.Logs, want)
		}
	}
	if status, r := post(t, srv.URL+"/Echo", `{"Data":`); status != 400 || !strings.Contains(r.Logs[0], "body") {
		t.Errorf("malformed payload: %d %v", status, r.Logs)
	}
}

func TestServerForwardsAPIRequests(t *testing.T) {
	srv := newTestServer(t)
	resp, err := http.Get(srv.URL + "/api/things/42?q=x")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || string(b) != "thing 42 x" {
		t.Errorf("forwarded request: %d %q", resp.StatusCode, b)
	}
}
