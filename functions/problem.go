package functions

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// problem is an RFC 9457 problem details body. Extension members: code (a
// stable machine-readable reason), errors (one per rejected field),
// validation (the per-identity, per-environment findings of a refused
// rotation, identity or move) and requestId.
type problem struct {
	Type       string                  `json:"type"`
	Title      string                  `json:"title"`
	Status     int                     `json:"status"`
	Detail     string                  `json:"detail,omitempty"`
	Instance   string                  `json:"instance,omitempty"`
	Code       string                  `json:"code,omitempty"`
	Errors     []fieldError            `json:"errors,omitempty"`
	Validation *connections.Validation `json:"validation,omitempty"`
	RequestID  string                  `json:"requestId,omitempty"`
}

type fieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// apiError is an error a handler returns to answer with a problem.
type apiError struct {
	Status     int
	Code       string
	Detail     string
	Errors     []fieldError
	Validation *connections.Validation
	// retryAfter, in seconds, is sent as Retry-After when set.
	retryAfter int
}

func (e *apiError) Error() string { return e.Detail }

func errStatus(status int, code, detail string) *apiError {
	return &apiError{Status: status, Code: code, Detail: detail}
}

func writeProblemBody(w http.ResponseWriter, r *http.Request, p problem) {
	p.Type = "about:blank"
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	p.Instance = r.URL.Path
	p.RequestID = requestID(r.Context())
	w.Header().Set("Content-Type", "application/problem+json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(p.Status)
	_ = json.NewEncoder(w).Encode(p)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	_ = enc.Encode(v)
}

// fail answers err as a problem: the one place errors of the domain
// packages become HTTP statuses. Unknown errors are 500 with a generic
// detail (the log has the error, keyed by request id).
func (a *App) fail(w http.ResponseWriter, r *http.Request, err error) {
	var ae *apiError
	var ie *connections.InvalidError
	p := problem{}
	switch {
	case errors.As(err, &ae):
		p = problem{Status: ae.Status, Code: ae.Code, Detail: ae.Detail, Errors: ae.Errors, Validation: ae.Validation}
		if ae.retryAfter > 0 {
			w.Header().Set("Retry-After", strconv.Itoa(ae.retryAfter))
		}
	case errors.As(err, &ie):
		p = problem{Status: http.StatusBadRequest, Code: "invalid_field", Detail: ie.Error(), Errors: []fieldError{{Field: ie.Field, Message: ie.Message}}}
	case errors.Is(err, connections.ErrNotFound):
		p = problem{Status: http.StatusNotFound, Code: "not_found", Detail: domainDetail(err, connections.ErrNotFound,
			" does not exist (GET /api/connections and GET /api/environments list what is registered)",
			"not found: an id in the path or the body names nothing registered (GET /api/connections and GET /api/environments list what is)")}
	case errors.Is(err, connections.ErrInUse):
		p = problem{Status: http.StatusConflict, Code: "in_use", Detail: domainDetail(err, connections.ErrInUse, "", "in use")}
	case errors.Is(err, connections.ErrConflict):
		p = problem{Status: http.StatusConflict, Code: "conflict", Detail: domainDetail(err, connections.ErrConflict, "",
			"it changed since it was read (ETag): read it again and retry")}
	case backup.IsActive(err):
		var act *runstate.ActiveError
		errors.As(err, &act)
		p = problem{Status: http.StatusConflict, Code: "run_in_progress", Detail: "backup run " + act.RunID + " of this environment is in progress; wait for it to end, or cancel it (POST /api/backups/{environment}/{run}/cancel)"}
	default:
		if down := a.storageDownAfter(r, err); len(down) > 0 {
			a.fail(w, r, unavailable(down))
			return
		}
		if errors.Is(err, context.DeadlineExceeded) {
			p = problem{Status: http.StatusGatewayTimeout, Code: "timeout", Detail: "the operation did not finish in time; retry"}
			break
		}
		a.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "requestId", requestID(r.Context()), "error", err.Error())
		p = problem{Status: http.StatusInternalServerError, Code: "internal", Detail: "internal error; the log has the details under this request id"}
	}
	writeProblemBody(w, r, p)
}

// storageDownAfter probes storage after an error the API cannot place and
// returns the services that do not answer: then that is the reason, and
// the answer a 503.
func (a *App) storageDownAfter(r *http.Request, err error) []string {
	down := a.gate.probe(r.Context())
	if len(down) > 0 {
		a.log.WarnContext(r.Context(), "request failed while storage is down", "path", r.URL.Path, "requestId", requestID(r.Context()), "error", shortError(err))
	}
	return down
}

// domainDetail is the problem detail of a domain error wrapping sentinel:
// the domain's own sentence ("connection \"x\"", "identity id1 is the
// connection's last one; ...") with suffix, or fallback when the error
// comes wrapped from a store, whose text names tables and codes that mean
// nothing to the caller.
func domainDetail(err, sentinel error, suffix, fallback string) string {
	msg, ok := strings.CutSuffix(err.Error(), ": "+sentinel.Error())
	if !ok || msg == "" || strings.Contains(msg, ": ") {
		return fallback
	}
	return msg + suffix
}

// printable returns s quoted for a problem detail when it is a short
// printable ASCII string, else a placeholder: input echoed back must not
// carry control characters or run on for pages.
func printable(s string) string {
	if s == "" || len(s) > 100 {
		return "(the one given)"
	}
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return "(the one given)"
		}
	}
	return strconv.Quote(s)
}

// printableText reports whether s holds no control, bidirectional or
// replacement character (see connections' name check).
func printableText(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if unicode.IsControl(r) || r == utf8.RuneError || r == '\u200e' || r == '\u200f' || (r >= '\u202a' && r <= '\u202e') || (r >= '\u2066' && r <= '\u2069') {
			return false
		}
	}
	return true
}
