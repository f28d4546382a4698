package functions

import (
	"bufio"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/guid"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// runEnvironment checks the environment exists (404 otherwise): registered,
// or removed with its backups kept (they stay readable by its id).
func (a *App) runEnvironment(r *http.Request) (string, error) {
	id := r.PathValue("environmentId")
	e, err := a.connections.Environment(r.Context(), id)
	if errors.Is(err, connections.ErrNotFound) && backupformat.ValidID(id) {
		if runs, rerr := a.backup.Runs(r.Context(), id); rerr == nil && len(runs) > 0 {
			return id, nil
		}
	}
	if err != nil {
		return "", err
	}
	return e.ID, nil
}

func runErr(err error) error {
	if errors.Is(err, runstate.ErrNotFound) {
		return errStatus(http.StatusNotFound, "not_found", "no such run")
	}
	if errors.Is(err, runstate.ErrConflict) {
		return errStatus(http.StatusConflict, "conflict", "the run changed concurrently; retry")
	}
	return err
}

// runView is a run with its live progress.
type runView struct {
	*runstate.Run
	Progress progress `json:"progress"`
}

type progress struct {
	TablesDone  int     `json:"tablesDone"`
	TablesTotal int     `json:"tablesTotal"`
	Records     int64   `json:"records"`
	Bytes       int64   `json:"bytes"`
	Throttles   int64   `json:"throttles"`
	Errors      int     `json:"errors"`
	Seconds     float64 `json:"seconds"`
}

func (a *App) viewRun(run *runstate.Run) runView {
	return runView{Run: run, Progress: progress{TablesDone: run.Done + run.Failed + run.Skipped, TablesTotal: run.Tables, Records: run.Records,
		Bytes: run.Bytes + run.FileBytes, Throttles: run.Throttled, Errors: run.Failed, Seconds: run.Seconds(a.now())}}
}

// startRequest is the optional body of POST /api/backups/{env}.
type startRequest struct {
	// Full reads every table in full, whatever the policy (e.g. after a
	// restore of the environment outside this service).
	Full bool `json:"full"`
}

// startBackup creates an on-demand run and sends its scan message (the
// engine's StartRun: message id derived from the run id); 409 when a run of
// the environment is in progress. The body is optional.
func (a *App) startBackup(w http.ResponseWriter, r *http.Request) error {
	var in startRequest
	if hasBody(r) {
		if err := decode(w, r, &in); err != nil {
			return err
		}
	}
	e, err := a.connections.Environment(r.Context(), r.PathValue("environmentId"))
	if err != nil {
		return err
	}
	if err := unreachable(e, "a backup of"); err != nil {
		return err
	}
	env := e.ID
	run, err := a.backup.StartRunWith(r.Context(), env, runstate.TriggerOnDemand, runstate.RunRequest{Full: in.Full})
	if err != nil {
		return runErr(err)
	}
	w.Header().Set("Location", "/api/backups/"+env+"/"+run.ID)
	writeJSON(w, http.StatusAccepted, a.viewRun(run))
	return nil
}

func (a *App) listRuns(w http.ResponseWriter, r *http.Request) error {
	env, err := a.runEnvironment(r)
	if err != nil {
		return err
	}
	runs, err := a.backup.Runs(r.Context(), env)
	if err != nil {
		return runErr(err)
	}
	newestFirst(runs, func(r *runstate.Run) (time.Time, string) { return r.CreatedAt, r.ID })
	out := []runView{}
	for _, run := range runs {
		out = append(out, a.viewRun(run))
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

func (a *App) loadRun(r *http.Request) (*runstate.Run, error) {
	env, err := a.runEnvironment(r)
	if err != nil {
		return nil, err
	}
	id := r.PathValue("runId")
	noRun := errStatus(http.StatusNotFound, "not_found", "environment "+env+" has no run "+printable(id)+"; GET /api/backups/"+env+" lists its runs")
	if !backupformat.ValidID(id) {
		return nil, noRun
	}
	run, err := a.backup.Run(r.Context(), env, id)
	if errors.Is(err, runstate.ErrNotFound) {
		return nil, noRun
	}
	if err != nil {
		return nil, runErr(err)
	}
	return run, nil
}

func (a *App) getRun(w http.ResponseWriter, r *http.Request) error {
	run, err := a.loadRun(r)
	if err != nil {
		return err
	}
	writeJSON(w, http.StatusOK, a.viewRun(run))
	return nil
}

// cancelRun ends a run in progress as cancelled ("cancelled by <caller>"),
// through the engine; 409 when it already ended.
func (a *App) cancelRun(w http.ResponseWriter, r *http.Request) error {
	run, err := a.loadRun(r)
	if err != nil {
		return err
	}
	who := "unknown"
	if c := callerOf(r.Context()); c != nil {
		who = c.Name
	}
	ended, err := a.backup.Cancel(r.Context(), run.Environment, run.ID, "cancelled by "+who)
	if errors.Is(err, backup.ErrRunEnded) {
		return errStatus(http.StatusConflict, "run_finished", "run "+run.ID+" already ended ("+ended.Status+"); there is nothing to cancel")
	}
	if err != nil {
		return runErr(err)
	}
	run = ended
	writeJSON(w, http.StatusOK, a.viewRun(run))
	return nil
}

func (a *App) listRunTables(w http.ResponseWriter, r *http.Request) error {
	run, err := a.loadRun(r)
	if err != nil {
		return err
	}
	tasks, err := a.backup.Tasks(r.Context(), run.ID)
	if err != nil {
		return runErr(err)
	}
	type table struct {
		Table          string `json:"table"`
		Status         string `json:"status"`
		Mode           string `json:"mode"`
		ChangeTracking bool   `json:"changeTracking"`
		Pages          int    `json:"pages"`
		Records        int64  `json:"records"`
		Deletes        int64  `json:"deletes"`
		Bytes          int64  `json:"bytes"`
		Throttled      int64  `json:"throttled"`
		Reason         string `json:"reason,omitempty"`
		FallbackReason string `json:"fallbackReason,omitempty"`
	}
	out := []table{}
	for _, t := range tasks {
		out = append(out, table{t.Table, t.Status, t.Mode, t.ChangeTracking, t.Page, t.Records, t.Deletes, t.Bytes, t.Throttled, t.Reason, t.FallbackReason})
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out})
	return nil
}

// finishedRun refuses browsing a run without a manifest yet.
func finishedRun(run *runstate.Run) error {
	if run.Status != runstate.RunSucceeded && run.Status != runstate.RunPartial {
		return errStatus(http.StatusConflict, "run_not_finished", "run "+run.ID+" is "+run.Status+"; records can be browsed once it succeeded or ended partial")
	}
	return nil
}

// browseRecords lists records of a table as of the run: by id (?id=), by a
// prefix of the primary name (?prefix=, column ?nameColumn= or the usual
// primary name columns), at most ?limit= (default 50, max 500).
func (a *App) browseRecords(w http.ResponseWriter, r *http.Request) error {
	run, err := a.loadRun(r)
	if err != nil {
		return err
	}
	if err := finishedRun(run); err != nil {
		return err
	}
	q := r.URL.Query()
	table := r.PathValue("table")
	if !validTable(table) {
		return bad("table", "not a table logical name")
	}
	bq := backupformat.BrowseQuery{ID: strings.ToLower(q.Get("id")), Prefix: q.Get("prefix"), Limit: 50}
	if q.Has("id") && !guid.Valid(bq.ID) {
		return bad("id", "must be a record id (a GUID such as 00000000-0000-0000-0000-000000000001)")
	}
	if len(bq.Prefix) > 200 || !printableText(bq.Prefix) {
		return bad("prefix", "must be printable text of at most 200 bytes")
	}
	if s := q.Get("limit"); q.Has("limit") {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 500 {
			return bad("limit", "must be 1-500")
		}
		bq.Limit = n
	}
	m, err := a.runManifest(r.Context(), run.Environment, run.ID)
	if err != nil {
		return err
	}
	if p := tableProblem(m, table); p != "" {
		return errStatus(http.StatusNotFound, "not_found", p)
	}
	if c := q.Get("nameColumn"); q.Has("nameColumn") {
		if !validTable(c) {
			return bad("nameColumn", "not a column logical name (lower-case letters, digits and underscores)")
		}
		cols, ok, err := a.runColumns(r.Context(), m, table)
		if err != nil {
			return err
		}
		if ok && !cols[c] {
			return bad("nameColumn", "table "+table+" had no column "+c+" when run "+run.ID+" backed it up")
		}
		bq.NameColumns = []string{c}
	}
	out, truncated, err := backupformat.Browse(r.Context(), a.backup.Blobs(), run.Environment, run.ID, table, bq)
	if err != nil {
		return tableStateErr(err, table, run.ID)
	}
	writeJSON(w, http.StatusOK, map[string]any{"value": out, "truncated": truncated})
	return nil
}

// tableStateErr maps a failure to read a table's state to a 404 when the
// run holds no state of the table.
func tableStateErr(err error, table, run string) error {
	if errors.Is(err, backupformat.ErrTableNotInRun) || errors.Is(err, blobstore.ErrNotFound) {
		return errStatus(http.StatusNotFound, "not_found", "table "+table+" has no backed-up state in run "+run+" (not in the run's scope, skipped or failed there); the run's /tables lists its tables")
	}
	return err
}

// downloadRecord answers one record's JSON as of the run, as a download.
func (a *App) downloadRecord(w http.ResponseWriter, r *http.Request) error {
	run, err := a.loadRun(r)
	if err != nil {
		return err
	}
	if err := finishedRun(run); err != nil {
		return err
	}
	table, id := r.PathValue("table"), strings.ToLower(r.PathValue("recordId"))
	if !validTable(table) {
		return bad("table", "not a table logical name")
	}
	if !(guid.Valid(id) && id == strings.ToLower(id)) {
		return bad("recordId", "must be a GUID")
	}
	found, ok, err := backupformat.FindRecord(r.Context(), a.backup.Blobs(), run.Environment, run.ID, table, id)
	if err != nil {
		return tableStateErr(err, table, run.ID)
	}
	if !ok {
		return errStatus(http.StatusNotFound, "not_found", "record "+id+" is not in table "+table+" as of run "+run.ID)
	}
	w.Header().Set("Content-Disposition", `attachment; filename="`+table+"-"+id+`.json"`)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusOK)
	_, _ = w.Write(found)
	return nil
}

// verifyRun re-reads every blob of the run and checks sizes and sha256
// against the manifest.
func (a *App) verifyRun(w http.ResponseWriter, r *http.Request) error {
	run, err := a.loadRun(r)
	if err != nil {
		return err
	}
	if err := finishedRun(run); err != nil {
		return err
	}
	problems, err := backupformat.Verify(r.Context(), a.backup.Blobs(), run.Environment, run.ID)
	if err != nil {
		return err
	}
	if problems == nil {
		problems = []backupformat.Problem{}
	}
	writeJSON(w, http.StatusOK, map[string]any{"run": run.ID, "verified": len(problems) == 0, "problems": problems})
	return nil
}

func validTable(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// newestFirst orders a list the way every list of the API is ordered:
// newest first (by creation time, then id).
func newestFirst[T any](xs []T, key func(T) (time.Time, string)) {
	slices.SortStableFunc(xs, func(a, b T) int {
		ta, ia := key(a)
		tb, ib := key(b)
		if c := tb.Compare(ta); c != 0 {
			return c
		}
		return strings.Compare(ib, ia)
	})
}

// hasBody reports whether r carries a body, peeking at one of unknown
// length (chunked) without losing it.
func hasBody(r *http.Request) bool {
	if r.Body == nil || r.Body == http.NoBody || r.ContentLength == 0 {
		return false
	}
	if r.ContentLength > 0 {
		return true
	}
	br := bufio.NewReader(r.Body)
	_, err := br.Peek(1)
	r.Body = struct {
		io.Reader
		io.Closer
	}{br, r.Body}
	return err == nil
}
