package dataversesim

import (
	"net/url"
	"strings"
	"testing"
)

// Metadata queries as powerapps-docs developer/data-platform/webapi/
// query-metadata-web-api.md and query-schema-definitions.md describe them.

func TestEntityDefinitionsExpandReadsManyTablesInOneRequest(t *testing.T) {
	_, e := small(t)
	q := "EntityDefinitions?$select=LogicalName,EntitySetName&$filter=LogicalName eq 'account' or LogicalName eq 'contact'" +
		"&$expand=Attributes($select=LogicalName,AttributeType;$filter=IsValidForCreate eq true)," +
		"ManyToOneRelationships($select=SchemaName,ReferencingAttribute,ReferencedEntity),OneToManyRelationships($select=SchemaName),ManyToManyRelationships,Keys"
	r := call(t, e, "GET", q, nil)
	want(t, r, 200)
	if len(r.values()) != 2 {
		t.Fatalf("two tables expected: %.400s", r.raw)
	}
	for _, v := range r.values() {
		m := v.(map[string]any)
		if m["MetadataId"] == nil || m["EntitySetName"] == nil || m["ChangeTrackingEnabled"] != nil {
			t.Fatalf("entity projection: %v", m)
		}
		attrs := m["Attributes"].([]any)
		if len(attrs) == 0 {
			t.Fatalf("no attributes expanded for %v", m["LogicalName"])
		}
		for _, a := range attrs {
			am := a.(map[string]any)
			if am["LogicalName"] == "createdon" || am["LogicalName"] == "modifiedon" || am["IsValidForCreate"] != nil || am["AttributeType"] == nil {
				t.Fatalf("nested $select/$filter not applied: %v", am)
			}
		}
		if m["LogicalName"] == "account" {
			found := false
			for _, rel := range m["ManyToOneRelationships"].([]any) {
				rm := rel.(map[string]any)
				if rm["ReferencingAttribute"] == "parentaccountid" && rm["ReferencedEntity"] == "account" {
					found = true
				}
			}
			keys := m["Keys"].([]any)
			if !found || len(keys) != 1 || keys[0].(map[string]any)["KeyAttributes"].([]any)[0] != "accountnumber" {
				t.Fatalf("relationships/keys of account: %v %v", m["ManyToOneRelationships"], keys)
			}
		}
	}
	// The whole organization's tables and columns in one request.
	r = call(t, e, "GET", "EntityDefinitions?$select=LogicalName&$expand=Attributes($select=LogicalName)", nil)
	want(t, r, 200)
	if len(r.values()) != len(e.Tables()) {
		t.Fatalf("%d tables, want %d", len(r.values()), len(e.Tables()))
	}
	for _, v := range r.values() {
		m := v.(map[string]any)
		if len(m["Attributes"].([]any)) != len(e.Table(m["LogicalName"].(string)).Attrs) {
			t.Fatalf("attributes of %v incomplete", m["LogicalName"])
		}
	}
}

// TestMetadataCasts: Targets exists only on LookupAttributeMetadata
// (reference 11); selecting a property the requested type lacks answers 400.
func TestMetadataCasts(t *testing.T) {
	_, e := small(t)
	for _, path := range []string{
		"EntityDefinitions(LogicalName='account')/Attributes?$select=LogicalName,Targets",
		"EntityDefinitions(LogicalName='account')?$expand=Attributes($select=LogicalName,Targets)",
		"EntityDefinitions?$select=LogicalName&$expand=Attributes($select=Targets)",
	} {
		r := call(t, e, "GET", path, nil)
		if r.status != 400 || r.errCode() != "0x0" || r.errMsg() != "Could not find a property named 'Targets' on type 'Microsoft.Dynamics.CRM.AttributeMetadata'." {
			t.Fatalf("%s: %d %s", path, r.status, r.raw)
		}
	}
	r := call(t, e, "GET", "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,Targets", nil)
	want(t, r, 200)
	seen := false
	for _, v := range r.values() {
		m := v.(map[string]any)
		if m["@odata.type"] != "#Microsoft.Dynamics.CRM.LookupAttributeMetadata" {
			t.Fatalf("cast let through %v", m)
		}
		if m["LogicalName"] == "parentaccountid" && m["Targets"].([]any)[0] == "account" {
			seen = true
		}
	}
	if !seen {
		t.Fatalf("lookup targets: %.400s", r.raw)
	}
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='account')/Attributes/Microsoft.Dynamics.CRM.StringAttributeMetadata?$select=LogicalName,Targets", nil)
	if r.status != 400 || r.errMsg() != "Could not find a property named 'Targets' on type 'Microsoft.Dynamics.CRM.StringAttributeMetadata'." {
		t.Fatalf("Targets on strings: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "EntityDefinitions?$select=LogicalName,NoSuchProperty", nil)
	if r.status != 400 || r.errMsg() != "Could not find a property named 'NoSuchProperty' on type 'Microsoft.Dynamics.CRM.EntityMetadata'." {
		t.Fatalf("unknown entity property: %d %s", r.status, r.raw)
	}
	// A real property the simulator does not model reads as null.
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='account')?$select=IsKnowledgeManagementEnabled,EntitySetName", nil)
	if r.status != 200 || r.body["EntitySetName"] != "accounts" || r.body["IsKnowledgeManagementEnabled"] != nil {
		t.Fatalf("unmodeled property: %d %s", r.status, r.raw)
	}
	// Enum literals and complex /Value paths in $filter.
	r = call(t, e, "GET", "EntityDefinitions?$select=LogicalName&$filter=OwnershipType eq Microsoft.Dynamics.CRM.OwnershipTypes'UserOwned' and IsCustomizable/Value eq true", nil)
	want(t, r, 200)
	if len(r.values()) == 0 {
		t.Fatalf("enum filter matched nothing: %s", r.raw)
	}
	for _, v := range r.values() {
		if e.Table(v.(map[string]any)["LogicalName"].(string)).Ownership != "UserOwned" {
			t.Fatalf("enum filter let through %v", v)
		}
	}
	// Relationship definitions: base type unless cast.
	r = call(t, e, "GET", "RelationshipDefinitions?$select=SchemaName,ReferencedEntity", nil)
	if r.status != 400 || !strings.Contains(r.errMsg(), "'Microsoft.Dynamics.CRM.RelationshipMetadataBase'") {
		t.Fatalf("relationship base: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "RelationshipDefinitions/Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata?$select=SchemaName,IntersectEntityName", nil)
	want(t, r, 200)
	if len(r.values()) != 3 {
		t.Fatalf("many-to-many relationships: %s", r.raw)
	}
}

func TestKeysAndGlobalOptionSets(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "EntityDefinitions(LogicalName='contact')/Keys?$select=LogicalName,KeyAttributes", nil)
	want(t, r, 200)
	if len(r.values()) != 1 || r.values()[0].(map[string]any)["KeyAttributes"].([]any)[0] != "emailaddress1" {
		t.Fatalf("keys: %s", r.raw)
	}
	r = call(t, e, "GET", "GlobalOptionSetDefinitions?$select=Name,Options", nil)
	if r.status != 400 || r.errMsg() != "Could not find a property named 'Options' on type 'Microsoft.Dynamics.CRM.OptionSetMetadataBase'." {
		t.Fatalf("Options without a cast: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "GlobalOptionSetDefinitions/Microsoft.Dynamics.CRM.OptionSetMetadata?$select=Name,Options", nil)
	want(t, r, 200)
	if len(r.values()) != 1 || r.values()[0].(map[string]any)["Name"] != "cr1_region" || len(r.values()[0].(map[string]any)["Options"].([]any)) != 5 {
		t.Fatalf("global option sets: %s", r.raw)
	}
	r = call(t, e, "GET", "GlobalOptionSetDefinitions(Name='cr1_region')", nil)
	if r.status != 200 || r.body["IsGlobal"] != true {
		t.Fatalf("by name: %d %s", r.status, r.raw)
	}
	// The column that uses it says so when its option set is expanded.
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='cr1_regions')/Microsoft.Dynamics.CRM.MultiSelectPicklistAttributeMetadata?$select=LogicalName&$expand=GlobalOptionSet", nil)
	if r.status != 200 || r.body["GlobalOptionSet"].(map[string]any)["Name"] != "cr1_region" {
		t.Fatalf("column's global option set: %d %s", r.status, r.raw)
	}
}

// TestSelectNavigationProperty: a single-valued navigation property is not
// a column; "you can't use $select" on it (query/select-columns.md, "Lookup
// property data") and Dataverse answers the whole record (reference 11), so
// a client that selects roletemplateid instead of _roletemplateid_value
// gets no value under the name it asked for.
func TestSelectNavigationProperty(t *testing.T) {
	_, e := small(t)
	id := e.IDs("account")[0]
	r := call(t, e, "GET", "accounts("+id+")?$select=parentaccountid", nil)
	want(t, r, 200)
	if _, ok := r.body["parentaccountid"]; ok {
		t.Fatalf("navigation property returned as a column: %s", r.raw)
	}
	if _, ok := r.body["_parentaccountid_value"]; !ok || r.body["name"] == nil || r.body["telephone1"] == nil && r.body["accountnumber"] == nil {
		t.Fatalf("not the whole record: %s", r.raw)
	}
	// A customer lookup's logical name is neither a property nor a
	// navigation property (those are parentcustomerid_account/_contact).
	r = call(t, e, "GET", "contacts?$select=parentcustomerid", nil)
	if r.status != 400 || r.errMsg() != "Could not find a property named 'parentcustomerid' on type 'Microsoft.Dynamics.CRM.contact'." {
		t.Fatalf("customer lookup name: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "accounts?$select=Name", nil)
	if r.status != 400 || r.errCode() != "0x0" || r.errMsg() != "Could not find a property named 'Name' on type 'Microsoft.Dynamics.CRM.account'." {
		t.Fatalf("unknown column: %d %s", r.status, r.raw)
	}
}

// TestWebAPIVersions: v9.0, v9.1 and v9.2 behave identically
// (webapi/web-api-versions.md); other versions do not exist.
func TestWebAPIVersions(t *testing.T) {
	_, e := small(t)
	for _, v := range []string{"v9.0", "v9.1", "v9.2"} {
		r := call(t, e, "GET", e.URL()+"/api/data/"+v+"/accounts?$select=name&$top=1", nil)
		want(t, r, 200)
		if !strings.HasPrefix(r.body["@odata.context"].(string), e.URL()+"/api/data/"+v+"/$metadata#accounts") {
			t.Fatalf("%s context %v", v, r.body["@odata.context"])
		}
	}
	r := call(t, e, "GET", e.URL()+"/api/data/v8.2/accounts", nil)
	if r.status != 404 || r.errCode() != codeNoSegment {
		t.Fatalf("v8.2: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "Account", nil)
	if r.status != 404 || r.errCode() != "0x8006088a" || r.errMsg() != "Resource not found for the segment 'Account'." {
		t.Fatalf("unknown set: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "WhoAmI", nil)
	if r.status != 404 || r.errMsg() != "No HTTP resource was found that matches the request URI '"+e.URL()+"/api/data/v9.2/WhoAmI'." {
		t.Fatalf("POST WhoAmI: %d %s", r.status, r.raw)
	}
}

func rmcURL(query string, params ...string) string {
	u := "RetrieveMetadataChanges"
	var names, vals []string
	if query != "" {
		names = append(names, "Query=@q")
		vals = append(vals, "@q="+url.QueryEscape(query))
	}
	for i := 0; i+1 < len(params); i += 2 {
		alias := "@p" + string(rune('1'+i/2))
		names = append(names, params[i]+"="+alias)
		vals = append(vals, alias+"="+url.QueryEscape(params[i+1]))
	}
	if len(names) > 0 {
		u += "(" + strings.Join(names, ",") + ")?" + strings.Join(vals, "&")
	}
	return u
}

// TestRetrieveMetadataChanges follows query-schema-definitions.md and
// cache-schema-data.md: the whole metadata with a ServerVersionStamp, then
// with ClientVersionStamp only what changed since, deletions on request.
func TestRetrieveMetadataChanges(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "RetrieveMetadataChanges", nil)
	want(t, r, 200)
	stamp, _ := r.body["ServerVersionStamp"].(string)
	if _, _, ok := parseDeltaToken(stamp); !ok || len(r.body["EntityMetadata"].([]any)) != len(e.Tables()) ||
		!strings.HasSuffix(r.body["@odata.context"].(string), "$metadata#Microsoft.Dynamics.CRM.RetrieveMetadataChangesResponse") {
		t.Fatalf("whole metadata: stamp %q, %.300s", stamp, r.raw)
	}
	// The documented example query: account and contact, columns valid for create.
	docQuery := `{"Properties":{"AllProperties":false,"PropertyNames":["SchemaName","Attributes"]},
		"Criteria":{"FilterOperator":"Or","Conditions":[
			{"ConditionOperator":"Equals","PropertyName":"LogicalName","Value":{"Type":"System.String","Value":"account"}},
			{"ConditionOperator":"Equals","PropertyName":"LogicalName","Value":{"Type":"System.String","Value":"contact"}}]},
		"AttributeQuery":{"Properties":{"AllProperties":false,"PropertyNames":["LogicalName"]},
			"Criteria":{"FilterOperator":"And","Conditions":[{"ConditionOperator":"Equals","PropertyName":"IsValidForCreate","Value":{"Type":"System.Boolean","Value":"True"}}]}},
		"LabelQuery":{"FilterLanguages":[1033],"MissingLabelBehavior":0}}`
	r = call(t, e, "GET", rmcURL(docQuery), nil)
	want(t, r, 200)
	ents := r.body["EntityMetadata"].([]any)
	if len(ents) != 2 {
		t.Fatalf("criteria: %.500s", r.raw)
	}
	for _, x := range ents {
		m := x.(map[string]any)
		if m["SchemaName"] == nil || m["EntitySetName"] != nil {
			t.Fatalf("entity properties: %v", m)
		}
		for _, a := range m["Attributes"].([]any) {
			am := a.(map[string]any)
			name := am["LogicalName"].(string)
			if !e.Table(m["LogicalName"].(string)).Attr(name).validForCreate() || am["AttributeType"] != nil {
				t.Fatalf("attribute query not applied: %v", am)
			}
			if name == "name" && am["@odata.type"] != "#Microsoft.Dynamics.CRM.ComplexStringAttributeMetadata" {
				t.Fatalf("complex type: %v", am)
			}
		}
	}
	// Nothing changed: an empty answer.
	all := `{"Properties":{"AllProperties":true}}`
	r = call(t, e, "GET", rmcURL(all, "ClientVersionStamp", "'"+stamp+"'"), nil)
	want(t, r, 200)
	if len(r.body["EntityMetadata"].([]any)) != 0 || r.body["DeletedMetadata"].(map[string]any)["Count"].(float64) != 0 {
		t.Fatalf("no change expected: %.400s", r.raw)
	}
	// A column added: its table comes with HasChanged false and only that column.
	if err := e.AddColumn("account", AttrDef{Name: "cr1_loyalty", Type: TString}); err != nil {
		t.Fatal(err)
	}
	r = call(t, e, "GET", rmcURL(all, "ClientVersionStamp", "'"+stamp+"'"), nil)
	want(t, r, 200)
	ents = r.body["EntityMetadata"].([]any)
	if len(ents) != 1 {
		t.Fatalf("one changed table expected: %.600s", r.raw)
	}
	acc := ents[0].(map[string]any)
	attrs := acc["Attributes"].([]any)
	if acc["LogicalName"] != "account" || acc["HasChanged"] != false || len(attrs) != 1 ||
		attrs[0].(map[string]any)["LogicalName"] != "cr1_loyalty" || attrs[0].(map[string]any)["HasChanged"] != true {
		t.Fatalf("changed column: %v", acc)
	}
	colID := attrs[0].(map[string]any)["MetadataId"].(string)
	stamp2 := r.body["ServerVersionStamp"].(string)
	// The new column is a real column: readable, writable, in EntityDefinitions.
	id := e.IDs("account")[0]
	want(t, call(t, e, "PATCH", "accounts("+id+")", map[string]any{"cr1_loyalty": "gold"}), 204)
	if row, _ := e.Get("account", id); row["cr1_loyalty"] != "gold" {
		t.Fatalf("new column not written: %v", row["cr1_loyalty"])
	}
	want(t, call(t, e, "GET", "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='cr1_loyalty')", nil), 200)
	// Deleted: reported under its DeletedMetadataFilters key when asked, inline parameters work too.
	if err := e.DeleteColumn("account", "cr1_loyalty"); err != nil {
		t.Fatal(err)
	}
	r = call(t, e, "GET", "RetrieveMetadataChanges(ClientVersionStamp='"+stamp2+"',DeletedMetadataFilters=Microsoft.Dynamics.CRM.DeletedMetadataFilters'Attribute')", nil)
	want(t, r, 200)
	del := r.body["DeletedMetadata"].(map[string]any)
	keys, _ := del["Keys"].([]any)
	vals, _ := del["Values"].([]any)
	if len(keys) != 1 || keys[0] != "Attribute" || len(vals) != 1 || vals[0].(map[string]any)["Items"].([]any)[0] != colID {
		t.Fatalf("deleted column: %.500s", r.raw)
	}
	r = call(t, e, "GET", "RetrieveMetadataChanges(ClientVersionStamp='"+stamp2+"')", nil)
	if r.body["DeletedMetadata"].(map[string]any)["Count"].(float64) != 0 {
		t.Fatalf("deletions reported without DeletedMetadataFilters: %.300s", r.raw)
	}
	want(t, call(t, e, "GET", "EntityDefinitions(LogicalName='account')/Attributes(LogicalName='cr1_loyalty')", nil), 404)
	if r := call(t, e, "GET", "accounts?$select=cr1_loyalty", nil); r.status != 400 {
		t.Fatalf("deleted column still readable: %s", r.raw)
	}
	// Other organizations keep their metadata.
	if e.s.Env("second").Table("account").Attr("cr1_loyalty") != nil || e.s.schema.byName["account"].Attr("cr1_loyalty") != nil {
		t.Fatal("a metadata change leaked into another organization")
	}
	// Expired and invalid stamps (cache-schema-data.md, "Manage expired cache").
	old := "1!" + e.now().Add(-91*24*3600e9).Format("01/02/2006 15:04:05")
	r = call(t, e, "GET", rmcURL("", "ClientVersionStamp", "'"+old+"'"), nil)
	if r.status != 400 || r.errCode() != "0x80044352" {
		t.Fatalf("expired stamp: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", rmcURL("", "ClientVersionStamp", "'garbage'"), nil)
	if r.status != 400 || r.errCode() != "0x80044183" {
		t.Fatalf("invalid stamp: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", rmcURL(`{"Properties":{"PropertyNames":["Nope"]}}`), nil)
	if r.status != 400 || r.errCode() != "0x80044183" || r.errMsg() != "The type EntityMetadata does not have a property named Nope" {
		t.Fatalf("unknown property: %d %s", r.status, r.raw)
	}
}

func (a *AttrDef) validForCreate() bool { return !a.ReadOnly || a.IsPrimaryID }

// TestRetrieveMetadataChangesDerivedProperties: an AttributeQuery names
// properties of the derived column types without a cast (Targets,
// OptionSet, MaxSizeInKB), as Microsoft's RetrieveMetadataChanges sample
// asks for OptionSet; each column carries those of its own type. A name no
// column type has is still refused.
func TestRetrieveMetadataChangesDerivedProperties(t *testing.T) {
	_, e := small(t)
	q := `{"Properties":{"PropertyNames":["Attributes","ManyToOneRelationships"]},
		"Criteria":{"FilterOperator":"Or","Conditions":[{"ConditionOperator":"Equals","PropertyName":"LogicalName","Value":{"Type":"System.String","Value":"contact"}}]},
		"AttributeQuery":{"Properties":{"PropertyNames":["AttributeType","Targets","OptionSet","MaxSizeInKB"]}},
		"RelationshipQuery":{"Properties":{"PropertyNames":["ReferencingAttribute","ReferencedEntity"]}}}`
	r := call(t, e, "GET", rmcURL(q), nil)
	want(t, r, 200)
	ents := r.body["EntityMetadata"].([]any)
	if len(ents) != 1 {
		t.Fatalf("one table expected: %.300s", r.raw)
	}
	byName := map[string]map[string]any{}
	for _, a := range ents[0].(map[string]any)["Attributes"].([]any) {
		am := a.(map[string]any)
		byName[am["LogicalName"].(string)] = am
	}
	if tg, _ := byName["parentcustomerid"]["Targets"].([]any); len(tg) != 2 {
		t.Errorf("lookup without its targets: %v", byName["parentcustomerid"])
	}
	if os, _ := byName["gendercode"]["OptionSet"].(map[string]any); os == nil || len(os["Options"].([]any)) != 2 {
		t.Errorf("choice column without its options: %v", byName["gendercode"])
	}
	if _, ok := byName["firstname"]["Targets"]; ok {
		t.Errorf("a text column carries Targets: %v", byName["firstname"])
	}
	rels := ents[0].(map[string]any)["ManyToOneRelationships"].([]any)
	if len(rels) == 0 || rels[0].(map[string]any)["ReferencingAttribute"] == nil {
		t.Errorf("relationships without the derived type's properties: %v", rels)
	}
	r = call(t, e, "GET", rmcURL(`{"Properties":{"PropertyNames":["Attributes"]},"AttributeQuery":{"Properties":{"PropertyNames":["Nope"]}}}`), nil)
	if r.status != 400 || r.errMsg() != "The type AttributeMetadata does not have a property named Nope" {
		t.Fatalf("unknown column property: %d %s", r.status, r.raw)
	}
}
