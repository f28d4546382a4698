package dataversesim

import (
	"testing"
	"testing/fstest"
)

// A page's facts replace the hand-written columns of a demo table, keep its
// custom columns, take relationship navigation names and cascades from the
// page, and add names-only tables with the documented mix of flags.
func TestStandardSchemaFromPageFacts(t *testing.T) {
	fsys := fstest.MapFS{
		"schemadata/tables/account.json": {Data: []byte(`{"source":"powerapps-docs/developer/data-platform/reference/entities/account.md@x","logicalName":"account","entitySetName":"accounts","primaryId":"accountid","primaryName":"name","ownershipType":"UserOwned","objectTypeCode":1,
 "columns":[{"name":"accountid","type":"Uniqueidentifier","update":false},{"name":"name","type":"String","maxLength":160},
  {"name":"parentaccountid","type":"Lookup","targets":["account"]},{"name":"parentaccountidname","type":"String","attributeOf":"parentaccountid","create":false,"update":false},
  {"name":"revenue_base","type":"Money","create":false,"update":false},{"name":"lastusedincampaign","type":"DateTime","dateTimeBehavior":"UserLocal","format":"DateOnly"},
  {"name":"to","type":"PartyList"},{"name":"statecode","type":"State","options":[[0,"Active"],[1,"Inactive"]]},{"name":"statuscode","type":"Status","options":[[1,"Active",0],[2,"Inactive",1]]}],
 "manyToOne":[{"schemaName":"account_parent_account","referencedEntity":"account","referencedAttribute":"accountid","referencingAttribute":"parentaccountid","referencingNav":"parentaccountid","cascade":"Assign:Cascade Delete:RemoveLink Merge:Cascade Reparent:Cascade Share:Cascade Unshare:Cascade"}],
 "oneToMany":[{"schemaName":"contact_customer_accounts","referencingEntity":"contact","referencingAttribute":"parentcustomerid","referencedNav":"contact_customer_accounts","cascade":"Assign:Cascade Delete:Cascade"}]}`)},
		"schemadata/names.json": {Data: []byte(`{"source":"toc","tables":["account","activityfileattachment","bot","bot_botcomponent","botcomponent","category","msdyn_aimodel"]}`)},
	}
	s, err := newStandardSchema(fsys)
	if err != nil {
		t.Fatal(err)
	}
	acc := s.byName["account"]
	if acc.Source == "" || acc.Attr("revenue_base") == nil || !acc.Attr("revenue_base").ReadOnly {
		t.Fatalf("account not built from its page: source %q, revenue_base %+v", acc.Source, acc.Attr("revenue_base"))
	}
	if acc.Attr("parentaccountidname") != nil || acc.Attr("to") != nil {
		t.Fatal("lookup name companions and PartyList columns are not Web API properties")
	}
	if acc.Attr("cr1_regions") == nil {
		t.Fatal("the demo's custom column on account was dropped")
	}
	if acc.Attr("lastusedincampaign").Format != "DateOnly" || acc.Attr("name").MaxLength != 160 {
		t.Fatal("column facts lost")
	}
	if acc.StateName != "AccountState" {
		t.Fatalf("StateName %q", acc.StateName)
	}
	var parent, contacts *Rel1N
	for _, r := range s.rels {
		switch r.SchemaName {
		case "account_parent_account":
			parent = r
		case "contact_customer_accounts":
			contacts = r
		}
	}
	if parent == nil || parent.Cascade.Delete != "RemoveLink" || parent.ReferencedAttribute != "accountid" {
		t.Fatalf("account_parent_account: %+v", parent)
	}
	if contacts == nil || contacts.Cascade.Delete != "Cascade" || contacts.ReferencedEntity != "account" || contacts.ReferencingEntity != "contact" {
		t.Fatalf("contact_customer_accounts: %+v", contacts)
	}
	if nav := acc.Attr("parentaccountid").nav["account"]; nav != "parentaccountid" {
		t.Fatalf("nav %q", nav)
	}
	if s.byName["bot_botcomponent"] == nil || !s.byName["bot_botcomponent"].IsIntersect {
		t.Fatal("bot_botcomponent joins two listed tables: an intersect")
	}
	if c := s.byName["category"]; c == nil || c.SetName != "categories" {
		t.Fatalf("category: %+v", c)
	}
	if s.byName[elasticTable] == nil || s.byName[elasticTable].TableType != tableElastic {
		t.Fatal("no elastic table")
	}
}

func TestParseOrg(t *testing.T) {
	for in, want := range map[string]Org{"": OrgSmall, "small": OrgSmall, "standard": OrgStandard} {
		if got, err := ParseOrg(in); err != nil || got != want {
			t.Errorf("ParseOrg(%q) = %q, %v", in, got, err)
		}
	}
	if _, err := ParseOrg("huge"); err == nil {
		t.Error("ParseOrg accepted an unknown shape")
	}
}

// The standard organization lists the reference folder's tables (about
// 600), keeps the demo data, and has the documented kinds of table.
func TestStandardOrganizationShape(t *testing.T) {
	s := Start(t, Options{Records: 200, Seed: 42, Org: OrgStandard})
	e := s.Demo()
	r := call(t, e, "GET", "EntityDefinitions?$select=LogicalName,ChangeTrackingEnabled,IsIntersect,TableType,IsValidForAdvancedFind", nil)
	want(t, r, 200)
	defs := r.values()
	if len(defs) < 600 {
		t.Fatalf("EntityDefinitions lists %d tables, want at least 600", len(defs))
	}
	kinds := map[string]int{}
	for _, d := range defs {
		m := d.(map[string]any)
		if m["ChangeTrackingEnabled"] == true {
			kinds["tracked"]++
		} else {
			kinds["untracked"]++
		}
		if m["IsIntersect"] == true {
			kinds["intersect"]++
		}
		if m["IsValidForAdvancedFind"] == false {
			kinds["hidden"]++
		}
		kinds[m["TableType"].(string)]++
	}
	for _, k := range []string{"tracked", "untracked", "intersect", "hidden", "Virtual", "Elastic"} {
		if kinds[k] == 0 {
			t.Errorf("no %s table among %d: %v", k, len(defs), kinds)
		}
	}
	var virtual string
	for _, d := range defs {
		if m := d.(map[string]any); m["TableType"] == "Virtual" {
			virtual = m["LogicalName"].(string)
			break
		}
	}
	set := s.schema.byName[virtual].SetName
	if r := call(t, e, "GET", set, nil); r.status < 400 {
		t.Errorf("virtual table %s answered %d to RetrieveMultiple", virtual, r.status)
	}
	r = call(t, e, "GET", "accounts?$select=name,revenue,revenue_base&$top=5", nil)
	want(t, r, 200)
	if len(r.values()) == 0 {
		t.Fatal("the demo accounts are gone")
	}
}
