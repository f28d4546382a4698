package plan

import (
	"context"
	"fmt"
)

// chooseScoped chooses the records of the scoped tables: by id, filter,
// and (scope deleted) only those absent from the target.
func (p *planner) chooseScoped(ctx context.Context, scoped []string) error {
	sc := p.req.Scope
	for _, t := range scoped {
		recs, err := p.records(ctx, t)
		if err != nil {
			return err
		}
		ids := sc.Records[t]
		want := map[string]bool{}
		for _, id := range ids {
			want[id] = true
		}
		var matching []*backedUpRecord
		for _, id := range sortedKeys(recs) {
			r := recs[id]
			if len(ids) > 0 && !want[id] || !Match(r.Fields, sc.Filter[t]) {
				continue
			}
			matching = append(matching, r)
		}
		if sc.Deleted {
			if matching, err = p.absent(ctx, t, matching); err != nil {
				return err
			}
		}
		for _, r := range matching {
			p.choose(t, r)
		}
		for _, id := range ids {
			if recs[id] == nil {
				p.failed = append(p.failed, Prediction{Kind: KindRecord, Table: t, Source: id, Action: ActionFail,
					Reason: "not in the backup", Message: "record " + id + " of " + t + " is not in run " + p.req.Run})
			}
		}
	}
	return nil
}

// absent keeps the records that do not exist in the target.
func (p *planner) absent(ctx context.Context, table string, recs []*backedUpRecord) ([]*backedUpRecord, error) {
	ids := make([]string, len(recs))
	for i, r := range recs {
		ids[i] = r.ID
	}
	if err := p.live.check(ctx, table, ids); err != nil {
		return nil, err
	}
	var out []*backedUpRecord
	for _, r := range recs {
		there, err := p.live.present(ctx, table, r.ID)
		if err != nil {
			return nil, err
		}
		if !there {
			out = append(out, r)
		}
	}
	return out, nil
}

// chooseRelated follows lookups and N:N links from the chosen records to
// records missing in the target, level by level.
func (p *planner) chooseRelated(ctx context.Context) error {
	rel := p.req.Scope.Related
	if rel == nil || rel.Depth <= 0 {
		return nil
	}
	frontier := append([]*candidate(nil), p.order...)
	for d := 0; d < rel.Depth && len(frontier) > 0; d++ {
		var refs []lookupRef // table and id of each related record, in order
		for _, c := range frontier {
			more, err := p.relatedOf(ctx, c, rel)
			if err != nil {
				return err
			}
			refs = append(refs, more...)
		}
		byTable := map[string][]string{}
		for _, r := range refs {
			byTable[r.table] = append(byTable[r.table], r.id)
		}
		for _, t := range sortedKeys(byTable) {
			if err := p.live.check(ctx, t, byTable[t]); err != nil {
				return err
			}
		}
		var next []*candidate
		for _, r := range refs {
			there, err := p.live.present(ctx, r.table, r.id)
			if err != nil {
				return err
			}
			if there {
				continue // present: nothing to restore
			}
			recs, err := p.records(ctx, r.table)
			if err != nil {
				return err
			}
			if b := recs[r.id]; b != nil {
				if n := p.choose(r.table, b); n != nil {
					next = append(next, n)
				}
			}
		}
		frontier = next
	}
	return nil
}

// relatedOf returns the records c refers to (lookups) or is linked with
// (N:N) that could be restored along with it.
func (p *planner) relatedOf(ctx context.Context, c *candidate, rel *Related) ([]lookupRef, error) {
	var out []lookupRef
	add := func(table, id string) {
		if table == "" || id == "" || notRestored[table] || !p.restorable(table) || p.chosen[ckey(table, id)] != nil {
			return
		}
		out = append(out, lookupRef{table: table, id: id})
	}
	if rel.Lookups {
		lookups, err := lookupsOf(c.table, c.backup.ID, c.backup.Fields)
		if err != nil {
			return nil, err
		}
		for _, lv := range lookups {
			add(lv.table, lv.id)
		}
	}
	if rel.Associations {
		rels, err := p.target.ManyToMany(ctx, p.entities())
		if err != nil {
			return nil, fmt.Errorf("N:N relationships of the target: %w", err)
		}
		for _, it := range sortedKeys(rels) {
			r := rels[it]
			if r.Entity1 != c.table && r.Entity2 != c.table {
				continue
			}
			rows, err := p.records(ctx, r.Intersect)
			if err != nil {
				return nil, err
			}
			for _, id := range sortedKeys(rows) {
				a, b, err := linkOf(r, rows[id])
				if err != nil {
					return nil, err
				}
				if r.Entity1 == c.table && a == c.backup.ID {
					add(r.Entity2, b)
				}
				if r.Entity2 == c.table && b == c.backup.ID {
					add(r.Entity1, a)
				}
			}
		}
	}
	return out, nil
}

// linkOf returns the two ids a backed-up intersect row links.
func linkOf(r ManyToMany, row *backedUpRecord) (string, string, error) {
	a, err := idField(row.Fields, r.Entity1Column)
	if err != nil {
		return "", "", fmt.Errorf("%s row %s: %w", r.Intersect, row.ID, err)
	}
	b, err := idField(row.Fields, r.Entity2Column)
	if err != nil {
		return "", "", fmt.Errorf("%s row %s: %w", r.Intersect, row.ID, err)
	}
	return a, b, nil
}

// chooseNotes chooses the notes of chosen records (scope deleted: the
// notes absent from the target).
func (p *planner) chooseNotes(ctx context.Context) error {
	notes, err := p.records(ctx, "annotation")
	if err != nil {
		return err
	}
	var mine []*backedUpRecord
	for _, id := range sortedKeys(notes) {
		n := notes[id]
		parent, err := idField(n.Fields, "_objectid_value")
		if err != nil {
			return fmt.Errorf("note %s: %w", id, err)
		}
		parentTable, err := stringField(n.Fields, "_objectid_value"+annLookupTable)
		if err != nil {
			return fmt.Errorf("note %s: %w", id, err)
		}
		if parent != "" && p.chosen[ckey(parentTable, parent)] != nil {
			mine = append(mine, n)
		}
	}
	if p.req.Scope.Deleted {
		if mine, err = p.absent(ctx, "annotation", mine); err != nil {
			return err
		}
	}
	for _, n := range mine {
		p.choose("annotation", n)
	}
	return nil
}
