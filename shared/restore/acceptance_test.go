package restore_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// rowKey names a record of the simulator.
type rowKey struct{ table, id string }

// victims picks accounts that have contacts, notes (with an attachment),
// tasks and an N:N link to a project, plus everything that hangs on them,
// so deleting them deletes a realistic slice of the organization.
func victims(t *testing.T, e *dataversesim.Env, n int) []rowKey {
	t.Helper()
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
	linked := map[string]bool{}
	for _, id := range e.IDs("account") {
		if len(e.Associated("cr1_account_cr1_project", id)) > 0 {
			linked[id] = true
		}
	}
	notesOf := map[string][]string{}
	for _, id := range e.IDs("annotation") {
		row, _ := e.Get("annotation", id)
		_, p := ref(row, "objectid")
		notesOf[p] = append(notesOf[p], id)
	}
	var accounts []string
	hasAttachment := false
	for _, id := range e.IDs("account") {
		if len(accounts) >= n {
			break
		}
		if len(contactsOf[id]) == 0 {
			continue
		}
		if len(accounts) == 0 && !linked[id] {
			continue // the first one has an N:N link
		}
		accounts = append(accounts, id)
	}
	if len(accounts) < n {
		t.Fatalf("the seeded organization has only %d fitting accounts", len(accounts))
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
	// Notes and tasks of those records; make sure one note carries an
	// attachment and one task exists by adding them when the seed has none.
	for p := range parents {
		for _, nid := range notesOf[p] {
			row, _ := e.Get("annotation", nid)
			if row["documentbody"] != nil {
				hasAttachment = true
			}
			out = append(out, rowKey{"annotation", nid})
		}
	}
	if !hasAttachment {
		id, err := e.Create("annotation", map[string]any{"subject": "Contract", "notetext": "signed", "filename": "contract.txt", "mimetype": "text/plain",
			"isdocument": true, "filesize": int64(21), "documentbody": "c2lnbmVkIGNvbnRyYWN0IGJ5dGVz", "objectid": dataversesim.Ref{Table: "account", ID: accounts[0]}, "objecttypecode": "account", "ownerid": owner(e, accounts[0]), "owningbusinessunit": bu(e, accounts[0])})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rowKey{"annotation", id})
	}
	tasks := 0
	for _, id := range e.IDs("task") {
		row, _ := e.Get("task", id)
		if _, p := ref(row, "regardingobjectid"); parents[p] {
			out = append(out, rowKey{"task", id})
			tasks++
		}
	}
	if tasks == 0 {
		id, err := e.Create("task", map[string]any{"subject": "Call back", "regardingobjectid": dataversesim.Ref{Table: "contact", ID: contactsOf[accounts[0]][0]}, "ownerid": owner(e, accounts[0]), "owningbusinessunit": bu(e, accounts[0])})
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, rowKey{"task", id})
	}
	return out
}

func owner(e *dataversesim.Env, account string) dataversesim.Ref {
	row, _ := e.Get("account", account)
	return row["ownerid"].(dataversesim.Ref)
}

func bu(e *dataversesim.Env, account string) dataversesim.Ref {
	row, _ := e.Get("account", account)
	return row["owningbusinessunit"].(dataversesim.Ref)
}

// ignored columns change on any write (or are set by the restore itself).
var ignored = map[string]bool{"@version": true, "modifiedon": true, "modifiedby": true, "createdby": true, "versionnumber": true, "overriddencreatedon": true}

type snapshot struct {
	rows  map[rowKey]map[string]any
	links map[string][]string // account -> projects
	files map[rowKey]string   // cr1_project -> name + content
}

func takeSnapshot(e *dataversesim.Env, keys []rowKey) snapshot {
	s := snapshot{rows: map[rowKey]map[string]any{}, links: map[string][]string{}, files: map[rowKey]string{}}
	for _, k := range keys {
		row, ok := e.Get(k.table, k.id)
		if !ok {
			continue
		}
		s.rows[k] = clean(row)
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

func clean(row map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range row {
		if ignored[k] || k == "cr1_document" || k == "cr1_imageid" {
			continue
		}
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Truncate(time.Second)
		}
		out[k] = v
	}
	return out
}

// compare reports every difference between the snapshot and the simulator now.
func compare(t *testing.T, e *dataversesim.Env, want snapshot) {
	t.Helper()
	now := takeSnapshot(e, keysOf(want))
	var diffs []string
	for k, w := range want.rows {
		g, ok := now.rows[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s %s missing", k.table, k.id))
			continue
		}
		for col, wv := range w {
			if !reflect.DeepEqual(wv, g[col]) {
				diffs = append(diffs, fmt.Sprintf("%s %s.%s = %v, want %v", k.table, k.id, col, g[col], wv))
			}
		}
		for col, gv := range g {
			if _, ok := w[col]; !ok {
				diffs = append(diffs, fmt.Sprintf("%s %s.%s = %v, want absent", k.table, k.id, col, gv))
			}
		}
	}
	for a, l := range want.links {
		if !reflect.DeepEqual(l, now.links[a]) {
			diffs = append(diffs, fmt.Sprintf("account %s N:N links %v, want %v", a, now.links[a], l))
		}
	}
	for k, f := range want.files {
		if now.files[k] != f {
			diffs = append(diffs, fmt.Sprintf("%s %s file differs (%d bytes, want %d)", k.table, k.id, len(now.files[k]), len(f)))
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		if len(diffs) > 25 {
			diffs = append(diffs[:25], fmt.Sprintf("... %d more", len(diffs)-25))
		}
		t.Errorf("state after restore differs from before the deletion:\n%s", strings.Join(diffs, "\n"))
	}
}

func keysOf(s snapshot) []rowKey {
	var out []rowKey
	for k := range s.rows {
		out = append(out, k)
	}
	return out
}

func deleteAll(t *testing.T, e *dataversesim.Env, keys []rowKey) {
	t.Helper()
	for _, k := range keys {
		if _, ok := e.Get(k.table, k.id); !ok {
			continue // taken by the cascade of an earlier delete (contacts of a deleted account)
		}
		if err := e.Delete(k.table, k.id); err != nil {
			t.Fatal(err)
		}
	}
}

func countBy(rep []restore.RecordResult) map[string]int {
	out := map[string]int{}
	for _, r := range rep {
		out[string(r.Kind)+"/"+r.Status]++
	}
	return out
}

func failures(rep []restore.RecordResult) []string {
	var out []string
	for _, r := range rep {
		if r.Status == restore.ResFailed {
			out = append(out, fmt.Sprintf("%s %s %s: %s %s %s", r.Kind, r.Table, r.Source, r.Reason, r.Code, r.Message))
		}
	}
	return out
}

// TestRestoreDeletedRecords is the first acceptance item: accounts with
// their contacts, notes (attachments), tasks, a project with a file and an
// N:N link are deleted. Dataverse's delete cascades (the simulator applies
// each relationship's CascadeConfiguration.Delete): Cascade takes the
// accounts' contacts, notes, activities (with their parties), cases,
// opportunities, quotes with their lines and close records; RemoveLink
// clears the lookups of records that survive (child accounts, projects).
// Restoring the deleted records of the last run puts back every record the
// delete took, with the same ids, parents before the children their
// cascade took, and re-points the survivors' cleared lookups: the
// organization is as before the delete, row by row and field by field,
// except the columns Dataverse cannot write, which the job lists.
func TestRestoreDeletedRecords(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{identities: 2})
	e := f.demo
	keys := victims(t, e, 3)
	// A project with a file column, linked to the first account.
	var project string
	for _, p := range e.IDs("cr1_project") {
		if row, _ := e.Get("cr1_project", p); row["cr1_document"] != nil {
			project = p
			break
		}
	}
	if project == "" {
		t.Fatal("the seed has no project with a file")
	}
	keys = append(keys, rowKey{"cr1_project", project})
	f.backup(ctx)
	before := takeSnapshot(e, keys)
	if len(before.rows) != len(keys) {
		t.Fatalf("snapshot has %d of %d rows", len(before.rows), len(keys))
	}
	links := 0
	for _, l := range before.links {
		links += len(l)
	}
	if links == 0 {
		t.Fatal("no N:N link among the victims")
	}
	org := takeOrgState(e)
	roots := deleteRoots(t, e, keys)
	d := diffStates(org, takeOrgState(e))
	// Rows the delete took: records, the parties that went with their
	// activities, and N:N links (restored as associations).
	var records, parties, assocs int
	for _, k := range d.deleted {
		switch {
		case k.table == "activityparty":
			parties++
		case e.Table(k.table).IsIntersect:
			assocs++
		default:
			records++
		}
	}
	if records <= len(roots) || len(d.survivors) == 0 || d.cleared == 0 || parties == 0 {
		t.Fatalf("the delete of %d records should cascade and clear links: took %d records and %d parties, changed %d survivors (%d lookups)",
			len(roots), records, parties, len(d.survivors), d.cleared)
	}
	start := time.Now()
	j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true}})
	t.Logf("restored %d records (%d by cascade), relinked %d, %d links in %.2fs: %+v (throttled %d); not writable: %+v",
		j.Counts.Created, j.Counts.CascadeRestored, j.Counts.Relinked, j.Counts.Associations, time.Since(start).Seconds(), countBy(rep), j.Throttled, j.NotWritable)
	if fl := failures(rep); len(fl) > 0 {
		dumpRows(t, f, j.ID)
		t.Errorf("failures:\n%s", strings.Join(fl, "\n"))
	}
	if j.Status != restore.StatusSucceeded {
		t.Errorf("job %s: %s", j.Status, j.Error)
	}
	// Every record the delete took is created (parties with their
	// activities, not on their own); all but the ones deleted explicitly
	// came back through a Cascade relationship with their parent; each
	// cleared lookup of a survivor is re-pointed.
	if j.Counts.Created != records {
		t.Errorf("created %d records, want %d (the delete of %d took %d)", j.Counts.Created, records, len(roots), records)
	}
	if j.Counts.CascadeRestored != records-len(roots) {
		t.Errorf("cascadeRestored %d, want %d", j.Counts.CascadeRestored, records-len(roots))
	}
	if j.Counts.Relinked != d.cleared {
		t.Errorf("relinked %d, want the %d lookups the delete cleared", j.Counts.Relinked, d.cleared)
	}
	if j.Counts.Associations != assocs {
		t.Errorf("associated %d links, want the %d the delete removed", j.Counts.Associations, assocs)
	}
	if j.Counts.NotWritable != len(j.NotWritable) || j.Counts.NotWritable == 0 {
		t.Errorf("notWritable %d, listed %d", j.Counts.NotWritable, len(j.NotWritable))
	}
	// Parents first: a record restored through a cascade is written
	// after the restored parent whose delete took it.
	keysOf := resultKeys(t, f, j.ID)
	for _, r := range keysOf {
		if r.Cascade == "" {
			continue
		}
		first := false
		for _, v := range org[rowKey{r.Table, r.Source}] {
			if ref, ok := v.(dataversesim.Ref); ok {
				if p, ok := keysOf[ref.Table+"/"+ref.ID]; ok && p.Key < r.Key {
					first = true
				}
			}
		}
		if !first {
			t.Errorf("%s %s (%s) is written at %s, before any restored parent", r.Table, r.Source, r.Cascade, r.Key)
		}
	}
	compare(t, e, before)
	compareTouched(t, e, org, takeOrgState(e), d, j)
}
