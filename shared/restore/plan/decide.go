package plan

import (
	"context"
	"fmt"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// decideAll applies the conflict policy to every chosen record, reading
// the live records of each table in one call.
func (p *planner) decideAll(ctx context.Context) error {
	if p.req.Policy == PolicyRestoreAsNew {
		for _, c := range p.order {
			c.action = ActionCreate
		}
		return nil
	}
	tables, by := candidatesByTable(p.order)
	for _, t := range tables {
		ids := make([]string, len(by[t]))
		for i, c := range by[t] {
			ids[i] = c.targetID
		}
		if err := p.live.fetch(ctx, t, ids); err != nil {
			return err
		}
	}
	for _, c := range p.order {
		if err := p.decide(ctx, c); err != nil {
			return err
		}
	}
	return nil
}

func (p *planner) decide(ctx context.Context, c *candidate) error {
	live, err := p.live.record(ctx, c.table, c.targetID)
	if err != nil {
		return err
	}
	c.live = live
	if live == nil {
		c.action = ActionCreate
		return nil
	}
	switch p.req.Policy {
	case PolicySkipExisting:
		c.action, c.reason = ActionSkip, "exists in the target (policy skip-existing)"
	case PolicyOverwrite:
		c.action = ActionUpdate
	case PolicyIfUnchanged:
		etag, err := stringField(live, "@odata.etag")
		if err != nil {
			return fmt.Errorf("live record %s of %s: %w", c.targetID, c.table, err)
		}
		lv := dataverse.ETagVersion(etag)
		if lv > c.backup.Version && c.backup.Version > 0 {
			c.action, c.reason = ActionConflict, fmt.Sprintf("changed in the target since the backup (version %d > %d)", lv, c.backup.Version)
		} else {
			c.action = ActionUpdate
		}
	}
	return nil
}

// resolution is where a reference points in the target.
type resolution struct {
	id     string     // target id
	target *candidate // non-nil when restored (written) by this job
	ok     bool       // false: maps nowhere
}

// resolve maps a reference to the target: a record restored by this job,
// the request's mapping, the same id when it exists, or (reference data) a
// natural key. A reference to reference data that maps nowhere is counted
// in the unmapped list.
func (p *planner) resolve(ctx context.Context, lv lookupRef, referrer string) (resolution, error) {
	if t := p.chosen[ckey(lv.table, lv.id)]; t != nil {
		switch {
		case t.action.Writes():
			return resolution{id: t.targetID, target: t, ok: true}, nil
		case t.action == ActionSkip, t.action == ActionConflict:
			return resolution{id: t.targetID, ok: true}, nil // exists in the target
		}
		return resolution{}, nil
	}
	if to := p.req.Mapping[lv.table][lv.id]; to != "" {
		return resolution{id: lower(to), ok: true}, nil
	}
	inTarget := p.hasTable(lv.table)
	if inTarget {
		there, err := p.live.present(ctx, lv.table, lv.id)
		if err != nil {
			return resolution{}, err
		}
		if there {
			return resolution{id: lv.id, ok: true}, nil
		}
	}
	keyCol, isRef := referenceKeys[lv.table]
	if !isRef {
		return resolution{}, nil
	}
	tried := ""
	recs, err := p.records(ctx, lv.table)
	if err != nil {
		return resolution{}, err
	}
	if r := recs[lv.id]; r != nil {
		cols := []string{keyCol}
		if lv.table == "systemuser" {
			cols = append(cols, "internalemailaddress")
		}
		for _, col := range cols {
			v, err := stringField(r.Fields, col)
			if err != nil {
				return resolution{}, fmt.Errorf("%s %s: %w", lv.table, lv.id, err)
			}
			if v == "" {
				continue
			}
			tried = col + "=" + v
			if !inTarget {
				continue
			}
			id, err := p.live.byKey(ctx, lv.table, col, v)
			if err != nil {
				return resolution{}, err
			}
			if id != "" {
				return resolution{id: lower(id), ok: true}, nil
			}
		}
	}
	u := p.unmapped[ckey(lv.table, lv.id)]
	if u == nil {
		u = &Unmapped{Table: lv.table, ID: lv.id, Key: tried, Referrer: referrer}
		p.unmapped[ckey(lv.table, lv.id)] = u
	}
	u.Count++
	return resolution{}, nil
}

// prefetchReferences learns in one call per table which of refs exist in
// the target, for the references resolve would look up one by one.
func (p *planner) prefetchReferences(ctx context.Context, refs []lookupRef) error {
	byTable := map[string][]string{}
	for _, lv := range refs {
		if lv.id == "" || lv.table == "" || !p.hasTable(lv.table) || p.chosen[ckey(lv.table, lv.id)] != nil || p.req.Mapping[lv.table][lv.id] != "" {
			continue
		}
		byTable[lv.table] = append(byTable[lv.table], lv.id)
	}
	for _, t := range sortedKeys(byTable) {
		if err := p.live.check(ctx, t, byTable[t]); err != nil {
			return err
		}
	}
	return nil
}

// isReference reports whether table is reference data (mapped, not written).
func isReference(table string) bool { _, ok := referenceKeys[table]; return ok }

func referenceWarning(lv lookupRef) string {
	if isReference(lv.table) {
		return fmt.Sprintf("%s: %s %s unmapped in the target; not set", lv.attr, lv.table, lv.id)
	}
	return fmt.Sprintf("%s: %s %s is neither restored nor present in the target; not set", lv.attr, lv.table, lv.id)
}
