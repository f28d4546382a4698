package functions

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
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
	case errors.As(err, &ie):
		p = problem{Status: http.StatusBadRequest, Code: "invalid_field", Detail: ie.Error(), Errors: []fieldError{{Field: ie.Field, Message: ie.Message}}}
	case errors.Is(err, connections.ErrNotFound):
		p = problem{Status: http.StatusNotFound, Code: "not_found", Detail: err.Error()}
	case errors.Is(err, connections.ErrInUse):
		p = problem{Status: http.StatusConflict, Code: "in_use", Detail: err.Error()}
	case errors.Is(err, connections.ErrConflict):
		p = problem{Status: http.StatusConflict, Code: "conflict", Detail: err.Error()}
	case backup.IsActive(err):
		p = problem{Status: http.StatusConflict, Code: "run_in_progress", Detail: err.Error()}
	case errors.Is(err, context.DeadlineExceeded):
		p = problem{Status: http.StatusGatewayTimeout, Code: "timeout", Detail: "the operation did not finish in time; retry"}
	default:
		a.log.ErrorContext(r.Context(), "request failed", "path", r.URL.Path, "requestId", requestID(r.Context()), "error", err.Error())
		p = problem{Status: http.StatusInternalServerError, Code: "internal", Detail: "internal error; the log has the details under this request id"}
	}
	writeProblemBody(w, r, p)
}
