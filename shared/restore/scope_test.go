package restore_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// chain makes account <- contact (parentcustomerid) <- task
// (regardingobjectid), with nothing else hanging on them.
func chain(t *testing.T, e *dataversesim.Env, name string) (account, contact, task string) {
	t.Helper()
	seed := e.IDs("account")[0]
	own := map[string]any{"ownerid": owner(e, seed), "owningbusinessunit": bu(e, seed)}
	with := func(m map[string]any) map[string]any {
		for k, v := range own {
			m[k] = v
		}
		return m
	}
	var err error
	if account, err = e.Create("account", with(map[string]any{"name": name + " Ltd", "telephone1": "111"})); err != nil {
		t.Fatal(err)
	}
	if contact, err = e.Create("contact", with(map[string]any{"firstname": name, "lastname": "Chain", "fullname": name + " Chain",
		"parentcustomerid": dataversesim.Ref{Table: "account", ID: account}})); err != nil {
		t.Fatal(err)
	}
	if task, err = e.Create("task", with(map[string]any{"subject": "Call " + name,
		"regardingobjectid": dataversesim.Ref{Table: "contact", ID: contact}})); err != nil {
		t.Fatal(err)
	}
	return account, contact, task
}

// refOf returns the id a lookup of a simulator row points at ("" when unset).
func refOf(row map[string]any, col string) string {
	if r, ok := row[col].(dataversesim.Ref); ok {
		return strings.ToLower(r.ID)
	}
	return ""
}

func present(e *dataversesim.Env, table, id string) bool {
	_, ok := e.Get(table, id)
	return ok
}

// wipe deletes whichever of the records exist (between restores).
func wipe(e *dataversesim.Env, keys ...rowKey) {
	for _, k := range keys {
		_ = e.Delete(k.table, k.id)
	}
}

// TestRestoreRelatedRecords: chosen records whose parents were deleted too.
// Following lookups restores the missing parents first (depth-limited) and
// points the lookups at them; without following, the broken lookup is
// reported on the record's line and the record is created without it.
// Following N:N links restores a deleted partner and the link.
func TestRestoreRelatedRecords(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	acc, con, task := chain(t, e, "Related")
	// A seeded project with an N:N link to an account.
	var project, partner string
	for _, a := range e.IDs("account") {
		if l := e.Associated("cr1_account_cr1_project", a); len(l) > 0 {
			partner, project = a, l[0]
			break
		}
	}
	if project == "" {
		t.Fatal("the seed has no account linked to a project")
	}
	f.backup(ctx)
	all := []rowKey{{"task", task}, {"contact", con}, {"account", acc}}
	deleteAll(t, e, all)

	t.Run("no following", func(t *testing.T) {
		defer wipe(e, all...)
		j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Records: map[string][]string{"contact": {con}}}})
		if j.Status != restore.StatusSucceeded || j.Counts.Created != 1 {
			t.Fatalf("job %s (%s), counts %+v, report %+v", j.Status, j.Error, j.Counts, rep)
		}
		if present(e, "account", acc) || present(e, "task", task) {
			t.Error("a record outside the chosen ones was restored without related following")
		}
		row := get(t, e, "contact", con)
		if refOf(row, "parentcustomerid") != "" {
			t.Errorf("parentcustomerid = %v, want unset (its account is gone)", row["parentcustomerid"])
		}
		line := byKey(rep)["contact/"+con]
		w := strings.Join(line.Warnings, " ")
		if !strings.Contains(w, "parentcustomerid") || !strings.Contains(w, acc) {
			t.Errorf("the dropped lookup is not reported on the contact's line: warnings %q", line.Warnings)
		}
	})

	t.Run("depth 1", func(t *testing.T) {
		defer wipe(e, all...)
		j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Records: map[string][]string{"task": {task}},
			Related: &plan.Related{Depth: 1, Lookups: true}}})
		if j.Status != restore.StatusSucceeded || j.Counts.Created != 2 {
			t.Fatalf("job %s (%s), counts %+v, report %+v", j.Status, j.Error, j.Counts, rep)
		}
		if present(e, "account", acc) {
			t.Error("depth 1 restored the account two lookups away")
		}
		if got := refOf(get(t, e, "task", task), "regardingobjectid"); got != con {
			t.Errorf("task regardingobjectid = %q, want the restored contact %s", got, con)
		}
		if got := refOf(get(t, e, "contact", con), "parentcustomerid"); got != "" {
			t.Errorf("contact parentcustomerid = %q, want unset", got)
		}
		if w := strings.Join(byKey(rep)["contact/"+con].Warnings, " "); !strings.Contains(w, acc) {
			t.Errorf("the contact's lookup to the account beyond the depth is not reported: %q", w)
		}
	})

	t.Run("depth 2", func(t *testing.T) {
		defer wipe(e, all...)
		j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Records: map[string][]string{"task": {task}},
			Related: &plan.Related{Depth: 2, Lookups: true}}})
		if j.Status != restore.StatusSucceeded || j.Counts.Created != 3 {
			t.Fatalf("job %s (%s), counts %+v, report %+v", j.Status, j.Error, j.Counts, rep)
		}
		if got := refOf(get(t, e, "contact", con), "parentcustomerid"); got != acc {
			t.Errorf("contact parentcustomerid = %q, want the restored account %s", got, acc)
		}
		if got := refOf(get(t, e, "task", task), "regardingobjectid"); got != con {
			t.Errorf("task regardingobjectid = %q, want the restored contact %s", got, con)
		}
		for _, r := range rep {
			if len(r.Warnings) > 0 {
				t.Errorf("%s %s: warnings %q, want none (every parent restored)", r.Table, r.Source, r.Warnings)
			}
		}
	})

	// N:N partners: the project and its linked account are both deleted.
	linked := []rowKey{{"cr1_project", project}, {"account", partner}}
	snap := takeSnapshot(e, linked)
	deleteAll(t, e, linked)

	t.Run("associations not followed", func(t *testing.T) {
		defer wipe(e, linked...)
		j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Records: map[string][]string{"cr1_project": {project}}}})
		if j.Status == restore.StatusFailed {
			t.Fatalf("job failed: %s", j.Error)
		}
		if present(e, "account", partner) {
			t.Fatal("the linked account was restored without related following")
		}
		found := false
		for _, r := range rep {
			if r.Kind == plan.KindAssociation && strings.Contains(r.Reason, partner) {
				found = true
				if r.Status != restore.ResSkipped || !strings.Contains(r.Reason, "neither restored nor present") {
					t.Errorf("link to the missing account: %s %q, want skipped with the reason", r.Status, r.Reason)
				}
			}
		}
		if !found {
			t.Errorf("the link to the missing account %s is not in the report: %+v", partner, rep)
		}
	})

	t.Run("associations followed", func(t *testing.T) {
		j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Records: map[string][]string{"cr1_project": {project}},
			Related: &plan.Related{Depth: 1, Associations: true}}})
		if j.Status != restore.StatusSucceeded {
			t.Fatalf("job %s (%s): %+v", j.Status, j.Error, failures(rep))
		}
		compare(t, e, snap)
	})
}

// TestRestoreFilterScope: only the records matching every condition of the
// filter are restored, the others are left as they are; an unknown operator
// or column is refused up front, naming the field.
func TestRestoreFilterScope(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	seed := e.IDs("account")[0]
	mk := func(name string, employees int64) string {
		id, err := e.Create("account", map[string]any{"name": name, "numberofemployees": employees, "telephone1": "backup",
			"ownerid": owner(e, seed), "owningbusinessunit": bu(e, seed)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	one, two, other := mk("Fjordline One", 10), mk("Fjordline Two", 500), mk("Other Fjordline", 1000)
	f.backup(ctx)
	cond := func(col, op string, v any) plan.Condition {
		b, _ := json.Marshal(v)
		return plan.Condition{Column: col, Op: op, Value: b}
	}

	t.Run("startswith, existing records", func(t *testing.T) {
		for _, id := range []string{one, two, other} {
			if err := e.Update("account", id, map[string]any{"telephone1": "changed"}); err != nil {
				t.Fatal(err)
			}
		}
		v0 := e.Version()
		j, rep := f.restore(ctx, restore.Request{Policy: plan.PolicyOverwrite, Scope: plan.Scope{Tables: []string{"account"},
			Filter: map[string][]plan.Condition{"account": {cond("name", "startswith", "fjordline")}}}})
		if j.Status != restore.StatusSucceeded || j.Counts.Updated != 2 || len(rep) != 2 {
			t.Fatalf("job %s (%s), counts %+v, %d report lines: %+v", j.Status, j.Error, j.Counts, len(rep), rep)
		}
		for id, want := range map[string]string{one: "backup", two: "backup", other: "changed"} {
			if got := get(t, e, "account", id)["telephone1"]; got != want {
				t.Errorf("account %s telephone1 = %v, want %s", id, got, want)
			}
		}
		if n := e.Version() - v0; n != 2 {
			t.Errorf("%d rows written, want 2 (the matching accounts only)", n)
		}
	})

	t.Run("ge and startswith, deleted records", func(t *testing.T) {
		deleteAll(t, e, []rowKey{{"account", one}, {"account", two}, {"account", other}})
		j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true, Tables: []string{"account"},
			Filter: map[string][]plan.Condition{"account": {cond("numberofemployees", "ge", 500), cond("name", "startswith", "Fjord")}}}})
		if j.Status != restore.StatusSucceeded || j.Counts.Created != 1 || len(rep) != 1 {
			t.Fatalf("job %s (%s), counts %+v, report %+v", j.Status, j.Error, j.Counts, rep)
		}
		if !present(e, "account", two) || present(e, "account", one) || present(e, "account", other) {
			t.Errorf("present: one %v two %v other %v; want only two", present(e, "account", one), present(e, "account", two), present(e, "account", other))
		}
		j, _ = f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true, Tables: []string{"account"},
			Filter: map[string][]plan.Condition{"account": {cond("numberofemployees", "lt", 500)}}}})
		if j.Counts.Created != 1 || !present(e, "account", one) || present(e, "account", other) {
			t.Errorf("lt 500: created %d, one %v other %v; want one only", j.Counts.Created, present(e, "account", one), present(e, "account", other))
		}
	})

	t.Run("invalid conditions", func(t *testing.T) {
		for _, tc := range []struct {
			c     plan.Condition
			field string
		}{
			{cond("name", "like", "x"), "scope.filter.account[0].op"},
			{cond("Name; drop", "eq", "x"), "scope.filter.account[0].column"},
			{cond("nosuchcolumn", "eq", "x"), "scope.filter.account[0].column"},
			{plan.Condition{Column: "name", Op: "eq"}, "scope.filter.account[0].value"},
		} {
			v0 := e.Version()
			_, err := f.rs.Start(ctx, restore.Request{Environment: f.envID, Scope: plan.Scope{Tables: []string{"account"},
				Filter: map[string][]plan.Condition{"account": {tc.c}}}})
			var ve *restore.ValidationError
			if !errors.As(err, &ve) {
				t.Errorf("%+v: error %v, want a ValidationError", tc.c, err)
				continue
			}
			named := false
			for _, fe := range ve.Errors {
				named = named || fe.Field == tc.field
			}
			if !named {
				t.Errorf("%+v: %v does not name %s", tc.c, err, tc.field)
			}
			if len(f.sender.Take("restore")) > 0 || e.Version() != v0 {
				t.Errorf("%+v: a refused request queued or wrote something", tc.c)
			}
		}
	})
}

// TestRestoreOrphanNote: a note whose parent is neither restored nor in the
// target is not silently dropped (the Configuration Migration Tool's known
// failure): its line says skipped and why; a note whose parent is there is
// created.
func TestRestoreOrphanNote(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	parent, _, _ := chain(t, e, "Orphan")
	kept := e.IDs("account")[1]
	note := func(acc string) string {
		id, err := e.Create("annotation", map[string]any{"subject": "Minutes", "notetext": "agreed", "objectid": dataversesim.Ref{Table: "account", ID: acc},
			"objecttypecode": "account", "ownerid": owner(e, acc), "owningbusinessunit": bu(e, acc)})
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	orphan, fine := note(parent), note(kept)
	f.backup(ctx)
	deleteAll(t, e, []rowKey{{"annotation", orphan}, {"annotation", fine}, {"account", parent}})
	j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true, Tables: []string{"annotation"}}})
	if j.Status == restore.StatusFailed {
		t.Fatalf("job failed: %s", j.Error)
	}
	lines := byKey(rep)
	o, ok := lines["annotation/"+orphan]
	if !ok {
		t.Fatalf("the orphaned note is not in the report (silently dropped): %+v", rep)
	}
	if o.Status != restore.ResSkipped || !strings.Contains(o.Reason, "parent account "+parent) || !strings.Contains(o.Reason, "neither restored nor present") {
		t.Errorf("orphaned note: status %s reason %q, want skipped naming its missing parent", o.Status, o.Reason)
	}
	if present(e, "annotation", orphan) {
		t.Error("the orphaned note was written")
	}
	if l := lines["annotation/"+fine]; l.Status != restore.ResCreated || !present(e, "annotation", fine) {
		t.Errorf("the note of an existing account: %s, present %v", l.Status, present(e, "annotation", fine))
	}
	if j.Counts.Skipped != 1 || j.Counts.Created != 1 {
		t.Errorf("counts %+v, want 1 created and 1 skipped", j.Counts)
	}
	// The CSV report carries the reason too.
	var buf bytes.Buffer
	if err := restore.WriteCSV(&buf, rep); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(buf.String(), "parent account "+parent) {
		t.Error("the CSV report does not carry the orphaned note's reason")
	}
}

// headerRecorder sees every request a client sends and checks each write
// (also each request inside a $batch) for the bypass header.
type headerRecorder struct {
	next          http.RoundTripper
	mu            sync.Mutex
	writes, marks int
}

var reInner = regexp.MustCompile(`(?m)^(PATCH|POST|PUT|DELETE) \S+ HTTP/1\.1\r?$`)

func (h *headerRecorder) RoundTrip(r *http.Request) (*http.Response, error) {
	const hdr = "mscrm.bypassbusinesslogicexecution: customsync,customasync"
	if r.Method != http.MethodGet && r.Body != nil && r.URL.Host != "" {
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return nil, err
		}
		_ = r.Body.Close()
		r.Body = io.NopCloser(bytes.NewReader(body))
		h.mu.Lock()
		if strings.HasSuffix(r.URL.Path, "/$batch") {
			h.writes += len(reInner.FindAll(body, -1))
			h.marks += strings.Count(strings.ToLower(string(body)), hdr)
		} else if strings.Contains(r.URL.Path, "/api/data/") {
			h.writes++
			if r.Header.Get(dataverse.HeaderBypassBusinessLogic) == dataverse.BypassBusinessLogicValue {
				h.marks++
			}
		}
		h.mu.Unlock()
	}
	return h.next.RoundTrip(r)
}

// appClient is a Dataverse client of the demo environment as the named app.
func appClient(t *testing.T, f *fixture, app dataversesim.AppClient, rt http.RoundTripper) *dataverse.Client {
	t.Helper()
	c, err := simClient(f.sim, f.demo.URL(), app, rt)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestRestoreBypassBusinessLogic: bypassBusinessLogic is refused before
// anything is written when one identity of the connection is not System
// Administrator; with System Administrators only, the job runs and every
// write carries the header.
func TestRestoreBypassBusinessLogic(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	acc, con, task := chain(t, e, "Bypass")
	f.backup(ctx)
	all := []rowKey{{"task", task}, {"contact", con}, {"account", acc}}
	deleteAll(t, e, all)
	admin, ok := f.sim.App("backup-app-1")
	noroles, ok2 := f.sim.App("backup-app-noroles")
	if !ok || !ok2 {
		t.Fatal("the simulator lacks backup-app-1 or backup-app-noroles")
	}
	req := restore.Request{Options: restore.JobOptions{BypassBusinessLogic: true},
		Scope: plan.Scope{Deleted: true, Tables: []string{"account", "contact", "task"}}}

	t.Run("refused", func(t *testing.T) {
		rec := &headerRecorder{next: f.sim.Client().Transport}
		f.dir.mu.Lock()
		f.dir.clients[f.envID] = []*dataverse.Client{appClient(t, f, admin, rec), appClient(t, f, noroles, rec)}
		f.dir.mu.Unlock()
		v0 := e.Version()
		j, rep := f.restore(ctx, req)
		if j.Status != restore.StatusFailed {
			t.Fatalf("job %s, want failed", j.Status)
		}
		if !strings.Contains(j.Error, "bypassBusinessLogic") || !strings.Contains(j.Error, "prvBypassCustomBusinessLogic") {
			t.Errorf("error %q does not say the bypass privilege is missing", j.Error)
		}
		if e.Version() != v0 || rec.writes != 0 || present(e, "account", acc) {
			t.Errorf("something was written: version %d -> %d, %d writes", v0, e.Version(), rec.writes)
		}
		if len(rep) != 0 || j.Counts.Created != 0 {
			t.Errorf("a refused job has results: %+v", rep)
		}
	})

	t.Run("system administrator", func(t *testing.T) {
		rec := &headerRecorder{next: f.sim.Client().Transport}
		f.dir.mu.Lock()
		f.dir.clients[f.envID] = []*dataverse.Client{appClient(t, f, admin, rec)}
		f.dir.mu.Unlock()
		j, rep := f.restore(ctx, req)
		if j.Status != restore.StatusSucceeded || j.Counts.Created != 3 {
			t.Fatalf("job %s (%s), counts %+v: %v", j.Status, j.Error, j.Counts, failures(rep))
		}
		if rec.writes == 0 || rec.marks != rec.writes {
			t.Errorf("%d of %d writes carry %s: %s", rec.marks, rec.writes, dataverse.HeaderBypassBusinessLogic, dataverse.BypassBusinessLogicValue)
		}
		if got := refOf(get(t, e, "task", task), "regardingobjectid"); got != con {
			t.Errorf("task regardingobjectid = %q, want %s", got, con)
		}
	})
}
