package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
)

// Activity parties. An email's sender and recipients, an appointment's
// organizer and attendees, a phone call's, letter's or fax's parties are
// activityparty rows (powerapps-docs, developer/data-platform/reference/
// entities/activityparty.md). activityparty has no Create or Update
// message of its own: the rows are written with their activity, as a deep
// insert through the activity's collection-valued navigation property
// <activity>_activity_parties (the one-to-many relationship whose lookup
// is activityparty.activityid), each row with participationtypemask, its
// party bound through partyid_<table>@odata.bind, or only addressused for
// an address nothing in the organization resolves to. So the planner never
// restores activityparty rows as records: it adds them to the create of
// their activity. An activity that exists already keeps its parties.

const partyTable = "activityparty"

// partyPlan is one party of an activity to create.
type partyPlan struct {
	fields map[string]json.RawMessage
	bind   string     // "partyid_<table>@odata.bind"
	value  string     // "/<set>(<id>)"
	target *candidate // the party's record when this job creates it
}

// partiesNav returns the collection an activity table's parties are
// written through: the one-to-many relationship of activityparty.activityid
// in the target's metadata, else the name every activity's collection has
// (<activity>_activity_parties: email_activity_parties,
// appointment_activity_parties, ... in activityparty.md's relationships),
// for a target whose metadata relates activityparty to activitypointer
// only.
func partiesNav(tm *TableSchema) string {
	for _, r := range tm.OneToMany {
		if r.Referencing == partyTable && r.Attribute == "activityid" && r.Collection != "" {
			return r.Collection
		}
	}
	return tm.Name + "_activity_parties"
}

// backedUpParties returns the backed-up parties by activity id (loaded once).
func (p *planner) backedUpParties(ctx context.Context) (map[string][]*backedUpRecord, error) {
	if p.parties != nil {
		return p.parties, nil
	}
	p.parties = map[string][]*backedUpRecord{}
	if !p.inRun[partyTable] || !p.hasTable(partyTable) {
		return p.parties, nil
	}
	rows, err := p.records(ctx, partyTable)
	if err != nil {
		return nil, err
	}
	for _, id := range sortedKeys(rows) {
		act, err := idField(rows[id].Fields, "_activityid_value")
		if err != nil {
			return nil, fmt.Errorf("activity party %s: %w", id, err)
		}
		if act != "" {
			p.parties[act] = append(p.parties[act], rows[id])
		}
	}
	return p.parties, nil
}

// partyRefs returns the parties' lookups of the activities in cs that are
// created, for prefetchReferences.
func (p *planner) partyRefs(ctx context.Context, cs []*candidate) ([]lookupRef, error) {
	var out []lookupRef
	for _, c := range cs {
		if c.action != ActionCreate {
			continue
		}
		parties, err := p.backedUpParties(ctx)
		if err != nil {
			return nil, err
		}
		for _, r := range parties[c.backup.ID] {
			lookups, err := lookupsOf(partyTable, r.ID, r.Fields)
			if err != nil {
				return nil, err
			}
			out = append(out, lookups...)
		}
	}
	return out, nil
}

// buildParties gives an activity to create its backed-up parties.
func (p *planner) buildParties(ctx context.Context, c *candidate, tm *TableSchema) error {
	if c.action != ActionCreate {
		return nil
	}
	nav := partiesNav(tm)
	all, err := p.backedUpParties(ctx)
	if err != nil || len(all[c.backup.ID]) == 0 {
		return err
	}
	pt, err := p.target.Table(ctx, partyTable)
	if err != nil {
		return err
	}
	c.partiesNav = nav
	for _, r := range all[c.backup.ID] {
		party := partyPlan{fields: map[string]json.RawMessage{}}
		for _, k := range sortedKeys(r.Fields) {
			v := r.Fields[k]
			if strings.Contains(k, "@") || strings.HasPrefix(k, "_") || k == pt.PrimaryID {
				continue
			}
			if why := pt.notWritableReason(k, true); why != "" {
				p.notWritableValue(partyTable, k, why, v)
				continue
			}
			party.fields[k] = v
		}
		lookups, err := lookupsOf(partyTable, r.ID, r.Fields)
		if err != nil {
			return err
		}
		keep := true
		for _, lv := range lookups {
			if lv.attr != "partyid" || lv.id == "" {
				continue // activityid is the activity being created
			}
			res, err := p.resolve(ctx, lv, partyTable+"/"+r.ID+".partyid")
			if err != nil {
				return err
			}
			bind := pt.navigation("partyid", lv.table, lv.nav)
			if !res.ok || bind == "" || lv.table == "" {
				keep = p.unresolvedParty(c, party, lv)
				continue
			}
			party.bind, party.value, party.target = bind+"@odata.bind", "/"+p.tables[lv.table].EntitySet+"("+res.id+")", res.target
		}
		if keep {
			c.parties = append(c.parties, party)
		}
	}
	return nil
}

// unresolvedParty keeps a party whose record maps nowhere as the address
// it was sent to, reporting the loss of the link; false when the row has
// no address either and is left out.
func (p *planner) unresolvedParty(c *candidate, party partyPlan, lv lookupRef) bool {
	if a, ok := party.fields["addressused"]; ok && string(a) != "null" && string(a) != `""` {
		c.warnings = append(c.warnings, fmt.Sprintf("party %s %s maps to nothing in the target; kept as its address %s", lv.table, lv.id, a))
		return true
	}
	c.warnings = append(c.warnings, fmt.Sprintf("party %s %s maps to nothing in the target and has no address; left out", lv.table, lv.id))
	return false
}

// partyOps are the parties of c as written by its record operation.
// Parties this job creates in a later chunk than c cannot be bound (the
// layout avoids it): they keep their address, or are left out, with a
// warning.
func (c *candidate) partyOps() []PartyOp {
	var out []PartyOp
	for _, pp := range c.parties {
		op := PartyOp{Fields: pp.fields}
		switch {
		case pp.bind == "":
		case pp.target == nil:
			op.Bind, op.Value = pp.bind, pp.value
		case pp.target.chunk < c.chunk:
			op.Bind, op.Value, op.Restored = pp.bind, pp.value, true
		default:
			if !op.KeepAddress() {
				c.warnings = append(c.warnings, fmt.Sprintf("party %s is restored after the activity; left out", pp.value))
				continue
			}
			c.warnings = append(c.warnings, fmt.Sprintf("party %s is restored after the activity; kept as its address", pp.value))
		}
		out = append(out, op)
	}
	return out
}

// KeepAddress reports whether the party has an address to fall back on.
func (o PartyOp) KeepAddress() bool {
	a, ok := o.Fields["addressused"]
	return ok && string(a) != "null" && string(a) != `""`
}

// PartiesBody returns the parties as the JSON array of the deep insert;
// withRestored false leaves out the binds to records the job restored
// (their rows keep the address, or are dropped when they have none).
func PartiesBody(parties []PartyOp, withRestored bool) (json.RawMessage, []string, error) {
	var rows []map[string]json.RawMessage
	var dropped []string
	for _, pt := range parties {
		row := map[string]json.RawMessage{}
		for k, v := range pt.Fields {
			row[k] = v
		}
		if pt.Bind != "" && (withRestored || !pt.Restored) {
			v, err := json.Marshal(pt.Value)
			if err != nil {
				return nil, nil, err
			}
			row[pt.Bind] = v
		} else if pt.Bind != "" {
			if !pt.KeepAddress() {
				dropped = append(dropped, pt.Value+" (left out)")
				continue
			}
			dropped = append(dropped, pt.Value+" (kept as its address)")
		}
		rows = append(rows, row)
	}
	b, err := json.Marshal(rows)
	return b, dropped, err
}

// partiesOfSurvivors reports the parties of surviving activities that
// pointed at records the job creates: the delete marked them
// ispartydeleted, and activityparty has no Update message, so the restore
// cannot unmark them (the party id still points at the restored record).
func (p *planner) partiesOfSurvivors(ctx context.Context, created map[string]map[string]*candidate) error {
	if len(created) == 0 || !p.inRun[partyTable] || !p.hasTable(partyTable) {
		return nil
	}
	all, err := p.backedUpParties(ctx)
	if err != nil {
		return err
	}
	var ids []string
	backup := map[string]*backedUpRecord{}
	for _, act := range sortedKeys(all) {
		for _, r := range all[act] {
			lookups, err := lookupsOf(partyTable, r.ID, r.Fields)
			if err != nil {
				return err
			}
			var act, party lookupRef
			for _, lv := range lookups {
				switch lv.attr {
				case "activityid":
					act = lv
				case "partyid":
					party = lv
				}
			}
			if created[party.table][party.id] == nil || created[act.table][act.id] != nil {
				continue
			}
			ids = append(ids, r.ID)
			backup[r.ID] = r
		}
	}
	if len(ids) == 0 {
		return nil
	}
	if err := p.live.fetch(ctx, partyTable, ids); err != nil {
		return err
	}
	for _, id := range ids {
		live, err := p.live.record(ctx, partyTable, id)
		if err != nil || live == nil {
			if err != nil {
				return err
			}
			continue
		}
		if v := backup[id].Fields["ispartydeleted"]; !equalJSON(v, live["ispartydeleted"]) {
			p.notWritableValue(partyTable, "ispartydeleted", "party of an activity that survived the delete: activityparty has no Update message, "+
				"so the row keeps ispartydeleted although its party is restored", v)
		}
	}
	return nil
}
