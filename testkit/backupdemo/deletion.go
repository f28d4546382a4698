package backupdemo

import (
	"fmt"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
)

// The demo deletes as a user does: it deletes accounts (and a project), and
// Dataverse's cascades do the rest (dataversesim/cascade.go, after
// CascadeConfiguration.Delete of each relationship in Microsoft's table
// reference): contacts, opportunities, cases, activities and notes of an
// account go with it (Cascade), lookups to it on records that stay are
// cleared (RemoveLink: a child account's parentaccountid, a project's
// cr1_accountid), parties of surviving activities are marked deleted, and
// a delete that a Restrict relationship forbids (an account with orders or
// invoices) is refused. Every effect is predicted with Env.DeleteEffects
// before anything is deleted, so the comparison can cover every record the
// delete touches, and checked afterwards against what really changed.

type rowKey struct{ table, id string }

func (k rowKey) String() string { return k.table + "/" + k.id }

func parseRowKey(s string) rowKey {
	t, id, _ := strings.Cut(s, "/")
	return rowKey{t, id}
}

// deletion is what the demo deletes and what that delete touches.
type deletion struct {
	victims   []rowKey        // what the user deletes, in this order
	deleted   map[rowKey]bool // victims and everything their delete cascades to
	survivors map[rowKey]bool // rows that stay but change (lookups cleared, parties marked deleted)
	anchor    string          // the account of the acceptance scenario (issue 13)
}

// touched lists every row the delete removes or changes, sorted.
func (d *deletion) touched() []rowKey {
	var out []rowKey
	for k := range d.deleted {
		out = append(out, k)
	}
	for k := range d.survivors {
		out = append(out, k)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].String() < out[j].String() })
	return out
}

// count returns how many rows of d.deleted are of table.
func (d *deletion) count(table string) int {
	n := 0
	for k := range d.deleted {
		if k.table == table {
			n++
		}
	}
	return n
}

// predict adds what deleting k does to d; it fails when the delete is
// restricted.
func (d *deletion) predict(e *dataversesim.Env, k rowKey) error {
	deleted, changed, restrictedBy := e.DeleteEffects(k.table, k.id)
	if restrictedBy != "" {
		return fmt.Errorf("deleting %s is restricted by %s: delete the records it names first", k, restrictedBy)
	}
	if len(deleted) == 0 {
		return fmt.Errorf("%s is not in the organization", k)
	}
	d.victims = append(d.victims, k)
	for _, s := range deleted {
		d.deleted[parseRowKey(s)] = true
	}
	for _, s := range changed {
		d.survivors[parseRowKey(s)] = true
	}
	for r := range d.survivors {
		if d.deleted[r] {
			delete(d.survivors, r) // changed by one victim's delete, removed by another's
		}
	}
	return nil
}

// orgIndex answers "which rows point at this one" for the demo's choices.
type orgIndex struct {
	e    *dataversesim.Env
	refs map[string]map[string][]string // "table.column" -> referenced id -> referencing ids
}

func newOrgIndex(e *dataversesim.Env) *orgIndex {
	return &orgIndex{e: e, refs: map[string]map[string][]string{}}
}

// referencing returns the ids of table whose column points at id.
func (x *orgIndex) referencing(table, column, id string) []string {
	key := table + "." + column
	m := x.refs[key]
	if m == nil {
		m = map[string][]string{}
		for _, rid := range x.e.IDs(table) {
			row, _ := x.e.Get(table, rid)
			if r, ok := row[column].(dataversesim.Ref); ok {
				m[r.ID] = append(m[r.ID], rid)
			}
		}
		x.refs[key] = m
	}
	return m[id]
}

// where returns the ids among ids whose row satisfies ok.
func (x *orgIndex) where(table string, ids []string, ok func(map[string]any) bool) []string {
	var out []string
	for _, id := range ids {
		if row, found := x.e.Get(table, id); found && ok(row) {
			out = append(out, id)
		}
	}
	return out
}

func stateIs(s int64) func(map[string]any) bool {
	return func(row map[string]any) bool { return row["statecode"] == s }
}

// anchorAccount finds the account of issue 13's acceptance scenario: it has
// contacts (Cascade), is the parent of another account (RemoveLink), has a
// won opportunity with its opportunityclose, a resolved case with its
// incidentresolution, emails with parties and an appointment, and its delete
// is not restricted. The seeded organization has one (dataversesim/seed_org.go).
func anchorAccount(x *orgIndex) (string, error) {
	for _, a := range x.e.IDs("account") {
		if len(x.referencing("contact", "parentcustomerid", a)) == 0 || len(x.referencing("account", "parentaccountid", a)) == 0 {
			continue
		}
		won := x.where("opportunity", x.referencing("opportunity", "customerid", a), stateIs(1))
		if !anyHas(x, won, "opportunityclose", "opportunityid") {
			continue
		}
		resolved := x.where("incident", x.referencing("incident", "customerid", a), stateIs(1))
		if !anyHas(x, resolved, "incidentresolution", "incidentid") {
			continue
		}
		emails := x.where("email", x.referencing("email", "regardingobjectid", a), func(map[string]any) bool { return true })
		if !anyHas(x, emails, "activityparty", "activityid") || len(x.referencing("appointment", "regardingobjectid", a)) == 0 {
			continue
		}
		if _, _, restrictedBy := x.e.DeleteEffects("account", a); restrictedBy != "" {
			continue
		}
		return a, nil
	}
	return "", fmt.Errorf("the demo organization has no account with contacts, a child account, a won opportunity, a resolved case, emails with parties and an appointment whose delete is not restricted; seed more records")
}

// anyHas reports whether a row of table points at one of ids through column.
func anyHas(x *orgIndex, ids []string, table, column string) bool {
	for _, id := range ids {
		if len(x.referencing(table, column, id)) > 0 {
			return true
		}
	}
	return false
}

// planDeletion chooses what the demo deletes: the anchor account; a project
// with a file linked N:N to a deleted account, and that project; more
// accounts with contacts until the slice holds a note with an attachment and
// a task. Accounts whose delete is restricted are passed over. Nothing is
// deleted yet.
func planDeletion(e *dataversesim.Env) (*deletion, error) {
	x := newOrgIndex(e)
	anchor, err := anchorAccount(x)
	if err != nil {
		return nil, err
	}
	d := &deletion{deleted: map[rowKey]bool{}, survivors: map[rowKey]bool{}, anchor: anchor}
	if err := d.predict(e, rowKey{"account", anchor}); err != nil {
		return nil, err
	}
	deletable := func(a string) bool {
		if d.deleted[rowKey{"account", a}] || len(x.referencing("contact", "parentcustomerid", a)) == 0 {
			return false
		}
		_, _, restrictedBy := e.DeleteEffects("account", a)
		return restrictedBy == ""
	}
	// A project with a file, linked N:N to an account that goes (the anchor
	// if it has one).
	project, owner := "", ""
	for _, p := range e.IDs("cr1_project") {
		if row, _ := e.Get("cr1_project", p); row["cr1_document"] == nil {
			continue
		}
		for _, a := range e.Associated("cr1_account_cr1_project", p) {
			if a == anchor {
				project, owner = p, a
				break
			}
			if owner == "" && deletable(a) {
				project, owner = p, a
			}
		}
		if owner == anchor {
			break
		}
	}
	if project == "" {
		return nil, fmt.Errorf("the demo organization has no project with a file linked to an account that can be deleted; seed more records")
	}
	if owner != anchor {
		if err := d.predict(e, rowKey{"account", owner}); err != nil {
			return nil, err
		}
	}
	if err := d.predict(e, rowKey{"cr1_project", project}); err != nil {
		return nil, err
	}
	// A note with an attachment and a task among what goes.
	holds := func(table string, ok func(map[string]any) bool) bool {
		for k := range d.deleted {
			if row, _ := e.Get(k.table, k.id); k.table == table && ok(row) {
				return true
			}
		}
		return false
	}
	attachment := func(row map[string]any) bool { return row["documentbody"] != nil }
	anyRow := func(map[string]any) bool { return true }
	for _, a := range e.IDs("account") {
		if holds("annotation", attachment) && holds("task", anyRow) {
			break
		}
		if !deletable(a) {
			continue
		}
		deleted, _, _ := e.DeleteEffects("account", a)
		brings := false
		for _, s := range deleted {
			k := parseRowKey(s)
			row, _ := e.Get(k.table, k.id)
			brings = brings || k.table == "annotation" && !holds("annotation", attachment) && attachment(row) ||
				k.table == "task" && !holds("task", anyRow)
		}
		if brings {
			if err := d.predict(e, rowKey{"account", a}); err != nil {
				return nil, err
			}
		}
	}
	if !holds("annotation", attachment) || !holds("task", anyRow) {
		return nil, fmt.Errorf("no deletable accounts bring a note with an attachment and a task; seed more records")
	}
	return d, nil
}

// apply deletes the victims through the simulator as a user's deletes (each
// cascading), then checks that exactly the predicted rows went and exactly
// the predicted survivors changed; a removed N:N link must be one of the
// snapshot's (taken before). It returns the number of N:N links removed.
func (d *deletion) apply(e *dataversesim.Env, snap *snapshot) (links int, err error) {
	before := stateOf(e)
	for _, v := range d.victims {
		if _, ok := e.Get(v.table, v.id); !ok {
			continue // went with an earlier victim
		}
		if err := e.Delete(v.table, v.id); err != nil {
			return 0, fmt.Errorf("delete %s: %w", v, err)
		}
	}
	after := stateOf(e)
	var unexpected []string
	for table, rows := range before {
		intersect := e.Table(table) != nil && e.Table(table).IsIntersect
		for id, v := range rows {
			k := rowKey{table, id}
			nv, stays := after[table][id]
			switch {
			case intersect && !stays:
				if _, ok := snap.linkRows[k]; !ok {
					unexpected = append(unexpected, "link "+k.String()+" removed")
				}
				links++
			case !stays && !d.deleted[k]:
				unexpected = append(unexpected, k.String()+" deleted")
			case stays && d.deleted[k]:
				unexpected = append(unexpected, k.String()+" not deleted")
			case stays && nv != v && !d.survivors[k]:
				unexpected = append(unexpected, k.String()+" changed")
			case stays && nv == v && d.survivors[k]:
				unexpected = append(unexpected, k.String()+" unchanged")
			}
		}
	}
	if len(unexpected) > 0 {
		sort.Strings(unexpected)
		return links, fmt.Errorf("the delete did other than Env.DeleteEffects predicted (%d rows): %v", len(unexpected), first(unexpected, 10))
	}
	return links, nil
}
