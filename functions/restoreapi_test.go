package functions

import (
	"net/http"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
)

// TestRestoreRoutes checks the restore endpoints through the app's router:
// roles, strict bodies, problems for unregistered environments, runs
// without backups and unknown jobs, the list.
func TestRestoreRoutes(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	app, _ := f.sim.App("backup-app-1")
	st, created, _ := f.do("POST", "/api/connections", map[string]any{"name": "Contoso", "kind": "appProfile", "tenantId": f.sim.TenantID(),
		"environmentUrls": []string{f.sim.Demo().URL()},
		"identities":      []map[string]any{{"mode": "clientSecret", "clientId": app.ClientID, "clientSecret": app.Secret}}}, admin())
	if st != http.StatusCreated {
		t.Fatalf("create connection: %d %v", st, created)
	}
	envID := created["environments"].([]any)[0].(map[string]any)["id"].(string)
	cases := []struct {
		method, path, body string
		roles              []Role
		want               int
		detail             string // in the problem's detail
	}{
		{"POST", "/api/restores", `{"environment":"e1"}`, []Role{RoleAdmin}, 403, string(RoleRestore)},
		{"POST", "/api/restores", `{"environment":"e1","bogus":1}`, []Role{RoleRestore}, 400, ""},
		{"POST", "/api/restores", `{"environment":"e1","policy":"clobber"}`, []Role{RoleRestore}, 400, ""},
		{"POST", "/api/restores", `{"environment":"e1","scope":{"records":{"account":["not-a-guid"]}}}`, []Role{RoleRestore}, 400, ""},
		{"POST", "/api/restores", `{"environment":"nobackups"}`, []Role{RoleRestore}, 404, "not registered"},
		{"POST", "/api/restores", `{"environment":"` + envID + `"}`, []Role{RoleRestore}, 404, ""},
		{"GET", "/api/restores", "", []Role{RoleReader}, 200, ""},
		{"GET", "/api/restores/r-missing", "", []Role{RoleReader}, 404, ""},
		{"GET", "/api/restores/..%2f..", "", []Role{RoleReader}, 400, ""},
		{"GET", "/api/restores/export/e1/run1/account", "", []Role{RoleReader}, 404, ""},
		{"GET", "/api/restores/export/e1/run1/account?format=xml", "", []Role{RoleReader}, 400, ""},
	}
	for _, c := range cases {
		var body any
		if c.body != "" {
			body = c.body
		}
		got, p, _ := f.do(c.method, c.path, body, map[string]string{principalHeader: principal("tester", c.roles...)})
		if got != c.want {
			t.Errorf("%s %s %s: %d, want %d (%v)", c.method, c.path, c.body, got, c.want, p)
		}
		if d, _ := p["detail"].(string); !strings.Contains(d, c.detail) {
			t.Errorf("%s %s %s: detail %q, want it to say %q", c.method, c.path, c.body, d, c.detail)
		}
	}
}
