package functions

import (
	"context"
	"net/http"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/testkit/pump"
)

// registered is what connect set up: the demo environment of the
// simulator under a connection of its backup app.
type registered struct {
	conn, env string
}

// connect registers the simulator's demo organization as an admin would.
func (f *apiFixture) connect() registered {
	f.t.Helper()
	app, _ := f.sim.App("backup-app-1")
	st, created, _ := f.do("POST", "/api/connections", map[string]any{"name": "Contoso", "kind": "appProfile", "tenantId": f.sim.TenantID(),
		"environmentUrls": []string{f.sim.Demo().URL()},
		"identities":      []map[string]any{{"mode": "clientSecret", "clientId": app.ClientID, "clientSecret": app.Secret}}}, admin())
	if st != http.StatusCreated {
		f.t.Fatalf("register the demo organization: %d %v", st, created)
	}
	return registered{conn: created["connection"].(map[string]any)["id"].(string),
		env: created["environments"].([]any)[0].(map[string]any)["id"].(string)}
}

// pump delivers the engines' queued messages in process until none is left.
func (f *apiFixture) pump() {
	f.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	hs := pump.Handlers{}.On(func(ctx context.Context, q string, body []byte, n int) error {
		return f.app.backup.Handle(ctx, q, body, n)
	}, backup.Queues()...).On(func(ctx context.Context, q string, body []byte, n int) error {
		m, err := restore.DecodeMessage(body)
		if err != nil {
			return err
		}
		return f.app.restore.Handle(ctx, m, n)
	}, messaging.QueueRestore)
	res, err := pump.Run(ctx, f.sender, hs, pump.Options{Workers: 2})
	if err != nil || len(res.Poison) > 0 {
		f.t.Fatalf("pump: %v, %d poison message(s)", err, len(res.Poison))
	}
}

// backUp runs an on-demand backup of env through the API and the engine
// (body: the POST's body or nil) and returns the finished run.
func (f *apiFixture) backUp(env string, body any) map[string]any {
	f.t.Helper()
	op := map[string]string{principalHeader: principal("olga", RoleOperator)}
	st, run, _ := f.do("POST", "/api/backups/"+env, body, op)
	if st != http.StatusAccepted {
		f.t.Fatalf("start a backup: %d %v", st, run)
	}
	f.pump()
	st, run, _ = f.do("GET", "/api/backups/"+env+"/"+run["id"].(string), nil, admin())
	if st != http.StatusOK || run["status"] != "succeeded" {
		f.t.Fatalf("the backup did not succeed: %d %v", st, run)
	}
	return run
}

// limitTables sets a policy backing up only tables (a small, fast run).
func (f *apiFixture) limitTables(env string, tables ...string) {
	f.t.Helper()
	st, p, _ := f.do("PUT", "/api/environments/"+env+"/policy", map[string]any{"enabled": false, "includeTables": tables,
		"excludeTables": []string{}, "incremental": true, "fullEveryDays": 7, "retentionDays": 30}, admin())
	if st != http.StatusOK {
		f.t.Fatalf("policy: %d %v", st, p)
	}
}
