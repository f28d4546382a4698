package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// What a delete took. Deleting a record applies the Delete cascade of each
// one-to-many relationship it is the referenced side of (powerapps-docs,
// developer/data-platform/configure-entity-relationship-cascading-
// behavior.md): Cascade deletes the referencing records (an account's
// contacts, notes, activities), RemoveLink clears the lookup on the
// records that survive (a child account's parentaccountid). A restore of
// the deleted records brings back both:
//
//   - the cascade's children are deleted records of the backup like their
//     parent: the scope chooses them, the table order creates parents
//     first; markCascades names, for the report and the count, the
//     relationship through which each came back with its parent;
//   - the cleared links are not deleted records: planRelinks finds the
//     survivors whose backed-up lookup pointed at a record the job
//     creates through a RemoveLink relationship, and re-points the lookup
//     (a relink operation) where the survivor's lookup is still null and
//     nothing else of it changed since the backup.
//
// "Nothing else changed" compares columns, not versions: the clearing is
// itself an update of the survivor (Dataverse gives it a new versionnumber,
// modifiedon and modifiedby, the deleting user), so the version always
// moved and cannot tell a survivor nobody touched from one a user edited.
// Every column a user can write (valid for update, not computed), every
// lookup and the state must still hold the backed-up value; a lookup that
// is null now and pointed at a record absent from the target through a
// RemoveLink relationship is the same delete's doing, not an edit. The
// relink is sent with If-Match on the survivor's ETag read at planning,
// so an edit between planning and writing is a conflict, not an overwrite.

// markCascades names, for each record created, the Cascade relationship
// whose parent record the job also creates.
func (p *planner) markCascades(ctx context.Context) error {
	for _, c := range p.order {
		if c.action != ActionCreate || p.req.Policy == PolicyRestoreAsNew {
			continue
		}
		tm, err := p.target.Table(ctx, c.table)
		if err != nil {
			return err
		}
		lookups, err := lookupsOf(c.table, c.backup.ID, c.backup.Fields)
		if err != nil {
			return err
		}
		for _, lv := range lookups {
			parent := p.chosen[ckey(lv.table, lv.id)]
			if lv.id == "" || parent == nil || parent.action != ActionCreate {
				continue
			}
			if r := tm.relationship(lv.attr, lv.table); r != nil && r.Delete == DeleteCascade {
				c.cascade = r.Name
				break
			}
		}
	}
	return nil
}

// relinkPlan re-points lookups of one surviving record (or says why not).
type relinkPlan struct {
	table, id string
	fields    []relinkField
	etag      string
	skip      string
}

type relinkField struct {
	attr, nav string
	target    *candidate
	backup    json.RawMessage // the backed-up id
}

// planRelinks finds the survivors of the delete whose links to restored
// records were cleared, and plans their relinks.
func (p *planner) planRelinks(ctx context.Context) error {
	if p.req.Policy == PolicyRestoreAsNew || !p.req.Options.Relink {
		return nil
	}
	created := map[string]map[string]*candidate{}
	for _, c := range p.order {
		if c.action == ActionCreate {
			if created[c.table] == nil {
				created[c.table] = map[string]*candidate{}
			}
			created[c.table][c.backup.ID] = c
		}
	}
	survivors := map[string]*relinkPlan{} // table|id
	var order []*relinkPlan
	for _, t := range sortedKeys(created) {
		tm, err := p.target.Table(ctx, t)
		if err != nil {
			return err
		}
		for _, rel := range tm.OneToMany {
			if rel.Delete != DeleteRemoveLink || rel.Referenced != t || !p.restorable(rel.Referencing) || rel.Referencing == partyTable {
				continue
			}
			recs, err := p.records(ctx, rel.Referencing)
			if err != nil {
				return err
			}
			key := "_" + rel.Attribute + "_value"
			for _, id := range sortedKeys(recs) {
				r := recs[id]
				if c := p.chosen[ckey(rel.Referencing, id)]; c != nil && c.action.Writes() {
					continue // written by the job, its lookups with it (a skipped or conflicting one is a survivor)
				}
				ref, err := idField(r.Fields, key)
				if err != nil {
					return fmt.Errorf("%s %s: %w", rel.Referencing, id, err)
				}
				target := created[t][ref]
				if target == nil {
					continue
				}
				if lt, _ := stringField(r.Fields, key+annLookupTable); lt != "" && lt != t {
					continue
				}
				k := ckey(rel.Referencing, id)
				s := survivors[k]
				if s == nil {
					s = &relinkPlan{table: rel.Referencing, id: id}
					survivors[k] = s
					order = append(order, s)
				}
				nav := rel.Navigation
				if nav == "" {
					nav = rel.Attribute
				}
				s.fields = append(s.fields, relinkField{attr: rel.Attribute, nav: nav, target: target, backup: r.Fields[key]})
			}
		}
	}
	byTable := map[string][]string{}
	for _, s := range order {
		byTable[s.table] = append(byTable[s.table], s.id)
	}
	for _, t := range sortedKeys(byTable) {
		if err := p.live.fetch(ctx, t, byTable[t]); err != nil {
			return err
		}
	}
	for _, s := range order {
		live, err := p.live.record(ctx, s.table, s.id)
		if err != nil {
			return err
		}
		if live == nil {
			continue // gone too, and not restored by this job: nothing to re-point
		}
		if err := p.decideRelink(ctx, s, live); err != nil {
			return err
		}
		p.relinks = append(p.relinks, *s)
	}
	return p.partiesOfSurvivors(ctx, created)
}

// decideRelink keeps the fields still null in the survivor and refuses
// the relink when the survivor changed since the backup.
func (p *planner) decideRelink(ctx context.Context, s *relinkPlan, live LiveRecord) error {
	var keep []relinkField
	var moved []string
	cleared := map[string]bool{}
	for _, f := range s.fields {
		cleared[f.attr] = true
		now, err := idField(live, "_"+f.attr+"_value")
		if err != nil {
			return fmt.Errorf("live %s %s: %w", s.table, s.id, err)
		}
		if now != "" {
			moved = append(moved, fmt.Sprintf("%s points at %s now", f.attr, now))
			continue
		}
		keep = append(keep, f)
	}
	s.fields = keep
	if len(keep) == 0 {
		s.skip = strings.Join(moved, "; ")
		return nil
	}
	changed, err := p.changedSince(ctx, s.table, p.backup[s.table][s.id], live, cleared)
	if err != nil {
		return err
	}
	if len(changed) > 0 {
		s.skip = "changed since the backup (" + strings.Join(changed, ", ") + "): its lookups are left as they are"
		return nil
	}
	s.etag, err = stringField(live, "@odata.etag")
	return err
}

// changedSince lists the columns a user can write whose live value differs
// from the backup's, leaving out the lookups in except and the lookups the
// delete cleared (null now, their backed-up record absent from the
// target, RemoveLink).
func (p *planner) changedSince(ctx context.Context, table string, b *backedUpRecord, live LiveRecord, except map[string]bool) ([]string, error) {
	tm, err := p.target.Table(ctx, table)
	if err != nil {
		return nil, err
	}
	var out []string
	seen := map[string]bool{}
	for _, k := range append(sortedKeys(b.Fields), sortedKeys(live)...) {
		if seen[k] || strings.Contains(k, "@") {
			continue
		}
		seen[k] = true
		col, isLookup := k, false
		if strings.HasPrefix(k, "_") && strings.HasSuffix(k, "_value") {
			col, isLookup = k[1:len(k)-len("_value")], true
		}
		c, ok := tm.Columns[col]
		userWritable := ok && c.Update && !c.Derived && c.SourceType == 0 || col == "statecode" || col == "statuscode" || col == "ownerid"
		if !userWritable || except[col] || equalJSON(b.Fields[k], live[k]) {
			continue
		}
		if isLookup && string(orNull(live[k])) == "null" {
			cleared, err := p.clearedByDelete(ctx, tm, col, b.Fields, k)
			if err != nil {
				return nil, err
			}
			if cleared {
				continue
			}
		}
		out = append(out, col)
	}
	return out, nil
}

// clearedByDelete reports whether a lookup now null pointed, through a
// RemoveLink relationship, at a record absent from the target.
func (p *planner) clearedByDelete(ctx context.Context, tm *TableSchema, attr string, f map[string]json.RawMessage, key string) (bool, error) {
	id, err := idField(f, key)
	if err != nil {
		return false, err
	}
	table, err := stringField(f, key+annLookupTable)
	if err != nil || id == "" || table == "" || !p.hasTable(table) {
		return false, err
	}
	r := tm.relationship(attr, table)
	if r == nil || r.Delete != DeleteRemoveLink {
		return false, nil
	}
	there, err := p.live.present(ctx, table, id)
	return !there, err
}

// layoutRelinks lays out the relink phase and returns its predictions
// (the relinks, then the survivors left alone).
func (p *planner) layoutRelinks(k *chunker) []Prediction {
	k.startPhase(KindRelink)
	var preds []Prediction
	for i, s := range p.relinks {
		diff := make([]FieldDiff, 0, len(s.fields))
		body, links := map[string]string{}, map[string]string{}
		for _, f := range s.fields {
			diff = append(diff, FieldDiff{Field: f.attr, Backup: f.backup, Live: json.RawMessage("null")})
			body[f.nav+"@odata.bind"] = "/" + p.set(f.target.table) + "(" + f.target.targetID + ")"
			links[f.attr] = f.target.targetID
		}
		if s.skip != "" {
			preds = append(preds, Prediction{Key: fmt.Sprintf("p-l%06d", i), Kind: KindRelink, Table: s.table, Source: s.id, Target: s.id,
				Action: ActionSkip, Reason: s.skip, Diff: diff})
			continue
		}
		b, _ := json.Marshal(body) // strings only: cannot fail
		op := k.add(Op{Kind: KindRelink, Table: s.table, Set: p.set(s.table), Source: s.id, ID: s.id, Body: b, IfMatch: s.etag, Links: links}, false)
		preds = append(preds, Prediction{Key: op.Key, Planned: true, Kind: KindRelink, Table: s.table, Source: s.id, Target: s.id,
			Action: ActionRelink, Diff: diff})
	}
	return preds
}
