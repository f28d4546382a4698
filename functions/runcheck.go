package functions

import (
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// The API checks names in a request against the run they refer to, before
// anything is written: a table the run holds no state of, or a column the
// table did not have when it was backed up, would otherwise give a job that
// "succeeds" having restored nothing (or a browse that finds nothing).

// runManifest reads the manifest of run (the newest restorable run of env
// when run is ""), answering 404 with what to do when there is none.
func (a *App) runManifest(ctx context.Context, env, run string) (*backupformat.Manifest, error) {
	if run == "" {
		latest, err := backupformat.LatestRun(ctx, a.backup.Blobs(), env)
		if errors.Is(err, blobstore.ErrNotFound) {
			return nil, errStatus(http.StatusNotFound, "no_backup", "environment "+env+" has no finished backup to restore from; start one with POST /api/backups/"+env)
		}
		if err != nil {
			return nil, err
		}
		run = latest
	}
	m, err := backupformat.ReadManifest(ctx, a.backup.Blobs(), env, run)
	if errors.Is(err, blobstore.ErrNotFound) {
		return nil, errStatus(http.StatusNotFound, "not_found", noRunDetail(env, run))
	}
	return m, err
}

// tableProblem says why table cannot be read from the run, or "".
func tableProblem(m *backupformat.Manifest, table string) string {
	tm := m.Table(table)
	if tm == nil {
		var held []string
		for _, t := range m.Tables {
			if t.Status == backupformat.TableDone {
				held = append(held, t.Name)
			}
		}
		sort.Strings(held)
		more := ""
		if len(held) > 15 {
			more = fmt.Sprintf(", ... (%d in all; GET /api/backups/%s/%s/tables lists them)", len(held), m.Environment, m.Run)
			held = held[:15]
		}
		return fmt.Sprintf("table %s is not in run %s (check the logical name; the run holds %s%s)", table, m.Run, strings.Join(held, ", "), more)
	}
	if tm.Status != backupformat.TableDone || len(tm.Chain) == 0 {
		why := tm.Status
		if tm.Reason != "" {
			why += ": " + tm.Reason
		}
		return fmt.Sprintf("table %s has no backed-up state in run %s (%s); choose a run where it succeeded", table, m.Run, why)
	}
	return ""
}

// runColumns returns the column logical names of table as the run's
// metadata snapshot recorded them. ok is false when the snapshot cannot
// tell (no snapshot, or none of the table's attributes in it): the caller
// then leaves the check to the engine.
func (a *App) runColumns(ctx context.Context, m *backupformat.Manifest, table string) (cols map[string]bool, ok bool, err error) {
	name := backupformat.MetadataBlob(m.Environment, m.Run)
	if m.Metadata != nil && m.Metadata.Blob != "" {
		name = m.Metadata.Blob
	}
	rc, err := a.backup.Blobs().Get(ctx, backupformat.ContainerBackups, name)
	if errors.Is(err, blobstore.ErrNotFound) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, err
	}
	defer rc.Close()
	gz, err := gzip.NewReader(rc)
	if err != nil {
		return nil, false, nil
	}
	var snap struct {
		Tables map[string]map[string]json.RawMessage `json:"tables"`
	}
	if err := json.NewDecoder(gz).Decode(&snap); err != nil {
		return nil, false, nil
	}
	raw := snap.Tables[table]["attributes"]
	if raw == nil {
		return nil, false, nil
	}
	var attrs []struct {
		LogicalName string `json:"LogicalName"`
	}
	if err := json.Unmarshal(raw, &attrs); err != nil || len(attrs) == 0 {
		return nil, false, nil
	}
	cols = map[string]bool{}
	for _, at := range attrs {
		cols[at.LogicalName] = true
	}
	return cols, true, nil
}

// checkRestoreScope resolves the request's run (so the engine restores
// from the run checked here) and refuses tables and fields of the scope
// that the run does not hold, naming each.
func (a *App) checkRestoreScope(ctx context.Context, req *restore.Request) error {
	m, err := a.runManifest(ctx, req.Environment, req.Run)
	if err != nil {
		return err
	}
	req.Run = m.Run
	errs, err := scopeErrors(m, req.Scope, func(table string) (map[string]bool, bool, error) { return a.runColumns(ctx, m, table) })
	if err != nil || len(errs) == 0 {
		return err
	}
	var parts []string
	for _, e := range errs {
		parts = append(parts, e.Field+": "+e.Message)
	}
	return &apiError{Status: http.StatusBadRequest, Code: "invalid_scope", Detail: "the scope names what run " + m.Run + " does not hold: " + strings.Join(parts, "; "), Errors: errs}
}

// scopeErrors lists the tables of scope without state in the run of m and
// the scope.fields columns its tables did not have (columns tells, per
// table, or ok=false when it cannot).
func scopeErrors(m *backupformat.Manifest, scope plan.Scope, columns func(table string) (cols map[string]bool, ok bool, err error)) ([]fieldError, error) {
	var errs []fieldError
	add := func(field, msg string) { errs = append(errs, fieldError{Field: field, Message: msg}) }
	seen := map[string]bool{}
	check := func(field, table string) bool {
		if !logicalName.MatchString(table) {
			// restore.Request.Normalize checks the names of scope.tables
			// and scope.records, not the keys of scope.filter and
			// scope.fields.
			add(field, fmt.Sprintf("%q is not a table logical name (lower-case letters, digits and underscores, starting with a letter)", table))
			seen[table] = true
			return false
		}
		if p := tableProblem(m, table); p != "" {
			if !seen[table] {
				add(field, p)
			}
			seen[table] = true
			return false
		}
		return true
	}
	for i, t := range scope.Tables {
		check(fmt.Sprintf("scope.tables[%d]", i), t)
	}
	for _, part := range []struct {
		field  string
		tables []string
	}{{"scope.records", keys(scope.Records)}, {"scope.filter", keys(scope.Filter)}, {"scope.fields", keys(scope.Fields)}} {
		for _, t := range part.tables {
			check(part.field+"."+t, t)
		}
	}
	for _, t := range keys(scope.Fields) {
		if seen[t] {
			continue
		}
		cols, ok, err := columns(t)
		if err != nil {
			return nil, err
		}
		if !ok {
			continue
		}
		for i, c := range scope.Fields[t] {
			if !cols[c] {
				add(fmt.Sprintf("scope.fields.%s[%d]", t, i), fmt.Sprintf("table %s had no column %s when run %s backed it up (check the column's logical name)", t, c, m.Run))
			}
		}
	}
	return errs, nil
}

// logicalName is the form of a table logical name (as restore.Request's
// own check has it).
var logicalName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)

func keys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
