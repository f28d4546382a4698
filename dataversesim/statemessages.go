package dataversesim

import (
	"encoding/json"
	"net/http"
	"strings"
	"time"
)

// State changes that need a message, and closed records (issue 13 part 1
// item 3). Dataverse sets some states only through a message that also
// writes a close activity:
//
//   - WinOpportunity / LoseOpportunity {OpportunityClose, Status}: the
//     opportunity becomes Won (1) or Lost (2) and an opportunityclose is
//     created (powerapps-docs developer/data-platform/webapi/
//     use-web-api-actions.md "Unbound actions", the WinOpportunity request
//     and its 204 answer; LoseOpportunity has the same parameters).
//   - CloseIncident {IncidentResolution, Status}: the case becomes Resolved
//     with an incidentresolution (incident.md Messages).
//   - WinQuote / CloseQuote {QuoteClose, Status}: an active quote becomes
//     Won, or Closed as Lost/Canceled/Revised, with a quoteclose.
//   - FulfillSalesOrder / CancelSalesOrder {OrderClose, Status}: the order
//     becomes Fulfilled or Canceled, with an orderclose.
//   - SendEmail {IssueSend, TrackingToken}, bound to an email
//     (emails(<id>)/Microsoft.Dynamics.CRM.SendEmail): the email leaves
//     Draft for Pending Send (IssueSend true) or Sent (false).
//
// A PATCH of statecode/statuscode into one of those states answers
// CannotUseOpportunitySetStateMessage (0x80100005, data-service-error-
// codes.md), worded as the catalogue words it for the opportunity; for the
// other tables the wording follows the same template [unverified: the
// catalogue states it for the opportunity only]. Invoices have no close
// message: Paid and Canceled are set by PATCH.
//
// Closed records are read-only: an update answers CannotUpdateBecauseItIsReadOnly
// (0x8004022e) or, for a resolved case, CaseAlreadyResolved (0x800404cf)
// (both data-service-error-codes.md; "Completed and canceled letters are
// read-only and can't be edited", letter.md statecode). A closed
// opportunity, case, invoice or activity is reopened by a PATCH of an open
// statecode (SetState, listed in each table's Messages); a closed quote or
// order is not (a quote is revised instead).

const (
	codeUseMessage    = "0x80100005" // CannotUseOpportunitySetStateMessage
	codeReadOnly      = "0x8004022e" // CannotUpdateBecauseItIsReadOnly
	codeCaseResolved  = "0x800404cf" // CaseAlreadyResolved
	codeInvalidParams = "0x80040203" // InvalidArgument
)

// closeMessage is a message that closes a record with a close activity.
type closeMessage struct {
	table      string  // the record it closes
	param      string  // the close activity parameter, e.g. OpportunityClose
	closeTable string  // its table
	state      int64   // the statecode it sets
	from       []int64 // the states it accepts the record in
}

var closeMessages = map[string]closeMessage{
	"WinOpportunity":    {"opportunity", "OpportunityClose", "opportunityclose", 1, []int64{0}},
	"LoseOpportunity":   {"opportunity", "OpportunityClose", "opportunityclose", 2, []int64{0}},
	"CloseIncident":     {"incident", "IncidentResolution", "incidentresolution", 1, []int64{0}},
	"WinQuote":          {"quote", "QuoteClose", "quoteclose", 2, []int64{1}},
	"CloseQuote":        {"quote", "QuoteClose", "quoteclose", 3, []int64{0, 1}},
	"FulfillSalesOrder": {"salesorder", "OrderClose", "orderclose", 3, []int64{0, 1}},
	"CancelSalesOrder":  {"salesorder", "OrderClose", "orderclose", 2, []int64{0, 1}},
}

// stateRule is what an update may do to a table's state.
type stateRule struct {
	byMessage map[int64]string // states only a message sets -> the message
	closed    []int64          // read-only states
	reopen    []int64          // closed states a PATCH of an open state leaves
	open      []int64          // the open states
}

func stateRuleOf(def *TableDef) *stateRule {
	switch def.LogicalName {
	case "opportunity":
		return &stateRule{byMessage: map[int64]string{1: "WinOpportunity", 2: "LoseOpportunity"}, closed: []int64{1, 2}, reopen: []int64{1, 2}, open: []int64{0}}
	case "incident":
		return &stateRule{byMessage: map[int64]string{1: "CloseIncident"}, closed: []int64{1, 2}, reopen: []int64{1, 2}, open: []int64{0}}
	case "quote":
		return &stateRule{byMessage: map[int64]string{2: "WinQuote", 3: "CloseQuote"}, closed: []int64{2, 3}, open: []int64{0, 1}}
	case "salesorder":
		return &stateRule{byMessage: map[int64]string{2: "CancelSalesOrder", 3: "FulfillSalesOrder"}, closed: []int64{2, 3, 4}, open: []int64{0, 1}}
	case "invoice":
		return &stateRule{closed: []int64{1, 2, 3}, reopen: []int64{2, 3}, open: []int64{0}}
	case "email":
		// Sent, Received and Completed are the mail's history: only
		// SendEmail (or the mail server) gets there, and only a canceled
		// draft comes back.
		return &stateRule{byMessage: map[int64]string{1: "SendEmail"}, closed: []int64{1, 2}, reopen: []int64{2}, open: []int64{0}}
	case "appointment":
		return &stateRule{closed: []int64{1, 2}, reopen: []int64{1, 2}, open: []int64{0, 3}}
	}
	if def.IsActivity && def.Attr("statecode") != nil {
		return &stateRule{closed: []int64{1, 2}, reopen: []int64{1, 2}, open: []int64{0}}
	}
	return nil
}

func has(list []int64, v int64) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// targetState is the statecode an update body asks for (statecode, or the
// state of the statuscode it sets), false when it changes neither.
func targetState(def *TableDef, body map[string]any) (int64, bool) {
	if n, ok := body["statecode"].(json.Number); ok {
		v, err := n.Int64()
		return v, err == nil
	}
	if n, ok := body["statuscode"].(json.Number); ok {
		if v, err := n.Int64(); err == nil {
			for _, o := range def.Attr("statuscode").Options {
				if o.Value == v {
					return o.State, true
				}
			}
		}
	}
	return 0, false
}

func stateLabel(def *TableDef, state int64) string {
	return def.Attr("statecode").optionLabel(state)
}

func errUseMessage(def *TableDef, state int64, message string) *dvError {
	l := stateLabel(def, state)
	return errf(400, codeUseMessage, "This message can not be used to set the state of %s to %s. In order to set state of %s to %s, use the %s message instead.",
		def.LogicalName, l, def.LogicalName, l, message)
}

// errClosed is the answer to an update of a record in a closed state.
func errClosed(def *TableDef, state int64) *dvError {
	if def.LogicalName == "incident" && state == 1 {
		return errf(400, codeCaseResolved, "This case has already been resolved. Close and reopen the case record to see the updates.")
	}
	return errf(400, codeReadOnly, "The object cannot be updated because it is read-only.")
}

// checkStateWrite decides whether an update (PATCH body) may be applied to
// rec: closed records only reopen, message-only states are refused.
func checkStateWrite(def *TableDef, rec *Record, body map[string]any) *dvError {
	rule := stateRuleOf(def)
	if rule == nil {
		return nil
	}
	cur, _ := rec.get(def, "statecode").(int64)
	target, changes := targetState(def, body)
	if has(rule.closed, cur) {
		if changes && has(rule.open, target) && has(rule.reopen, cur) {
			return nil
		}
		return errClosed(def, cur)
	}
	if changes && target != cur {
		if m := rule.byMessage[target]; m != "" {
			return errUseMessage(def, target, m)
		}
	}
	return nil
}

// actionName strips the namespace from an action segment.
func actionName(seg string) string { return strings.TrimPrefix(seg, "Microsoft.Dynamics.CRM.") }

// serveUnboundAction answers the close messages; false when seg is none.
func (e *Env) serveUnboundAction(rc *reqCtx, w http.ResponseWriter, r *http.Request, seg segment) bool {
	m, ok := closeMessages[actionName(seg.name)]
	if !ok || seg.has {
		return false
	}
	if r.Method != http.MethodPost {
		writeDVError(w, errf(405, codeBadRequest, "The HTTP method '%s' is not allowed for the %s action; use POST.", r.Method, actionName(seg.name)))
		return true
	}
	if !rc.isAdmin {
		writeDVError(w, errf(403, codeNoPrivilege, "Principal user (Id=%s) is missing prvWrite%s privilege.", rc.user, m.table))
		return true
	}
	body, derr := readBody(r)
	if derr == nil {
		derr = e.close(rc, actionName(seg.name), m, body)
	}
	if derr != nil {
		writeDVError(w, derr)
		return true
	}
	w.WriteHeader(http.StatusNoContent)
	return true
}

// close runs one close message: everything is checked before the close
// activity is created and the record's state set.
func (e *Env) close(rc *reqCtx, name string, m closeMessage, body map[string]any) *dvError {
	closeBody, ok := body[m.param].(map[string]any)
	if !ok {
		return errf(400, codeInvalidParams, "The %s parameter of %s is required: an %s entity bound to the %s with %sid@odata.bind.", m.param, name, m.closeTable, m.table, m.table)
	}
	sn, ok := body["Status"].(json.Number)
	status, err := sn.Int64()
	if !ok || err != nil {
		return errf(400, codeInvalidParams, "The Status parameter of %s is required: the statuscode of the %s's new state.", name, m.table)
	}
	for k := range body {
		if k != m.param && k != "Status" && !strings.Contains(k, "@") {
			return errf(400, codeBadRequest, "The parameter '%s' is not a parameter of the %s action.", k, name)
		}
	}
	bind, _ := closeBody[m.table+"id@odata.bind"].(string)
	if bind == "" {
		return errf(400, codeInvalidParams, "The %s must be bound to the %s it closes with %sid@odata.bind.", m.param, m.table, m.table)
	}
	td, id, derr := e.parseBindTarget(bind)
	if derr != nil {
		return derr
	}
	if td.def.LogicalName != m.table {
		return errf(400, codeBadRequest, "The navigation property '%sid' cannot be bound to an entity of type '%s'.", m.table, td.def.LogicalName)
	}
	existing := td.recs[id]
	if existing == nil {
		return notFound(td.def, id)
	}
	def := td.def
	cur, _ := existing.get(def, "statecode").(int64)
	if !has(m.from, cur) {
		if stateRuleOf(def) != nil && has(stateRuleOf(def).closed, cur) {
			return errClosed(def, cur)
		}
		return errf(400, codeStatus, "The %s message cannot be used on a %s in state %s.", name, def.LogicalName, stateLabel(def, cur))
	}
	valid := false
	for _, o := range def.Attr("statuscode").Options {
		valid = valid || o.Value == status && o.State == m.state
	}
	if !valid {
		return errf(400, codeStatus, "%d is not a valid status code for state code %s.%s on %s with Id %s.", status, def.StateName, strings.ReplaceAll(stateLabel(def, m.state), " ", ""), def.LogicalName, id)
	}
	ctd := e.tables[m.closeTable]
	crec, derr := e.createRecord(rc, ctd, "", closeBody)
	if derr != nil {
		return derr
	}
	now := e.now().Truncate(time.Second)
	crec.set(ctd.def, "statecode", int64(1))
	crec.set(ctd.def, "statuscode", int64(2))
	if crec.get(ctd.def, "actualend") == nil {
		crec.set(ctd.def, "actualend", now)
	}
	rec := existing.clone()
	rec.set(def, "statecode", m.state)
	rec.set(def, "statuscode", status)
	if def.LogicalName == "opportunity" {
		rec.set(def, "actualclosedate", crec.get(ctd.def, "actualend"))
		if m.state == 1 {
			rec.set(def, "actualvalue", crec.get(ctd.def, "actualrevenue"))
		}
	}
	e.stamp(def, rec, now, rc.user)
	e.put(td, rec)
	rc.records++
	return nil
}

// sendEmail is the bound SendEmail action on a draft email.
func (e *Env) sendEmail(rc *reqCtx, w http.ResponseWriter, r *http.Request, td *tableData, id string) {
	if r.Method != http.MethodPost {
		writeDVError(w, errf(405, codeBadRequest, "The HTTP method '%s' is not allowed for the SendEmail action; use POST.", r.Method))
		return
	}
	existing := td.recs[id]
	if existing == nil {
		writeDVError(w, notFound(td.def, id))
		return
	}
	body, derr := readBody(r)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	issue, _ := body["IssueSend"].(bool)
	if cur, _ := existing.get(td.def, "statecode").(int64); cur != 0 {
		writeDVError(w, errClosed(td.def, cur))
		return
	}
	rec := existing.clone()
	rec.set(td.def, "statecode", int64(1))
	rec.set(td.def, "statuscode", map[bool]int64{true: 6, false: 3}[issue])
	e.stamp(td.def, rec, e.now().Truncate(time.Second), rc.user)
	e.put(td, rec)
	rc.records++
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, rc.base+"$metadata#Microsoft.Dynamics.CRM.SendEmailResponse")
	b = append(b, `,"Subject":`...)
	subject, _ := rec.get(td.def, "subject").(string)
	b = appendJSONString(b, subject)
	writeBody(w, 200, append(b, '}'))
}
