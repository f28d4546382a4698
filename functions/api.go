package functions

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
)

// route is one endpoint of the admin API. The table below is the single
// list of routes: the router, the authorization matrix test and the OpenAPI
// test all read it.
type route struct {
	Method  string
	Pattern string // net/http pattern under /api
	Role    Role   // least role allowed; "" = anonymous
	// Action names the audit entry of a change ("" for reads).
	Action string
	h      func(a *App, w http.ResponseWriter, r *http.Request) error
}

// routes lists every endpoint.
func routes() []route {
	rs := []route{
		{"GET", "/api/health", roleAnonymous, "", func(a *App, w http.ResponseWriter, r *http.Request) error { a.health(w, r); return nil }},
		{"GET", "/api/openapi.json", roleAnonymous, "", (*App).openAPI},

		{"GET", "/api/connections", RoleReader, "", (*App).listConnections},
		{"POST", "/api/connections", RoleAdmin, "connection.create", (*App).createConnection},
		{"GET", "/api/connections/{id}", RoleReader, "", (*App).getConnection},
		{"DELETE", "/api/connections/{id}", RoleAdmin, "connection.delete", (*App).deleteConnection},
		{"POST", "/api/connections/{id}/validate", RoleAdmin, "connection.validate", (*App).validateConnection},
		{"POST", "/api/connections/{id}/rotate", RoleAdmin, "connection.rotate", (*App).rotateSecret},
		{"POST", "/api/connections/{id}/move", RoleAdmin, "connection.move", (*App).moveEnvironments},
		{"POST", "/api/connections/{id}/identities", RoleAdmin, "connection.identity.add", (*App).addIdentity},
		{"DELETE", "/api/connections/{id}/identities/{identityId}", RoleAdmin, "connection.identity.remove", (*App).removeIdentity},
		{"POST", "/api/connections/{id}/environments", RoleAdmin, "environment.add", (*App).addEnvironments},

		{"GET", "/api/environments", RoleReader, "", (*App).listEnvironments},
		{"POST", "/api/environments/discover", RoleAdmin, "environment.discover", (*App).discover},
		{"GET", "/api/environments/{id}", RoleReader, "", (*App).getEnvironment},
		{"DELETE", "/api/environments/{id}", RoleAdmin, "environment.delete", (*App).deleteEnvironment},
		{"PUT", "/api/environments/{id}/policy", RoleOperator, "environment.policy.update", (*App).updatePolicy},

		{"POST", "/api/backups/{environmentId}", RoleOperator, "backup.start", (*App).startBackup},
		{"GET", "/api/backups/{environmentId}", RoleReader, "", (*App).listRuns},
		{"GET", "/api/backups/{environmentId}/{runId}", RoleReader, "", (*App).getRun},
		{"POST", "/api/backups/{environmentId}/{runId}/cancel", RoleOperator, "backup.cancel", (*App).cancelRun},
		{"POST", "/api/backups/{environmentId}/{runId}/verify", RoleOperator, "backup.verify", (*App).verifyRun},
		{"GET", "/api/backups/{environmentId}/{runId}/tables", RoleReader, "", (*App).listRunTables},
		{"GET", "/api/backups/{environmentId}/{runId}/tables/{table}/records", RoleReader, "", (*App).browseRecords},
		{"GET", "/api/backups/{environmentId}/{runId}/tables/{table}/records/{recordId}", RoleReader, "", (*App).downloadRecord},

		{"GET", "/api/audit", RoleAdmin, "", (*App).listAudit},
	}
	return append(rs, restoreRoutes()...)
}

// Router is the admin HTTP API (requests forwarded by the host under /api/).
// Every route goes through the same chain: request id, structured access
// log, panic recovery, authentication and role check, then the handler;
// changes are audited with their outcome.
func (a *App) Router() http.Handler {
	mux := http.NewServeMux()
	for _, rt := range routes() {
		mux.Handle(rt.Method+" "+rt.Pattern, a.endpoint(rt))
	}
	noRoute := func(w http.ResponseWriter, r *http.Request) {
		writeProblemBody(w, r, problem{Status: http.StatusNotFound, Code: "no_route", Detail: "no API route " + r.Method + " " + r.URL.Path + "; see /api/openapi.json"})
	}
	mux.HandleFunc("/api/", noRoute)
	mux.HandleFunc("/", noRoute)
	return a.accessLog(cleanPaths(mux))
}

// cleanPaths refuses paths with ".", ".." (escaped or not) or empty inner
// segments before the mux sees them: net/http's ServeMux would answer them
// with a 307 redirect and an HTML body.
func cleanPaths(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		parts := strings.Split(strings.TrimPrefix(r.URL.EscapedPath(), "/"), "/")
		for i, p := range parts {
			seg, err := url.PathUnescape(p)
			if err != nil {
				seg = p
			}
			if seg == "." || seg == ".." || (seg == "" && i < len(parts)-1) {
				writeProblemBody(w, r, problem{Status: http.StatusBadRequest, Code: "invalid_path",
					Detail: fmt.Sprintf("the path holds the segment %q; send the resource's path without '.', '..' or empty segments (see /api/openapi.json)", seg)})
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}

type ctxKey int

const (
	keyRequestID ctxKey = iota
	keyCaller
	keyAuditNote
)

// setAuditNote sets the detail of a successful change's audit entry (what
// the handler did beyond the path, e.g. "backups purged (3 runs)").
func setAuditNote(r *http.Request, note string) {
	if p, _ := r.Context().Value(keyAuditNote).(*string); p != nil {
		*p = note
	}
}

func requestID(ctx context.Context) string {
	s, _ := ctx.Value(keyRequestID).(string)
	return s
}

func callerOf(ctx context.Context) *caller {
	c, _ := ctx.Value(keyCaller).(*caller)
	return c
}

type statusWriter struct {
	http.ResponseWriter
	status int
	bytes  int
}

func (s *statusWriter) WriteHeader(code int) {
	if s.status == 0 {
		s.status = code
	}
	s.ResponseWriter.WriteHeader(code)
}

func (s *statusWriter) Write(p []byte) (int, error) {
	if s.status == 0 {
		s.status = http.StatusOK
	}
	n, err := s.ResponseWriter.Write(p)
	s.bytes += n
	return n, err
}

// accessLog assigns the request id and logs one structured line per request
// (method, path, status, duration, caller; never bodies or headers).
func (a *App) accessLog(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		start := time.Now()
		id := r.Header.Get("X-Request-Id")
		if !validRequestID(id) {
			var b [8]byte
			_, _ = rand.Read(b[:])
			id = hex.EncodeToString(b[:])
		}
		w.Header().Set("X-Request-Id", id)
		ctx := context.WithValue(r.Context(), keyRequestID, id)
		sw := &statusWriter{ResponseWriter: w}
		r = r.WithContext(ctx)
		defer func() {
			if p := recover(); p != nil {
				a.log.ErrorContext(ctx, "handler panic", "path", r.URL.Path, "requestId", id, "panic", p)
				if sw.status == 0 {
					writeProblemBody(sw, r, problem{Status: http.StatusInternalServerError, Code: "internal", Detail: "internal error"})
				}
			}
			actor := ""
			if c := callerOf(r.Context()); c != nil {
				actor = c.Name
			}
			a.log.InfoContext(ctx, "api request", "method", r.Method, "path", r.URL.Path, "status", sw.status, "bytes", sw.bytes,
				"ms", time.Since(start).Milliseconds(), "requestId", id, "actor", actor)
		}()
		next.ServeHTTP(sw, r)
	})
}

func validRequestID(s string) bool {
	if s == "" || len(s) > 64 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// endpoint wraps a route: authentication, authorization, the handler, and
// the audit entry of a change (refusals included).
func (a *App) endpoint(rt route) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if rt.Role == roleAnonymous {
			if err := rt.h(a, w, r); err != nil {
				a.fail(w, r, err)
			}
			return
		}
		c, aerr := a.authenticate(r)
		if aerr != nil {
			a.fail(w, r, aerr)
			return
		}
		*r = *r.WithContext(context.WithValue(r.Context(), keyCaller, c))
		sw, _ := w.(*statusWriter)
		if sw == nil {
			sw = &statusWriter{ResponseWriter: w}
		}
		if !c.has(rt.Role) {
			a.auditChange(r, rt, c, http.StatusForbidden, "role "+string(rt.Role)+" required")
			a.fail(sw, r, &apiError{Status: http.StatusForbidden, Code: "forbidden",
				Detail: rt.Method + " " + rt.Pattern + " needs the app role " + string(rt.Role) + "; the caller holds " + orNone(c.roleList())})
			return
		}
		// Storage calls of the request retry briefly (see storagegate.go).
		*r = *r.WithContext(policy.WithRetryOptions(r.Context(), apiRetry))
		if down := a.gate.gated(r.Context()); len(down) > 0 {
			a.fail(sw, r, unavailable(down))
			a.auditChange(r, rt, c, sw.status, "storage unavailable")
			return
		}
		note := new(string)
		*r = *r.WithContext(context.WithValue(r.Context(), keyAuditNote, note))
		detail := ""
		if err := rt.h(a, sw, r); err != nil {
			detail = shortError(err)
			a.fail(sw, r, err)
		} else {
			detail = *note
		}
		a.auditChange(r, rt, c, sw.status, detail)
	})
}

func orNone(s string) string {
	if s == "" {
		return "no role"
	}
	return s
}

// auditChange writes the audit entry of a change (reads are not audited).
func (a *App) auditChange(r *http.Request, rt route, c *caller, status int, detail string) {
	if rt.Action == "" {
		return
	}
	outcome := "ok"
	switch {
	case status == http.StatusForbidden || status == http.StatusUnauthorized:
		outcome = "refused"
	case status >= 400:
		outcome = "failed"
	}
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		host = r.RemoteAddr
	}
	if fwd := r.Header.Get("X-Forwarded-For"); fwd != "" {
		host = strings.TrimSpace(strings.Split(fwd, ",")[0])
	}
	e := audit.Entry{Time: a.now().UTC(), Actor: c.Name, ActorID: c.ID, Roles: c.roleList(), Action: rt.Action, Target: r.URL.Path,
		Outcome: outcome, Detail: detail, RemoteIP: host, RequestID: requestID(r.Context())}
	if a.gate.knownDown() {
		// The write would fail too (after its retries): the log keeps the entry.
		a.log.ErrorContext(r.Context(), "audit entry not written: storage down", "action", e.Action, "actor", e.Actor, "target", e.Target,
			"outcome", e.Outcome, "requestId", e.RequestID)
		return
	}
	if err := a.audit.Write(context.WithoutCancel(r.Context()), e); err != nil {
		a.log.ErrorContext(r.Context(), "audit write failed", "action", rt.Action, "requestId", e.RequestID, "error", err.Error())
	}
}
