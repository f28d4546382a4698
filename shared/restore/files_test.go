package restore_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// TestRestoreKeepsFileMimeType: a project's file and image columns carry
// MIME types their names do not tell (a PATCH of the column would make
// them application/octet-stream, dataverse-reference 11); restored through
// the block upload messages they keep name, type and content.
func TestRestoreKeepsFileMimeType(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	project := e.IDs("cr1_project")[0]
	clients, err := f.dir.Clients(ctx, f.envID)
	if err != nil {
		t.Fatal(err)
	}
	files := []struct {
		col, idCol, name, mime string
		data                   []byte
	}{
		{"cr1_document", "cr1_document", "specification.bin", "application/vnd.cloudbackup.spec", bytes.Repeat([]byte("spec "), 2000)},
		{"cr1_image", "cr1_imageid", "logo.img", "image/webp", []byte("RIFF\x00\x00\x00\x00WEBPVP8 not really an image")},
	}
	for _, fl := range files {
		tgt := dataverse.FileTarget{Table: "cr1_project", PrimaryID: "cr1_projectid", ID: project, Column: fl.col}
		if err := clients[0].UploadFileBlocks(ctx, tgt, fl.name, fl.mime, bytes.NewReader(fl.data), int64(len(fl.data)), nil); err != nil {
			t.Fatal(err)
		}
	}
	f.backup(ctx)
	deleteRoots(t, e, []rowKey{{"cr1_project", project}})
	j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true, Tables: []string{"cr1_project"}}})
	if j.Status != restore.StatusSucceeded || j.Counts.Files != 2 {
		t.Fatalf("job %s %q, files %d: %v", j.Status, j.Error, j.Counts.Files, failures(rep))
	}
	row, ok := e.Get("cr1_project", project)
	if !ok {
		t.Fatal("the project was not restored")
	}
	for _, fl := range files {
		id, _ := row[fl.idCol].(string)
		name, mime, data, ok := e.File(id)
		if !ok || name != fl.name || mime != fl.mime || !bytes.Equal(data, fl.data) {
			t.Errorf("%s restored as %q %q (%d bytes, found %v), want %q %q (%d bytes)", fl.col, name, mime, len(data), ok, fl.name, fl.mime, len(fl.data))
		}
	}
}
