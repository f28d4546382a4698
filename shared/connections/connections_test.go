package connections_test

import (
	"context"
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
	"github.com/cloudbackup-d365/cloudbackup/shared/secrets"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// One Azurite for the package; each test resets the tables.
func TestMain(m *testing.M) { os.Exit(azurite.RunShared(m)) }

type fixture struct {
	sim     *dataversesim.Server
	svc     *connections.Service
	tables  *aztables.ServiceClient
	secrets secrets.Store
}

func setup(t *testing.T) *fixture {
	t.Helper()
	a := azurite.Shared(t)
	ctx := context.Background()
	tables, err := aztables.NewServiceClientFromConnectionString(a.ConnectionString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{connections.TableConnections, connections.TableEnvironments} {
		_, _ = tables.DeleteTable(ctx, n, nil)
	}
	store, err := connections.NewStore(ctx, tables)
	if err != nil {
		t.Fatal(err)
	}
	sim := dataversesim.Start(t, dataversesim.Options{Records: 20, SecondRecords: 5, Seed: 11})
	t.Setenv("IDENTITY_ENDPOINT", sim.MSIEndpoint)
	t.Setenv("IDENTITY_HEADER", sim.MSIHeader)
	sec, err := secrets.NewLocal(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	var hosts []string
	for _, e := range sim.Environments() {
		if e.URL() != "" {
			hosts = append(hosts, strings.TrimPrefix(e.URL(), "https://"))
		}
	}
	svc, err := connections.NewService(connections.Options{
		Store: store, Secrets: sec, ExtraCA: sim.CAPEM(), AllowedHosts: hosts,
		Identity:  identity.Options{AuthorityHost: sim.AuthorityHost, ManagedIdentityClientID: sim.ManagedIdentity().ClientID},
		Endpoints: connections.Endpoints{GlobalDiscovery: sim.DiscoveryURL, PowerPlatformAdmin: sim.AdminURL, Graph: sim.GraphURL},
	})
	if err != nil {
		t.Fatal(err)
	}
	return &fixture{sim: sim, svc: svc, tables: tables, secrets: sec}
}

func (f *fixture) appProfile(name string) connections.NewConnection {
	app, _ := f.sim.App(name)
	return connections.NewConnection{Name: name, Kind: connections.KindAppProfile, TenantID: f.sim.TenantID(),
		Identities: []connections.NewIdentity{{Mode: identity.ModeClientSecret, ClientID: app.ClientID, SecretInput: connections.SecretInput{ClientSecret: app.Secret}}}}
}

func (f *fixture) serviceAccount(prefix string) connections.NewConnection {
	u := f.sim.ServiceAccount(prefix)
	return connections.NewConnection{Name: "sa " + prefix, Kind: connections.KindServiceAccount, TenantID: f.sim.TenantID(),
		Identities: []connections.NewIdentity{{Mode: identity.ModeServiceAccount, ClientID: f.sim.PublicClient().ClientID, Username: u.Username, SecretInput: connections.SecretInput{Password: u.Password}}}}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	t.Cleanup(cancel)
	return c
}

func problemCodes(v *connections.Validation) []string {
	var out []string
	for _, i := range v.Identities {
		for _, p := range i.Problems {
			out = append(out, p.Code)
		}
	}
	for _, e := range v.Environments {
		for _, p := range e.Problems {
			if p.Severity == "error" {
				out = append(out, p.Code)
			}
		}
	}
	return out
}

func findProblem(v *connections.Validation, code string) *connections.Problem {
	for _, i := range v.Identities {
		for _, p := range i.Problems {
			if p.Code == code {
				return &p
			}
		}
	}
	for _, e := range v.Environments {
		for _, p := range e.Problems {
			if p.Code == code {
				return &p
			}
		}
	}
	return nil
}

func TestCreateAppProfileValidates(t *testing.T) {
	f := setup(t)
	in := f.appProfile("backup-app-1")
	in.EnvironmentURLs = []string{f.sim.Demo().URL(), f.sim.Env("second").URL() + "/"}
	c, envs, v, err := f.svc.Create(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || len(v.Environments) != 2 {
		t.Fatalf("validation = %+v (%v)", v, problemCodes(v))
	}
	if len(envs) != 2 || envs[0].Policy.Enabled || envs[0].State != connections.StateActive {
		t.Errorf("envs = %+v", envs)
	}
	got, err := f.svc.Get(ctx(t), c.ID)
	if err != nil || got.LastValidation == nil || !got.LastValidation.OK || got.Identities[0].SecretName == "" {
		t.Errorf("stored = %+v, %v", got, err)
	}
	e, _ := f.svc.Environment(ctx(t), envs[0].ID)
	if e.OrganizationID == "" || e.LastValidation == nil || !e.LastValidation.OK {
		t.Errorf("environment after validation = %+v", e)
	}
	// The same URL cannot be registered twice.
	in2 := f.appProfile("backup-app-2")
	in2.EnvironmentURLs = []string{f.sim.Demo().URL()}
	if _, _, _, err := f.svc.Create(ctx(t), in2); !errors.Is(err, connections.ErrConflict) {
		t.Errorf("duplicate URL: %v", err)
	}
	// Clients give one Dataverse client per identity.
	cl, err := f.svc.Clients(ctx(t), envs[0].ID)
	if err != nil || len(cl) != 1 {
		t.Fatalf("Clients = %v, %v", cl, err)
	}
	if _, err := cl[0].Client.WhoAmI(ctx(t)); err != nil {
		t.Error(err)
	}
}

func TestEveryModeValidates(t *testing.T) {
	f := setup(t)
	cert := f.sim.CertificateClient()
	fed := f.sim.FederatedClient()
	in := connections.NewConnection{Name: "all modes", Kind: connections.KindAppProfile, TenantID: f.sim.TenantID(),
		EnvironmentURLs: []string{f.sim.Demo().URL()},
		Identities: []connections.NewIdentity{
			{Mode: identity.ModeCertificate, ClientID: cert.ClientID, SecretInput: connections.SecretInput{Certificate: cert.CertificatePEM()}},
			{Mode: identity.ModeManagedIdentity},
			{Mode: identity.ModeWorkloadIdentity, ClientID: fed.ClientID},
		}}
	c, _, v, err := f.svc.Create(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	if !v.OK || len(v.Environments) != 3 {
		t.Fatalf("validation: %v", problemCodes(v))
	}
	if c.Identities[1].SecretName != "" || c.Identities[0].SecretName == "" {
		t.Errorf("secret names: %+v", c.Identities)
	}
}

func TestValidationProblems(t *testing.T) {
	f := setup(t)
	cases := []struct {
		app, code, say string
	}{
		{"backup-app-nouser", "no_application_user", "create an application user for app id"},
		{"backup-app-disabled", "user_disabled", "activate"},
		{"backup-app-noroles", "missing_system_administrator", "System Administrator"},
	}
	for i, c := range cases {
		t.Run(c.app, func(t *testing.T) {
			_, _ = f.tables.DeleteTable(ctx(t), connections.TableEnvironments, nil)
			_, _ = f.tables.CreateTable(ctx(t), connections.TableEnvironments, nil)
			in := f.appProfile(c.app)
			in.EnvironmentURLs = []string{[]string{f.sim.Demo().URL(), f.sim.Env("second").URL()}[i%2]}
			_, _, v, err := f.svc.Create(ctx(t), in)
			if err != nil {
				t.Fatal(err)
			}
			p := findProblem(v, c.code)
			if v.OK || p == nil {
				t.Fatalf("want %s, got %v", c.code, problemCodes(v))
			}
			app, _ := f.sim.App(c.app)
			if !strings.Contains(p.Message+p.Fix, app.ClientID) || !strings.Contains(strings.ToLower(p.Fix), strings.ToLower(c.say)) {
				t.Errorf("problem = %+v", p)
			}
		})
	}
	t.Run("wrong secret", func(t *testing.T) {
		in := f.appProfile("backup-app-3")
		in.Identities[0].ClientSecret = "definitely-not-the-secret"
		_, _, v, err := f.svc.Create(ctx(t), in)
		if err != nil {
			t.Fatal(err)
		}
		if p := findProblem(v, "invalid_client_secret"); p == nil || v.Identities[0].OK {
			t.Errorf("want invalid_client_secret on the identity: %+v", v)
		}
	})
}

func TestServiceAccounts(t *testing.T) {
	f := setup(t)
	t.Run("admin", func(t *testing.T) {
		in := f.serviceAccount("admin")
		in.EnvironmentURLs = []string{f.sim.Demo().URL()}
		_, _, v, err := f.svc.Create(ctx(t), in)
		if err != nil || !v.OK {
			t.Fatalf("%v %v", err, problemCodes(v))
		}
		if r := v.Identities[0].DirectoryRoles; len(r) == 0 || r[0] != "Global Administrator" {
			t.Errorf("roles = %v", r)
		}
	})
	t.Run("mfa", func(t *testing.T) {
		_, _, v, err := f.svc.Create(ctx(t), f.serviceAccount("mfa"))
		if err != nil {
			t.Fatal(err)
		}
		p := findProblem(v, "mfa_required")
		if p == nil || p.Message != identity.MFAMessage {
			t.Errorf("want MFA problem, got %+v", v)
		}
	})
	t.Run("no directory role", func(t *testing.T) {
		_, _, v, err := f.svc.Create(ctx(t), f.serviceAccount("user"))
		if err != nil {
			t.Fatal(err)
		}
		p := findProblem(v, "directory_role_missing")
		if p == nil || !strings.Contains(p.Message, "Global Administrator or Dynamics 365 Service Administrator") {
			t.Errorf("want directory_role_missing, got %v", problemCodes(v))
		}
	})
}

func TestInputValidation(t *testing.T) {
	f := setup(t)
	base := f.appProfile("backup-app-1")
	cases := []struct {
		name  string
		edit  func(*connections.NewConnection)
		field string
	}{
		{"no name", func(c *connections.NewConnection) { c.Name = " " }, "name"},
		{"bad kind", func(c *connections.NewConnection) { c.Kind = "magic" }, "kind"},
		{"no tenant", func(c *connections.NewConnection) { c.TenantID = "" }, "tenantId"},
		{"no identities", func(c *connections.NewConnection) { c.Identities = nil }, "identities"},
		{"bad mode", func(c *connections.NewConnection) { c.Identities[0].Mode = "x" }, "identities[0].mode"},
		{"sa in app profile", func(c *connections.NewConnection) { c.Identities[0].Mode = identity.ModeServiceAccount }, "identities[0].mode"},
		{"missing secret", func(c *connections.NewConnection) { c.Identities[0].ClientSecret = "" }, "identities[0].clientSecret"},
		{"extra password", func(c *connections.NewConnection) { c.Identities[0].Password = "pw" }, "identities[0].password"},
		{"bad client id", func(c *connections.NewConnection) { c.Identities[0].ClientID = "nope" }, "identities[0]"},
		{"http url", func(c *connections.NewConnection) { c.EnvironmentURLs = []string{"http://x.crm.dynamics.com"} }, "environmentUrls[0]"},
		{"metadata url", func(c *connections.NewConnection) { c.EnvironmentURLs = []string{"https://169.254.169.254"} }, "environmentUrls[0]"},
		{"bad cert", func(c *connections.NewConnection) {
			c.Identities[0] = connections.NewIdentity{Mode: identity.ModeCertificate, ClientID: c.Identities[0].ClientID, SecretInput: connections.SecretInput{Certificate: []byte("junk")}}
		}, "identities[0]"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			in := base
			in.Identities = append([]connections.NewIdentity(nil), base.Identities...)
			c.edit(&in)
			_, _, _, err := f.svc.Create(ctx(t), in)
			var ie *connections.InvalidError
			if !errors.As(err, &ie) || ie.Field != c.field {
				t.Fatalf("err = %v, want invalid %s", err, c.field)
			}
			if strings.Contains(ie.Message, base.Identities[0].ClientSecret) {
				t.Errorf("message echoes the secret: %s", ie.Message)
			}
		})
	}
	cs, _ := f.svc.List(ctx(t))
	if len(cs) != 0 {
		t.Errorf("refused inputs created %d connections", len(cs))
	}
}

func TestDiscovery(t *testing.T) {
	f := setup(t)
	t.Run("service account", func(t *testing.T) {
		c, _, _, err := f.svc.Create(ctx(t), f.serviceAccount("admin"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.Discover(ctx(t), c.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Source != connections.SourceGlobalDiscovery || len(res.Added) != 3 {
			t.Fatalf("result = %+v", res)
		}
		states := map[string]string{}
		for _, e := range res.Added {
			states[e.UniqueName] = e.State
			if e.Policy.Enabled {
				t.Errorf("%s enabled by discovery", e.UniqueName)
			}
		}
		if states["orgdisabled"] != connections.StateDisabled || states["orgdemo"] != connections.StateActive {
			t.Errorf("states = %v", states)
		}
		// A rescan adds nothing.
		res, err = f.svc.Discover(ctx(t), c.ID, "id1")
		if err != nil || len(res.Added) != 0 || len(res.Gone) != 0 {
			t.Errorf("rescan = %+v, %v", res, err)
		}
		// Move them to an app profile; they keep their ids.
		ap, _, _, err := f.svc.Create(ctx(t), f.appProfile("backup-app-1"))
		if err != nil {
			t.Fatal(err)
		}
		envs, _ := f.svc.Environments(ctx(t), c.ID)
		var ids []string
		for _, e := range envs {
			if e.State == connections.StateActive {
				ids = append(ids, e.ID)
			}
		}
		bad, _, _, _ := f.svc.Create(ctx(t), f.appProfile("backup-app-noroles"))
		mr, err := f.svc.Move(ctx(t), bad.ID, ids)
		if err != nil || mr.Validation.OK || len(mr.Moved) != 0 {
			t.Fatalf("move to a failing profile: %+v, %v", mr, err)
		}
		if err := f.svc.Delete(ctx(t), c.ID); !errors.Is(err, connections.ErrInUse) {
			t.Errorf("delete in use = %v", err)
		}
		mr, err = f.svc.Move(ctx(t), ap.ID, ids)
		if err != nil || !mr.Validation.OK || len(mr.Moved) != 2 {
			t.Fatalf("move = %+v, %v", mr, err)
		}
		for _, id := range ids {
			e, _ := f.svc.Environment(ctx(t), id)
			if e.ConnectionID != ap.ID {
				t.Errorf("%s not moved", id)
			}
		}
		if _, err := f.svc.Move(ctx(t), c.ID, ids); err == nil {
			t.Error("move to a service account accepted")
		}
	})
	t.Run("app profile", func(t *testing.T) {
		_, _ = f.tables.DeleteTable(ctx(t), connections.TableEnvironments, nil)
		_, _ = f.tables.CreateTable(ctx(t), connections.TableEnvironments, nil)
		c, _, _, err := f.svc.Create(ctx(t), f.appProfile("backup-app-2"))
		if err != nil {
			t.Fatal(err)
		}
		res, err := f.svc.Discover(ctx(t), c.ID, "")
		if err != nil {
			t.Fatal(err)
		}
		if res.Source != connections.SourceAdminAPI || len(res.Added) != 3 {
			t.Fatalf("result = %+v", res)
		}
	})
}

func TestRotateValidatesBeforeSwap(t *testing.T) {
	f := setup(t)
	in := f.appProfile("backup-app-1")
	in.EnvironmentURLs = []string{f.sim.Demo().URL()}
	good := in.Identities[0].ClientSecret
	c, _, _, err := f.svc.Create(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	v, err := f.svc.Rotate(ctx(t), c.ID, "id1", connections.SecretInput{ClientSecret: "wrong-new-secret-123"})
	if err != nil || v.OK || findProblem(v, "invalid_client_secret") == nil {
		t.Fatalf("rotate to a wrong secret: %+v, %v", v, err)
	}
	stored, _ := f.secrets.Get(ctx(t), c.Identities[0].SecretName)
	if !strings.Contains(string(stored), good) {
		t.Error("the old secret was replaced by a failing one")
	}
	if _, err := f.svc.Rotate(ctx(t), c.ID, "id1", connections.SecretInput{Password: "x"}); err == nil {
		t.Error("password for a client secret identity accepted")
	}
	if _, err := f.svc.Rotate(ctx(t), c.ID, "id9", connections.SecretInput{ClientSecret: "x"}); !errors.Is(err, connections.ErrNotFound) {
		t.Errorf("unknown identity: %v", err)
	}
	v, err = f.svc.Rotate(ctx(t), c.ID, "id1", connections.SecretInput{ClientSecret: good})
	if err != nil || !v.OK {
		t.Fatalf("rotate: %+v %v", v, err)
	}
	// A second identity (another app) is added after validating.
	app2, _ := f.sim.App("backup-app-2")
	c2, v, err := f.svc.AddIdentity(ctx(t), c.ID, connections.NewIdentity{Mode: identity.ModeClientSecret, ClientID: app2.ClientID, SecretInput: connections.SecretInput{ClientSecret: app2.Secret}})
	if err != nil || !v.OK || len(c2.Identities) != 2 {
		t.Fatalf("add identity: %+v %v", v, err)
	}
	nouser, _ := f.sim.App("backup-app-nouser")
	c3, v, err := f.svc.AddIdentity(ctx(t), c.ID, connections.NewIdentity{Mode: identity.ModeClientSecret, ClientID: nouser.ClientID, SecretInput: connections.SecretInput{ClientSecret: nouser.Secret}})
	if err != nil || v.OK || c3 != nil {
		t.Fatalf("failing identity added: %+v %v", v, err)
	}
	if _, err := f.svc.RemoveIdentity(ctx(t), c.ID, "id2"); err != nil {
		t.Fatal(err)
	}
	if _, err := f.svc.RemoveIdentity(ctx(t), c.ID, "id1"); !errors.Is(err, connections.ErrInUse) {
		t.Errorf("removing the last identity: %v", err)
	}
}

func TestPolicyAndConcurrency(t *testing.T) {
	f := setup(t)
	in := f.appProfile("backup-app-1")
	in.EnvironmentURLs = []string{f.sim.Demo().URL()}
	_, envs, _, err := f.svc.Create(ctx(t), in)
	if err != nil {
		t.Fatal(err)
	}
	e, _ := f.svc.Environment(ctx(t), envs[0].ID)
	p := connections.DefaultPolicy(true)
	p.Schedule = "0 0 */6 * * *"
	p.ExcludeTables = []string{"email"}
	got, err := f.svc.UpdatePolicy(ctx(t), e.ID, p, e.ETag)
	if err != nil || !got.Policy.Enabled {
		t.Fatal(err)
	}
	if _, err := f.svc.UpdatePolicy(ctx(t), e.ID, p, e.ETag); !errors.Is(err, connections.ErrConflict) {
		t.Errorf("stale ETag: %v", err)
	}
	// Two writers from the same read: the second fails.
	a, _ := f.svc.Environment(ctx(t), e.ID)
	b := *a
	a.DisplayName = "a"
	b.DisplayName = "b"
	if err := f.svc.Store().PutEnvironment(ctx(t), a); err != nil {
		t.Fatal(err)
	}
	if err := f.svc.Store().PutEnvironment(ctx(t), &b); !errors.Is(err, connections.ErrConflict) {
		t.Errorf("lost update: %v", err)
	}
	for _, bad := range []connections.Policy{
		{Schedule: "0 2 * * *", RetentionDays: 1}, {Schedule: "0 0 25 * * *", RetentionDays: 1}, {IncludeTables: []string{"Account"}, RetentionDays: 1},
		{FullEveryDays: -1, RetentionDays: 1}, {RetentionDays: 0, RetentionCount: 0}, {RetentionCount: -2},
	} {
		var ie *connections.InvalidError
		if _, err := f.svc.UpdatePolicy(ctx(t), e.ID, bad, ""); !errors.As(err, &ie) {
			t.Errorf("policy %+v accepted: %v", bad, err)
		}
	}
}

// No secret value reaches Table Storage.
func TestSecretsNotInTables(t *testing.T) {
	f := setup(t)
	in := f.appProfile("backup-app-1")
	in.EnvironmentURLs = []string{f.sim.Demo().URL()}
	secret := in.Identities[0].ClientSecret
	sa := f.serviceAccount("admin")
	pw := sa.Identities[0].Password
	if _, _, _, err := f.svc.Create(ctx(t), in); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := f.svc.Create(ctx(t), sa); err != nil {
		t.Fatal(err)
	}
	for _, tn := range []string{connections.TableConnections, connections.TableEnvironments} {
		pager := f.tables.NewClient(tn).NewListEntitiesPager(nil)
		n := 0
		for pager.More() {
			page, err := pager.NextPage(ctx(t))
			if err != nil {
				t.Fatal(err)
			}
			for _, raw := range page.Entities {
				n++
				if strings.Contains(string(raw), secret) || strings.Contains(string(raw), pw) {
					t.Errorf("%s holds a secret: %s", tn, raw)
				}
			}
		}
		if n == 0 {
			t.Errorf("%s is empty: the check proved nothing", tn)
		}
	}
}
