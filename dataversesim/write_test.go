package dataversesim

import (
	"strings"
	"testing"
)

func entityID(t *testing.T, r resp) string {
	t.Helper()
	h := r.header.Get("OData-EntityId")
	i := strings.LastIndex(h, "(")
	if i < 0 {
		t.Fatalf("no OData-EntityId: %v %s", r.header, r.raw)
	}
	return strings.TrimSuffix(h[i+1:], ")")
}

func TestCreateUpdateDelete(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "POST", "accounts", map[string]any{"name": "Fabrikam", "revenue": 1000.5, "industrycode": 2, "cr1_regions": "1,3",
		"overriddencreatedon": "2020-05-01T10:00:00Z", "modifiedon": "2001-01-01T00:00:00Z"})
	want(t, r, 204)
	id := entityID(t, r)
	row, ok := e.Get("account", id)
	if !ok || row["name"] != "Fabrikam" || row["industrycode"] != int64(2) || row["statecode"] != int64(0) {
		t.Fatalf("stored %v", row)
	}
	if row["createdon"].(interface{ Year() int }).Year() != 2020 || row["modifiedon"].(interface{ Year() int }).Year() == 2001 {
		t.Fatalf("overriddencreatedon / modifiedon: %v %v", row["createdon"], row["modifiedon"])
	}
	r = call(t, e, "POST", "accounts?$select=name", map[string]any{"name": "Rep"}, "Prefer", "return=representation")
	want(t, r, 201)
	if r.body["name"] != "Rep" || r.body["@odata.etag"] == nil {
		t.Fatalf("representation %s", r.raw)
	}
	// Code and wording of web-api-client-errors.md (SupportArticles-docs).
	r = call(t, e, "POST", "accounts", map[string]any{"name": "x", "nosuch": 1})
	if r.status != 400 || r.errCode() != "0x0" || !strings.Contains(r.errMsg(), "Invalid property 'nosuch' was found in entity 'Microsoft.Dynamics.CRM.account'.") {
		t.Fatalf("unknown property: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "accounts", map[string]any{"name": "x", "industrycode": 99})
	want(t, r, 400)
	etag := call(t, e, "GET", "accounts("+id+")?$select=name", nil).body["@odata.etag"].(string)
	r = call(t, e, "PATCH", "accounts("+id+")", map[string]any{"name": "v2"}, "If-Match", `W/"1"`)
	if r.status != 412 || r.errMsg() != "The version of the existing record doesn't match the RowVersion property provided." {
		t.Fatalf("If-Match mismatch: %d %s", r.status, r.raw)
	}
	want(t, call(t, e, "PATCH", "accounts("+id+")", map[string]any{"name": "v2"}, "If-Match", etag), 204)
	missing := "11111111-2222-4333-8444-555555555555"
	r = call(t, e, "PATCH", "accounts("+missing+")", map[string]any{"name": "no"}, "If-Match", "*")
	if r.status != 404 || r.errMsg() != "account With Id = "+missing+" Does Not Exist" {
		t.Fatalf("If-Match * on missing: %d %s", r.status, r.raw)
	}
	r = call(t, e, "PATCH", "accounts("+id+")", map[string]any{"name": "no"}, "If-None-Match", "*")
	if r.status != 412 || r.errMsg() != "A record with matching key values already exists." {
		t.Fatalf("If-None-Match * on existing: %d %s", r.status, r.raw)
	}
	// Upsert creates a missing row with the given id.
	want(t, call(t, e, "PATCH", "accounts("+missing+")", map[string]any{"name": "upserted"}, "If-None-Match", "null"), 204)
	if row, ok := e.Get("account", missing); !ok || row["name"] != "upserted" {
		t.Fatalf("upsert create: %v", row)
	}
	// Alternate key.
	want(t, call(t, e, "PATCH", "accounts(accountnumber='ALT-1')", map[string]any{"name": "by key"}), 204)
	want(t, call(t, e, "GET", "accounts(accountnumber='ALT-1')", nil), 200)
	want(t, call(t, e, "DELETE", "accounts("+id+")", nil), 204)
	want(t, call(t, e, "DELETE", "accounts("+id+")", nil), 404)
}

func TestBind(t *testing.T) {
	_, e := small(t)
	acc, con, team := e.IDs("account")[0], e.IDs("contact")[0], e.IDs("team")[0]
	r := call(t, e, "POST", "tasks", map[string]any{"subject": "call", "regardingobjectid_account_task@odata.bind": "/accounts(" + acc + ")", "ownerid@odata.bind": "/teams(" + team + ")"})
	want(t, r, 204)
	row, _ := e.Get("task", entityID(t, r))
	if row["regardingobjectid"] != (Ref{"account", acc}) || row["ownerid"] != (Ref{"team", team}) {
		t.Fatalf("binds: %v", row)
	}
	r = call(t, e, "POST", "contacts", map[string]any{"lastname": "x", "parentcustomerid_contact@odata.bind": e.APIURL() + "contacts(" + con + ")"})
	want(t, r, 204)
	r = call(t, e, "POST", "tasks", map[string]any{"subject": "x", "regardingobjectid_account_task@odata.bind": "/accounts(11111111-2222-4333-8444-555555555555)"})
	if r.status != 400 || !strings.Contains(r.errMsg(), "Does Not Exist") {
		t.Fatalf("unknown target: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "tasks", map[string]any{"subject": "x", "regardingobjectid_account_task@odata.bind": "/contacts(" + con + ")"})
	want(t, r, 400)
	r = call(t, e, "POST", "tasks", map[string]any{"subject": "x", "nosuchnav@odata.bind": "/accounts(" + acc + ")"})
	want(t, r, 400)
	// Clearing with null.
	want(t, call(t, e, "PATCH", "accounts("+acc+")", map[string]any{"primarycontactid@odata.bind": nil}), 204)
	if row, _ := e.Get("account", acc); row["primarycontactid"] != nil {
		t.Fatal("lookup not cleared")
	}
}

func TestStatecodeRules(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "POST", "accounts", map[string]any{"name": "x", "statecode": 1})
	want(t, r, 400)
	id := entityID(t, call(t, e, "POST", "accounts", map[string]any{"name": "x"}))
	r = call(t, e, "PATCH", "accounts("+id+")", map[string]any{"statecode": 0, "statuscode": 2})
	if r.status != 400 || r.errCode() != codeStatus || !strings.HasPrefix(r.errMsg(), "2 is not a valid status code for state code AccountState.Active on account") {
		t.Fatalf("bad status: %d %s", r.status, r.raw)
	}
	want(t, call(t, e, "PATCH", "accounts("+id+")", map[string]any{"statecode": 1, "statuscode": 2}), 204)
	if row, _ := e.Get("account", id); row["statecode"] != int64(1) {
		t.Fatalf("state %v", row["statecode"])
	}
}

func TestN2NAssociate(t *testing.T) {
	_, e := small(t)
	acc, proj := e.IDs("account")[5], e.IDs("cr1_project")[0]
	before := len(e.Associated("cr1_account_cr1_project", acc))
	want(t, call(t, e, "POST", "accounts("+acc+")/cr1_account_cr1_project/$ref", map[string]any{"@odata.id": e.APIURL() + "cr1_projects(" + proj + ")"}), 204)
	if len(e.Associated("cr1_account_cr1_project", acc)) != before+1 {
		t.Fatal("not associated")
	}
	r := call(t, e, "GET", "accounts("+acc+")/cr1_account_cr1_project?$select=cr1_name", nil)
	if len(r.values()) != before+1 {
		t.Fatalf("related list: %s", r.raw)
	}
	want(t, call(t, e, "DELETE", "accounts("+acc+")/cr1_account_cr1_project("+proj+")/$ref", nil), 204)
	if len(e.Associated("cr1_account_cr1_project", acc)) != before {
		t.Fatal("not disassociated")
	}
	want(t, call(t, e, "POST", "accounts("+acc+")/cr1_account_cr1_project/$ref", map[string]any{"@odata.id": e.APIURL() + "cr1_projects(11111111-2222-4333-8444-555555555555)"}), 404)
}
