package dataversesim

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"
)

// Activity parties (issue 13 part 1 item 3). An email's from/to/cc/bcc, an
// appointment's organizer and attendees, a phone call's, letter's or fax's
// sender and recipients are activityparty rows (powerapps-docs
// developer/data-platform/reference/entities/activityparty.md):
// participationtypemask 1 Sender, 2 To, 3 CC, 4 BCC, 5 Required attendee,
// 6 Optional attendee, 7 Organizer, 8 Regarding, 9 Owner, 10 Resource,
// 11 Customer; partyid the resolved record (partyid_<table>@odata.bind), or
// only addressused for an address nothing in the organization matches.
//
// activityparty's only message is RetrieveMultiple: the rows are read at
// /activityparties or through the activity's <activity>_activity_parties
// collection (also as $expand of one activity), and written only with the
// activity, as a deep insert on its create:
//
//	POST /emails {"subject":"Hi","email_activity_parties":[
//	  {"participationtypemask":1,"partyid_systemuser@odata.bind":"/systemusers(<id>)"},
//	  {"participationtypemask":2,"addressused":"someone@example.com"}]}
//
// A resolved email party without addressused gets the party's address, as
// the platform fills it. Deleting the activity deletes its parties
// (cascade.go); deleting the party's record keeps the row, ispartydeleted.

// partiesNav is the activity's party collection, "" for other tables.
func partiesNav(def *TableDef) string {
	for _, a := range partyActivities {
		if a == def.LogicalName {
			return a + "_activity_parties"
		}
	}
	return ""
}

// emailColumn is the address column of a party's table.
var emailColumn = map[string]string{"account": "emailaddress1", "contact": "emailaddress1", "lead": "emailaddress1", "systemuser": "internalemailaddress"}

// takeParties validates and removes the party collection of a create body,
// returning the prepared rows (stored by storeParties once the activity
// is). Creating an activityparty on its own is refused.
func (e *Env) takeParties(rc *reqCtx, def *TableDef, body map[string]any) ([]*Record, *dvError) {
	if def.LogicalName == "activityparty" {
		return nil, errf(400, codeUnsupported, "The 'Create' method does not support entities of type 'activityparty'. MessageProcessorCache returned MessageProcessor.Empty.")
	}
	nav := partiesNav(def)
	raw, ok := body[nav]
	if nav == "" || !ok {
		return nil, nil
	}
	delete(body, nav)
	list, ok := raw.([]any)
	if !ok {
		return nil, errf(400, codeBadRequest, "The value of '%s' must be an array of activityparty entities.", nav)
	}
	pt := e.tables["activityparty"]
	var out []*Record
	for _, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return nil, errf(400, codeBadRequest, "Each element of '%s' must be an activityparty entity.", nav)
		}
		if _, ok := m["participationtypemask"]; !ok {
			return nil, errf(400, codeInvalidParams, "An activity party needs participationtypemask (1 Sender, 2 To Recipient, 3 CC, 4 BCC, 5 Required attendee, 6 Optional attendee, 7 Organizer, ...).")
		}
		for _, k := range []string{"activityid", "ispartydeleted", "partyobjecttypecode"} {
			delete(m, k)
		}
		p := newRecord(pt.def, newGUID(e.rng))
		if derr := e.apply(rc, pt, p, m, true); derr != nil {
			return nil, derr
		}
		ref, resolved := p.get(pt.def, "partyid").(Ref)
		addr, _ := p.get(pt.def, "addressused").(string)
		if !resolved && addr == "" {
			return nil, errf(400, codeInvalidParams, "An activity party needs a party (partyid_<table>@odata.bind) or an address (addressused).")
		}
		if resolved {
			t := e.tables[ref.Table]
			p.set(pt.def, "partyobjecttypecode", ref.Table)
			p.set(pt.def, "partyidname", t.recs[ref.ID].get(t.def, t.def.PrimaryName))
			if col := emailColumn[ref.Table]; addr == "" && def.LogicalName == "email" && col != "" {
				p.set(pt.def, "addressused", t.recs[ref.ID].get(t.def, col))
			}
		}
		p.set(pt.def, "ispartydeleted", false)
		out = append(out, p)
	}
	return out, nil
}

// storeParties stores the prepared parties of a newly created activity.
func (e *Env) storeParties(def *TableDef, activityID string, parties []*Record, now time.Time, by string) {
	pt := e.tables["activityparty"]
	for _, p := range parties {
		p.set(pt.def, "activityid", Ref{def.LogicalName, activityID})
		e.stamp(pt.def, p, now, by)
		e.put(pt, p)
	}
}

// partiesOf lists an activity's parties in primary key order.
func (e *Env) partiesOf(table, id string) []*Record {
	pt := e.tables["activityparty"]
	a := pt.def.Attr("activityid")
	var out []*Record
	for _, pid := range pt.ids {
		if ref, ok := pt.recs[pid].Vals[a.idx].(Ref); ok && ref.Table == table && ref.ID == id {
			out = append(out, pt.recs[pid])
		}
	}
	return out
}

var reExpandParties = regexp.MustCompile(`^([a-z]+_activity_parties)(?:\(\$select=([A-Za-z0-9_,]+)\))?$`)

// serveRecordPath answers what hangs below one record that the generic
// routes do not: the party collection, $expand of it, SendEmail, and the
// refusal to update or delete an activityparty. False leaves the request
// to them.
func (e *Env) serveRecordPath(rc *reqCtx, w http.ResponseWriter, r *http.Request, td *tableData, id string, rest []segment) bool {
	def := td.def
	if def.LogicalName == "activityparty" && r.Method != http.MethodGet {
		op := map[string]string{http.MethodPatch: "Update", http.MethodPut: "Update", http.MethodDelete: "Delete"}[r.Method]
		if op == "Update" && td.recs[id] == nil {
			op = "Create" // a PATCH of a missing row is an upsert that creates
		}
		if op == "" {
			op = r.Method
		}
		writeDVError(w, errf(400, codeUnsupported, "The '%s' method does not support entities of type 'activityparty'. MessageProcessorCache returned MessageProcessor.Empty.", op))
		return true
	}
	nav := partiesNav(def)
	switch {
	case len(rest) == 0 && r.Method == http.MethodGet && nav != "" && r.URL.Query().Has("$expand"):
		m := reExpandParties.FindStringSubmatch(r.URL.Query().Get("$expand"))
		if m == nil || m[1] != nav {
			return false
		}
		e.getWithParties(rc, w, td, id, r.URL.Query(), m[2])
		return true
	case len(rest) == 1 && rest[0].name == nav && nav != "" && !rest[0].has:
		if r.Method != http.MethodGet {
			writeDVError(w, errf(405, codeBadRequest, "The parties of an activity are written with the activity: create it with %s, or use its party list.", nav))
			return true
		}
		e.listParties(rc, w, td, id, r.URL.Query().Get("$select"))
		return true
	case len(rest) == 1 && def.LogicalName == "email" && actionName(rest[0].name) == "SendEmail":
		e.sendEmail(rc, w, r, td, id)
		return true
	}
	return false
}

func (e *Env) appendParties(b []byte, parties []*Record, cols []*AttrDef, ann annotations) []byte {
	pt := e.tables["activityparty"]
	b = append(b, '[')
	for i, p := range parties {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendRecord(b, pt, p, cols, ann, "")
	}
	return append(b, ']')
}

func (e *Env) listParties(rc *reqCtx, w http.ResponseWriter, td *tableData, id, sel string) {
	if td.recs[id] == nil {
		writeDVError(w, notFound(td.def, id))
		return
	}
	pt := e.tables["activityparty"]
	cols, derr := selectColumns(pt.def, sel)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	parties := e.partiesOf(td.def.LogicalName, id)
	rc.records = len(parties)
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, rc.contextURL(pt.def.SetName, cols, ""))
	b = append(b, `,"value":`...)
	b = e.appendParties(b, parties, cols, parsePrefs(rc.r.Header).ann)
	writeBody(w, 200, append(b, '}'))
}

// getWithParties is GET <activities>(<id>)?$expand=<activity>_activity_parties.
func (e *Env) getWithParties(rc *reqCtx, w http.ResponseWriter, td *tableData, id string, q url.Values, partySelect string) {
	rec := td.recs[id]
	if rec == nil {
		writeDVError(w, notFound(td.def, strings.TrimPrefix(id, "alt:")))
		return
	}
	cols, derr := selectColumns(td.def, q.Get("$select"))
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	pt := e.tables["activityparty"]
	pcols, derr := selectColumns(pt.def, partySelect)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	p := parsePrefs(rc.r.Header)
	parties := e.partiesOf(td.def.LogicalName, id)
	rc.records = 1 + len(parties)
	b := e.appendRecord(nil, td, rec, cols, p.ann, rc.contextURL(td.def.SetName, cols, "/$entity"))
	b = b[:len(b)-1]
	b = append(b, ',')
	b = appendKey(b, partiesNav(td.def))
	b = e.appendParties(b, parties, pcols, p.ann)
	w.Header().Set("ETag", rec.ETag())
	writeBody(w, 200, append(b, '}'))
}
