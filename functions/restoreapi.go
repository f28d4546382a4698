package functions

import (
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

// restoreRoutes are the endpoints of restore jobs and exports; routes()
// (functions/api.go) lists them with the others.
func restoreRoutes() []route {
	return []route{
		{"POST", "/api/restores", RoleRestore, "restore.create", (*App).createRestore},
		{"GET", "/api/restores", RoleReader, "", (*App).listRestores},
		{"GET", "/api/restores/{id}", RoleReader, "", (*App).getRestore},
		{"POST", "/api/restores/{id}/cancel", RoleRestore, "restore.cancel", (*App).cancelRestore},
		{"GET", "/api/restores/{id}/report.csv", RoleReader, "", (*App).restoreReportCSV},
		{"GET", "/api/restores/{id}/report.json", RoleReader, "", (*App).restoreReportJSON},
		{"GET", "/api/restores/export/{environmentId}/{runId}/{table}", RoleReader, "", (*App).exportTable},
	}
}

// restoreError maps the restore engine's errors to problems; notFound is
// the detail of a missing job or run (the engine's text names blobs).
func restoreError(err error, notFound string) error {
	var ve *restore.ValidationError
	switch {
	case errors.As(err, &ve):
		ae := &apiError{Status: http.StatusBadRequest, Code: "invalid_body", Detail: ve.Error()}
		for _, f := range ve.Errors {
			ae.Errors = append(ae.Errors, fieldError{Field: f.Field, Message: f.Message})
		}
		return ae
	case errors.Is(err, restore.ErrNotFound), errors.Is(err, blobstore.ErrNotFound):
		return errStatus(http.StatusNotFound, "not_found", notFound)
	}
	return err
}

// noRunDetail is the detail of a run without a backup.
func noRunDetail(env, run string) string {
	return "run " + run + " of environment " + env + " has no backup (not finished, failed, or deleted by retention); GET /api/backups/" + env + " lists the runs"
}

func (a *App) createRestore(w http.ResponseWriter, r *http.Request) error {
	var req restore.Request
	if err := decode(w, r, &req); err != nil {
		return err
	}
	if err := req.Normalize(); err != nil {
		return restoreError(err, "")
	}
	// The target must be registered and valid; the source may have been
	// removed with its backups kept.
	target, err := a.connections.Environment(r.Context(), req.Target)
	if errors.Is(err, connections.ErrNotFound) {
		return errStatus(http.StatusNotFound, "not_found", "target environment "+req.Target+" is not registered; GET /api/environments lists them")
	}
	if err != nil {
		return err
	}
	if err := unreachable(target, "a restore into"); err != nil {
		return err
	}
	if _, err := a.connections.Environment(r.Context(), req.Environment); errors.Is(err, connections.ErrNotFound) {
		if runs, rerr := a.backup.Runs(r.Context(), req.Environment); rerr != nil || len(runs) == 0 {
			return errStatus(http.StatusNotFound, "not_found", "environment "+req.Environment+" is not registered and has no backups; GET /api/environments lists the registered ones")
		}
	} else if err != nil {
		return err
	}
	if err := a.checkRestoreScope(r.Context(), &req); err != nil {
		return err
	}
	j, err := a.restore.Start(r.Context(), req)
	if err != nil {
		return restoreError(err, noRunDetail(req.Environment, req.Run))
	}
	w.Header().Set("Location", "/api/restores/"+j.ID)
	writeJSON(w, http.StatusAccepted, viewJob(j))
	return nil
}

func (a *App) listRestores(w http.ResponseWriter, r *http.Request) error {
	limit := 50
	if s := r.URL.Query().Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return bad("limit", "must be 1-500")
		}
		limit = n
	}
	jobs, err := a.restore.Store().ListJobs(r.Context(), limit)
	if err != nil {
		return err
	}
	newestFirst(jobs, func(j *restore.Job) (time.Time, string) { return j.CreatedAt, j.ID })
	out := []jobView{}
	for _, j := range jobs {
		out = append(out, viewJob(j))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// jobView is a restore job as the API shows it: a dry run's counts are
// predictions, named so (wouldCreate, wouldUpdate) rather than created
// and updated.
type jobView struct {
	*restore.Job
	Counts map[string]any `json:"counts"`
}

func viewJob(j *restore.Job) jobView {
	counts := map[string]any{}
	raw, _ := json.Marshal(j.Counts)
	_ = json.Unmarshal(raw, &counts)
	if j.DryRun {
		counts["wouldCreate"], counts["wouldUpdate"] = counts["created"], counts["updated"]
		delete(counts, "created")
		delete(counts, "updated")
	}
	return jobView{Job: j, Counts: counts}
}

func (a *App) loadRestore(r *http.Request) (*restore.Engine, *restore.Job, error) {
	id := r.PathValue("id")
	if !backupformat.ValidID(id) {
		return nil, nil, bad("id", "not a restore job id")
	}
	j, err := a.restore.Job(r.Context(), id)
	if err != nil {
		return nil, nil, restoreError(err, "restore job "+id+" does not exist; GET /api/restores lists the jobs")
	}
	return a.restore, j, nil
}

func (a *App) getRestore(w http.ResponseWriter, r *http.Request) error {
	_, j, err := a.loadRestore(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewJob(j))
	return nil
}

// cancelRestore ends a job as failed ("cancelled"); queued chunk messages
// then find it ended and write nothing more.
func (a *App) cancelRestore(w http.ResponseWriter, r *http.Request) error {
	eng, j, err := a.loadRestore(r)
	if err != nil {
		return err
	}
	if restore.Terminal(j.Status) {
		return errStatus(http.StatusConflict, "restore_finished", "restore "+j.ID+" already ended ("+j.Status+")")
	}
	who := "unknown"
	if c := callerOf(r.Context()); c != nil {
		who = c.Name
	}
	j, err = eng.Cancel(r.Context(), j.ID, "cancelled by "+who)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, viewJob(j))
	return nil
}

func (a *App) restoreReportCSV(w http.ResponseWriter, r *http.Request) error {
	eng, j, err := a.loadRestore(r)
	if err != nil {
		return err
	}
	rep, err := eng.Report(r.Context(), j.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	w.Header().Set("Content-Disposition", `attachment; filename="restore-`+j.ID+`.csv"`)
	w.Header().Set("Cache-Control", "no-store")
	return restore.WriteCSV(w, rep)
}

func (a *App) restoreReportJSON(w http.ResponseWriter, r *http.Request) error {
	eng, j, err := a.loadRestore(r)
	if err != nil {
		return err
	}
	rep, err := eng.Report(r.Context(), j.ID)
	if err != nil {
		return err
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	return restore.WriteJSON(w, j, rep)
}

// exportTable streams the records of a table as of a run, as CSV or JSON
// (?format=csv|json, default json).
func (a *App) exportTable(w http.ResponseWriter, r *http.Request) error {
	env, run, table := r.PathValue("environmentId"), r.PathValue("runId"), r.PathValue("table")
	if !backupformat.ValidID(env) || !backupformat.ValidID(run) {
		return bad("", "environment and run must be ids")
	}
	if !validTable(table) {
		return bad("table", "not a table logical name")
	}
	format := r.URL.Query().Get("format")
	if format == "" {
		format = "json"
	}
	if format != "json" && format != "csv" {
		return bad("format", "csv or json")
	}
	blobs := a.backup.Blobs()
	if err := backupformat.NewRunReader(blobs, env, run).CheckTable(r.Context(), table); err != nil {
		if errors.Is(err, backupformat.ErrTableNotInRun) {
			return errStatus(http.StatusNotFound, "not_found", "table "+table+" has no backed-up state in run "+run+" (not in the run's scope, skipped or failed there); GET /api/backups/"+env+"/"+run+"/tables lists its tables")
		}
		return restoreError(err, noRunDetail(env, run))
	}
	ct := map[string]string{"json": "application/json", "csv": "text/csv; charset=utf-8"}[format]
	w.Header().Set("Content-Type", ct)
	w.Header().Set("Content-Disposition", `attachment; filename="`+env+"-"+run+"-"+table+"."+format+`"`)
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(http.StatusOK)
	// The status is sent: a failure mid-stream can only cut the body short.
	if err := backupformat.Export(r.Context(), blobs, env, run, table, backupformat.ExportFormat(format), w); err != nil {
		a.log.ErrorContext(r.Context(), "export failed mid-stream", "requestId", requestID(r.Context()), "error", err.Error())
	}
	return nil
}
