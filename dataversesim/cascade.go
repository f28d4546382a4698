package dataversesim

import (
	"sort"
	"strings"
	"time"
)

// Delete cascades (dataverse-reference.md section 11; issue 13 part 1
// item 3). Deleting a record applies CascadeConfiguration.Delete of every
// one-to-many relationship in which it is the referenced record
// (powerapps-docs, developer/data-platform/configure-entity-relationship-
// cascading-behavior.md):
//
//   - Cascade: the referencing rows are deleted too, recursively, each with
//     its own tombstone so change tracking reports it (contacts of an
//     account through contact_customer_accounts, its notes through
//     Account_Annotation, the activities regarding it, its opportunities).
//   - RemoveLink: the lookup is cleared on the rows that survive; each gets
//     a new version, so a delta returns it with the lookup null
//     (account_parent_account, account_primary_contact, account_master_account).
//   - Restrict: the delete is refused while a row that is not itself being
//     deleted references the record (invoice_customer_accounts,
//     order_customer_accounts, opportunity_sales_orders), with
//     CannotDeleteDueToAssociation (0x80040227) from the error catalogue
//     (developer/data-platform/includes/data-service-error-codes.md).
//   - NoCascade: nothing.
//
// Two facts beyond the relationships: an activity's activityparty rows are
// part of the activity (activityparty has no Create or Delete message of
// its own, reference/entities/activityparty.md), so they go with it; and a
// party whose record is deleted keeps its row with ispartydeleted set (the
// column's documented meaning) because <table>_activity_parties is NoCascade.
//
// The whole plan is computed before anything changes, so a Restrict leaves
// the organization untouched; inside a $batch change set every step is in
// the undo log like any other write.

// codeRestrictedDelete is CannotDeleteDueToAssociation.
const codeRestrictedDelete = "0x80040227"

type rowRef struct{ table, id string }

// deletePlan is what one delete does.
type deletePlan struct {
	deletes []rowRef            // the record first, then what cascades, level by level
	inSet   map[rowRef]bool     // deletes as a set
	unlink  map[rowRef][]string // survivors -> lookups to clear
	parties map[rowRef]bool     // activityparty rows whose party is deleted
	blocked *Rel1N              // the Restrict relationship that refuses the delete
}

// deleteBehaviour is how the simulator applies rel when its referenced
// record is deleted: the documented Delete cascade, except that parties
// always go with their activity.
func deleteBehaviour(rel *Rel1N) string {
	if rel.ReferencingEntity == "activityparty" && rel.ReferencingAttribute == "activityid" {
		return "Cascade"
	}
	return rel.Cascade.Delete
}

// refTo reports whether v is a lookup value pointing at one of ids of table.
func refTo(v any, table string, ids map[string]bool) (string, bool) {
	ref, ok := v.(Ref)
	if !ok || ref.Table != table || !ids[ref.ID] {
		return "", false
	}
	return ref.ID, true
}

// planDelete walks the relationships from the record outwards, one level at
// a time: each level scans every referencing table once.
func (e *Env) planDelete(table, id string) *deletePlan {
	p := &deletePlan{inSet: map[rowRef]bool{}, unlink: map[rowRef][]string{}, parties: map[rowRef]bool{}}
	root := rowRef{table, id}
	p.deletes = append(p.deletes, root)
	p.inSet[root] = true
	frontier := map[string]map[string]bool{table: {id: true}}
	for len(frontier) > 0 {
		next := map[string]map[string]bool{}
		for _, rel := range e.s.schema.rels {
			ids := frontier[rel.ReferencedEntity]
			if ids == nil || deleteBehaviour(rel) != "Cascade" {
				continue
			}
			rt := e.tables[rel.ReferencingEntity]
			a := rt.def.Attr(rel.ReferencingAttribute)
			for _, rid := range rt.ids {
				if _, hit := refTo(rt.recs[rid].Vals[a.idx], rel.ReferencedEntity, ids); !hit {
					continue
				}
				r := rowRef{rel.ReferencingEntity, rid}
				if p.inSet[r] {
					continue
				}
				p.inSet[r] = true
				p.deletes = append(p.deletes, r)
				if next[r.table] == nil {
					next[r.table] = map[string]bool{}
				}
				next[r.table][rid] = true
			}
		}
		frontier = next
	}
	// Everything that goes is known: the other behaviours look at the rows
	// that stay.
	deleted := map[string]map[string]bool{}
	for _, r := range p.deletes {
		if deleted[r.table] == nil {
			deleted[r.table] = map[string]bool{}
		}
		deleted[r.table][r.id] = true
	}
	for _, rel := range e.s.schema.rels {
		ids := deleted[rel.ReferencedEntity]
		if ids == nil {
			continue
		}
		b := deleteBehaviour(rel)
		isParty := rel.ReferencingEntity == "activityparty" && rel.ReferencingAttribute == "partyid"
		if b != "RemoveLink" && b != "Restrict" && !isParty {
			continue
		}
		rt := e.tables[rel.ReferencingEntity]
		a := rt.def.Attr(rel.ReferencingAttribute)
		for _, rid := range rt.ids {
			r := rowRef{rel.ReferencingEntity, rid}
			if p.inSet[r] {
				continue
			}
			if _, hit := refTo(rt.recs[rid].Vals[a.idx], rel.ReferencedEntity, ids); !hit {
				continue
			}
			switch {
			case b == "Restrict":
				if p.blocked == nil {
					p.blocked = rel
				}
			case b == "RemoveLink":
				p.unlink[r] = append(p.unlink[r], rel.ReferencingAttribute)
			case isParty:
				p.parties[r] = true
			}
		}
	}
	return p
}

// deleteCascading deletes a record with everything its relationships
// demand; by is the caller (modifiedby of the unlinked survivors). It
// returns the number of rows deleted or changed, or the Restrict refusal.
func (e *Env) deleteCascading(by string, td *tableData, id string) (int, *dvError) {
	p := e.planDelete(td.def.LogicalName, id)
	if p.blocked != nil {
		return 0, errf(400, codeRestrictedDelete, "The object you tried to delete is associated with another object and cannot be deleted.")
	}
	now := e.now().Truncate(time.Second)
	changed := 0
	for _, r := range sortedRefs(p.unlink) {
		t := e.tables[r.table]
		rec := t.recs[r.id].clone()
		for _, attr := range p.unlink[r] {
			rec.set(t.def, attr, nil)
		}
		e.stamp(t.def, rec, now, by)
		e.put(t, rec)
		changed++
	}
	for _, r := range sortedRefs(p.parties) {
		t := e.tables[r.table]
		rec := t.recs[r.id].clone()
		rec.set(t.def, "ispartydeleted", true)
		e.stamp(t.def, rec, now, by)
		e.put(t, rec)
		changed++
	}
	// Children before the record they hang on, as the platform deletes them.
	for i := len(p.deletes) - 1; i >= 0; i-- {
		r := p.deletes[i]
		e.deleteRow(e.tables[r.table], r.id)
	}
	return len(p.deletes) + changed, nil
}

func sortedRefs[V any](m map[rowRef]V) []rowRef {
	out := make([]rowRef, 0, len(m))
	for r := range m {
		out = append(out, r)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].table != out[j].table {
			return out[i].table < out[j].table
		}
		return out[i].id < out[j].id
	})
	return out
}

// DeleteEffects reports what deleting a row would do, without doing it:
// the rows it would delete ("<table>/<id>", the row itself first), the
// surviving rows it would change (lookups cleared, parties marked deleted),
// and the Restrict
// relationship that would refuse it ("" if none). Tests use it to pick rows
// whose delete changes only themselves, or to predict a cascade.
func (e *Env) DeleteEffects(table, id string) (deleted, unlinked []string, restrictedBy string) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if td := e.tables[table]; td == nil || td.recs[strings.ToLower(id)] == nil {
		return nil, nil, ""
	}
	p := e.planDelete(table, strings.ToLower(id))
	for _, r := range p.deletes {
		deleted = append(deleted, r.table+"/"+r.id)
	}
	for _, r := range append(sortedRefs(p.unlink), sortedRefs(p.parties)...) {
		unlinked = append(unlinked, r.table+"/"+r.id)
	}
	if p.blocked != nil {
		restrictedBy = p.blocked.SchemaName
	}
	return deleted, unlinked, restrictedBy
}
