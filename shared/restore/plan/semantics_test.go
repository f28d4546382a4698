package plan_test

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan/plantest"
)

// crm is a small organization as Dataverse shapes it: accounts with a
// parent account (RemoveLink), contacts whose parent is an account
// (Cascade), opportunities (Cascade from their customer) closed by
// WinOpportunity with an opportunityclose, emails whose parties are
// activityparty rows written through email_activity_parties.
type crm struct {
	src *plantest.Source
	tgt *plantest.Target
}

func rw(name string) plan.Column { return plan.Column{Name: name, Create: true, Update: true} }

func ro(name string) plan.Column { return plan.Column{Name: name} }

func newCRM(t *testing.T) *crm {
	t.Helper()
	w := &crm{src: plantest.NewSource(), tgt: plantest.NewTarget()}
	w.tgt.AddTable(plan.TableInfo{Name: "account", EntitySet: "accounts", PrimaryID: "accountid"},
		rw("name"), rw("telephone1"), rw("parentaccountid"), rw("statecode"), rw("statuscode"), ro("modifiedon"),
		plan.Column{Name: "revenue", Create: true, Update: true, Type: "Money"}, plan.Column{Name: "revenue_base", Type: "Money"},
		plan.Column{Name: "openrevenue", Type: "Money", SourceType: 2})
	w.tgt.AddTable(plan.TableInfo{Name: "contact", EntitySet: "contacts", PrimaryID: "contactid"}, rw("lastname"), rw("parentcustomerid"),
		rw("emailaddress1"))
	w.tgt.AddTable(plan.TableInfo{Name: "opportunity", EntitySet: "opportunities", PrimaryID: "opportunityid"}, rw("name"), rw("customerid"),
		rw("statecode"), rw("statuscode"), rw("actualclosedate"), rw("actualvalue"))
	w.tgt.AddTable(plan.TableInfo{Name: "opportunityclose", EntitySet: "opportunitycloses", PrimaryID: "activityid"}, rw("subject"),
		rw("opportunityid"), rw("actualend"), rw("actualrevenue"), rw("statecode"), rw("statuscode"), rw("overriddencreatedon"))
	w.tgt.AddTable(plan.TableInfo{Name: "email", EntitySet: "emails", PrimaryID: "activityid"}, rw("subject"), rw("statecode"), rw("statuscode"))
	w.tgt.AddTable(plan.TableInfo{Name: "activityparty", EntitySet: "activityparties", PrimaryID: "activitypartyid"},
		plan.Column{Name: "activityid"}, rw("partyid"), rw("participationtypemask"), rw("addressused"), ro("ispartydeleted"))
	for _, r := range []plan.Relationship{
		{Name: "account_parent_account", Referenced: "account", Referencing: "account", Attribute: "parentaccountid", Navigation: "parentaccountid",
			Collection: "account_parent_account", Delete: plan.DeleteRemoveLink},
		{Name: "contact_customer_accounts", Referenced: "account", Referencing: "contact", Attribute: "parentcustomerid", Navigation: "parentcustomerid_account",
			Collection: "contact_customer_accounts", Delete: plan.DeleteCascade},
		{Name: "opportunity_customer_accounts", Referenced: "account", Referencing: "opportunity", Attribute: "customerid", Navigation: "customerid_account",
			Collection: "opportunity_customer_accounts", Delete: plan.DeleteCascade},
		{Name: "Opportunity_OpportunityClose", Referenced: "opportunity", Referencing: "opportunityclose", Attribute: "opportunityid",
			Navigation: "opportunityid", Collection: "Opportunity_OpportunityClose", Delete: plan.DeleteCascade},
		{Name: "activity_pointer_activity_parties_email", Referenced: "email", Referencing: "activityparty", Attribute: "activityid",
			Navigation: "activityid_email", Collection: "email_activity_parties", Delete: plan.DeleteCascade},
		{Name: "contact_activity_parties", Referenced: "contact", Referencing: "activityparty", Attribute: "partyid", Navigation: "partyid_contact",
			Collection: "contact_activity_parties"},
	} {
		w.tgt.Relate(r)
	}
	return w
}

// ref adds lookup col -> table/id to rec.
func ref(rec map[string]any, col, table, id string) map[string]any {
	rec["_"+col+"_value"] = id
	rec["_"+col+"_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = table
	return rec
}

func opsOf(pl *plan.Plan) map[string]plan.Op {
	out := map[string]plan.Op{}
	for _, ch := range pl.Chunks {
		for _, op := range ch {
			out[string(op.Kind)+"/"+op.Table+"/"+op.Source] = op
		}
	}
	return out
}

func predictionsOf(pl *plan.Plan) map[string]plan.Prediction {
	out := map[string]plan.Prediction{}
	for _, p := range pl.Predictions {
		out[string(p.Kind)+"/"+p.Table+"/"+p.Source] = p
	}
	return out
}

// TestRelinkSurvivors: a deleted account is restored; of the accounts
// whose parent it was, the one untouched since (but for the cleared
// lookup, and a second lookup the same delete cleared) is relinked with
// If-Match on its ETag, the one edited since and the one re-pointed
// elsewhere are left alone, each with the reason.
func TestRelinkSurvivors(t *testing.T) {
	w := newCRM(t)
	parent, gone := id(1), id(9) // gone: deleted too, not restored (not in the backup)
	acct := func(n int, name string) map[string]any {
		return ref(map[string]any{"accountid": id(n), "name": name, "telephone1": "1", "modifiedon": "2024-01-01T00:00:00Z", "versionnumber": 3}, "parentaccountid", "account", parent)
	}
	must(t, w.src.Add("account", "accountid", map[string]any{"accountid": parent, "name": "Parent"}, acct(2, "Untouched"), acct(3, "Edited"), acct(4, "Moved")))
	untouched := acct(2, "Untouched")
	// A second lookup of the survivor, cleared by the same delete (its
	// target is gone from the target too).
	w.tgt.Schemas["account"].Columns["masterid"] = rw("masterid")
	w.tgt.Relate(plan.Relationship{Name: "account_master_account", Referenced: "account", Referencing: "account", Attribute: "masterid",
		Navigation: "masterid", Collection: "account_master_account", Delete: plan.DeleteRemoveLink})
	ref(untouched, "masterid", "account", gone)
	w.src.Data["account"][1].Data, _ = json.Marshal(untouched)
	cleared := func(rec map[string]any, changes map[string]any) map[string]any {
		out := live(rec, 7, map[string]any{"_parentaccountid_value": nil, "_masterid_value": nil,
			"modifiedon": "2025-05-05T00:00:00Z"}) // the clearing's own stamp
		for k, v := range changes {
			out[k] = v
		}
		return out
	}
	must(t, w.tgt.Put("account", cleared(untouched, nil)))
	must(t, w.tgt.Put("account", cleared(acct(3, "Edited"), map[string]any{"telephone1": "2"})))
	must(t, w.tgt.Put("account", cleared(acct(4, "Moved"), map[string]any{"_parentaccountid_value": id(5)})))
	pl := build(t, &world{src: w.src, tgt: w.tgt}, plan.Request{Policy: plan.PolicySkipExisting, Scope: plan.Scope{Deleted: true},
		Options: plan.Options{Relink: true}})
	ops, preds := opsOf(pl), predictionsOf(pl)
	op, ok := ops["relink/account/"+id(2)]
	if !ok || op.IfMatch != `W/"7"` || string(op.Body) != `{"parentaccountid@odata.bind":"/accounts(`+parent+`)"}` {
		t.Errorf("relink of the untouched survivor: %+v (planned %v), want parentaccountid bound with If-Match W/\"7\"", op, ok)
	}
	if p := preds["relink/account/"+id(2)]; p.Action != plan.ActionRelink || len(p.Diff) != 1 || p.Diff[0].Field != "parentaccountid" {
		t.Errorf("relink prediction %+v", p)
	}
	for n, why := range map[int]string{3: "changed since the backup (telephone1)", 4: "parentaccountid points at " + id(5)} {
		p := preds["relink/account/"+id(n)]
		if _, planned := ops["relink/account/"+id(n)]; planned || p.Action != plan.ActionSkip || !strings.Contains(p.Reason, why) {
			t.Errorf("survivor %d: %+v (planned %v), want skipped: %s", n, p, planned, why)
		}
	}
	// A restore of the whole table (not only the deleted records) skips
	// the survivors as existing: their cleared links are relinked all the
	// same.
	pl = build(t, &world{src: w.src, tgt: w.tgt}, plan.Request{Policy: plan.PolicySkipExisting, Scope: plan.Scope{Tables: []string{"account"}},
		Options: plan.Options{Relink: true}})
	if op, ok := opsOf(pl)["relink/account/"+id(2)]; !ok || predictionsOf(pl)["record/account/"+id(2)].Action != plan.ActionSkip {
		t.Errorf("skip-existing restore of the table: relink %+v (planned %v), record %+v", op, ok, predictionsOf(pl)["record/account/"+id(2)])
	}
	// Without relink, survivors are left alone.
	pl = build(t, &world{src: w.src, tgt: w.tgt}, plan.Request{Policy: plan.PolicySkipExisting, Scope: plan.Scope{Deleted: true}})
	for k := range opsOf(pl) {
		if strings.HasPrefix(k, "relink/") {
			t.Errorf("relink %s planned with Options.Relink off", k)
		}
	}
}

// TestCascadePartiesAndCloseMessage: a deleted account comes back with
// its contact (Cascade), its won opportunity (closed by WinOpportunity
// carrying the backed-up opportunityclose, which gets no record operation
// of its own) and an email whose parties are its contact (restored in an
// earlier chunk), an address, and a party that maps nowhere.
func TestCascadePartiesAndCloseMessage(t *testing.T) {
	w := newCRM(t)
	acc, con, opp, cls, mail := id(1), id(2), id(3), id(4), id(5)
	must(t, w.src.Add("account", "accountid", map[string]any{"accountid": acc, "name": "A", "revenue": 100, "revenue_base": 50, "openrevenue": 7,
		"modifiedon": "2024-01-01T00:00:00Z", "legacycolumn": "x"}))
	must(t, w.src.Add("contact", "contactid", ref(map[string]any{"contactid": con, "lastname": "C", "emailaddress1": "c@example.com"}, "parentcustomerid", "account", acc)))
	must(t, w.src.Add("opportunity", "opportunityid", ref(map[string]any{"opportunityid": opp, "name": "Deal", "statecode": 1, "statuscode": 3,
		"actualclosedate": "2024-02-02T00:00:00Z", "actualvalue": 10}, "customerid", "account", acc)))
	must(t, w.src.Add("opportunityclose", "activityid", ref(map[string]any{"activityid": cls, "subject": "Won: Deal", "actualend": "2024-02-02T10:00:00Z",
		"actualrevenue": 10, "statecode": 1, "statuscode": 2, "createdon": "2024-02-02T10:00:00Z"}, "opportunityid", "opportunity", opp)))
	must(t, w.src.Add("email", "activityid", map[string]any{"activityid": mail, "subject": "Hi", "statecode": 1, "statuscode": 3}))
	must(t, w.src.Add("activityparty", "activitypartyid",
		ref(ref(map[string]any{"activitypartyid": id(11), "participationtypemask": 2, "addressused": "c@example.com", "ispartydeleted": false}, "activityid", "email", mail), "partyid", "contact", con),
		ref(map[string]any{"activitypartyid": id(12), "participationtypemask": 3, "addressused": "x@partner.example"}, "activityid", "email", mail),
		ref(ref(map[string]any{"activitypartyid": id(13), "participationtypemask": 3}, "activityid", "email", mail), "partyid", "contact", id(99))))
	pl := build(t, &world{src: w.src, tgt: w.tgt}, plan.Request{Policy: plan.PolicySkipExisting, Scope: plan.Scope{Deleted: true}, ChunkSize: 50,
		Options: plan.Options{State: true, KeepCreatedOn: true}})
	ops, preds := opsOf(pl), predictionsOf(pl)
	// Cascade children are named; the explicitly deleted parent is not.
	for _, k := range []string{"record/contact/" + con, "record/opportunity/" + opp, "record/opportunityclose/" + cls} {
		if preds[k].Cascade == "" || preds[k].Action != plan.ActionCreate {
			t.Errorf("%s: %+v, want a create through a Cascade relationship", k, preds[k])
		}
	}
	if preds["record/account/"+acc].Cascade != "" || preds["record/email/"+mail].Cascade != "" {
		t.Error("a record without a restored Cascade parent is marked as a cascade child")
	}
	// The close record is written by the opportunity's message only.
	if _, ok := ops["record/opportunityclose/"+cls]; ok {
		t.Error("the opportunityclose has a record operation of its own")
	}
	st := ops["state/opportunity/"+opp]
	if st.Message == nil || st.Message.Name != "WinOpportunity" || st.Message.Status != 3 || st.Message.CloseID != cls || st.Message.CloseKey != st.Key+"-close" {
		t.Fatalf("state of the won opportunity: %+v", st)
	}
	var params struct {
		Status           int
		OpportunityClose map[string]any
	}
	if err := json.Unmarshal(st.Message.Params, &params); err != nil {
		t.Fatal(err)
	}
	oc := params.OpportunityClose
	if params.Status != 3 || oc["activityid"] != cls || oc["opportunityid@odata.bind"] != "/opportunities("+opp+")" || oc["subject"] != "Won: Deal" ||
		oc["overriddencreatedon"] != "2024-02-02T10:00:00Z" || oc["statecode"] != nil {
		t.Errorf("WinOpportunity parameters %s", st.Message.Params)
	}
	if p, ok := findKey(pl, st.Message.CloseKey); !ok || p.Table != "opportunityclose" || p.Source != cls || !p.Planned {
		t.Errorf("the close record's line %+v (found %v)", p, ok)
	}
	// The sent email: SendEmail, recording it as sent.
	if m := ops["state/email/"+mail].Message; m == nil || m.Name != "SendEmail" || !m.Bound || string(m.Params) != `{"IssueSend":false}` {
		t.Errorf("state of the sent email: %+v", m)
	}
	// Parties: the contact is bound (it is created in an earlier chunk),
	// the address kept, the party that maps nowhere left out with a warning.
	em := ops["record/email/"+mail]
	if em.PartiesNav != "email_activity_parties" || len(em.Parties) != 2 {
		t.Fatalf("email parties %s %+v", em.PartiesNav, em.Parties)
	}
	if p := em.Parties[0]; p.Bind != "partyid_contact@odata.bind" || p.Value != "/contacts("+con+")" || !p.Restored || string(p.Fields["addressused"]) != `"c@example.com"` {
		t.Errorf("contact party %+v", p)
	}
	if c := ops["record/contact/"+con]; !strings.HasPrefix(em.Key, "c") || c.Key >= em.Key || c.Key[:7] == em.Key[:7] {
		t.Errorf("the email (%s) is not in a later chunk than its party's contact (%s)", em.Key, c.Key)
	}
	if p := em.Parties[1]; p.Bind != "" || string(p.Fields["addressused"]) != `"x@partner.example"` {
		t.Errorf("address party %+v", p)
	}
	if ws := strings.Join(preds["record/email/"+mail].Warnings, ";"); !strings.Contains(ws, "contact "+id(99)+" maps to nothing") {
		t.Errorf("email warnings %q", ws)
	}
	// Not written, by table and column, with the reason.
	nw := map[string]string{}
	for _, x := range pl.NotWritable {
		nw[x.Table+"."+x.Column] = x.Reason
	}
	for col, why := range map[string]string{
		"account.modifiedon":           "not valid for create",
		"account.revenue_base":         "base-currency amount",
		"account.openrevenue":          "rollup column",
		"account.legacycolumn":         "not in the target table",
		"activityparty.ispartydeleted": "not valid for create",
		"opportunity.actualclosedate":  "WinOpportunity sets it from opportunityclose.actualend",
	} {
		if !strings.Contains(nw[col], why) {
			t.Errorf("%s: not writable %q, want %q", col, nw[col], why)
		}
	}
	if _, listed := nw["opportunity.actualvalue"]; listed {
		t.Error("actualvalue equals the close's actualrevenue: nothing is lost, nothing to list")
	}
	// A target whose metadata relates activityparty only to activitypointer
	// (no email_activity_parties relationship): the collection's documented
	// name is used, the parties are not dropped.
	w.tgt.Schemas["email"].OneToMany = nil
	pl = build(t, &world{src: w.src, tgt: w.tgt}, plan.Request{Policy: plan.PolicySkipExisting, Scope: plan.Scope{Deleted: true}, ChunkSize: 50,
		Options: plan.Options{State: true}})
	if em := opsOf(pl)["record/email/"+mail]; em.PartiesNav != "email_activity_parties" || len(em.Parties) != 2 {
		t.Errorf("email parties without the relationship in the metadata: %s %+v", em.PartiesNav, em.Parties)
	}
}

func findKey(pl *plan.Plan, key string) (plan.Prediction, bool) {
	for _, p := range pl.Predictions {
		if p.Key == key {
			return p, true
		}
	}
	return plan.Prediction{}, false
}

// TestCloseMessageWithoutCloseRecord: a lost opportunity whose backup has
// no opportunityclose is closed by LoseOpportunity with a new close
// activity (a warning says so); without an opportunityclose table in the
// target its state cannot be set and is reported, not sent.
func TestCloseMessageWithoutCloseRecord(t *testing.T) {
	w := newCRM(t)
	opp := id(3)
	must(t, w.src.Add("opportunity", "opportunityid", map[string]any{"opportunityid": opp, "name": "Lost", "statecode": 2, "statuscode": 5}))
	req := plan.Request{Policy: plan.PolicySkipExisting, Scope: plan.Scope{Deleted: true}, Options: plan.Options{State: true}}
	pl := build(t, &world{src: w.src, tgt: w.tgt}, req)
	m := opsOf(pl)["state/opportunity/"+opp].Message
	if m == nil || m.Name != "LoseOpportunity" || m.CloseKey != "" ||
		!strings.Contains(string(m.Params), `"opportunityid@odata.bind":"/opportunities(`+opp+`)"`) || !strings.Contains(string(m.Params), `"Status":5`) {
		t.Fatalf("LoseOpportunity %+v", m)
	}
	if ws := strings.Join(predictionsOf(pl)["record/opportunity/"+opp].Warnings, ";"); !strings.Contains(ws, "creates a new one") {
		t.Errorf("warnings %q", ws)
	}
	delete(w.tgt.Schemas, "opportunityclose")
	pl = build(t, &world{src: w.src, tgt: w.tgt}, req)
	if op, ok := opsOf(pl)["state/opportunity/"+opp]; ok {
		t.Errorf("a state operation without the close table: %+v", op)
	}
	listed := false
	for _, nw := range pl.NotWritable {
		listed = listed || nw.Table == "opportunity" && nw.Column == "statecode" && strings.Contains(nw.Reason, "opportunityclose")
	}
	if !listed {
		t.Errorf("the unreachable state is not listed: %+v", pl.NotWritable)
	}
}
