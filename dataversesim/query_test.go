package dataversesim

import (
	"net/url"
	"strings"
	"testing"
)

func TestPaging12000(t *testing.T) {
	s := Start(t, Options{Records: -1, TableCounts: map[string]int{"account": 12000}, Seed: 3})
	e := s.Demo()
	link := "accounts?$select=name,accountnumber"
	seen := map[string]bool{}
	pages := 0
	last := ""
	for link != "" {
		r := call(t, e, "GET", link, nil, "Prefer", "odata.maxpagesize=5000")
		want(t, r, 200)
		if r.header.Get("Preference-Applied") != "odata.maxpagesize=5000" {
			t.Fatalf("Preference-Applied %q", r.header.Get("Preference-Applied"))
		}
		pages++
		for _, v := range r.values() {
			m := v.(map[string]any)
			id := m["accountid"].(string)
			if seen[id] {
				t.Fatalf("duplicate %s on page %d", id, pages)
			}
			if id <= last {
				t.Fatalf("not in primary key order: %s after %s", id, last)
			}
			last = id
			seen[id] = true
			if !strings.HasPrefix(m["@odata.etag"].(string), `W/"`) || m["name"] == nil {
				t.Fatalf("row %v", m)
			}
		}
		link, _ = r.body["@odata.nextLink"].(string)
		if link != "" {
			// documented cookie shape: decoded once the inner cookie is still encoded
			u, _ := url.Parse(link)
			tok := u.Query().Get("$skiptoken")
			if !strings.HasPrefix(tok, `<cookie pagenumber="`) || !strings.Contains(tok, `pagingcookie="%3ccookie%20page%3d%22`) || !strings.Contains(tok, `istracking="False"`) {
				t.Fatalf("skiptoken shape: %s", tok)
			}
		}
	}
	if pages != 3 || len(seen) != 12000 {
		t.Fatalf("pages %d rows %d", pages, len(seen))
	}
}

func TestSelectFilterAnnotations(t *testing.T) {
	_, e := small(t)
	ids := e.IDs("account")
	r := call(t, e, "GET", "accounts?$select=name,_parentaccountid_value,revenue,industrycode,_ownerid_value&$filter=accountid eq "+ids[3], nil,
		"Prefer", `odata.include-annotations="*"`)
	want(t, r, 200)
	if len(r.values()) != 1 {
		t.Fatalf("filter on primary key: %s", r.raw)
	}
	row := r.values()[0].(map[string]any)
	for _, k := range []string{"accountid", "name", "revenue", "_transactioncurrencyid_value", "industrycode@OData.Community.Display.V1.FormattedValue",
		"_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname", "_ownerid_value@Microsoft.Dynamics.CRM.associatednavigationproperty", "revenue@OData.Community.Display.V1.FormattedValue"} {
		if _, ok := row[k]; !ok {
			t.Errorf("missing %s in %v", k, row)
		}
	}
	if _, ok := row["telephone1"]; ok {
		t.Errorf("$select not applied")
	}
	if !strings.HasSuffix(r.body["@odata.context"].(string), "$metadata#accounts(accountid,name,_parentaccountid_value,revenue,_transactioncurrencyid_value,industrycode,_ownerid_value)") {
		t.Errorf("context %v", r.body["@odata.context"])
	}
	// No annotations unless asked.
	r = call(t, e, "GET", "accounts?$select=industrycode&$top=2", nil)
	if len(r.values()) != 2 || strings.Contains(string(r.raw), "FormattedValue") {
		t.Fatalf("$top / annotations: %s", r.raw)
	}
	// modifiedon filter: after an update exactly that row is newer than the cut.
	cut := e.s.Now().Add(1e9).UTC().Format("2006-01-02T15:04:05Z")
	e.s.AdvanceClock(5e9)
	if err := e.Update("account", ids[7], map[string]any{"name": "changed"}); err != nil {
		t.Fatal(err)
	}
	r = call(t, e, "GET", "accounts?$select=name&$filter=modifiedon gt "+cut, nil)
	if len(r.values()) != 1 || r.values()[0].(map[string]any)["accountid"] != ids[7] {
		t.Fatalf("modifiedon filter: %s", r.raw)
	}
	// Code and wording of web-api-client-errors.md (SupportArticles-docs).
	r = call(t, e, "GET", "accounts?$filter=nosuchcolumn eq 1", nil)
	if r.status != 400 || r.errCode() != "0x0" || r.errMsg() != "Could not find a property named 'nosuchcolumn' on type 'Microsoft.Dynamics.CRM.account'." {
		t.Fatalf("unknown column: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "accounts?$skip=10", nil)
	want(t, r, 400)
	// Lookup filter with contains() and or.
	r = call(t, e, "GET", "contacts?$select=fullname&$filter=(startswith(fullname,'a') or contains(fullname,'ben')) and statecode eq 0", nil)
	want(t, r, 200)
	for _, v := range r.values() {
		n := strings.ToLower(v.(map[string]any)["fullname"].(string))
		if !strings.HasPrefix(n, "a") && !strings.Contains(n, "ben") {
			t.Fatalf("filter let through %s", n)
		}
	}
}

func TestSingleGetAndServiceDocument(t *testing.T) {
	_, e := small(t)
	id := e.IDs("contact")[0]
	r := call(t, e, "GET", "contacts("+id+")?$select=fullname,_parentcustomerid_value", nil, "Prefer", `odata.include-annotations="Microsoft.Dynamics.CRM.lookuplogicalname"`)
	want(t, r, 200)
	if r.body["contactid"] != id || !strings.HasSuffix(r.body["@odata.context"].(string), "/$entity") {
		t.Fatalf("single: %s", r.raw)
	}
	r = call(t, e, "GET", "contacts(00000000-0000-0000-0000-000000000009)", nil)
	if r.status != 404 || r.errCode() != codeNotFound || !strings.Contains(r.errMsg(), "Does Not Exist") {
		t.Fatalf("missing: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "", nil)
	want(t, r, 200)
	if !strings.Contains(string(r.raw), `{"name":"accounts","kind":"EntitySet","url":"accounts"}`) {
		t.Fatalf("service document: %.300s", r.raw)
	}
}

func TestRefusedTables(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "postregardings", nil)
	if r.status != 400 || !strings.Contains(r.errMsg(), "The 'RetrieveMultiple' method does not support entities of type 'postregarding'") {
		t.Fatalf("postregarding: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "systemuserrolescollection", map[string]any{"systemuserid": e.IDs("systemuser")[0]})
	want(t, r, 400)
	want(t, call(t, e, "GET", "systemuserrolescollection", nil), 200)
}

func TestMetadata(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute,ChangeTrackingEnabled,IsIntersect,ObjectTypeCode&$filter=ChangeTrackingEnabled eq true", nil)
	want(t, r, 200)
	names := map[string]bool{}
	for _, v := range r.values() {
		m := v.(map[string]any)
		if m["MetadataId"] == nil || m["ChangeTrackingEnabled"] != true {
			t.Fatalf("entity %v", m)
		}
		names[m["LogicalName"].(string)] = true
	}
	if !names["account"] || names["lead"] || !names["task"] {
		t.Fatalf("change tracking set: %v", names)
	}
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='task')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,Targets", nil)
	want(t, r, 200)
	ok := false
	for _, v := range r.values() {
		m := v.(map[string]any)
		if m["LogicalName"] == "regardingobjectid" && len(m["Targets"].([]any)) == 4 {
			ok = true
		}
	}
	if !ok {
		t.Fatalf("regardingobjectid targets: %s", r.raw)
	}
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.PicklistAttributeMetadata?$select=LogicalName&$expand=OptionSet,GlobalOptionSet", nil)
	want(t, r, 200)
	if !strings.Contains(string(r.raw), `"Options":[`) || !strings.Contains(string(r.raw), "industrycode") {
		t.Fatalf("picklists: %.400s", r.raw)
	}
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='cr1_project')/Attributes/Microsoft.Dynamics.CRM.FileAttributeMetadata?$select=LogicalName,MaxSizeInKB", nil)
	if len(r.values()) != 1 || r.values()[0].(map[string]any)["MaxSizeInKB"] == nil {
		t.Fatalf("file attrs: %s", r.raw)
	}
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='account')/ManyToManyRelationships", nil)
	if len(r.values()) != 1 || r.values()[0].(map[string]any)["IntersectEntityName"] != "cr1_account_cr1_project" {
		t.Fatalf("N:N: %s", r.raw)
	}
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='contact')/ManyToOneRelationships?$select=ReferencingAttribute,ReferencedEntity,ReferencingEntityNavigationPropertyName", nil)
	if !strings.Contains(string(r.raw), `"parentcustomerid_account"`) {
		t.Fatalf("N:1: %s", r.raw)
	}
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName,AttributeType,IsValidForCreate,AttributeOf,IsPrimaryId", nil)
	if len(r.values()) < 30 {
		t.Fatalf("account has %d attributes", len(r.values()))
	}
}
