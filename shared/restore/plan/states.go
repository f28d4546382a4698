package plan

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
)

// States only a message sets. Dataverse refuses a PATCH of statecode into
// some states (CannotUseOpportunitySetStateMessage, 0x80100005): a won or
// lost opportunity, a resolved case, a won or closed quote, a fulfilled or
// canceled order are closed by a message that also creates the close
// activity (opportunityclose, incidentresolution, quoteclose, orderclose),
// and an email reaches Sent only through SendEmail. Sources
// (powerapps-docs): developer/data-platform/webapi/use-web-api-actions.md
// (WinOpportunity and its request shape), the WinOpportunity,
// LoseOpportunity, CloseIncident, WinQuote, CloseQuote, FulfillSalesOrder,
// CancelSalesOrder and SendEmail action pages (developer/data-platform/
// webapi/reference/<action>.md: the close activity parameter and Status),
// and the tables' Messages and statecode sections (reference/entities/
// opportunity.md, incident.md, quote.md, salesorder.md, email.md).
//
// The record is created active, its children and links are written, and
// the message closes it last (the state phase), with the backed-up close
// activity as its parameter: the close record keeps its id and columns and
// is not created on its own. Every other state (a canceled case, a paid
// invoice, a completed task or appointment) is a PATCH of statecode and
// statuscode in the same phase.

// stateMessage is the message that puts a table's record in a state.
type stateMessage struct {
	name       string
	bound      bool   // posted to the record (SendEmail)
	param      string // the close activity parameter ("" none)
	closeTable string
	from       []int // the states the message accepts the record in
	// status: the only statuscode the message gives (SendEmail with
	// IssueSend false records the email as Sent, 3); 0: any of the state.
	status int
	params map[string]any // fixed parameters
	// derived: columns of the record the message sets from its close
	// activity (column -> close activity column).
	derived map[string]string
}

var stateMessages = map[string]map[int]stateMessage{
	"opportunity": {
		// Closing stamps the opportunity's actual close date (and, won, its
		// actual revenue) from the close activity (opportunity.md:
		// actualclosedate, actualvalue; opportunityclose.md: actualend,
		// actualrevenue); the closed record is read-only after.
		1: {name: "WinOpportunity", param: "OpportunityClose", closeTable: "opportunityclose", from: []int{0},
			derived: map[string]string{"actualclosedate": "actualend", "actualvalue": "actualrevenue"}},
		2: {name: "LoseOpportunity", param: "OpportunityClose", closeTable: "opportunityclose", from: []int{0},
			derived: map[string]string{"actualclosedate": "actualend"}},
	},
	"incident": {1: {name: "CloseIncident", param: "IncidentResolution", closeTable: "incidentresolution", from: []int{0}}},
	"quote": {
		2: {name: "WinQuote", param: "QuoteClose", closeTable: "quoteclose", from: []int{1}},
		3: {name: "CloseQuote", param: "QuoteClose", closeTable: "quoteclose", from: []int{0, 1}},
	},
	"salesorder": {
		2: {name: "CancelSalesOrder", param: "OrderClose", closeTable: "orderclose", from: []int{0, 1}},
		3: {name: "FulfillSalesOrder", param: "OrderClose", closeTable: "orderclose", from: []int{0, 1}},
	},
	// email.md: Completed (state 1) holds Completed, Sent, Received,
	// Pending Send and Sending; only Sent is reachable without mail flow,
	// by SendEmail with IssueSend false ("just record it as sent").
	"email": {1: {name: "SendEmail", bound: true, from: []int{0}, status: 3, params: map[string]any{"IssueSend": false}}},
}

// backedUpState returns the record's backed-up statecode and statuscode.
func backedUpState(r *backedUpRecord) (state, status int, ok bool) {
	if json.Unmarshal(r.Fields["statecode"], &state) != nil {
		return 0, 0, false
	}
	_ = json.Unmarshal(r.Fields["statuscode"], &status)
	return state, status, true
}

// messageFor returns the message c's backed-up state needs (nil: none, a
// PATCH does) and whether that state can be reached at all.
func messageFor(c *candidate) (m *stateMessage, reachable bool) {
	state, status, ok := backedUpState(c.backup)
	if !ok {
		return nil, true
	}
	sm, has := stateMessages[c.table][state]
	if !has {
		return nil, true
	}
	if sm.status != 0 && status != sm.status {
		return nil, false
	}
	return &sm, true
}

// chooseCloseRecords adds, for each record a close message will close,
// its backed-up close activity (the newest), which the message writes: a
// close record absent from the target is chosen (if it is not already) and
// given to its parent; one present in the target leaves the message to
// create a new one.
func (p *planner) chooseCloseRecords(ctx context.Context) error {
	if !p.req.Options.State {
		return nil
	}
	byTable := map[string][]*candidate{}
	for _, c := range p.order {
		if !c.action.Writes() || len(p.req.Scope.Fields[c.table]) > 0 && c.action == ActionUpdate {
			continue
		}
		if m, _ := messageFor(c); m != nil && m.closeTable != "" && p.restorable(m.closeTable) {
			byTable[m.closeTable] = append(byTable[m.closeTable], c)
		}
	}
	for _, ct := range sortedKeys(byTable) {
		newest, err := p.newestCloseRecords(ctx, ct)
		if err != nil {
			return err
		}
		var ids []string
		var mine []*candidate
		for _, parent := range byTable[ct] {
			if r := newest[ckey(parent.table, parent.backup.ID)]; r != nil {
				ids = append(ids, r.ID)
				mine = append(mine, parent)
			}
		}
		if err := p.live.fetch(ctx, ct, ids); err != nil {
			return err
		}
		for i, parent := range mine {
			close := p.chosen[ckey(ct, ids[i])]
			if close == nil {
				if close = p.choose(ct, newest[ckey(parent.table, parent.backup.ID)]); close == nil {
					continue
				}
				if err := p.decide(ctx, close); err != nil {
					return err
				}
			}
			if close.action == ActionCreate && close.closes == nil {
				close.closes, parent.close = parent, close
			}
		}
	}
	return nil
}

// newestCloseRecords returns the newest backed-up close record of each
// parent ("<parent table>|<parent id>"), by createdon then id.
func (p *planner) newestCloseRecords(ctx context.Context, table string) (map[string]*backedUpRecord, error) {
	recs, err := p.records(ctx, table)
	if err != nil {
		return nil, err
	}
	out := map[string]*backedUpRecord{}
	newer := func(a, b *backedUpRecord) bool {
		ca, _ := stringField(a.Fields, "createdon")
		cb, _ := stringField(b.Fields, "createdon")
		return ca > cb || ca == cb && a.ID > b.ID
	}
	for _, id := range sortedKeys(recs) {
		r := recs[id]
		lookups, err := lookupsOf(table, id, r.Fields)
		if err != nil {
			return nil, err
		}
		for _, lv := range lookups {
			if lv.id == "" || lv.table == "" || stateMessages[lv.table] == nil {
				continue
			}
			k := ckey(lv.table, lv.id)
			if cur := out[k]; cur == nil || newer(r, cur) {
				out[k] = r
			}
		}
	}
	return out, nil
}

// buildMessage makes the message that sets c's state, or reports the state
// as not writable when none reaches it.
func (p *planner) buildMessage(c *candidate) {
	m, reachable := messageFor(c)
	if !reachable {
		state, status, _ := backedUpState(c.backup)
		why := fmt.Sprintf("statuscode %d of state %d is set only when Dataverse sends or receives the mail (SendEmail with IssueSend false records Sent); a PATCH is refused", status, state)
		p.notWritableValue(c.table, "statecode", why, c.backup.Fields["statecode"])
		p.notWritableValue(c.table, "statuscode", why, c.backup.Fields["statuscode"])
		c.warnings = append(c.warnings, "state not restored: "+why)
		c.state = nil
		return
	}
	if m == nil {
		return
	}
	state, status, _ := backedUpState(c.backup)
	c.msg = &MessageOp{Name: m.name, Bound: m.bound, State: state, Status: status, From: m.from}
	c.msgDef = m
}

// messageParams renders the message's request body: the fixed
// parameters, Status, and the close activity (the backed-up close record
// with every lookup bound, or a new one when the backup has none).
func (p *planner) messageParams(c *candidate) (json.RawMessage, error) {
	m := c.msgDef
	params := map[string]any{}
	for k, v := range m.params {
		params[k] = v
	}
	if m.param != "" {
		params["Status"] = c.msg.Status
		body := map[string]json.RawMessage{}
		if cl := c.close; cl != nil {
			for k, v := range cl.body {
				body[k] = v
			}
			id, err := json.Marshal(cl.targetID)
			if err != nil {
				return nil, err
			}
			body[p.tables[cl.table].PrimaryID] = id
			for _, b := range cl.binds {
				v, err := json.Marshal(b.value)
				if err != nil {
					return nil, err
				}
				body[b.nav+"@odata.bind"] = v
			}
			c.msg.CloseTable, c.msg.CloseID = cl.table, cl.targetID
		}
		for _, col := range sortedKeys(m.derived) {
			var from json.RawMessage
			if c.close != nil {
				from = c.close.backup.Fields[m.derived[col]]
			}
			if !equalJSON(c.backup.Fields[col], from) {
				p.notWritableValue(c.table, col, fmt.Sprintf("%s sets it from %s.%s, and the closed record is read-only", m.name, m.closeTable, m.derived[col]),
					c.backup.Fields[col])
			}
		}
		if nav := c.closeNav; nav != "" {
			v, err := json.Marshal("/" + p.set(c.table) + "(" + c.targetID + ")")
			if err != nil {
				return nil, err
			}
			body[nav+"@odata.bind"] = v
		}
		if _, ok := body["subject"]; !ok && c.close == nil {
			subject, err := json.Marshal("Closed by restore (" + m.name + ")")
			if err != nil {
				return nil, err
			}
			body["subject"] = subject
		}
		params[m.param] = body
	}
	return json.Marshal(params)
}

// closeNavigation finds the close table's lookup to c's table (the
// navigation property the close activity is bound to its record with).
func (p *planner) closeNavigation(ctx context.Context, c *candidate) error {
	if c.msgDef == nil || c.msgDef.closeTable == "" {
		return nil
	}
	if !p.hasTable(c.msgDef.closeTable) {
		why := fmt.Sprintf("%s needs a %s, a table the target does not have", c.msgDef.name, c.msgDef.closeTable)
		p.notWritableValue(c.table, "statecode", why, c.backup.Fields["statecode"])
		p.notWritableValue(c.table, "statuscode", why, c.backup.Fields["statuscode"])
		c.warnings = append(c.warnings, "state not restored: "+why)
		c.state, c.msg, c.msgDef = nil, nil, nil
		return nil
	}
	ct, err := p.target.Table(ctx, c.msgDef.closeTable)
	if err != nil {
		return err
	}
	var navs []string
	for _, r := range ct.ManyToOne {
		if r.Referenced == c.table && r.Navigation != "" {
			navs = append(navs, r.Navigation)
		}
	}
	sort.Strings(navs)
	if len(navs) == 0 {
		navs = append(navs, c.table+"id") // the lookup's name (opportunityid), its navigation property on the close tables
	}
	c.closeNav = navs[0]
	if c.close == nil {
		c.warnings = append(c.warnings, fmt.Sprintf("no %s of this record in the backup: %s creates a new one", c.msgDef.closeTable, c.msgDef.name))
	}
	return nil
}
