package dataversesim

import (
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func clientOpts(s *Server) azcore.ClientOptions {
	return azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost}, Transport: s.Client()}
}

// whoAmIWith calls WhoAmI with a raw token and returns the status and UserId.
func whoAmIWith(t *testing.T, e *Env, tok string) (int, string) {
	t.Helper()
	r := call(t, e, "GET", "WhoAmI()", nil, "Authorization", "Bearer "+tok)
	id, _ := r.body["UserId"].(string)
	return r.status, id
}

func TestAzidentityClientSecret(t *testing.T) {
	s, e := small(t)
	app := s.SecretClients()[0]
	cred, err := azidentity.NewClientSecretCredential(s.TenantID(), app.ClientID, app.Secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOpts(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	st, uid := whoAmIWith(t, e, tok.Token)
	if st != 200 || uid != e.SystemUserFor(app.ClientID) {
		t.Fatalf("WhoAmI %d %s, want app user %s", st, uid, e.SystemUserFor(app.ClientID))
	}
	// The same token is refused by the second environment (audience).
	if st, _ := whoAmIWith(t, s.Env("second"), tok.Token); st != 401 {
		t.Fatalf("token for demo accepted by second: %d", st)
	}
}

func TestAzidentityClientSecretWrong(t *testing.T) {
	s, e := small(t)
	app := s.SecretClients()[0]
	cred, _ := azidentity.NewClientSecretCredential(s.TenantID(), app.ClientID, "wrong",
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOpts(s), DisableInstanceDiscovery: true})
	_, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}})
	if err == nil || !strings.Contains(err.Error(), "AADSTS7000215") {
		t.Fatalf("want AADSTS7000215, got %v", err)
	}
}

func TestAzidentityClientCertificate(t *testing.T) {
	s, e := small(t)
	cc := s.CertificateClient()
	certs, key, err := azidentity.ParseCertificates(cc.CertificatePEM(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cred, err := azidentity.NewClientCertificateCredential(s.TenantID(), cc.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOpts(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, uid := whoAmIWith(t, e, tok.Token); st != 200 || uid != e.SystemUserFor(cc.ClientID) {
		t.Fatalf("WhoAmI %d %s", st, uid)
	}
	// The certificate is registered on one app only.
	other := s.SecretClients()[0]
	wrong, _ := azidentity.NewClientCertificateCredential(s.TenantID(), other.ClientID, certs, key,
		&azidentity.ClientCertificateCredentialOptions{ClientOptions: clientOpts(s), DisableInstanceDiscovery: true})
	if _, err := wrong.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}}); err == nil || !strings.Contains(err.Error(), "AADSTS700027") {
		t.Fatalf("certificate of another app: %v", err)
	}
}

func TestAzidentityManagedIdentity(t *testing.T) {
	s, e := small(t)
	t.Setenv("IDENTITY_ENDPOINT", s.MSIEndpoint)
	t.Setenv("IDENTITY_HEADER", s.MSIHeader)
	mi := s.ManagedIdentity()
	cred, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{ID: azidentity.ClientID(mi.ClientID)})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, uid := whoAmIWith(t, e, tok.Token); st != 200 || uid != e.SystemUserFor(mi.ClientID) {
		t.Fatalf("WhoAmI %d %s", st, uid)
	}
	// Wrong header is refused.
	req, _ := http.NewRequest("GET", s.MSIEndpoint+"?api-version=2019-08-01&resource="+url.QueryEscape(e.URL()), nil)
	req.Header.Set("X-IDENTITY-HEADER", "nope")
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	res.Body.Close()
	if res.StatusCode != 401 {
		t.Fatalf("wrong identity header: %d", res.StatusCode)
	}
}

func TestAzidentityFederatedAssertion(t *testing.T) {
	s, e := small(t)
	fc := s.FederatedClient()
	cred, err := azidentity.NewClientAssertionCredential(s.TenantID(), fc.ClientID, func(context.Context) (string, error) { return s.FederatedAssertion(), nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOpts(s), DisableInstanceDiscovery: true})
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, _ := whoAmIWith(t, e, tok.Token); st != 200 {
		t.Fatalf("WhoAmI %d", st)
	}
	bad, _ := azidentity.NewClientAssertionCredential(s.TenantID(), fc.ClientID, func(context.Context) (string, error) { return "a.b.c", nil },
		&azidentity.ClientAssertionCredentialOptions{ClientOptions: clientOpts(s), DisableInstanceDiscovery: true})
	if _, err := bad.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}}); err == nil {
		t.Fatal("garbage assertion accepted")
	}
}

func postForm(t *testing.T, s *Server, f url.Values) (int, map[string]any) {
	t.Helper()
	res, err := s.Client().PostForm(s.TokenURL(), f)
	if err != nil {
		t.Fatal(err)
	}
	defer res.Body.Close()
	var m map[string]any
	json.NewDecoder(res.Body).Decode(&m)
	return res.StatusCode, m
}

func TestROPC(t *testing.T) {
	s, e := small(t)
	admin := s.ServiceAccount("admin")
	//lint:ignore SA1019 the product's service-account mode uses ROPC; the simulator must serve it
	opts := &azidentity.UsernamePasswordCredentialOptions{ClientOptions: clientOpts(s), DisableInstanceDiscovery: true}
	cred, err := azidentity.NewUsernamePasswordCredential(s.TenantID(), s.PublicClient().ClientID, admin.Username, admin.Password, opts)
	if err != nil {
		t.Fatal(err)
	}
	tok, err := cred.GetToken(context.Background(), policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}})
	if err != nil {
		t.Fatal(err)
	}
	if st, uid := whoAmIWith(t, e, tok.Token); st != 200 || uid != e.SystemUserFor(admin.Username) {
		t.Fatalf("WhoAmI %d %s", st, uid)
	}
	mfa := s.ServiceAccount("mfa")
	st, m := postForm(t, s, url.Values{"grant_type": {"password"}, "client_id": {s.PublicClient().ClientID}, "username": {mfa.Username}, "password": {mfa.Password}, "scope": {e.URL() + "/.default"}})
	if st != 400 || m["error"] != "invalid_grant" || !strings.HasPrefix(m["error_description"].(string), "AADSTS50076") {
		t.Fatalf("MFA: %d %v", st, m)
	}
	st, m = postForm(t, s, url.Values{"grant_type": {"password"}, "client_id": {s.PublicClient().ClientID}, "username": {admin.Username}, "password": {"bad"}, "scope": {e.URL() + "/.default"}})
	if st != 400 || !strings.Contains(m["error_description"].(string), "AADSTS50126") {
		t.Fatalf("bad password: %d %v", st, m)
	}
}

func TestTokenEndpointErrors(t *testing.T) {
	s, e := small(t)
	app := s.SecretClients()[0]
	st, m := postForm(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {"00000000-0000-0000-0000-000000000001"}, "client_secret": {"x"}, "scope": {e.URL() + "/.default"}})
	if st != 400 || m["error"] != "unauthorized_client" || !strings.Contains(m["error_description"].(string), "AADSTS700016") {
		t.Fatalf("unknown client: %d %v", st, m)
	}
	st, m = postForm(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {"x"}, "scope": {e.URL() + "/.default"}})
	if st != 401 || m["error"] != "invalid_client" {
		t.Fatalf("wrong secret: %d %v", st, m)
	}
	st, m = postForm(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.Secret}, "scope": {"https://nowhere.example/.default"}})
	if st != 400 || m["error"] != "invalid_resource" {
		t.Fatalf("unknown resource: %d %v", st, m)
	}
	st, m = postForm(t, s, url.Values{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.Secret}, "scope": {e.URL() + "/.default openid offline_access profile"}})
	if st != 200 || m["access_token"] == nil || m["expires_in"].(float64) < 3000 {
		t.Fatalf("good request: %d %v", st, m)
	}
	// The access token carries aud, appid, oid and exp.
	j, err := parseJWT(m["access_token"].(string))
	if err != nil || j.str("aud") != e.URL() || j.str("appid") != app.ClientID || j.str("oid") != app.ObjectID || j.num("exp") == 0 {
		t.Fatalf("claims %v %v", j, err)
	}
}

func TestBearerChecks(t *testing.T) {
	s, e := small(t)
	r := call(t, e, "GET", "accounts", nil, "Authorization", "-")
	if r.status != 401 || !strings.Contains(r.header.Get("WWW-Authenticate"), "authorization_uri=") {
		t.Fatalf("no token: %d %v", r.status, r.header)
	}
	tok, _ := s.Token(s.SecretClients()[0].ClientID, s.Env("second").URL())
	want(t, call(t, e, "GET", "accounts", nil, "Authorization", "Bearer "+tok), 401)
	s.AdvanceClock(2 * s.tokenLifetime)
	want(t, call(t, e, "GET", "WhoAmI()", nil), 200) // freshly minted after the jump
	old, _ := e.Token("")
	s.AdvanceClock(2 * s.tokenLifetime)
	want(t, call(t, e, "GET", "WhoAmI()", nil, "Authorization", "Bearer "+old), 401)
	for name, code := range map[string]string{"backup-app-nouser": codeNotMember, "backup-app-disabled": codeUserDisabled, "backup-app-noroles": codeNoPrivilege} {
		app, _ := s.App(name)
		tok, _ := e.Token(app.ClientID)
		r := call(t, e, "GET", "accounts?$top=1", nil, "Authorization", "Bearer "+tok)
		if r.status != 403 || r.errCode() != code {
			t.Errorf("%s: %d %s %s", name, r.status, r.errCode(), r.errMsg())
		}
	}
}

func TestWhoAmI(t *testing.T) {
	s, e := small(t)
	r := call(t, e, "GET", "WhoAmI()", nil)
	want(t, r, 200)
	if r.header.Get("x-ms-dop-hint") == "" || r.body["OrganizationId"] != e.OrgID || r.body["BusinessUnitId"] == "" {
		t.Fatalf("WhoAmI: %v %v", r.header, r.body)
	}
	// The app user holds System Administrator, visible through its roles.
	uid := r.body["UserId"].(string)
	roles := call(t, e, "GET", "systemusers("+uid+")/systemuserroles_association?$select=name,roleid", nil)
	want(t, roles, 200)
	found := false
	for _, v := range roles.values() {
		if v.(map[string]any)["name"] == "System Administrator" {
			found = true
		}
	}
	if !found {
		t.Fatalf("no System Administrator role: %s", roles.raw)
	}
	_ = s
}
