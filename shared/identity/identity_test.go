package identity_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
)

func startSim(t *testing.T) (*dataversesim.Server, identity.Options) {
	t.Helper()
	sim := dataversesim.Start(t, dataversesim.Options{Records: 20, SecondRecords: 5, Seed: 7})
	t.Setenv("IDENTITY_ENDPOINT", sim.MSIEndpoint)
	t.Setenv("IDENTITY_HEADER", sim.MSIHeader)
	return sim, identity.Options{AuthorityHost: sim.AuthorityHost, ExtraCA: sim.CAPEM()}
}

// Every mode gets a token from the simulator's Entra and calls WhoAmI.
func TestModesAgainstSimulator(t *testing.T) {
	sim, opts := startSim(t)
	tenant := sim.TenantID()
	app := sim.SecretClients()[0]
	cert := sim.CertificateClient()
	fed := sim.FederatedClient()
	mi := sim.ManagedIdentity()
	admin := sim.ServiceAccount("admin")
	cases := []struct {
		name string
		spec identity.Spec
		sec  identity.Secret
	}{
		{"secret", identity.Spec{Mode: identity.ModeClientSecret, TenantID: tenant, ClientID: app.ClientID}, identity.Secret{ClientSecret: app.Secret}},
		{"certificate", identity.Spec{Mode: identity.ModeCertificate, TenantID: tenant, ClientID: cert.ClientID}, identity.Secret{Certificate: cert.CertificatePEM()}},
		{"managed identity", identity.Spec{Mode: identity.ModeManagedIdentity, ManagedIdentityClientID: mi.ClientID}, identity.Secret{}},
		{"workload identity", identity.Spec{Mode: identity.ModeWorkloadIdentity, TenantID: tenant, ClientID: fed.ClientID, ManagedIdentityClientID: mi.ClientID}, identity.Secret{}},
		{"service account", identity.Spec{Mode: identity.ModeServiceAccount, TenantID: tenant, ClientID: sim.PublicClient().ClientID, Username: admin.Username}, identity.Secret{Password: admin.Password}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cred, err := identity.New(c.spec, c.sec, opts)
			if err != nil {
				t.Fatal(err)
			}
			dv, err := dataverse.NewClient(sim.Demo().URL(), cred, &dataverse.ClientOptions{ExtraCA: sim.CAPEM()})
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			who, err := dv.WhoAmI(ctx)
			if err != nil {
				t.Fatal(err)
			}
			if who.UserID == "" || who.OrganizationID == "" || who.DopHint == 0 {
				t.Errorf("WhoAmI = %+v", who)
			}
		})
	}
}

func TestExplainFailures(t *testing.T) {
	sim, opts := startSim(t)
	tenant := sim.TenantID()
	app := sim.SecretClients()[0]
	mfa := sim.ServiceAccount("mfa")
	admin := sim.ServiceAccount("admin")
	pub := sim.PublicClient().ClientID
	cases := []struct {
		name, code, say string
		spec            identity.Spec
		sec             identity.Secret
	}{
		{"mfa", "mfa_required", "requires MFA", identity.Spec{Mode: identity.ModeServiceAccount, TenantID: tenant, ClientID: pub, Username: mfa.Username}, identity.Secret{Password: mfa.Password}},
		{"wrong password", "invalid_credentials", "user name or password", identity.Spec{Mode: identity.ModeServiceAccount, TenantID: tenant, ClientID: pub, Username: admin.Username}, identity.Secret{Password: "Wrong-Passw0rd!"}},
		{"wrong secret", "invalid_client_secret", "client secret", identity.Spec{Mode: identity.ModeClientSecret, TenantID: tenant, ClientID: app.ClientID}, identity.Secret{ClientSecret: "not-the-secret-value-xyz"}},
		{"unknown app", "app_not_found", "was not found", identity.Spec{Mode: identity.ModeClientSecret, TenantID: tenant, ClientID: "00000000-0000-0000-0000-000000000001"}, identity.Secret{ClientSecret: "whatever-secret-1"}},
		{"unknown managed identity", "managed_identity_unavailable", "managed identity", identity.Spec{Mode: identity.ModeManagedIdentity, ManagedIdentityClientID: "00000000-0000-0000-0000-000000000002"}, identity.Secret{}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cred, err := identity.New(c.spec, c.sec, opts)
			if err != nil {
				t.Fatal(err)
			}
			dv, _ := dataverse.NewClient(sim.Demo().URL(), cred, &dataverse.ClientOptions{ExtraCA: sim.CAPEM()})
			ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			_, err = dv.WhoAmI(ctx)
			var ae *dataverse.AuthError
			if !errors.As(err, &ae) {
				t.Fatalf("err = %v, want *dataverse.AuthError", err)
			}
			p := identity.Explain(err, c.spec)
			if p.Code != c.code || !strings.Contains(p.Message, c.say) {
				t.Errorf("Explain = %+v, want code %s saying %q", p, c.code, c.say)
			}
			for _, s := range []string{c.sec.Password, c.sec.ClientSecret} {
				if s != "" && (strings.Contains(p.Message, s) || strings.Contains(err.Error(), s)) {
					t.Errorf("secret echoed: %+v / %v", p, err)
				}
			}
		})
	}
	if p := identity.Explain(errors.New("x"), identity.Spec{}); p.Code != "authentication_failed" {
		t.Errorf("generic = %+v", p)
	}
}

func TestSpecValidation(t *testing.T) {
	_, opts := startSimless()
	bad := []struct {
		spec identity.Spec
		sec  identity.Secret
	}{
		{identity.Spec{Mode: "magic"}, identity.Secret{}},
		{identity.Spec{Mode: identity.ModeClientSecret, TenantID: "x", ClientID: "00000000-0000-0000-0000-000000000001"}, identity.Secret{ClientSecret: "s"}},
		{identity.Spec{Mode: identity.ModeClientSecret, TenantID: "contoso.onmicrosoft.com", ClientID: "nope"}, identity.Secret{ClientSecret: "s"}},
		{identity.Spec{Mode: identity.ModeClientSecret, TenantID: "contoso.onmicrosoft.com", ClientID: "00000000-0000-0000-0000-000000000001"}, identity.Secret{}},
		{identity.Spec{Mode: identity.ModeCertificate, TenantID: "contoso.onmicrosoft.com", ClientID: "00000000-0000-0000-0000-000000000001"}, identity.Secret{Certificate: []byte("garbage")}},
		{identity.Spec{Mode: identity.ModeServiceAccount, TenantID: "contoso.onmicrosoft.com", ClientID: "00000000-0000-0000-0000-000000000001", Username: "nobody"}, identity.Secret{Password: "p"}},
		{identity.Spec{Mode: identity.ModeManagedIdentity, ManagedIdentityClientID: "x"}, identity.Secret{}},
	}
	for i, b := range bad {
		if _, err := identity.New(b.spec, b.sec, opts); !errors.Is(err, identity.ErrInvalidSpec) {
			t.Errorf("case %d: err = %v", i, err)
		}
	}
	if _, err := identity.New(identity.Spec{Mode: identity.ModeManagedIdentity}, identity.Secret{}, identity.Options{AuthorityHost: "http://x/"}); err == nil {
		t.Error("http authority accepted")
	}
}

func startSimless() (struct{}, identity.Options) { return struct{}{}, identity.Options{} }
