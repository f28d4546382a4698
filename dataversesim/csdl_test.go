package dataversesim

import (
	"encoding/xml"
	"strings"
	"testing"
)

type csdlDoc struct {
	Schemas []struct {
		Namespace   string `xml:"Namespace,attr"`
		EntityTypes []struct {
			Name     string `xml:"Name,attr"`
			BaseType string `xml:"BaseType,attr"`
			Abstract bool   `xml:"Abstract,attr"`
			Key      []struct {
				Name string `xml:"Name,attr"`
			} `xml:"Key>PropertyRef"`
			Properties []struct {
				Name string `xml:"Name,attr"`
				Type string `xml:"Type,attr"`
				Ann  []struct {
					Term string `xml:"Term,attr"`
				} `xml:"Annotation"`
			} `xml:"Property"`
			Navs []struct {
				Name       string `xml:"Name,attr"`
				Type       string `xml:"Type,attr"`
				Partner    string `xml:"Partner,attr"`
				Constraint struct {
					Property, ReferencedProperty string `xml:",attr"`
				} `xml:"ReferentialConstraint"`
			} `xml:"NavigationProperty"`
		} `xml:"EntityType"`
		ComplexTypes []struct {
			Name string `xml:"Name,attr"`
		} `xml:"ComplexType"`
		EnumTypes []struct {
			Name string `xml:"Name,attr"`
		} `xml:"EnumType"`
		Actions []struct {
			Name    string `xml:"Name,attr"`
			IsBound bool   `xml:"IsBound,attr"`
		} `xml:"Action"`
		Functions []struct {
			Name string `xml:"Name,attr"`
		} `xml:"Function"`
		Container struct {
			Sets []struct {
				Name     string `xml:"Name,attr"`
				Type     string `xml:"EntityType,attr"`
				Bindings []struct {
					Path, Target string `xml:",attr"`
				} `xml:"NavigationPropertyBinding"`
			} `xml:"EntitySet"`
		} `xml:"EntityContainer"`
	} `xml:"DataServices>Schema"`
}

// TestCSDL checks the $metadata document against the docs of
// powerapps-docs developer/data-platform/webapi (web-api-service-documents.md,
// web-api-entitytypes.md, web-api-properties.md,
// web-api-navigation-properties.md, web-api-actions.md) and against the
// data the simulator serves: every type it references exists, every
// navigation property's partner exists, every property of a record read
// through the API is declared, and v9.0, v9.1 and v9.2 serve it alike.
func TestCSDL(t *testing.T) {
	_, e := small(t)
	var bodies []string
	for _, v := range apiVersions {
		r := call(t, e, "GET", e.URL()+"/api/data/"+v+"/$metadata", nil)
		want(t, r, 200)
		if !strings.HasPrefix(r.header.Get("Content-Type"), "application/xml") {
			t.Fatalf("content type %q", r.header.Get("Content-Type"))
		}
		bodies = append(bodies, string(r.raw))
	}
	if bodies[0] != bodies[1] || bodies[1] != bodies[2] {
		t.Fatal("$metadata differs between v9.0, v9.1 and v9.2")
	}
	var doc csdlDoc
	if err := xml.Unmarshal([]byte(bodies[2]), &doc); err != nil || len(doc.Schemas) != 1 || doc.Schemas[0].Namespace != "Microsoft.Dynamics.CRM" {
		t.Fatalf("not a CSDL document: %v", err)
	}
	s := doc.Schemas[0]
	types := map[string]int{}
	for i, et := range s.EntityTypes {
		types["mscrm."+et.Name] = i
	}
	complexOrEnum := map[string]bool{}
	for _, c := range s.ComplexTypes {
		complexOrEnum["mscrm."+c.Name] = true
	}
	for _, en := range s.EnumTypes {
		complexOrEnum["mscrm."+en.Name] = true
	}
	navsOf := func(typ string) map[string]string {
		out := map[string]string{}
		for i, ok := types[typ]; ok; {
			for _, n := range s.EntityTypes[i].Navs {
				out[n.Name] = n.Type
			}
			if i, ok = types[s.EntityTypes[i].BaseType]; !ok {
				break
			}
		}
		return out
	}
	for _, et := range s.EntityTypes {
		if _, ok := types[et.BaseType]; et.BaseType != "" && !ok {
			t.Fatalf("%s: base type %s missing", et.Name, et.BaseType)
		}
		for _, n := range et.Navs {
			target := strings.TrimSuffix(strings.TrimPrefix(n.Type, "Collection("), ")")
			if _, ok := types[target]; !ok {
				t.Fatalf("%s.%s: type %s missing", et.Name, n.Name, target)
			}
			if n.Partner != "" && et.BaseType != "mscrm.MetadataBase" {
				if _, ok := navsOf(target)[n.Partner]; !ok && target != "mscrm.principal" {
					t.Fatalf("%s.%s: partner %s missing on %s", et.Name, n.Name, n.Partner, target)
				}
			}
		}
	}
	get := func(name string) int {
		i, ok := types["mscrm."+name]
		if !ok {
			t.Fatalf("no EntityType %s", name)
		}
		return i
	}
	acc := s.EntityTypes[get("account")]
	props := map[string]string{}
	for _, p := range acc.Properties {
		props[p.Name] = p.Type
	}
	if acc.BaseType != "mscrm.crmbaseentity" || len(acc.Key) != 1 || acc.Key[0].Name != "accountid" || props["name"] != "Edm.String" ||
		props["_parentaccountid_value"] != "Edm.Guid" || props["revenue"] != "Edm.Decimal" || props["industrycode"] != "Edm.Int32" {
		t.Fatalf("account entity type: %+v", acc)
	}
	var parent bool
	for _, n := range acc.Navs {
		if n.Name == "parentaccountid" && n.Type == "mscrm.account" && n.Constraint.Property == "_parentaccountid_value" && n.Constraint.ReferencedProperty == "accountid" {
			parent = true
		}
	}
	if !parent {
		t.Fatalf("parentaccountid navigation property: %+v", acc.Navs)
	}
	contactNavs := navsOf("mscrm.contact")
	if contactNavs["parentcustomerid_account"] != "mscrm.account" || contactNavs["parentcustomerid_contact"] != "mscrm.contact" {
		t.Fatalf("multi-table lookup navigation properties: %v", contactNavs)
	}
	if s.EntityTypes[get("systemuser")].BaseType != "mscrm.principal" || s.EntityTypes[get("task")].BaseType != "mscrm.activitypointer" ||
		navsOf("mscrm.systemuser")["systemuserroles_association"] != "Collection(mscrm.role)" {
		t.Fatal("inheritance or many-to-many navigation properties")
	}
	for _, name := range []string{"mscrm.WhoAmIResponse", "mscrm.CreateMultipleResponse", "mscrm.RetrieveMetadataChangesResponse", "mscrm.DeletedMetadataFilters", "mscrm.OwnershipTypes"} {
		if !complexOrEnum[name] {
			t.Fatalf("missing %s", name)
		}
	}
	ops := map[string]bool{}
	for _, f := range s.Functions {
		ops[f.Name] = true
	}
	for _, a := range s.Actions {
		ops[a.Name] = true
		if (a.Name == "CreateMultiple" || a.Name == "UpdateMultiple" || a.Name == "UpsertMultiple") != a.IsBound {
			t.Fatalf("action %s bound=%v", a.Name, a.IsBound)
		}
	}
	for _, op := range []string{"WhoAmI", "RetrieveMetadataChanges", "CreateMultiple", "UpdateMultiple", "UpsertMultiple", "WinOpportunity", "LoseOpportunity", "CloseIncident"} {
		if !ops[op] {
			t.Fatalf("operation %s missing", op)
		}
	}
	if ops["DeleteMultiple"] {
		t.Fatal("DeleteMultiple is private: not in $metadata (bulk-operations.md)")
	}
	sets := map[string]string{}
	for _, es := range s.Container.Sets {
		sets[es.Name] = es.Type
		if es.Name == "accounts" {
			found := false
			for _, b := range es.Bindings {
				found = found || b.Path == "parentaccountid" && b.Target == "accounts"
			}
			if !found {
				t.Fatalf("accounts bindings: %+v", es.Bindings)
			}
		}
	}
	for _, name := range e.Tables() {
		if sets[e.Table(name).SetName] != "Microsoft.Dynamics.CRM."+name {
			t.Fatalf("entity set of %s: %q", name, sets[e.Table(name).SetName])
		}
	}
	// Every property a record comes with is declared (on the type or its base).
	declared := map[string]bool{}
	for i, ok := types["mscrm.task"]; ok; i, ok = types[s.EntityTypes[i].BaseType] {
		for _, p := range s.EntityTypes[i].Properties {
			declared[p.Name] = true
		}
	}
	r := call(t, e, "GET", "tasks?$top=1", nil)
	want(t, r, 200)
	for k := range r.values()[0].(map[string]any) {
		if !strings.HasPrefix(k, "@") && !declared[k] {
			t.Fatalf("task property %s is not in $metadata", k)
		}
	}
	// Read-only properties are annotated on request.
	r = call(t, e, "GET", "$metadata?annotations=true", nil)
	if !strings.Contains(string(r.raw), `<Property Name="createdon" Type="Edm.DateTimeOffset"><Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/>`) ||
		strings.Contains(bodies[2], "Org.OData.Core.V1.Computed\" Bool") {
		t.Fatal("computed annotations")
	}
}

// TestCSDLFollowsMetadataChanges: a column added to an organization is in
// its $metadata.
func TestCSDLFollowsMetadataChanges(t *testing.T) {
	_, e := small(t)
	if err := e.AddColumn("contact", AttrDef{Name: "cr1_score", Type: TInteger}); err != nil {
		t.Fatal(err)
	}
	r := call(t, e, "GET", "$metadata", nil)
	if !strings.Contains(string(r.raw), `<Property Name="cr1_score" Type="Edm.Int32"/>`) {
		t.Fatal("added column missing from $metadata")
	}
}
