package plan

import (
	"encoding/json"
	"fmt"
	"sort"
)

// opKey is the key of operation i of chunk n.
func opKey(chunk, i int) string { return fmt.Sprintf("c%06d-%05d", chunk, i) }

// chunker lays out operations in chunks of at most size, each phase
// starting a new chunk.
type chunker struct {
	size   int
	chunks [][]Op
	phases []Phase
}

func (k *chunker) startPhase(kind Kind) {
	k.phases = append(k.phases, Phase{Name: kind, First: len(k.chunks) + 1})
}

func (k *chunker) add(op Op) Op {
	ph := &k.phases[len(k.phases)-1]
	if ph.Chunks == 0 || len(k.chunks[len(k.chunks)-1]) >= k.size {
		k.chunks = append(k.chunks, nil)
		ph.Chunks++
	}
	n := len(k.chunks)
	op.Key = opKey(n, len(k.chunks[n-1]))
	k.chunks[n-1] = append(k.chunks[n-1], op)
	ph.Ops++
	return op
}

// layout turns the decisions into chunks of operations, phase by phase,
// and the predictions.
func (p *planner) layout() (*Plan, error) {
	k := &chunker{size: p.req.ChunkSize}
	rank := map[string]int{}
	for i, t := range p.tableOrder() {
		rank[t] = i
	}
	var writes []*candidate
	for _, c := range p.order {
		if c.action.Writes() {
			writes = append(writes, c)
		}
	}
	sort.SliceStable(writes, func(i, j int) bool {
		if rank[writes[i].table] != rank[writes[j].table] {
			return rank[writes[i].table] < rank[writes[j].table]
		}
		return writes[i].backup.ID < writes[j].backup.ID
	})
	// Chunk numbers of the record phase first, so inline binds can be decided.
	for i, c := range writes {
		c.chunk = 1 + i/k.size
	}
	var preds []Prediction
	planned := func(op Op, c *candidate, action Action) Prediction {
		return Prediction{Key: op.Key, Planned: true, Kind: op.Kind, Table: c.table, Source: c.backup.ID, Target: c.targetID, Action: action}
	}
	deferred := map[*candidate]map[string]json.RawMessage{}
	k.startPhase(KindRecord)
	for _, c := range writes {
		op, later, err := p.recordOp(c)
		if err != nil {
			return nil, err
		}
		if later != nil {
			deferred[c] = later
		}
		op = k.add(op)
		pr := planned(op, c, c.action)
		pr.Warnings, pr.Diff = c.warnings, c.diff
		preds = append(preds, pr)
	}
	later := func(kind Kind, mk func(c *candidate) ([]Op, error)) error {
		k.startPhase(kind)
		for _, c := range writes {
			ops, err := mk(c)
			if err != nil {
				return err
			}
			for _, op := range ops {
				op = k.add(op)
				preds = append(preds, planned(op, c, Action(kind)))
			}
		}
		return nil
	}
	if err := later(KindPatch, func(c *candidate) ([]Op, error) {
		if deferred[c] == nil {
			return nil, nil
		}
		b, err := json.Marshal(deferred[c])
		if err != nil {
			return nil, fmt.Errorf("lookups of %s %s: %w", c.table, c.backup.ID, err)
		}
		return []Op{{Kind: KindPatch, Table: c.table, Set: p.set(c.table), Source: c.backup.ID, ID: c.targetID, Body: b}}, nil
	}); err != nil {
		return nil, err
	}
	if err := later(KindFile, func(c *candidate) ([]Op, error) {
		var out []Op
		for i := range c.files {
			f := c.files[i]
			out = append(out, Op{Kind: KindFile, Table: c.table, Set: p.set(c.table), Source: c.backup.ID, ID: c.targetID, File: &f})
		}
		return out, nil
	}); err != nil {
		return nil, err
	}
	k.startPhase(KindAssociation)
	for i, a := range p.assocs {
		src, tgt := a.source1+"|"+a.source2, a.target1+"|"+a.target2
		if a.skip != "" {
			preds = append(preds, Prediction{Key: fmt.Sprintf("p-a%06d", i), Kind: KindAssociation, Table: a.rel.Intersect, Source: src, Target: tgt,
				Action: ActionSkip, Reason: a.skip})
			continue
		}
		op := k.add(Op{Kind: KindAssociation, Table: a.rel.Intersect, Set: p.set(a.rel.Entity1), Source: src, ID: a.target1,
			Assoc: &AssocOp{Nav: a.rel.Entity1Navigation, TargetSet: p.set(a.rel.Entity2), TargetID: a.target2}})
		preds = append(preds, Prediction{Key: op.Key, Planned: true, Kind: KindAssociation, Table: a.rel.Intersect, Source: src, Target: tgt, Action: ActionAssociate})
	}
	if err := later(KindState, func(c *candidate) ([]Op, error) {
		if c.state == nil {
			return nil, nil
		}
		b, err := json.Marshal(c.state)
		if err != nil {
			return nil, fmt.Errorf("state of %s %s: %w", c.table, c.backup.ID, err)
		}
		return []Op{{Kind: KindState, Table: c.table, Set: p.set(c.table), Source: c.backup.ID, ID: c.targetID, Body: b}}, nil
	}); err != nil {
		return nil, err
	}
	// Decisions that write nothing.
	n := 0
	for _, c := range p.order {
		if c.action.Writes() {
			continue
		}
		preds = append(preds, Prediction{Key: fmt.Sprintf("p-r%06d", n), Kind: KindRecord, Table: c.table, Source: c.backup.ID, Target: c.targetID,
			Action: c.action, Reason: c.reason, Warnings: c.warnings, Diff: c.diff})
		n++
	}
	for _, f := range p.failed {
		f.Key = fmt.Sprintf("p-r%06d", n)
		preds = append(preds, f)
		n++
	}
	pl := &Plan{Chunks: k.chunks, Predictions: preds, Notes: p.notes}
	for _, ph := range k.phases {
		if ph.Chunks > 0 {
			pl.Phases = append(pl.Phases, ph)
		}
	}
	for _, key := range sortedKeys(p.unmapped) {
		pl.Unmapped = append(pl.Unmapped, *p.unmapped[key])
	}
	return pl, nil
}

// recordOp makes the record operation of c: lookups to records written by
// an earlier chunk inline, to records of the same or a later chunk deferred
// to the patch phase (returned).
func (p *planner) recordOp(c *candidate) (Op, map[string]json.RawMessage, error) {
	op := Op{Kind: KindRecord, Table: c.table, Set: p.set(c.table), Source: c.backup.ID, ID: c.targetID, Action: c.action}
	body := map[string]json.RawMessage{}
	for k, v := range c.body {
		body[k] = v
	}
	var deferred map[string]json.RawMessage
	for _, b := range c.binds {
		v, err := json.Marshal(b.value)
		if err != nil {
			return op, nil, err
		}
		switch {
		case b.target == nil:
			body[b.nav+"@odata.bind"] = v
		case b.target.chunk < c.chunk:
			if op.Inline == nil {
				op.Inline = map[string]string{}
			}
			op.Inline[b.nav+"@odata.bind"] = b.value
		default:
			if deferred == nil {
				deferred = map[string]json.RawMessage{}
			}
			deferred[b.nav+"@odata.bind"] = v
		}
	}
	var err error
	if op.Body, err = json.Marshal(body); err != nil {
		return op, nil, fmt.Errorf("body of %s %s: %w", c.table, c.backup.ID, err)
	}
	if c.action == ActionUpdate && p.req.Policy == PolicyIfUnchanged {
		if op.IfMatch, err = stringField(c.live, "@odata.etag"); err != nil {
			return op, nil, fmt.Errorf("live record %s of %s: %w", c.targetID, c.table, err)
		}
	}
	return op, deferred, nil
}

func (p *planner) set(table string) string { return p.tables[table].EntitySet }

// tableOrder sorts the tables of the chosen records so that lookup targets
// come before the tables that reference them (a depth-first topological
// sort); cycles are broken (their lookups are patched in a later phase).
func (p *planner) tableOrder() []string {
	set := map[string]bool{}
	deps := map[string]map[string]bool{}
	for _, c := range p.order {
		set[c.table] = true
		for _, b := range c.binds {
			if b.target != nil && b.target.table != c.table {
				if deps[c.table] == nil {
					deps[c.table] = map[string]bool{}
				}
				deps[c.table][b.target.table] = true
			}
		}
	}
	var out []string
	state := map[string]int{}
	var visit func(t string)
	visit = func(t string) {
		if state[t] != 0 {
			return // done, or on the stack (a cycle: broken here)
		}
		state[t] = 1
		for _, d := range sortedKeys(deps[t]) {
			visit(d)
		}
		state[t] = 2
		out = append(out, t)
	}
	for _, t := range sortedKeys(set) {
		visit(t)
	}
	return out
}
