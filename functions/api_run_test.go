package functions

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
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
