package dataversesim

import (
	"testing"
)

// role.roletemplateid is a lookup (powerapps-docs reference/entities/role.md,
// Targets roletemplate): reads return _roletemplateid_value; $select of the
// navigation property roletemplateid returns the whole record without a
// "roletemplateid" value (dataverse-reference.md section 11, "Lookup
// property data"); a lookup's logical name that is not a navigation
// property is not a property at all. The second organization names the
// System Administrator role in German, so only the template id finds it.
func TestRoleTemplateLookup(t *testing.T) {
	s := Start(t, Options{Records: 20, SecondRecords: 20, Seed: 5})
	e := s.Env("second")
	user := e.SystemUserFor(s.SecretClients()[0].ClientID)
	r := call(t, e, "GET", "systemusers("+user+")/systemuserroles_association?$select=name,roleid,_roletemplateid_value", nil,
		"Prefer", `odata.include-annotations="*"`)
	want(t, r, 200)
	if len(r.values()) != 1 {
		t.Fatalf("roles: %s", r.raw)
	}
	role := r.values()[0].(map[string]any)
	if role["name"] != "Systemadministrator" || role["_roletemplateid_value"] != SysAdminRoleTemplate ||
		role["_roletemplateid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] != "roletemplate" {
		t.Fatalf("role: %v", role)
	}
	r = call(t, e, "GET", "systemusers("+user+")/systemuserroles_association?$select=name,roleid,roletemplateid", nil)
	want(t, r, 200)
	whole := r.values()[0].(map[string]any)
	if _, has := whole["roletemplateid"]; has || whole["_businessunitid_value"] == nil || whole["_roletemplateid_value"] != SysAdminRoleTemplate {
		t.Fatalf("$select of the navigation property: %v", whole)
	}
	r = call(t, e, "GET", "contacts?$select=parentcustomerid", nil)
	if r.status != 400 || r.errMsg() != "Could not find a property named 'parentcustomerid' on type 'Microsoft.Dynamics.CRM.contact'." {
		t.Fatalf("$select of a customer lookup's name: %d %s", r.status, r.raw)
	}
	want(t, call(t, e, "GET", "roletemplates("+SysAdminRoleTemplate+")?$select=name", nil), 200)
}
