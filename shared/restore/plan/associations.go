package plan

import (
	"context"
	"fmt"
)

// associationPlan is a backed-up N:N link to restore (or skipped: skip
// says why).
type associationPlan struct {
	rel              ManyToMany
	source1, source2 string // backed-up ids
	target1, target2 string // ids in the target ("" unmapped)
	skip             string
}

// planAssociations plans the N:N links of the run: those touching a chosen
// record, or (a whole-environment restore) every link; a link whose two
// sides map to the target and are not linked there is associated.
func (p *planner) planAssociations(ctx context.Context, explicit bool) error {
	rels, err := p.target.ManyToMany(ctx, p.entities())
	if err != nil {
		return fmt.Errorf("N:N relationships of the target: %w", err)
	}
	for _, it := range sortedKeys(rels) {
		r := rels[it]
		if !p.inRun[it] || notRestored[r.Entity1] && notRestored[r.Entity2] {
			continue
		}
		if err := p.planLinks(ctx, r, explicit); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) planLinks(ctx context.Context, r ManyToMany, explicit bool) error {
	rows, err := p.records(ctx, r.Intersect)
	if err != nil {
		return err
	}
	// The links to consider: those touching a chosen record; with no
	// tables or records named, every link (scope deleted: those that no
	// longer exist).
	var links []associationPlan
	var untouched []Link
	for _, id := range sortedKeys(rows) {
		a, b, err := linkOf(r, rows[id])
		if err != nil {
			return err
		}
		if p.chosen[ckey(r.Entity1, a)] == nil && p.chosen[ckey(r.Entity2, b)] == nil {
			if explicit {
				continue
			}
			if p.req.Scope.Deleted {
				untouched = append(untouched, Link{a, b})
			}
		}
		links = append(links, associationPlan{rel: r, source1: a, source2: b})
	}
	if len(untouched) > 0 {
		have, err := p.target.Linked(ctx, r, untouched)
		if err != nil {
			return fmt.Errorf("live links of %s: %w", r.Intersect, err)
		}
		kept := links[:0]
		for _, l := range links {
			untouched := p.chosen[ckey(r.Entity1, l.source1)] == nil && p.chosen[ckey(r.Entity2, l.source2)] == nil
			if !(untouched && have[Link{l.source1, l.source2}]) {
				kept = append(kept, l)
			}
		}
		links = kept
	}
	// Map both sides, learning first which of them exist.
	var refs []lookupRef
	for _, l := range links {
		refs = append(refs, lookupRef{table: r.Entity1, id: l.source1}, lookupRef{table: r.Entity2, id: l.source2})
	}
	if err := p.prefetchReferences(ctx, refs); err != nil {
		return err
	}
	var existing []Link // links whose two sides exist in the target: are they linked?
	for i := range links {
		l := &links[i]
		referrer := r.Intersect + "/" + l.source1 + "|" + l.source2
		r1, err := p.resolve(ctx, lookupRef{table: r.Entity1, id: l.source1}, referrer)
		if err != nil {
			return err
		}
		r2, err := p.resolve(ctx, lookupRef{table: r.Entity2, id: l.source2}, referrer)
		if err != nil {
			return err
		}
		l.target1, l.target2 = r1.id, r2.id
		switch {
		case !r1.ok:
			l.skip = fmt.Sprintf("%s %s is neither restored nor present in the target", r.Entity1, l.source1)
		case !r2.ok:
			l.skip = fmt.Sprintf("%s %s is neither restored nor present in the target", r.Entity2, l.source2)
		case createdByJob(r1) || createdByJob(r2):
			// A record this job creates has no links yet.
		default:
			existing = append(existing, Link{l.target1, l.target2})
		}
	}
	if len(existing) > 0 {
		have, err := p.target.Linked(ctx, r, existing)
		if err != nil {
			return fmt.Errorf("live links of %s: %w", r.Intersect, err)
		}
		for i := range links {
			if l := &links[i]; l.skip == "" && have[Link{l.target1, l.target2}] {
				l.skip = "the association exists in the target"
			}
		}
	}
	p.assocs = append(p.assocs, links...)
	return nil
}

func createdByJob(r resolution) bool { return r.target != nil && r.target.action == ActionCreate }
