package backupdemo

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"reflect"
	"sort"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// RestoreSummary is the restore member of make demo's summary line.
type RestoreSummary struct {
	Deleted   int     `json:"deleted"`
	Restored  int     `json:"restored"`
	Links     int     `json:"links"`
	Identical bool    `json:"identical"`
	Seconds   float64 `json:"seconds"`
	Job       string  `json:"job"`
	Status    string  `json:"status"`
}

type rowKey struct{ table, id string }

// victimSet picks n accounts with their contacts, the notes (one with an
// attachment) and tasks hanging on them, and a project with a file column
// linked N:N to the first account: the slice of an organization a careless
// bulk delete takes away.
func victimSet(e *dataversesim.Env, n int) ([]rowKey, error) {
	ref := func(row map[string]any, col string) (string, string) {
		if r, ok := row[col].(dataversesim.Ref); ok {
			return r.Table, r.ID
		}
		return "", ""
	}
	contactsOf := map[string][]string{}
	for _, id := range e.IDs("contact") {
		row, _ := e.Get("contact", id)
		if tb, p := ref(row, "parentcustomerid"); tb == "account" {
			contactsOf[p] = append(contactsOf[p], id)
		}
	}
	// What hangs on each record: notes (with attachment or not) and tasks.
	notesOn, attachOn, tasksOn := map[string][]string{}, map[string]bool{}, map[string][]string{}
	for _, id := range e.IDs("annotation") {
		row, _ := e.Get("annotation", id)
		_, p := ref(row, "objectid")
		notesOn[p] = append(notesOn[p], id)
		if row["documentbody"] != nil {
			attachOn[p] = true
		}
	}
	for _, id := range e.IDs("task") {
		row, _ := e.Get("task", id)
		_, p := ref(row, "regardingobjectid")
		tasksOn[p] = append(tasksOn[p], id)
	}
	family := func(a string) []string { return append([]string{a}, contactsOf[a]...) }
	has := func(a string, on func(string) bool) bool {
		for _, r := range family(a) {
			if on(r) {
				return true
			}
		}
		return false
	}
	withAttachment := func(a string) bool { return has(a, func(r string) bool { return attachOn[r] }) }
	withTask := func(a string) bool { return has(a, func(r string) bool { return len(tasksOn[r]) > 0 }) }

	// The first account is linked N:N to a project with a file; the others
	// are chosen so the slice holds a note with an attachment and a task.
	var accounts []string
	var project string
	for _, id := range e.IDs("account") {
		if len(contactsOf[id]) == 0 {
			continue
		}
		for _, p := range e.Associated("cr1_account_cr1_project", id) {
			if row, ok := e.Get("cr1_project", p); ok && row["cr1_document"] != nil {
				project = p
				break
			}
		}
		if project != "" {
			accounts = append(accounts, id)
			break
		}
	}
	gotAttachment := len(accounts) == 1 && withAttachment(accounts[0])
	gotTask := len(accounts) == 1 && withTask(accounts[0])
	for _, id := range e.IDs("account") {
		if len(accounts) == 0 || len(accounts) >= n {
			break
		}
		if id == accounts[0] || len(contactsOf[id]) == 0 {
			continue
		}
		a, t := withAttachment(id), withTask(id)
		missing := n - len(accounts)
		if (!gotAttachment && !a || !gotTask && !t) && missing <= btoi(!gotAttachment)+btoi(!gotTask) && !(a && t) {
			continue // keep the last places for what the slice still lacks
		}
		accounts = append(accounts, id)
		gotAttachment, gotTask = gotAttachment || a, gotTask || t
	}
	if len(accounts) < n {
		return nil, fmt.Errorf("the demo organization has only %d fitting accounts (with contacts, a project with a file, notes with attachments, tasks); seed more records", len(accounts))
	}
	parents := map[string]bool{}
	var out []rowKey
	for _, a := range accounts {
		out = append(out, rowKey{"account", a})
		parents[a] = true
		for _, c := range contactsOf[a] {
			out = append(out, rowKey{"contact", c})
			parents[c] = true
		}
	}
	out = append(out, rowKey{"cr1_project", project})
	attachments, tasks := 0, 0
	for p := range parents {
		for _, id := range notesOn[p] {
			out = append(out, rowKey{"annotation", id})
			if attachOn[p] {
				row, _ := e.Get("annotation", id)
				if row["documentbody"] != nil {
					attachments++
				}
			}
		}
		for _, id := range tasksOn[p] {
			out = append(out, rowKey{"task", id})
			tasks++
		}
	}
	if attachments == 0 || tasks == 0 {
		return nil, fmt.Errorf("the chosen accounts have %d notes with attachments and %d tasks; the demo needs both", attachments, tasks)
	}
	return out, nil
}

func btoi(b bool) int {
	if b {
		return 1
	}
	return 0
}

// snapshot is what the victims look like in the simulator: their fields
// (without the columns any write changes), N:N links and file contents.
type snapshot struct {
	rows  map[rowKey]map[string]any
	links map[string][]string
	files map[rowKey]string
}

// volatile columns change on any write or are set by the restore itself.
var volatile = map[string]bool{"@version": true, "modifiedon": true, "modifiedby": true, "createdby": true, "versionnumber": true, "overriddencreatedon": true}

func takeSnapshot(e *dataversesim.Env, keys []rowKey) snapshot {
	s := snapshot{rows: map[rowKey]map[string]any{}, links: map[string][]string{}, files: map[rowKey]string{}}
	for _, k := range keys {
		row, ok := e.Get(k.table, k.id)
		if !ok {
			continue
		}
		clean := map[string]any{}
		for col, v := range row {
			if volatile[col] || col == "cr1_document" || col == "cr1_imageid" {
				continue // file ids are compared by content below
			}
			if t, ok := v.(time.Time); ok {
				v = t.UTC().Truncate(time.Second)
			}
			clean[col] = v
		}
		s.rows[k] = clean
		if k.table == "account" {
			l := e.Associated("cr1_account_cr1_project", k.id)
			sort.Strings(l)
			s.links[k.id] = l
		}
		if fid, ok := row["cr1_document"].(string); ok {
			name, _, data, _ := e.File(fid)
			s.files[k] = name + ":" + string(data)
		}
	}
	return s
}

// diff lists every difference between want and the simulator now.
func diff(e *dataversesim.Env, want snapshot) []string {
	var keys []rowKey
	for k := range want.rows {
		keys = append(keys, k)
	}
	now := takeSnapshot(e, keys)
	var out []string
	for k, w := range want.rows {
		g, ok := now.rows[k]
		if !ok {
			out = append(out, fmt.Sprintf("%s %s missing", k.table, k.id))
			continue
		}
		for col, wv := range w {
			if !reflect.DeepEqual(wv, g[col]) {
				out = append(out, fmt.Sprintf("%s %s.%s = %v, want %v", k.table, k.id, col, g[col], wv))
			}
		}
		for col := range g {
			if _, ok := w[col]; !ok {
				out = append(out, fmt.Sprintf("%s %s.%s present, want absent", k.table, k.id, col))
			}
		}
	}
	for a, l := range want.links {
		if !reflect.DeepEqual(l, now.links[a]) {
			out = append(out, fmt.Sprintf("account %s N:N links %v, want %v", a, now.links[a], l))
		}
	}
	for k, f := range want.files {
		if now.files[k] != f {
			out = append(out, fmt.Sprintf("%s %s file differs", k.table, k.id))
		}
	}
	sort.Strings(out)
	return out
}

// RestoreDeleted is make demo's restore part: delete a slice of the
// organization in the simulator (accounts with contacts, notes with
// attachments, tasks, a project with a file and its N:N link), restore the
// deleted records of run through the HTTP API, and compare the simulator
// with its state before the deletion.
func (s *Stack) RestoreDeleted(ctx context.Context, env, run string) (RestoreSummary, error) {
	var sum RestoreSummary
	e := s.Sim.Demo()
	keys, err := victimSet(e, 3)
	if err != nil {
		return sum, err
	}
	before := takeSnapshot(e, keys)
	for _, l := range before.links {
		sum.Links += len(l)
	}
	for _, k := range keys {
		if _, ok := e.Get(k.table, k.id); !ok {
			continue // an earlier delete's cascade took it (contacts of a deleted account)
		}
		if err := e.Delete(k.table, k.id); err != nil {
			return sum, fmt.Errorf("delete %s %s: %w", k.table, k.id, err)
		}
	}
	sum.Deleted = len(keys)
	s.logf("deleted %d records in the simulator (accounts, contacts, notes with attachments, tasks, a project with a file; %d N:N links)", sum.Deleted, sum.Links)

	start := time.Now()
	var job restore.Job
	req := restore.Request{Environment: env, Run: run, Scope: plan.Scope{Deleted: true}}
	if _, err := s.call(ctx, http.MethodPost, "/restores", req, &job); err != nil {
		return sum, err
	}
	sum.Job = job.ID
	s.logf("restore %s started: deleted records of run %s", job.ID, run)
	for !restore.Terminal(job.Status) {
		select {
		case <-ctx.Done():
			return sum, fmt.Errorf("waiting for restore %s (%s): %w", job.ID, job.Status, ctx.Err())
		case <-time.After(200 * time.Millisecond):
		}
		if _, err := s.call(ctx, http.MethodGet, "/restores/"+job.ID, nil, &job); err != nil {
			return sum, err
		}
	}
	sum.Seconds = time.Since(start).Seconds()
	sum.Status = job.Status
	sum.Restored = job.Counts.Created
	diffs := diff(e, before)
	sum.Identical = len(diffs) == 0 && job.Status == restore.StatusSucceeded
	s.logf("restore %s %s in %.1f s: %d created, %d updated, %d skipped, %d failed, %d links; %d differences from before the deletion %v",
		job.ID, job.Status, sum.Seconds, job.Counts.Created, job.Counts.Updated, job.Counts.Skipped, job.Counts.Failed, job.Counts.Associations, len(diffs), first(diffs, 5))
	if job.Status != restore.StatusSucceeded {
		s.logFailures(ctx, job.ID)
		return sum, errors.New("restore " + job.ID + " ended " + job.Status + ": " + job.Error)
	}
	return sum, nil
}

// logFailures prints the failed lines of a restore's report, so a partial
// demo restore says what it could not write and why.
func (s *Stack) logFailures(ctx context.Context, job string) {
	var rep struct {
		Records []restore.RecordResult `json:"records"`
	}
	if _, err := s.call(ctx, http.MethodGet, "/restores/"+job+"/report.json", nil, &rep); err != nil {
		s.logf("restore %s report: %v", job, err)
		return
	}
	n := 0
	for _, r := range rep.Records {
		if r.Status == restore.ResFailed {
			if n++; n <= 10 {
				s.logf("  failed %s %s %s: %s %s", r.Kind, r.Table, r.Source, r.Code, r.Message)
			}
		}
	}
	if n > 10 {
		s.logf("  ... and %d more failed lines", n-10)
	}
}
