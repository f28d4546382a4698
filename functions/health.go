package functions

import (
	"context"
	"net/http"
	"sort"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/version"
)

// healthReport is the body of GET /api/health.
type healthReport struct {
	Status       string             `json:"status"` // ok | degraded
	Version      string             `json:"version"`
	Transport    string             `json:"messagingTransport"`
	Dependencies []dependencyStatus `json:"dependencies"`
}

type dependencyStatus struct {
	Name      string `json:"name"`
	Reachable bool   `json:"reachable"`
	Error     string `json:"error,omitempty"`
	Ms        int64  `json:"ms"`
}

// health answers 200 whatever the dependencies' state, so a probe tells
// "handler up, storage down" apart from "handler down"; status says degraded.
func (a *App) health(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 5*time.Second)
	defer cancel()
	rep := healthReport{Status: "ok", Version: version.Version, Transport: a.cfg.Messaging.Transport, Dependencies: []dependencyStatus{}}
	start := time.Now()
	results := a.storage.Ping(ctx)
	ms := time.Since(start).Milliseconds()
	names := make([]string, 0, len(results))
	for n := range results {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		d := dependencyStatus{Name: "storage." + n, Reachable: results[n] == nil, Ms: ms}
		if err := results[n]; err != nil {
			d.Error = shortError(err)
			rep.Status = "degraded"
		}
		rep.Dependencies = append(rep.Dependencies, d)
	}
	writeJSON(w, http.StatusOK, rep)
}

// shortError keeps the first line of an SDK error: the full text carries
// request dumps that are noise in a health answer.
func shortError(err error) string {
	s := err.Error()
	for i, c := range s {
		if c == '\n' {
			return s[:i]
		}
	}
	if len(s) > 300 {
		return s[:300]
	}
	return s
}
