package functions

import (
	"encoding/base64"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

// The admin's path through the API: connect the demo organization, validate,
// discover, set a policy, start a backup, watch it; every change audited.
// Logs and responses are captured and checked for secrets and tokens.
func TestAPIFlowAndNoSecrets(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	app, _ := f.sim.App("backup-app-1")
	cert := f.sim.CertificateClient()
	certB64 := base64.StdEncoding.EncodeToString(cert.CertificatePEM())
	sa := f.sim.ServiceAccount("admin")
	body := map[string]any{"name": "Contoso", "kind": "appProfile", "tenantId": f.sim.TenantID(),
		"environmentUrls": []string{f.sim.Demo().URL()},
		"identities": []map[string]any{
			{"mode": "clientSecret", "clientId": app.ClientID, "clientSecret": app.Secret},
			{"mode": "certificate", "clientId": cert.ClientID, "certificate": certB64},
		}}
	st, created, hdr := f.do("POST", "/api/connections", body, admin())
	if st != http.StatusCreated || hdr.Get("Location") == "" {
		t.Fatalf("create: %d %v", st, created)
	}
	v := created["validation"].(map[string]any)
	if v["ok"] != true {
		t.Fatalf("validation: %v", v)
	}
	conn := created["connection"].(map[string]any)
	connID := conn["id"].(string)
	envID := created["environments"].([]any)[0].(map[string]any)["id"].(string)

	// A service account connection with a wrong password: validation says so.
	st, bad, _ := f.do("POST", "/api/connections", map[string]any{"name": "SA", "kind": "serviceAccount", "tenantId": f.sim.TenantID(),
		"identities": []map[string]any{{"mode": "serviceAccount", "clientId": f.sim.PublicClient().ClientID, "username": sa.Username, "password": "Wr0ng-Password!"}}}, admin())
	if st != http.StatusCreated || bad["validation"].(map[string]any)["ok"] != false {
		t.Errorf("service account with wrong password: %d %v", st, bad["validation"])
	}
	saID := bad["connection"].(map[string]any)["id"].(string)
	// Rotation to the right password validates, then swaps.
	if st, p, _ := f.do("POST", "/api/connections/"+saID+"/rotate", map[string]any{"identityId": "id1", "password": "Still-Wr0ng!"}, admin()); st != http.StatusUnprocessableEntity || p["validation"] == nil {
		t.Errorf("rotate to a wrong password: %d %v", st, p)
	}
	if st, p, _ := f.do("POST", "/api/connections/"+saID+"/rotate", map[string]any{"identityId": "id1", "password": sa.Password}, admin()); st != http.StatusOK || p["ok"] != true {
		t.Errorf("rotate: %d %v", st, p)
	}

	if st, p, _ := f.do("GET", "/api/connections", nil, admin()); st != 200 || len(p["value"].([]any)) != 2 {
		t.Errorf("list: %d %v", st, p)
	}
	if st, p, _ := f.do("GET", "/api/connections/"+connID, nil, admin()); st != 200 || len(p["environments"].([]any)) != 1 {
		t.Errorf("get: %d %v", st, p)
	}
	if st, p, _ := f.do("POST", "/api/connections/"+connID+"/validate", nil, admin()); st != 200 || p["ok"] != true {
		t.Errorf("validate: %d %v", st, p)
	}
	st, disc, _ := f.do("POST", "/api/environments/discover", map[string]any{"connectionId": connID, "identityId": "id2"}, admin())
	if st != 200 || disc["source"] != "powerPlatformAdmin" || len(disc["added"].([]any)) != 2 {
		t.Errorf("discover: %d %v", st, disc)
	}
	// Policy with If-Match.
	st, env, eh := f.do("GET", "/api/environments/"+envID, nil, admin())
	if st != 200 || env["status"] != "backup-disabled" || eh.Get("ETag") == "" {
		t.Fatalf("environment: %d %v", st, env)
	}
	policy := map[string]any{"enabled": true, "schedule": "0 0 */6 * * *", "includeTables": []string{}, "excludeTables": []string{"email"},
		"incremental": true, "fullEveryDays": 7, "retentionDays": 30, "retentionCount": 10}
	op := map[string]string{principalHeader: principal("olga", RoleOperator), "If-Match": eh.Get("ETag")}
	if st, p, _ := f.do("PUT", "/api/environments/"+envID+"/policy", policy, op); st != 200 || p["nextRun"] == nil || p["status"] != "never-run" {
		t.Errorf("policy: %d %v", st, p)
	}
	if st, _, _ := f.do("PUT", "/api/environments/"+envID+"/policy", policy, op); st != http.StatusConflict {
		t.Errorf("stale If-Match: %d", st)
	}
	if st, p, _ := f.do("GET", "/api/environments", nil, admin()); st != 200 || len(p["value"].([]any)) != 3 {
		t.Errorf("environments: %d %v", st, p)
	}
	// Delete refused while in use.
	if st, p, _ := f.do("DELETE", "/api/connections/"+connID, nil, admin()); st != http.StatusConflict || p["code"] != "in_use" {
		t.Errorf("delete in use: %d %v", st, p)
	}

	// Start a run: created, scan message sent with an id derived from the run id.
	st, run, rh := f.do("POST", "/api/backups/"+envID, nil, op)
	if st != http.StatusAccepted || rh.Get("Location") == "" {
		t.Fatalf("start: %d %v", st, run)
	}
	runID := run["id"].(string)
	msgs := f.sender.Sent(messaging.QueueScan)
	if len(msgs) != 1 || !strings.Contains(msgs[0].ID, runID) || !strings.Contains(string(msgs[0].Body), runID) {
		t.Errorf("scan messages = %+v", msgs)
	}
	if st, p, _ := f.do("POST", "/api/backups/"+envID, nil, op); st != http.StatusConflict || p["code"] != "run_in_progress" {
		t.Errorf("second start: %d %v", st, p)
	}
	if st, p, _ := f.do("GET", "/api/backups/"+envID, nil, admin()); st != 200 || len(p["value"].([]any)) != 1 {
		t.Errorf("runs: %d %v", st, p)
	}
	// The environment views show the run in progress (the list reads the
	// latest runs in one query, the single view its own).
	envViews := func() []map[string]any {
		t.Helper()
		_, one, _ := f.do("GET", "/api/environments/"+envID, nil, admin())
		_, list, _ := f.do("GET", "/api/environments", nil, admin())
		for _, e := range list["value"].([]any) {
			if e := e.(map[string]any); e["id"] == envID {
				return []map[string]any{one, e}
			}
		}
		t.Fatalf("environment %s not listed: %v", envID, list)
		return nil
	}
	for _, v := range envViews() {
		if v["status"] != "running" || v["activeRun"] != runID || v["lastRun"].(map[string]any)["id"] != runID {
			t.Errorf("environment view during run %s: %v", runID, v)
		}
	}
	if st, p, _ := f.do("GET", "/api/backups/"+envID+"/"+runID, nil, admin()); st != 200 || p["progress"] == nil {
		t.Errorf("run: %d %v", st, p)
	}
	if st, p, _ := f.do("GET", "/api/backups/"+envID+"/"+runID+"/tables", nil, admin()); st != 200 || p["value"] == nil {
		t.Errorf("tables: %d %v", st, p)
	}
	if st, _, _ := f.do("POST", "/api/backups/"+envID+"/"+runID+"/verify", nil, op); st != http.StatusConflict {
		t.Errorf("verify of an unfinished run: %d", st)
	}
	if st, _, _ := f.do("GET", "/api/backups/"+envID+"/"+runID+"/tables/account/records", nil, admin()); st != http.StatusConflict {
		t.Errorf("browse of an unfinished run: %d", st)
	}
	if st, p, _ := f.do("POST", "/api/backups/"+envID+"/"+runID+"/cancel", nil, op); st != 200 || p["status"] != "cancelled" {
		t.Errorf("cancel: %d %v", st, p)
	}
	if st, _, _ := f.do("POST", "/api/backups/"+envID+"/"+runID+"/cancel", nil, op); st != http.StatusConflict {
		t.Errorf("second cancel: %d", st)
	}
	for _, v := range envViews() {
		last, _ := v["lastRun"].(map[string]any)
		if v["status"] != "cancelled" || v["activeRun"] != nil || last["id"] != runID || last["reason"] != "cancelled by olga" {
			t.Errorf("environment view after the cancel: %v", v)
		}
	}
	if st, _, _ := f.do("GET", "/api/backups/"+envID+"/20990101T000000Z-deadbeef", nil, admin()); st != http.StatusNotFound {
		t.Errorf("unknown run: %d", st)
	}
	// An empty restore request is refused, naming what is missing.
	if st, p, _ := f.do("POST", "/api/restores", "{}", map[string]string{principalHeader: principal("rita", RoleRestore)}); st != http.StatusBadRequest || !strings.Contains(fmt.Sprint(p), "environment") {
		t.Errorf("empty restore request: %d %v", st, p)
	}
	if st, p, _ := f.do("GET", "/api/health", nil, nil); st != 200 || p["status"] != "ok" {
		t.Errorf("health: %d %v", st, p)
	}

	// Audit: who did what.
	st, au, _ := f.do("GET", "/api/audit", nil, admin())
	if st != 200 {
		t.Fatal(st)
	}
	actions := map[string]bool{}
	for _, e := range au["value"].([]any) {
		m := e.(map[string]any)
		actions[m["action"].(string)+"/"+m["actor"].(string)+"/"+m["outcome"].(string)] = true
	}
	for _, want := range []string{"connection.create/alice/ok", "connection.rotate/alice/failed", "connection.rotate/alice/ok", "environment.discover/alice/ok",
		"environment.policy.update/olga/ok", "environment.policy.update/olga/failed", "backup.start/olga/ok", "backup.cancel/olga/ok", "connection.delete/alice/failed"} {
		if !actions[want] {
			t.Errorf("audit lacks %s (have %v)", want, actions)
		}
	}

	// No secret, password, certificate key or token in any response or log line.
	keyPEM := string(cert.CertificatePEM())
	keyPart := keyPEM[strings.Index(keyPEM, "PRIVATE KEY-----")+17:][:60]
	out := f.bodies.String() + f.logs.String()
	for name, s := range map[string]string{"client secret": app.Secret, "password": sa.Password, "wrong password": "Wr0ng-Password!", "certificate (base64)": certB64[:60],
		"private key": keyPart, "MSI header": f.sim.MSIHeader} {
		if strings.Contains(out, s) {
			t.Errorf("%s appears in responses or logs", name)
		}
	}
	if strings.Contains(out, "eyJ") {
		t.Error("a JWT (access token) appears in responses or logs")
	}
	if !strings.Contains(f.logs.String(), `"msg":"api request"`) {
		t.Error("no structured access log captured: the check proved nothing")
	}
}

// Bad input: each answered 4xx with a problem naming the field; nothing written.
func TestAPIBadInput(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	app, _ := f.sim.App("backup-app-1")
	good := func() map[string]any {
		return map[string]any{"name": "x", "kind": "appProfile", "tenantId": f.sim.TenantID(),
			"identities": []map[string]any{{"mode": "clientSecret", "clientId": app.ClientID, "clientSecret": app.Secret}}}
	}
	with := func(k string, v any) map[string]any { m := good(); m[k] = v; return m }
	cases := []struct {
		name   string
		body   any
		ctype  string
		status int
		field  string
	}{
		{"unknown field", with("colour", "red"), "", 400, "colour"},
		{"unknown nested field", with("identities", []map[string]any{{"mode": "clientSecret", "clientId": app.ClientID, "clientSecret": "s", "secrett": "x"}}), "", 400, "secrett"},
		{"wrong type", with("name", 42), "", 400, "name"},
		{"wrong array type", with("environmentUrls", "https://x.crm.dynamics.com"), "", 400, "environmentUrls"},
		{"malformed", `{"name":`, "", 400, ""},
		{"two values", `{} {}`, "", 400, ""},
		{"empty", ``, "", 400, ""},
		{"not json", `name=x`, "application/x-www-form-urlencoded", 415, ""},
		{"huge", `{"name":"` + strings.Repeat("a", MaxBodyBytes) + `"}`, "", 413, ""},
		{"invalid guid", with("identities", []map[string]any{{"mode": "clientSecret", "clientId": "../../etc", "clientSecret": "s"}}), "", 400, "identities[0]"},
		{"ssrf http", with("environmentUrls", []string{"http://contoso.crm.dynamics.com"}), "", 400, "environmentUrls[0]"},
		{"ssrf ip", with("environmentUrls", []string{"https://10.1.2.3"}), "", 400, "environmentUrls[0]"},
		{"ssrf localhost", with("environmentUrls", []string{"https://localhost:8443"}), "", 400, "environmentUrls[0]"},
		{"ssrf metadata", with("environmentUrls", []string{"https://169.254.169.254/metadata/identity/oauth2/token"}), "", 400, "environmentUrls[0]"},
		{"ssrf other host", with("environmentUrls", []string{"https://evil.example.com"}), "", 400, "environmentUrls[0]"},
		{"ssrf lookalike", with("environmentUrls", []string{"https://contoso.crm.dynamics.com.evil.com"}), "", 400, "environmentUrls[0]"},
		{"ssrf userinfo", with("environmentUrls", []string{"https://contoso.crm.dynamics.com@evil.com"}), "", 400, "environmentUrls[0]"},
		{"header injection", with("name", "x\r\nX-Evil: 1"), "", 400, "name"},
		{"printable name", with("name", "Contoso (prod) – Zürich ✓"), "", 201, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			hdr := admin()
			if c.ctype != "" {
				hdr["Content-Type"] = c.ctype
			}
			st, p, h := f.do("POST", "/api/connections", c.body, hdr)
			if st != c.status {
				t.Fatalf("status %d, want %d: %v", st, c.status, p)
			}
			if h.Get("X-Evil") != "" {
				t.Error("header injected")
			}
			if c.field != "" {
				errs, _ := p["errors"].([]any)
				if len(errs) == 0 || errs[0].(map[string]any)["field"] != c.field {
					t.Errorf("errors = %v, want field %s", p["errors"], c.field)
				}
			}
			if st >= 400 && strings.Contains(f.bodies.String(), app.Secret) {
				t.Error("secret echoed")
			}
		})
	}
	// Only the valid name with non-ASCII characters created anything.
	_, p, _ := f.do("GET", "/api/connections", nil, admin())
	if n := len(p["value"].([]any)); n != 1 {
		t.Errorf("%d connections after bad input, want 1", n)
	}
	for _, path := range []string{"/api/connections/not-a-guid", "/api/connections/..%2f..%2fetc", "/api/environments/x"} {
		if st, _, _ := f.do("GET", path, nil, admin()); st != http.StatusNotFound {
			t.Errorf("GET %s: %d", path, st)
		}
	}
	// A literal ".." is refused as such, not redirected (to a path that
	// would then be 404).
	if st, p, _ := f.do("GET", "/api/backups/../../x", nil, admin()); st != http.StatusBadRequest || p["code"] != "invalid_path" {
		t.Errorf("GET /api/backups/../../x: %d %v", st, p)
	}
	if st, p, _ := f.do("PUT", "/api/environments/00000000-0000-0000-0000-000000000001/policy", map[string]any{"enabled": "yes"}, admin()); st != 400 || p["errors"] == nil {
		t.Errorf("policy wrong type: %d %v", st, p)
	}
}
