package dataversesim

import (
	"testing"
)

// $expand on data (powerapps-docs, developer/data-platform/webapi/query/join-tables.md).
func TestExpandData(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "accounts?$select=name&$expand=primarycontactid($select=fullname),ownerid", nil)
	want(t, r, 200)
	linked := 0
	for _, v := range r.values() {
		m := v.(map[string]any)
		row, _ := e.Get("account", m["accountid"].(string))
		pc, _ := m["primarycontactid"].(map[string]any)
		ref, _ := row["primarycontactid"].(Ref)
		if (pc == nil) != (ref.ID == "") || pc != nil && (pc["contactid"] != ref.ID || pc["fullname"] == nil || pc["jobtitle"] != nil) {
			t.Fatalf("primarycontactid of %v: %v (row %v)", m["accountid"], pc, ref)
		}
		if pc != nil {
			linked++
		}
		if owner, _ := m["ownerid"].(map[string]any); owner == nil || owner["fullname"] == nil && owner["name"] == nil {
			t.Fatalf("ownerid: %v", m["ownerid"])
		}
	}
	if linked == 0 {
		t.Fatal("no account has a primary contact: the test proves nothing")
	}
	// Collection-valued: the contacts of an account, through the relationship's navigation property.
	rels := call(t, e, "GET", "EntityDefinitions(LogicalName='account')/OneToManyRelationships?$select=ReferencedEntityNavigationPropertyName&$filter=ReferencingEntity eq 'contact' and ReferencingAttribute eq 'parentcustomerid'", nil)
	nav := rels.values()[0].(map[string]any)["ReferencedEntityNavigationPropertyName"].(string)
	counts := map[string]int{}
	for _, id := range e.IDs("contact") {
		row, _ := e.Get("contact", id)
		if ref, ok := row["parentcustomerid"].(Ref); ok && ref.Table == "account" {
			counts[ref.ID]++
		}
	}
	acc := ""
	for id, n := range counts {
		if n > 1 {
			acc = id
		}
	}
	if acc == "" {
		t.Fatal("no account with several contacts")
	}
	r = call(t, e, "GET", "accounts("+acc+")?$select=name&$expand="+nav+"($select=fullname;$orderby=fullname;$top=50)", nil)
	want(t, r, 200)
	list, _ := r.body[nav].([]any)
	if len(list) != counts[acc] {
		t.Fatalf("%s: %d contacts, want %d: %s", nav, len(list), counts[acc], r.raw)
	}
	// Many-to-many.
	u := e.SystemUserFor(e.s.SecretClients()[0].ClientID)
	r = call(t, e, "GET", "systemusers("+u+")?$select=fullname&$expand=systemuserroles_association($select=name)", nil)
	want(t, r, 200)
	if roles, _ := r.body["systemuserroles_association"].([]any); len(roles) != len(e.Associated("systemuserroles_association", u)) || len(roles) == 0 {
		t.Fatalf("roles: %s", r.raw)
	}
	r = call(t, e, "GET", "accounts?$expand=ownerid($select=fullname)", nil)
	if r.status != 400 || r.errMsg() != "Could not find a property named 'fullname' on type 'Microsoft.Dynamics.CRM.principal'." {
		t.Fatalf("owner select: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "accounts?$expand=nosuchnav", nil)
	if r.status != 400 || r.errCode() != "0x0" {
		t.Fatalf("unknown navigation property: %d %s", r.status, r.raw)
	}
}
