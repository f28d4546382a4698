package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

// layout turns the decisions into chunks of operations (phase by phase) and
// the plan-time result rows.
func (p *planner) layout(ctx context.Context) ([][]Op, []Phase, error) {
	size := p.e.opts.ChunkSize
	var chunks [][]Op
	var phases []Phase
	startPhase := func(name string) { phases = append(phases, Phase{Name: name, First: len(chunks) + 1}) }
	addOp := func(op Op) Op {
		ph := &phases[len(phases)-1]
		if ph.Chunks == 0 || len(chunks[len(chunks)-1]) >= size {
			chunks = append(chunks, nil)
			ph.Chunks++
		}
		n := len(chunks)
		op.Key = opKey(n, len(chunks[n-1]))
		chunks[n-1] = append(chunks[n-1], op)
		ph.Ops++
		return op
	}
	order := p.tableOrder(ctx)
	rank := map[string]int{}
	for i, t := range order {
		rank[t] = i
	}
	var writes []*cand
	for _, c := range p.order {
		if c.action == "create" || c.action == "update" {
			writes = append(writes, c)
		}
	}
	sort.SliceStable(writes, func(i, j int) bool {
		if rank[writes[i].table] != rank[writes[j].table] {
			return rank[writes[i].table] < rank[writes[j].table]
		}
		return writes[i].src.ID < writes[j].src.ID
	})
	// Chunk numbers of the record phase first, so inline binds can be decided.
	for i, c := range writes {
		c.chunk = 1 + i/size
	}
	pred := map[string]string{"create": "create", "update": "update"}
	var rows []Result
	status := ResPlanned
	if p.req.DryRun {
		status = ResPredicted
	}
	deferred := map[*cand]map[string]json.RawMessage{}
	startPhase(KindRecord)
	for _, c := range writes {
		op := Op{Kind: KindRecord, Table: c.table, Set: p.meta.set(c.table), Source: c.src.ID, ID: c.id, Action: c.action}
		body := map[string]json.RawMessage{}
		for k, v := range c.body {
			body[k] = v
		}
		for _, b := range c.binds {
			v, _ := json.Marshal(b.value)
			switch {
			case b.target == nil:
				body[b.nav+"@odata.bind"] = v
			case b.target.chunk < c.chunk:
				if op.Inline == nil {
					op.Inline = map[string]string{}
				}
				op.Inline[b.nav+"@odata.bind"] = b.value
			default:
				if deferred[c] == nil {
					deferred[c] = map[string]json.RawMessage{}
				}
				deferred[c][b.nav+"@odata.bind"] = v
			}
		}
		op.Body, _ = json.Marshal(body)
		if c.action == "update" && p.req.Policy == PolicyIfUnchanged {
			_ = json.Unmarshal(c.live["@odata.etag"], &op.IfMatch)
		}
		op = addOp(op)
		rows = append(rows, Result{Key: op.Key, Kind: KindRecord, Table: c.table, Source: c.src.ID, ID: c.id,
			Predict: pred[c.action], Status: status, Warnings: c.warnings, Diff: c.diff})
	}
	other := func(kind string, mk func(c *cand) []Op) {
		startPhase(kind)
		for _, c := range writes {
			for _, op := range mk(c) {
				op = addOp(op)
				rows = append(rows, Result{Key: op.Key, Kind: kind, Table: c.table, Source: c.src.ID, ID: c.id, Predict: kind, Status: status})
			}
		}
	}
	other(KindPatch, func(c *cand) []Op {
		if deferred[c] == nil {
			return nil
		}
		b, _ := json.Marshal(deferred[c])
		return []Op{{Kind: KindPatch, Table: c.table, Set: p.meta.set(c.table), Source: c.src.ID, ID: c.id, Body: b}}
	})
	other(KindFile, func(c *cand) []Op {
		var out []Op
		for i := range c.files {
			f := c.files[i]
			out = append(out, Op{Kind: KindFile, Table: c.table, Set: p.meta.set(c.table), Source: c.src.ID, ID: c.id, File: &f})
		}
		return out
	})
	startPhase(KindAssociation)
	for i, a := range p.assocs {
		src := a.e1 + "|" + a.e2
		if a.skip != "" {
			rows = append(rows, Result{Key: fmt.Sprintf("p-a%06d", i), Kind: KindAssociation, Table: a.rel.Intersect, Source: src,
				ID: a.t1 + "|" + a.t2, Predict: "skip", Status: ResSkipped, Reason: a.skip})
			continue
		}
		op := addOp(Op{Kind: KindAssociation, Table: a.rel.Intersect, Set: p.meta.set(a.rel.Entity1), Source: src, ID: a.t1,
			Assoc: &AssocOp{Nav: a.rel.Entity1Nav, TargetSet: p.meta.set(a.rel.Entity2), TargetID: a.t2}})
		rows = append(rows, Result{Key: op.Key, Kind: KindAssociation, Table: a.rel.Intersect, Source: src, ID: a.t1 + "|" + a.t2, Predict: "associate", Status: status})
	}
	other(KindState, func(c *cand) []Op {
		if c.state == nil {
			return nil
		}
		b, _ := json.Marshal(c.state)
		return []Op{{Kind: KindState, Table: c.table, Set: p.meta.set(c.table), Source: c.src.ID, ID: c.id, Body: b}}
	})
	// Decisions that write nothing.
	n := 0
	for _, c := range p.order {
		if c.action == "create" || c.action == "update" {
			continue
		}
		st := map[string]string{"skip": ResSkipped, "conflict": ResConflict, "fail": ResFailed}[c.action]
		rows = append(rows, Result{Key: fmt.Sprintf("p-r%06d", n), Kind: KindRecord, Table: c.table, Source: c.src.ID, ID: c.id,
			Predict: c.action, Status: st, Reason: c.reason, Warnings: c.warnings, Diff: c.diff})
		n++
	}
	for _, r := range p.results {
		r.Key = fmt.Sprintf("p-r%06d", n)
		rows = append(rows, r)
		n++
	}
	p.results = rows
	var phs []Phase
	for _, ph := range phases {
		if ph.Chunks > 0 {
			phs = append(phs, ph)
		}
	}
	return chunks, phs, nil
}
