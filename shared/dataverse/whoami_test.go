package dataverse_test

import (
	"context"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// The System Administrator role is recognised by its template id read as
// _roletemplateid_value, in any display language: the simulator's second
// organization names it "Systemadministrator" (dataverse-reference.md
// section 11). The bypass check rests on the same test.
func TestSystemAdministratorByTemplate(t *testing.T) {
	s := dataversesim.Start(t, dataversesim.Options{Records: 10, SecondRecords: 10, Seed: 3})
	app := s.SecretClients()[0]
	cred, err := azidentity.NewClientSecretCredential(s.TenantID(), app.ClientID, app.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost}, Transport: s.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dataverse.NewClient(s.Env("second").URL(), cred, &dataverse.ClientOptions{ExtraCA: s.CAPEM()})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	who, err := c.WhoAmI(ctx)
	if err != nil {
		t.Fatal(err)
	}
	roles, err := c.UserRoles(ctx, who.UserID)
	if err != nil || len(roles) != 1 {
		t.Fatalf("roles %+v, %v", roles, err)
	}
	if r := roles[0]; r.Name != "Systemadministrator" || r.TemplateID != dataverse.SystemAdministratorRoleTemplateID || !r.IsSystemAdministrator() {
		t.Fatalf("role %+v not recognised as System Administrator", r)
	}
	if ok, reason, err := c.CanBypassBusinessLogic(ctx); err != nil || !ok {
		t.Fatalf("bypass: %v %q %v", ok, reason, err)
	}
	if (dataverse.Role{Name: "System Administrator"}).IsSystemAdministrator() {
		t.Error("a role named System Administrator without the template counts as one")
	}
}
