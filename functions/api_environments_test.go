package functions

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
)

// A mistyped environment host (allowed, nothing answers there) is
// registered with status unreachable, the reason and the fix; a backup of
// it and a restore into it are refused up front with them, writing
// nothing; DELETE removes it, audited.
func TestUnreachableEnvironmentSaysSoAndIsRefusedUpFront(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	reg := f.connect()
	st, added, _ := f.do("POST", "/api/connections/"+reg.conn+"/environments", map[string]any{"urls": []string{"https://" + f.deadHost}}, admin())
	if st != http.StatusCreated || added["validation"].(map[string]any)["ok"] != false {
		t.Fatalf("add the mistyped environment: %d %v", st, added)
	}
	dead := added["environments"].([]any)[0].(map[string]any)
	deadID := dead["id"].(string)
	reason, _ := dead["statusReason"].(string)
	fix, _ := dead["statusFix"].(string)
	if dead["status"] != "unreachable" || reason == "" || fix == "" {
		t.Fatalf("registration answer: status %v, reason %q, fix %q", dead["status"], reason, fix)
	}
	t.Logf("unreachable: %s / fix: %s", reason, fix)
	if st, v, _ := f.do("GET", "/api/environments/"+deadID, nil, admin()); st != 200 || v["status"] != "unreachable" || v["statusReason"] != reason {
		t.Errorf("environment view: %d %v", st, v)
	}
	if st, v, _ := f.do("GET", "/api/environments/"+reg.env, nil, admin()); st != 200 || v["status"] != "backup-disabled" || v["statusFix"] == nil {
		t.Errorf("the reachable environment: %d %v", st, v)
	}

	before, sent := f.written(), f.sentCount()
	op := map[string]string{principalHeader: principal("olga", RoleOperator, RoleRestore)}
	for _, c := range []struct {
		method, path string
		body         any
	}{
		{"POST", "/api/backups/" + deadID, nil},
		{"POST", "/api/restores", map[string]any{"environment": reg.env, "target": deadID}},
		{"POST", "/api/restores", map[string]any{"environment": reg.env, "target": deadID, "dryRun": true}},
	} {
		st, p, _ := f.do(c.method, c.path, c.body, op)
		d, _ := p["detail"].(string)
		if st != http.StatusConflict || p["code"] != "environment_unreachable" || !strings.Contains(d, reason) || !strings.Contains(d, "/validate") ||
			!strings.Contains(d, f.deadHost) || internalText.MatchString(strings.ReplaceAll(d, f.deadHost, "<the URL given>")) {
			t.Errorf("%s %s %v: %d %v", c.method, c.path, c.body, st, p)
		}
	}
	if after := f.written(); after != before || f.sentCount() != sent {
		t.Errorf("refused work wrote:\nbefore %s\nafter  %s (messages %d -> %d)", before, after, sent, f.sentCount())
	}

	if st, p, _ := f.do("DELETE", "/api/environments/"+deadID, nil, admin()); st != 200 || p["deleted"] != true || p["runsKept"] != float64(0) {
		t.Errorf("delete: %d %v", st, p)
	}
	if st, _, _ := f.do("GET", "/api/environments/"+deadID, nil, admin()); st != 404 {
		t.Errorf("after delete: %d", st)
	}
	if !f.audited("environment.delete", "alice", "ok", f.deadHost+" removed; backups kept (0 runs)") {
		t.Error("the delete is not audited with what happened to the backups")
	}
}

// DELETE /api/environments/{id} keeps the backups (still listed, browsable
// and restorable from into another environment) unless purgeBackups=true;
// kept backups can be purged later; refused while a run is in progress;
// audited either way.
func TestEnvironmentRemovedKeepingThenPurgingBackups(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	reg := f.connect()
	f.limitTables(reg.env, "account")
	run := f.backUp(reg.env, nil)["id"].(string)
	op := map[string]string{principalHeader: principal("olga", RoleOperator, RoleRestore)}

	for _, q := range []string{"?purgeBackups=maybe", "?purge=true", "?purgeBackups=true&x=1"} {
		if st, p, _ := f.do("DELETE", "/api/environments/"+reg.env+q, nil, admin()); st != http.StatusBadRequest {
			t.Errorf("DELETE %s: %d %v", q, st, p)
		}
	}
	st, active, _ := f.do("POST", "/api/backups/"+reg.env, nil, op)
	if st != http.StatusAccepted {
		t.Fatalf("second run: %d %v", st, active)
	}
	if st, p, _ := f.do("DELETE", "/api/environments/"+reg.env, nil, admin()); st != http.StatusConflict || p["code"] != "run_in_progress" {
		t.Errorf("delete during a run: %d %v", st, p)
	}
	if st, p, _ := f.do("POST", "/api/backups/"+reg.env+"/"+active["id"].(string)+"/cancel", nil, op); st != 200 {
		t.Fatalf("cancel: %d %v", st, p)
	}
	f.pump() // the cancelled run's scan message finds it ended

	st, p, _ := f.do("DELETE", "/api/environments/"+reg.env, nil, admin())
	if st != 200 || p["runsKept"] != float64(2) || p["backupsPurged"] != false {
		t.Fatalf("delete keeping backups: %d %v", st, p)
	}
	if st, _, _ := f.do("GET", "/api/environments/"+reg.env, nil, admin()); st != 404 {
		t.Errorf("environment after delete: %d", st)
	}
	if st, p, _ := f.do("POST", "/api/backups/"+reg.env, nil, op); st != 404 {
		t.Errorf("backup of a removed environment: %d %v", st, p)
	}
	if st, p, _ := f.do("GET", "/api/backups/"+reg.env, nil, admin()); st != 200 || len(p["value"].([]any)) != 2 {
		t.Errorf("runs of a removed environment: %d %v", st, p)
	}
	if st, p, _ := f.do("GET", "/api/backups/"+reg.env+"/"+run+"/tables/account/records?limit=1", nil, admin()); st != 200 || len(p["value"].([]any)) != 1 {
		t.Errorf("browse a removed environment's run: %d %v", st, p)
	}
	// Restore from the kept backups into another registered environment.
	st, added, _ := f.do("POST", "/api/connections/"+reg.conn+"/environments", map[string]any{"urls": []string{f.sim.Env("second").URL()}}, admin())
	if st != http.StatusCreated {
		t.Fatalf("add the second environment: %d %v", st, added)
	}
	second := added["environments"].([]any)[0].(map[string]any)["id"].(string)
	st, job, _ := f.do("POST", "/api/restores", map[string]any{"environment": reg.env, "target": second, "dryRun": true}, op)
	if st != http.StatusAccepted || job["run"] != run {
		t.Fatalf("restore from a removed environment's backups: %d %v", st, job)
	}
	f.pump()

	ctx := context.Background()
	blobs := func() int {
		n := 0
		for _, err := range f.app.backup.Blobs().List(ctx, backupformat.ContainerBackups, backupformat.EnvironmentPrefix(reg.env)) {
			if err != nil {
				t.Fatal(err)
			}
			n++
		}
		return n
	}
	if blobs() == 0 {
		t.Fatal("no blob of the kept backups: the check below proves nothing")
	}
	st, p, _ = f.do("DELETE", "/api/environments/"+reg.env+"?purgeBackups=true", nil, admin())
	if st != 200 || p["runsDeleted"] != float64(2) || p["backupsPurged"] != true {
		t.Fatalf("purge the kept backups: %d %v", st, p)
	}
	if n := blobs(); n != 0 {
		t.Errorf("%d blob(s) of the purged environment left", n)
	}
	if st, _, _ := f.do("GET", "/api/backups/"+reg.env, nil, admin()); st != 404 {
		t.Errorf("runs after the purge: %d", st)
	}
	if st, _, _ := f.do("DELETE", "/api/environments/"+reg.env+"?purgeBackups=true", nil, admin()); st != 404 {
		t.Errorf("second purge: %d", st)
	}
	for _, want := range []string{"backups kept (2 runs)", "backups purged (2 runs)"} {
		if !f.audited("environment.delete", "alice", "ok", want) {
			t.Errorf("no audit entry saying %q", want)
		}
	}
	if !f.audited("environment.delete", "alice", "failed", "") {
		t.Error("the refused delete is not audited")
	}
}

// audited reports whether the audit log holds an entry of action by actor
// with outcome whose detail contains detail.
func (f *apiFixture) audited(action, actor, outcome, detail string) bool {
	f.t.Helper()
	st, au, _ := f.do("GET", "/api/audit?limit=1000", nil, admin())
	if st != 200 {
		f.t.Fatalf("audit: %d", st)
	}
	for _, e := range au["value"].([]any) {
		m := e.(map[string]any)
		d, _ := m["detail"].(string)
		if m["action"] == action && m["actor"] == actor && m["outcome"] == outcome && strings.Contains(d, detail) {
			return true
		}
	}
	f.t.Logf("audit entries: %v", fmt.Sprint(au["value"]))
	return false
}
