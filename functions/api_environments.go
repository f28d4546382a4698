package functions

import (
	"net/http"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/ncrontab"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// environmentView is an environment with its last run and status.
type environmentView struct {
	connections.Environment
	ETag    string        `json:"etag"`
	LastRun *runstate.Run `json:"lastRun,omitempty"`
	// ActiveRun is the id of the run in progress, if any.
	ActiveRun string `json:"activeRun,omitempty"`
	// Schedule is the effective schedule (the policy's or BACKUP_SCHEDULE).
	Schedule string `json:"schedule"`
	// NextRun is the next firing of the schedule when backups are enabled.
	NextRun string `json:"nextRun,omitempty"`
	// Status sums it up: disabled, gone, never-run, running, or the last run's status.
	Status string `json:"status"`
}

// view sums up e with its latest run (nil when it has none).
func (a *App) view(e connections.Environment, last *runstate.Run) environmentView {
	v := environmentView{Environment: e, ETag: e.ETag, Schedule: e.Policy.Schedule, LastRun: last}
	if v.Schedule == "" {
		v.Schedule = a.cfg.BackupSchedule
	}
	switch {
	case e.State == connections.StateGone:
		v.Status = "gone"
	case e.State == connections.StateDisabled:
		v.Status = "disabled"
	case !e.Policy.Enabled:
		v.Status = "backup-disabled"
	default:
		v.Status = "never-run"
		if sched, err := ncrontab.Parse(v.Schedule); err == nil {
			if next := sched.Next(a.now()); !next.IsZero() {
				v.NextRun = next.Format("2006-01-02T15:04:05Z")
			}
		}
	}
	switch {
	case last == nil:
	case !runstate.Terminal(last.Status):
		v.ActiveRun = last.ID
		v.Status = "running"
	case v.Status == "never-run":
		v.Status = last.Status
	}
	return v
}

// listEnvironments answers the environments (of ?connectionId= or all)
// with their latest runs, read in one query.
func (a *App) listEnvironments(w http.ResponseWriter, r *http.Request) error {
	envs, err := a.connections.Environments(r.Context(), r.URL.Query().Get("connectionId"))
	if err != nil {
		return err
	}
	latest, err := a.backup.LatestRuns(r.Context())
	if err != nil {
		return err
	}
	out := []environmentView{}
	for _, e := range envs {
		out = append(out, a.view(e, latest[e.ID]))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// viewOne is the view of one environment, with its latest run.
func (a *App) viewOne(r *http.Request, e *connections.Environment) (environmentView, error) {
	last, err := a.backup.LatestRun(r.Context(), e.ID)
	if err != nil {
		return environmentView{}, err
	}
	return a.view(*e, last), nil
}

func (a *App) getEnvironment(w http.ResponseWriter, r *http.Request) error {
	e, err := a.connections.Environment(r.Context(), r.PathValue("id"))
	if err != nil {
		return err
	}
	v, err := a.viewOne(r, e)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", quoteETag(e.ETag))
	writeJSON(w, http.StatusOK, v)
	return nil
}

// updatePolicy replaces the policy; If-Match (the environment's ETag)
// guards against overwriting a concurrent change.
func (a *App) updatePolicy(w http.ResponseWriter, r *http.Request) error {
	var p connections.Policy
	if err := decode(w, r, &p); err != nil {
		return err
	}
	e, err := a.connections.UpdatePolicy(r.Context(), r.PathValue("id"), p, unquoteETag(r.Header.Get("If-Match")))
	if err != nil {
		return err
	}
	v, err := a.viewOne(r, e)
	if err != nil {
		return err
	}
	w.Header().Set("ETag", quoteETag(e.ETag))
	writeJSON(w, http.StatusOK, v)
	return nil
}

type discoverRequest struct {
	ConnectionID string `json:"connectionId"`
	IdentityID   string `json:"identityId,omitempty"`
}

func (a *App) discover(w http.ResponseWriter, r *http.Request) error {
	var in discoverRequest
	if err := decode(w, r, &in); err != nil {
		return err
	}
	if in.ConnectionID == "" {
		return bad("connectionId", "required: the connection whose identity scans")
	}
	res, err := a.connections.Discover(r.Context(), in.ConnectionID, in.IdentityID)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, res)
	return nil
}

// ETags of Table Storage look like W/"datetime'...'"; HTTP clients send them
// back verbatim in If-Match.
func quoteETag(s string) string { return s }

func unquoteETag(s string) string {
	s = strings.TrimSpace(s)
	if s == "*" {
		return ""
	}
	return s
}
