package customhandler

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"time"
)

// maxInvocationBytes bounds an invocation body. Service Bus messages are at
// most 256 KB (1 MB premium), doubled by the host's string encoding.
const maxInvocationBytes = 8 << 20

// Result is what a trigger function returns to the host.
type Result struct {
	Outputs     map[string]any `json:"Outputs"`
	Logs        []string       `json:"Logs"`
	ReturnValue any            `json:"ReturnValue"`
}

// TriggerFunc handles one non-HTTP invocation. Returning an error fails the
// invocation: the host abandons the message and redelivers it.
type TriggerFunc func(ctx context.Context, inv *Invocation) (*Result, error)

// StatusError lets a trigger choose the status code of its failure answer.
type StatusError struct {
	Status int
	Err    error
}

func (e *StatusError) Error() string { return e.Err.Error() }
func (e *StatusError) Unwrap() error { return e.Err }

// Server routes host invocations to trigger functions and forwarded HTTP
// requests (/api/...) to the API handler.
type Server struct {
	log      *slog.Logger
	triggers map[string]TriggerFunc
	api      http.Handler
}

// NewServer returns a Server that logs through log.
func NewServer(log *slog.Logger) *Server {
	return &Server{log: log, triggers: map[string]TriggerFunc{}}
}

// HandleTrigger registers fn for the function folder named name.
func (s *Server) HandleTrigger(name string, fn TriggerFunc) { s.triggers[name] = fn }

// HandleAPI registers the handler that receives forwarded HTTP requests under /api/.
func (s *Server) HandleAPI(h http.Handler) { s.api = h }

// Triggers lists the registered trigger function names.
func (s *Server) Triggers() []string {
	out := make([]string, 0, len(s.triggers))
	for n := range s.triggers {
		out = append(out, n)
	}
	return out
}

func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path == "/api" || strings.HasPrefix(r.URL.Path, "/api/") {
		if s.api == nil {
			http.NotFound(w, r)
			return
		}
		s.api.ServeHTTP(w, r)
		return
	}
	name := strings.Trim(r.URL.Path, "/")
	if name == "" {
		// The host polls / until the handler answers at all.
		w.WriteHeader(http.StatusOK)
		return
	}
	fn, ok := s.triggers[name]
	if !ok || r.Method != http.MethodPost {
		s.fail(w, http.StatusNotFound, fmt.Errorf("no trigger function %q (POST /<FunctionName>)", name))
		return
	}
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxInvocationBytes))
	if err != nil {
		s.fail(w, http.StatusRequestEntityTooLarge, fmt.Errorf("read invocation: %w", err))
		return
	}
	inv, err := DecodeInvocation(body)
	if err != nil {
		s.fail(w, http.StatusBadRequest, err)
		return
	}
	inv.FunctionName = name
	inv.ID = r.Header.Get("X-Azure-Functions-InvocationId")
	log := s.log.With("function", name, "invocationId", inv.ID)
	start := time.Now()
	res, err := s.call(r.Context(), fn, inv)
	if err != nil {
		status := http.StatusInternalServerError
		var se *StatusError
		if errors.As(err, &se) {
			status = se.Status
		}
		log.Error("invocation failed", "status", status, "error", err.Error(), "ms", time.Since(start).Milliseconds())
		s.fail(w, status, err)
		return
	}
	if res == nil {
		res = &Result{}
	}
	if res.Outputs == nil {
		res.Outputs = map[string]any{}
	}
	if res.Logs == nil {
		res.Logs = []string{}
	}
	log.Debug("invocation succeeded", "ms", time.Since(start).Milliseconds())
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(res)
}

// call runs fn, turning a panic into an error so one bad message cannot take
// the whole process (and every other in-flight invocation) down.
func (s *Server) call(ctx context.Context, fn TriggerFunc, inv *Invocation) (res *Result, err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("panic in %s: %v", inv.FunctionName, p)
		}
	}()
	return fn(ctx, inv)
}

func (s *Server) fail(w http.ResponseWriter, status int, err error) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(Result{Outputs: map[string]any{}, Logs: []string{err.Error()}})
}

// ListenAndServe serves on 127.0.0.1:port until ctx is cancelled, then drains
// in-flight invocations for up to grace.
func (s *Server) ListenAndServe(ctx context.Context, port int, grace time.Duration) error {
	ln, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
	if err != nil {
		return fmt.Errorf("listen on %s port %d: %w", "FUNCTIONS_CUSTOMHANDLER_PORT", port, err)
	}
	return s.Serve(ctx, ln, grace)
}

// Serve is ListenAndServe on an existing listener.
func (s *Server) Serve(ctx context.Context, ln net.Listener, grace time.Duration) error {
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		sctx, cancel := context.WithTimeout(context.Background(), grace)
		defer cancel()
		return srv.Shutdown(sctx)
	}
}
