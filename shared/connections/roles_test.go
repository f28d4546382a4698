package connections_test

import (
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// TestSystemAdministratorFoundByTemplateID: the "second" organization runs
// in German and names its System Administrator role "Systemadministrator";
// the validation's role check and the restore's bypass check find the role
// by its template id (_roletemplateid_value), so both pass there.
func TestSystemAdministratorFoundByTemplateID(t *testing.T) {
	f := setup(t)
	in := f.appProfile("backup-app-1")
	in.EnvironmentURLs = []string{f.sim.Env("second").URL()}
	_, envs, v, err := f.svc.Create(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if p := findProblem(v, "missing_system_administrator"); p != nil || !v.OK {
		t.Fatalf("validation in the German organization: %v %+v", problemCodes(v), p)
	}
	cl, err := f.svc.Clients(ctx(t), envs[0].ID)
	if err != nil || len(cl) != 1 {
		t.Fatalf("clients: %v %v", cl, err)
	}
	c := cl[0].Client
	who, err := c.WhoAmI(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	roles, err := c.UserRoles(ctx(t), who.UserID)
	if err != nil {
		t.Fatal(err)
	}
	var admin *dataverse.Role
	for i, r := range roles {
		if r.IsSystemAdministrator() {
			admin = &roles[i]
		}
	}
	// The check cannot have passed by the English name.
	if admin == nil || strings.EqualFold(admin.Name, "System Administrator") || admin.TemplateID == "" {
		t.Fatalf("roles in the German organization: %+v; want the System Administrator role under another name, found by its template id", roles)
	}
	ok, why, err := c.CanBypassBusinessLogic(ctx(t))
	if err != nil || !ok {
		t.Fatalf("bypass check with role %q: %v %q %v", admin.Name, ok, why, err)
	}
}

// A role is the System Administrator role by its template id only: a
// custom role called "System Administrator" is not, the role under any
// display name is.
func TestRoleIsSystemAdministratorByTemplate(t *testing.T) {
	for _, c := range []struct {
		r    dataverse.Role
		want bool
	}{
		{dataverse.Role{Name: "System Administrator", TemplateID: ""}, false},
		{dataverse.Role{Name: "System Administrator", TemplateID: "0b8d6d8a-1b2c-4d5e-8f90-123456789abc"}, false},
		{dataverse.Role{Name: "Systemadministrator", TemplateID: dataverse.SystemAdministratorRoleTemplateID}, true},
		{dataverse.Role{Name: "Administrateur système", TemplateID: strings.ToUpper(dataverse.SystemAdministratorRoleTemplateID)}, true},
	} {
		if got := c.r.IsSystemAdministrator(); got != c.want {
			t.Errorf("%+v: %v, want %v", c.r, got, c.want)
		}
	}
}
