package functions

import (
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/ncrontab"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
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
	// Status sums it up: gone, disabled, unreachable (its last validation
	// failed), backup-disabled, running, never-run, or the last run's status.
	Status string `json:"status"`
	// StatusReason says why, and StatusFix what to do, when the status
	// stands in the way of backups.
	StatusReason string `json:"statusReason,omitempty"`
	StatusFix    string `json:"statusFix,omitempty"`
}

// validationProblem returns the first error of e's last validation, or nil
// when it passed (or never ran).
func validationProblem(e connections.Environment) *connections.Problem {
	v := e.LastValidation
	if v == nil || v.OK {
		return nil
	}
	for i := range v.Problems {
		if v.Problems[i].Severity != "warning" {
			return &v.Problems[i]
		}
	}
	return &connections.Problem{Code: "validation_failed", Message: "the last validation of " + e.URL + " failed"}
}

// unreachable refuses work ("a backup of", "a restore into") on an environment whose last validation failed,
// with the reason and the fix, before anything is written.
func unreachable(e *connections.Environment, work string) error {
	p := validationProblem(*e)
	if p == nil {
		return nil
	}
	detail := work + " " + e.URL + " refused: the environment failed validation"
	if e.LastValidation != nil {
		detail += " on " + e.LastValidation.CheckedAt.UTC().Format("2006-01-02 15:04 UTC")
	}
	detail += ": " + p.Message
	if p.Fix != "" {
		detail += " Fix: " + p.Fix
	}
	detail += " Then validate again (POST /api/connections/" + e.ConnectionID + "/validate), or remove the environment (DELETE /api/environments/" + e.ID + ")."
	return &apiError{Status: http.StatusConflict, Code: "environment_unreachable", Detail: detail}
}

// view sums up e with its latest run (nil when it has none).
func (a *App) view(e connections.Environment, last *runstate.Run) environmentView {
	v := environmentView{Environment: e, ETag: e.ETag, Schedule: e.Policy.Schedule, LastRun: last}
	if v.Schedule == "" {
		v.Schedule = a.cfg.BackupSchedule
	}
	p := validationProblem(e)
	switch {
	case e.State == connections.StateGone:
		v.Status = "gone"
		v.StatusReason = "discovery no longer lists the environment; its backups are kept"
		v.StatusFix = "DELETE /api/environments/" + e.ID + " removes it (add ?purgeBackups=true to delete its backups too)"
	case e.State == connections.StateDisabled:
		v.Status = "disabled"
		v.StatusReason = "the environment is disabled in Dataverse"
		v.StatusFix = "enable it in the Power Platform admin center"
	case p != nil:
		v.Status = "unreachable"
		v.StatusReason, v.StatusFix = p.Message, p.Fix
		if v.StatusFix == "" {
			v.StatusFix = "validate again: POST /api/connections/" + e.ConnectionID + "/validate"
		}
	case !e.Policy.Enabled:
		v.Status = "backup-disabled"
		v.StatusReason = "scheduled backups are off in the environment's policy (new environments start so); on-demand backups still run"
		v.StatusFix = "PUT /api/environments/" + e.ID + "/policy with enabled: true"
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
		v.Status, v.StatusReason, v.StatusFix = "running", "", ""
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

// deleteEnvironment removes an environment's registration. Its backups
// stay (still listed, browsable and restorable from by its id) unless
// ?purgeBackups=true, which deletes every run first. Refused while a
// backup run or a restore job of the environment is in progress.
func (a *App) deleteEnvironment(w http.ResponseWriter, r *http.Request) error {
	purge := false
	for k, vs := range r.URL.Query() {
		if k != "purgeBackups" {
			return bad(k, "unknown query parameter; the only one is purgeBackups=true|false")
		}
		switch vs[len(vs)-1] {
		case "true":
			purge = true
		case "false":
		default:
			return bad("purgeBackups", "must be true or false")
		}
	}
	e, err := a.connections.Environment(r.Context(), r.PathValue("id"))
	if errors.Is(err, connections.ErrNotFound) && purge && backupformat.ValidID(r.PathValue("id")) {
		// Removed earlier with its backups kept: they can be purged still.
		if runs, rerr := a.backup.Runs(r.Context(), r.PathValue("id")); rerr == nil && len(runs) > 0 {
			e, err = &connections.Environment{ID: r.PathValue("id")}, nil
		}
	}
	if err != nil {
		return err
	}
	registered := e.URL != ""
	if last, err := a.backup.LatestRun(r.Context(), e.ID); err != nil {
		return err
	} else if last != nil && !runstate.Terminal(last.Status) {
		return errStatus(http.StatusConflict, "run_in_progress", "backup run "+last.ID+" of the environment is in progress; wait for it or cancel it (POST /api/backups/"+e.ID+"/"+last.ID+"/cancel), then delete")
	}
	jobs, err := a.restore.Store().ListJobs(r.Context(), 0)
	if err != nil {
		return err
	}
	for _, j := range jobs {
		if !restore.Terminal(j.Status) && (j.Environment == e.ID || j.Target == e.ID) {
			return errStatus(http.StatusConflict, "restore_in_progress", "restore job "+j.ID+" reads or writes the environment; wait for it or cancel it (POST /api/restores/"+j.ID+"/cancel), then delete")
		}
	}
	var purged []string
	if purge {
		if purged, err = a.backup.PurgeEnvironment(r.Context(), e.ID); err != nil {
			return err
		}
	}
	if registered {
		if _, err := a.connections.DeleteEnvironment(r.Context(), e.ID, unquoteETag(r.Header.Get("If-Match"))); err != nil {
			return err
		}
	}
	out := map[string]any{"id": e.ID, "url": e.URL, "deleted": true, "backupsPurged": purge}
	if purge {
		out["runsDeleted"] = len(purged)
		setAuditNote(r, fmt.Sprintf("%s removed; backups purged (%d runs)", orID(e), len(purged)))
	} else {
		runs, err := a.backup.Runs(r.Context(), e.ID)
		if err != nil {
			return err
		}
		out["runsKept"] = len(runs)
		out["note"] = "the backups stay: GET /api/backups/" + e.ID + " lists them, POST /api/restores restores from them into a registered environment, DELETE /api/environments/" + e.ID + "?purgeBackups=true deletes them"
		setAuditNote(r, fmt.Sprintf("%s removed; backups kept (%d runs)", e.URL, len(runs)))
	}
	writeJSON(w, http.StatusOK, out)
	return nil
}

func orID(e *connections.Environment) string {
	if e.URL != "" {
		return e.URL
	}
	return "environment " + e.ID
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
