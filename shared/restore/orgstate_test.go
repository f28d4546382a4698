package restore_test

import (
	"context"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

// orgState is every row of every table of a simulated environment, cleaned
// of the columns any write changes (ignored).
type orgState map[rowKey]map[string]any

func takeOrgState(e *dataversesim.Env) orgState {
	s := orgState{}
	for _, t := range e.Tables() {
		for _, id := range e.IDs(t) {
			if row, ok := e.Get(t, id); ok {
				s[rowKey{t, id}] = clean(row)
			}
		}
	}
	return s
}

// touched is what a delete did to an organization: the rows it removed
// and the rows that survived it changed (lookups cleared, parties marked
// deleted), compared with the state before.
type touched struct {
	deleted, survivors []rowKey
	// cleared counts the lookups of surviving rows (activity parties
	// aside) that the delete set to null.
	cleared int
	// orphans are deleted activities whose parties the delete left behind
	// (a simulator defect: Dataverse deletes an activity's parties with it).
	orphans map[string]bool
}

func diffStates(before, after orgState) touched {
	var d touched
	for k, row := range before {
		now, ok := after[k]
		switch {
		case !ok:
			d.deleted = append(d.deleted, k)
		case !reflect.DeepEqual(row, now):
			d.survivors = append(d.survivors, k)
			if k.table == "activityparty" {
				continue
			}
			for col, v := range row {
				if _, isRef := v.(dataversesim.Ref); isRef && now[col] == nil {
					d.cleared++
				}
			}
		}
	}
	sortKeys(d.deleted)
	sortKeys(d.survivors)
	gone := map[string]bool{}
	for _, k := range d.deleted {
		gone[k.id] = true
	}
	for k, row := range after {
		if act, ok := row["activityid"].(dataversesim.Ref); ok && k.table == "activityparty" && gone[act.ID] {
			if d.orphans == nil {
				d.orphans = map[string]bool{}
			}
			d.orphans[act.ID] = true
		}
	}
	return d
}

func sortKeys(ks []rowKey) {
	sort.Slice(ks, func(i, j int) bool { return ks[i].table+ks[i].id < ks[j].table+ks[j].id })
}

// deleteRoots deletes the rows of keys still present (the others went with
// an earlier row's cascade) and returns the ones it deleted itself.
func deleteRoots(t *testing.T, e *dataversesim.Env, keys []rowKey) []rowKey {
	t.Helper()
	var roots []rowKey
	for _, k := range keys {
		if _, ok := e.Get(k.table, k.id); !ok {
			continue
		}
		if err := e.Delete(k.table, k.id); err != nil {
			t.Fatal(err)
		}
		roots = append(roots, k)
	}
	return roots
}

// byContent renders a row without its primary key: a restored activity's
// parties are new rows (Dataverse gives the rows of a deep insert their
// ids), and so are the intersect rows of restored N:N links.
func byContent(row map[string]any, pk string) string {
	var cols []string
	for k, v := range row {
		if k != pk {
			cols = append(cols, fmt.Sprintf("%s=%v", k, v))
		}
	}
	sort.Strings(cols)
	return strings.Join(cols, " ")
}

// partiesOf lists the parties of activity id by content.
func partiesOf(s orgState, id string) []string {
	var out []string
	for k, row := range s {
		if ref, ok := row["activityid"].(dataversesim.Ref); ok && k.table == "activityparty" && ref.ID == id {
			out = append(out, byContent(row, "activitypartyid"))
		}
	}
	sort.Strings(out)
	return out
}

// compareTouched checks that every row the delete touched is back as it was,
// field by field: deleted rows (activity parties by content) and survivors.
// A column may differ only where Dataverse cannot restore it, and then the
// job must list it in notWritable.
func compareTouched(t *testing.T, e *dataversesim.Env, before, after orgState, d touched, j *restore.Job) {
	t.Helper()
	listed := map[string]bool{}
	for _, nw := range j.NotWritable {
		listed[nw.Table+"."+nw.Column] = true
	}
	var diffs []string
	check := func(k rowKey, want, got map[string]any) {
		for _, col := range unionKeys(want, got) {
			if reflect.DeepEqual(want[col], got[col]) {
				continue
			}
			if listed[k.table+"."+col] {
				continue // reported as not writable: checked below that it is a documented limit
			}
			diffs = append(diffs, fmt.Sprintf("%s %s.%s = %v, want %v", k.table, k.id, col, got[col], want[col]))
		}
	}
	// The parties of every activity the delete took: as before, by
	// content, none lost and none twice.
	activities := map[string]bool{}
	for _, k := range d.deleted {
		if k.table != "activityparty" && len(partiesOf(before, k.id)) > 0 {
			activities[k.id] = true
		}
	}
	for act := range d.orphans {
		delete(activities, act)
	}
	links := map[string]map[string]int{} // intersect table -> link by content -> rows
	for _, k := range d.deleted {
		if k.table == "activityparty" {
			continue
		}
		if def := e.Table(k.table); def.IsIntersect {
			if links[k.table] == nil {
				links[k.table] = map[string]int{}
			}
			links[k.table][byContent(before[k], def.PrimaryID)]++
			continue
		}
		got, ok := after[k]
		if !ok {
			diffs = append(diffs, fmt.Sprintf("%s %s missing", k.table, k.id))
			continue
		}
		check(k, before[k], got)
	}
	for act := range activities {
		if want, got := partiesOf(before, act), partiesOf(after, act); !reflect.DeepEqual(want, got) {
			diffs = append(diffs, fmt.Sprintf("parties of activity %s:\n  got  %v\n  want %v", act, got, want))
		}
	}
	for _, k := range d.survivors {
		check(k, before[k], after[k])
	}
	for table, want := range links {
		got := map[string]int{}
		for k, row := range after {
			if k.table == table {
				got[byContent(row, e.Table(table).PrimaryID)]++
			}
		}
		for l, n := range want {
			if got[l] < n {
				diffs = append(diffs, fmt.Sprintf("%s link %s missing", table, l))
			}
		}
	}
	sort.Strings(diffs)
	if len(diffs) > 0 {
		if len(diffs) > 25 {
			diffs = append(diffs[:25], fmt.Sprintf("... %d more", len(diffs)-25))
		}
		t.Errorf("state after restore differs from before the deletion:\n%s", strings.Join(diffs, "\n"))
	}
	// The job lists only what Dataverse refuses: columns read-only in the
	// table's definition (not valid for create or update, calculated,
	// rollup) or missing, an email status no message reaches, and the
	// columns a close message stamps from its close activity.
	for _, nw := range j.NotWritable {
		if nw.Reason == "" || nw.Records == 0 {
			t.Errorf("not writable %+v: no reason or no record", nw)
		}
		a := e.Table(nw.Table).Attr(nw.Column)
		if a != nil && !a.ReadOnly && a.SourceType == 0 && !messageSet[nw.Table+"."+nw.Column] {
			t.Errorf("%s.%s listed as not writable (%s), but Dataverse accepts it", nw.Table, nw.Column, nw.Reason)
		}
	}
}

// messageSet are the columns set only by a state message (statemessages.go
// of the simulator): an email's Sent state by SendEmail, an opportunity's
// close date and actual value by WinOpportunity / LoseOpportunity.
var messageSet = map[string]bool{"email.statecode": true, "email.statuscode": true, "opportunity.actualclosedate": true, "opportunity.actualvalue": true}

func unionKeys(a, b map[string]any) []string {
	seen := map[string]bool{}
	var out []string
	for _, m := range []map[string]any{a, b} {
		for k := range m {
			if !seen[k] {
				seen[k] = true
				out = append(out, k)
			}
		}
	}
	sort.Strings(out)
	return out
}

// resultKeys returns the operation key of each record result of a job
// ("table/source" -> key), the order the job writes them in.
func resultKeys(t *testing.T, f *fixture, job string) map[string]restore.Result {
	t.Helper()
	out := map[string]restore.Result{}
	err := f.store.Results(context.Background(), job, "", func(r restore.Result) error {
		if r.Kind == "record" {
			out[r.Table+"/"+r.Source] = r
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}
