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

// add appends op to the current chunk, or to a new one when the phase has
// none, the current one is full, or fresh is set.
func (k *chunker) add(op Op, fresh bool) Op {
	ph := &k.phases[len(k.phases)-1]
	if ph.Chunks == 0 || fresh || len(k.chunks[len(k.chunks)-1]) >= k.size {
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
		if c.action.Writes() && c.closes == nil {
			writes = append(writes, c)
		}
	}
	sort.SliceStable(writes, func(i, j int) bool {
		if rank[writes[i].table] != rank[writes[j].table] {
			return rank[writes[i].table] < rank[writes[j].table]
		}
		return writes[i].backup.ID < writes[j].backup.ID
	})
	// Chunk numbers of the record phase first, so inline binds can be
	// decided. An activity whose party the same chunk creates starts a new
	// chunk: parties are written only with the activity's create, never
	// patched later, so their records must exist by then.
	chunk, inChunk := 1, 0
	for _, c := range writes {
		if inChunk >= k.size || inChunk > 0 && c.partyInChunk(chunk) {
			chunk, inChunk = chunk+1, 0
		}
		c.chunk = chunk
		inChunk++
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
		op = k.add(op, c.chunk > len(k.chunks))
		pr := planned(op, c, c.action)
		pr.Warnings, pr.Diff, pr.Cascade = c.warnings, c.diff, c.cascade
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
				op = k.add(op, false)
				preds = append(preds, planned(op, c, Action(kind)))
				if op.Message != nil && c.close != nil {
					op.Message.CloseKey = op.Key + "-close" // shared with the stored op
					// The close activity the message creates: its own line.
					cl := c.close
					preds = append(preds, Prediction{Key: op.Message.CloseKey, Planned: true, Kind: KindRecord, Table: cl.table, Source: cl.backup.ID,
						Target: cl.targetID, Action: ActionCreate, Warnings: cl.warnings, Cascade: cl.cascade})
				}
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
	preds = append(preds, p.layoutRelinks(k)...)
	if err := later(KindFile, func(c *candidate) ([]Op, error) {
		var out []Op
		for i := range c.files {
			f := c.files[i]
			f.PrimaryID = p.tables[c.table].PrimaryID
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
			Assoc: &AssocOp{Nav: a.rel.Entity1Navigation, TargetSet: p.set(a.rel.Entity2), TargetID: a.target2}}, false)
		preds = append(preds, Prediction{Key: op.Key, Planned: true, Kind: KindAssociation, Table: a.rel.Intersect, Source: src, Target: tgt, Action: ActionAssociate})
	}
	if err := later(KindState, func(c *candidate) ([]Op, error) {
		if c.state == nil {
			return nil, nil
		}
		if c.msg != nil {
			return p.messageOp(c)
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
		if c.action.Writes() && (c.closes == nil || c.closes.msg != nil && c.closes.state != nil) {
			continue
		}
		if c.action.Writes() {
			// A close activity whose record ends up not closed by a
			// message (its state needs none after all): not written.
			c.action, c.reason = ActionSkip, "close activity of "+c.closes.table+" "+c.closes.backup.ID+", which is not closed by a message"
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
	pl := &Plan{Chunks: k.chunks, Predictions: preds, Notes: p.notes, NotWritable: p.notWritableList()}
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
	if c.partiesNav != "" {
		op.PartiesNav, op.Parties = c.partiesNav, c.partyOps()
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

// partyInChunk reports whether a party of c is a record this job creates
// in chunk n.
func (c *candidate) partyInChunk(n int) bool {
	for _, pp := range c.parties {
		if pp.target != nil && pp.target.chunk == n {
			return true
		}
	}
	return false
}

// messageOp is the state operation of c through its message.
func (p *planner) messageOp(c *candidate) ([]Op, error) {
	params, err := p.messageParams(c)
	if err != nil {
		return nil, fmt.Errorf("%s of %s %s: %w", c.msg.Name, c.table, c.backup.ID, err)
	}
	m := *c.msg
	m.Params = params
	return []Op{{Kind: KindState, Table: c.table, Set: p.set(c.table), Source: c.backup.ID, ID: c.targetID, Message: &m}}, nil
}

// tableOrder sorts the tables of the chosen records so that lookup targets
// come before the tables that reference them (a depth-first topological
// sort); cycles are broken (their lookups are patched in a later phase).
func (p *planner) tableOrder() []string {
	set := map[string]bool{}
	deps := map[string]map[string]bool{}
	for _, c := range p.order {
		set[c.table] = true
		var targets []*candidate
		for _, b := range c.binds {
			targets = append(targets, b.target)
		}
		for _, pp := range c.parties {
			targets = append(targets, pp.target)
		}
		for _, t := range targets {
			if t != nil && t.table != c.table {
				if deps[c.table] == nil {
					deps[c.table] = map[string]bool{}
				}
				deps[c.table][t.table] = true
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
