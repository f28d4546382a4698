package functions

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// TestAPIBadInputCorpus extends TestAPIBadInput (which covers POST
// /api/connections) to every other route that takes input: wrong types,
// unknown fields, huge bodies, invalid GUIDs and ids, path traversal,
// header injection, SSRF URLs when adding environments. Each answer is 4xx
// with a problem body (f.do checks problem+json on every error), and
// afterwards Table Storage holds exactly what the one valid set-up call
// wrote and no message was sent: nothing was written by bad input.
func TestAPIBadInputCorpus(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	app, _ := f.sim.App("backup-app-1")
	st, created, _ := f.do("POST", "/api/connections", map[string]any{"name": "c", "kind": "appProfile", "tenantId": f.sim.TenantID(),
		"environmentUrls": []string{f.sim.Demo().URL()},
		"identities":      []map[string]any{{"mode": "clientSecret", "clientId": app.ClientID, "clientSecret": app.Secret}}}, admin())
	if st != http.StatusCreated {
		t.Fatalf("set-up connection: %d %v", st, created)
	}
	connID := created["connection"].(map[string]any)["id"].(string)
	envID := created["environments"].([]any)[0].(map[string]any)["id"].(string)
	before := tableCounts(t, f.tables)
	sentBefore := len(f.sender.Sent(messaging.QueueScan)) + len(f.sender.Sent(messaging.QueueRestore))

	huge := `{"environment":"` + strings.Repeat("a", MaxBodyBytes) + `"}`
	hdr := map[string]string{principalHeader: principal("root", RoleAdmin, RoleOperator, RoleRestore)}
	cases := []struct {
		method, path string
		body         any
		ctype        string
		want         int
	}{
		// restores
		{"POST", "/api/restores", `{"environment":42}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","dryRun":"yes"}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","scope":{"tables":"account"}}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","colour":"red"}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","scope":{"bogus":true}}`, "", 400},
		{"POST", "/api/restores", huge, "", 413},
		{"POST", "/api/restores", `{"environment":"../../etc/passwd"}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","run":"../` + envID + `"}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","scope":{"records":{"account":["../../x"]}}}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","scope":{"tables":["Account;drop"]}}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","scope":{"fields":{"account":["name\r\nX-Evil: 1"]}}}`, "", 400},
		{"POST", "/api/restores", `{"environment":"` + envID + `","mapping":{"systemuser":{"x":"not-a-guid"}}}`, "", 400},
		{"POST", "/api/restores", `environment=x`, "text/plain", 415},
		{"POST", "/api/restores", `{"environment":"` + envID + `"}{}`, "", 400},
		{"GET", "/api/restores/..%2f..%2fetc", nil, "", 400},
		{"GET", "/api/restores/export/" + envID + "/..%2f..%2fx/account", nil, "", 400},
		// environments
		{"PUT", "/api/environments/" + envID + "/policy", `{"enabled":"yes"}`, "", 400},
		{"PUT", "/api/environments/" + envID + "/policy", `{"enabled":true,"schedule":"* * *","retentionDays":-1}`, "", 400},
		{"PUT", "/api/environments/" + envID + "/policy", `{"enabled":true,"excludeTables":["../x"]}`, "", 400},
		{"PUT", "/api/environments/" + envID + "/policy", `{"enabled":true,"surprise":1}`, "", 400},
		{"PUT", "/api/environments/" + envID + "/policy", huge, "", 413},
		{"PUT", "/api/environments/not-a-guid/policy", `{"enabled":true,"retentionDays":7}`, "", 404},
		{"POST", "/api/environments/discover", `{"connectionId":"../x"}`, "", 404},
		{"POST", "/api/environments/discover", `{"connectionId":123}`, "", 400},
		// connections: environments added later go through the same SSRF checks
		{"POST", "/api/connections/" + connID + "/environments", `{"environmentUrls":["http://contoso.crm.dynamics.com"]}`, "", 400},
		{"POST", "/api/connections/" + connID + "/environments", `{"environmentUrls":["https://127.0.0.1"]}`, "", 400},
		{"POST", "/api/connections/" + connID + "/environments", `{"environmentUrls":["https://[::1]:443"]}`, "", 400},
		{"POST", "/api/connections/" + connID + "/environments", `{"environmentUrls":["https://localhost"]}`, "", 400},
		{"POST", "/api/connections/" + connID + "/environments", `{"environmentUrls":["https://169.254.169.254/metadata/instance"]}`, "", 400},
		{"POST", "/api/connections/" + connID + "/environments", `{"environmentUrls":["https://2852039166"]}`, "", 400},
		{"POST", "/api/connections/" + connID + "/environments", `{"environmentUrls":["https://contoso.crm.dynamics.com.evil.example"]}`, "", 400},
		{"POST", "/api/connections/" + connID + "/environments", `{"environmentUrls":"https://contoso.crm.dynamics.com"}`, "", 400},
		{"POST", "/api/connections/" + connID + "/rotate", `{"identityId":"id1","clientSecret":7}`, "", 400},
		{"POST", "/api/connections/" + connID + "/rotate", `{"identityId":"../id1","clientSecret":"x"}`, "", 404},
		{"POST", "/api/connections/" + connID + "/move", `{"environmentIds":["not-a-guid"],"to":"x"}`, "", 400},
		{"POST", "/api/connections/" + connID + "/identities", `{"mode":"clientSecret","clientId":"not-a-guid","clientSecret":"x"}`, "", 400},
		{"DELETE", "/api/connections/" + connID + "/identities/..%2fid1", nil, "", 404},
		{"GET", "/api/connections/" + connID + "%00", nil, "", 404},
		// backups
		{"POST", "/api/backups/..%2f..%2fx", nil, "", 404},
		{"POST", "/api/backups/" + envID, `{"unexpected":true}`, "", 400},
		{"GET", "/api/backups/" + envID + "/..%2f..%2fx", nil, "", 404},
		{"GET", "/api/backups/" + envID + "/20990101T000000Z-deadbeef/tables/..%2fx/records", nil, "", 404},
		{"GET", "/api/backups/" + envID + "/20990101T000000Z-deadbeef/tables/account/records/not-a-guid", nil, "", 404},
		{"POST", "/api/backups/" + envID + "/20990101T000000Z-deadbeef/verify", nil, "", 404},
	}
	for _, c := range cases {
		h := map[string]string{}
		for k, v := range hdr {
			h[k] = v
		}
		if c.ctype != "" {
			h["Content-Type"] = c.ctype
		}
		st, p, rh := f.do(c.method, c.path, c.body, h)
		body := c.body
		if s, ok := body.(string); ok && len(s) > 80 {
			body = s[:80] + "..."
		}
		switch {
		case st < 400 || st >= 500:
			t.Errorf("%s %s %v: %d, want 4xx (%v)", c.method, c.path, body, st, p)
		case st != c.want:
			t.Errorf("%s %s %v: %d, want %d (%v)", c.method, c.path, body, st, c.want, p["detail"])
		case p["status"] == nil || p["title"] == nil:
			t.Errorf("%s %s: problem body lacks status/title: %v", c.method, c.path, p)
		}
		if rh.Get("X-Evil") != "" {
			t.Errorf("%s %s: header injected", c.method, c.path)
		}
	}
	if after := tableCounts(t, f.tables); !equalCounts(before, after) {
		t.Errorf("bad input wrote to Table Storage: before %v, after %v", before, after)
	}
	if n := len(f.sender.Sent(messaging.QueueScan)) + len(f.sender.Sent(messaging.QueueRestore)); n != sentBefore {
		t.Errorf("bad input sent %d message(s)", n-sentBefore)
	}
}

// tableCounts counts the entities of every table the product writes,
// except the audit log (refusals are audited by design).
func tableCounts(t *testing.T, svc *aztables.ServiceClient) map[string]int {
	t.Helper()
	out := map[string]int{}
	names := append([]string{connections.TableConnections, connections.TableEnvironments}, runstate.Tables()...)
	names = append(names, restore.Tables()...)
	for _, n := range names {
		if n == audit.Table {
			continue
		}
		pager := svc.NewClient(n).NewListEntitiesPager(nil)
		for pager.More() {
			page, err := pager.NextPage(context.Background())
			if err != nil {
				break // a table never created holds nothing
			}
			out[n] += len(page.Entities)
		}
	}
	return out
}

// equalCounts compares entity counts (an empty table equals no table).
func equalCounts(a, b map[string]int) bool {
	for k, v := range a {
		if b[k] != v {
			return false
		}
	}
	for k, v := range b {
		if a[k] != v {
			return false
		}
	}
	return true
}

// TestDataverseClientRefusesRedirects: an allowed environment host that
// answers with a redirect elsewhere (e.g. to the instance metadata
// endpoint) is not followed: the call fails and the other host is never
// contacted.
func TestDataverseClientRefusesRedirects(t *testing.T) {
	var hit atomic.Int64
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Add(1) }))
	defer other.Close()
	env := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/metadata/identity/oauth2/token", http.StatusFound)
	}))
	defer env.Close()
	tr := env.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // both test servers
	c, err := dataverse.NewClient(env.URL, staticToken{}, &dataverse.ClientOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.WhoAmI(ctx); err == nil {
		t.Error("WhoAmI through a redirect succeeded")
	}
	if hit.Load() != 0 {
		t.Errorf("the redirect target was contacted %d time(s)", hit.Load())
	}
}

type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
