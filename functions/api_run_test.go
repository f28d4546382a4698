package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
)

// Browse takes what the run holds and refuses the rest by name: a valid
// id finds its record, the primary name column matches a prefix, a table
// the run lists as skipped is a 404 saying so (it was a 500).
func TestBrowseChecksNamesAgainstTheRun(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	reg := f.connect()
	f.limitTables(reg.env, "account", "contact")
	run := f.backUp(reg.env, nil)["id"].(string)
	base := "/api/backups/" + reg.env + "/" + run + "/tables/"

	st, all, _ := f.do("GET", base+"account/records?limit=500", nil, admin())
	recs, _ := all["value"].([]any)
	if st != http.StatusOK || len(recs) == 0 {
		t.Fatalf("browse: %d %v", st, all)
	}
	first := recs[0].(map[string]any)
	id, name := first["accountid"].(string), first["name"].(string)
	if st, p, _ := f.do("GET", base+"account/records?id="+strings.ToUpper(id), nil, admin()); st != http.StatusOK || len(p["value"].([]any)) != 1 {
		t.Errorf("browse by id: %d %v", st, p)
	}
	st, p, _ := f.do("GET", base+"account/records?nameColumn=name&prefix="+strings.ToLower(name[:2]), nil, admin())
	if st != http.StatusOK || len(p["value"].([]any)) == 0 {
		t.Errorf("browse by name prefix: %d %v", st, p)
	}
	for _, rec := range p["value"].([]any) {
		if got := rec.(map[string]any)["name"].(string); !strings.HasPrefix(strings.ToLower(got), strings.ToLower(name[:2])) {
			t.Errorf("%q does not start with %q", got, name[:2])
		}
	}

	// Mark contact skipped in the manifest, as a run does for a table it
	// could not read (e.g. a virtual table).
	ctx := context.Background()
	blobs := f.app.backup.Blobs()
	m, err := backupformat.ReadManifest(ctx, blobs, reg.env, run)
	if err != nil {
		t.Fatal(err)
	}
	for i := range m.Tables {
		if m.Tables[i].Name == "contact" {
			m.Tables[i].Status, m.Tables[i].Reason, m.Tables[i].Chain = "skipped", "virtual table: its data lives outside Dataverse", nil
		}
	}
	raw, _ := json.Marshal(m)
	if _, err := blobs.Put(ctx, backupformat.ContainerBackups, backupformat.ManifestBlob(reg.env, run), bytes.NewReader(raw), nil); err != nil {
		t.Fatal(err)
	}
	for _, path := range []string{base + "contact/records", base + "contact/records?prefix=a", base + "contact/records/" + id,
		"/api/restores/export/" + reg.env + "/" + run + "/contact"} {
		st, p, _ := f.do("GET", path, nil, admin())
		if d, _ := p["detail"].(string); st != http.StatusNotFound || !strings.Contains(d, "contact") {
			t.Errorf("GET %s of a skipped table: %d %v", path, st, p)
		}
	}
	st, p, _ = f.do("POST", "/api/restores", map[string]any{"environment": reg.env, "scope": map[string]any{"tables": []string{"contact"}}},
		map[string]string{principalHeader: principal("rita", RoleRestore)})
	if d, _ := p["detail"].(string); st != http.StatusBadRequest || !strings.Contains(d, "virtual table") {
		t.Errorf("restore of a skipped table: %d %v", st, p)
	}
}

// The run and restore lists as an admin reads them: {"full": true} makes
// a full run where the policy would make an incremental; lists are newest
// first; a cancelled run says cancelled; a dry run's counts are
// predictions named wouldCreate and wouldUpdate.
func TestRunsAndRestoresAsAnAdminReadsThem(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	reg := f.connect()
	f.limitTables(reg.env, "account")
	var ids []string
	for i, c := range []struct {
		body          any
		kind          string
		fullRequested any
	}{
		{nil, "full", nil},
		{nil, "incremental", nil},
		{map[string]any{"full": true}, "full", true},
		{map[string]any{"full": false}, "incremental", nil},
		{map[string]any{}, "incremental", nil},
	} {
		run := f.backUp(reg.env, c.body)
		if run["kind"] != c.kind || run["fullRequested"] != c.fullRequested {
			t.Errorf("run %d (%v): kind %v, fullRequested %v; want %s, %v", i, c.body, run["kind"], run["fullRequested"], c.kind, c.fullRequested)
		}
		ids = append(ids, run["id"].(string))
	}
	op := map[string]string{principalHeader: principal("olga", RoleOperator, RoleRestore)}
	st, active, _ := f.do("POST", "/api/backups/"+reg.env, nil, op)
	if st != http.StatusAccepted {
		t.Fatalf("start: %d %v", st, active)
	}
	ids = append(ids, active["id"].(string))
	st, c, _ := f.do("POST", "/api/backups/"+reg.env+"/"+active["id"].(string)+"/cancel", nil, op)
	if st != 200 || c["status"] != "cancelled" || c["reason"] != "cancelled by olga" {
		t.Errorf("cancel: %d %v", st, c)
	}
	f.pump()
	if st, c, _ := f.do("GET", "/api/backups/"+reg.env+"/"+active["id"].(string), nil, op); st != 200 || c["status"] != "cancelled" {
		t.Errorf("the cancelled run after its messages: %d %v", st, c)
	}
	st, list, _ := f.do("GET", "/api/backups/"+reg.env, nil, admin())
	if st != 200 {
		t.Fatal(st)
	}
	var got []string
	for _, r := range list["value"].([]any) {
		got = append(got, r.(map[string]any)["id"].(string))
	}
	slices.Reverse(ids)
	if !slices.Equal(got, ids) {
		t.Errorf("runs listed %v, want newest first %v", got, ids)
	}

	// Two dry runs into the second environment (other records: every
	// account of the backup would be created), then the list.
	st, added, _ := f.do("POST", "/api/connections/"+reg.conn+"/environments", map[string]any{"urls": []string{f.sim.Env("second").URL()}}, admin())
	if st != http.StatusCreated {
		t.Fatalf("add the second environment: %d %v", st, added)
	}
	second := added["environments"].([]any)[0].(map[string]any)["id"].(string)
	var jobs []string
	for range 2 {
		st, job, _ := f.do("POST", "/api/restores", map[string]any{"environment": reg.env, "target": second, "dryRun": true,
			"scope": map[string]any{"tables": []string{"account"}}}, op)
		if st != http.StatusAccepted {
			t.Fatalf("dry run: %d %v", st, job)
		}
		jobs = append(jobs, job["id"].(string))
		f.pump()
	}
	st, job, _ := f.do("GET", "/api/restores/"+jobs[1], nil, admin())
	counts, _ := job["counts"].(map[string]any)
	if st != 200 || job["status"] != "succeeded" || counts["wouldCreate"] == nil || counts["wouldCreate"].(float64) == 0 || counts["wouldUpdate"] == nil {
		t.Errorf("dry run: %d %v", st, job)
	}
	if _, ok := counts["created"]; ok {
		t.Errorf("a dry run reports created: %v", counts)
	}
	if _, ok := counts["updated"]; ok {
		t.Errorf("a dry run reports updated: %v", counts)
	}
	st, rl, _ := f.do("GET", "/api/restores", nil, admin())
	vals, _ := rl["value"].([]any)
	if st != 200 || len(vals) != 2 || vals[0].(map[string]any)["id"] != jobs[1] || vals[1].(map[string]any)["id"] != jobs[0] {
		t.Errorf("restores listed: %d %v, want %v newest first", st, rl, jobs)
	}
	if c, _ := vals[0].(map[string]any)["counts"].(map[string]any); c["wouldCreate"] == nil {
		t.Errorf("the list shows a dry run's counts as %v", c)
	}
}
