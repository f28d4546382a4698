package dataverse_test

import (
	"bytes"
	"context"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// A block upload keeps the MIME type a PATCH cannot set, across several
// blocks, and the simulator's stored file is byte-identical.
func TestUploadFileBlocksKeepsMimeType(t *testing.T) {
	e, c := simClient(t)
	old := dataverse.UploadChunkSize
	dataverse.UploadChunkSize = 1000
	t.Cleanup(func() { dataverse.UploadChunkSize = old })
	ids := e.IDs("cr1_project")
	if len(ids) == 0 {
		t.Fatal("no project")
	}
	data := bytes.Repeat([]byte("0123456789abcdef"), 300) // 4800 bytes: 5 blocks
	tgt := dataverse.FileTarget{Table: "cr1_project", PrimaryID: "cr1_projectid", ID: ids[0], Column: "cr1_document"}
	if err := c.UploadFileBlocks(context.Background(), tgt, "spec.bin", "application/x-custom", bytes.NewReader(data), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	rec, ok := e.Get("cr1_project", ids[0])
	if !ok {
		t.Fatal("project gone")
	}
	fid, _ := rec["cr1_document"].(string)
	name, mime, got, ok := e.File(fid)
	if !ok || name != "spec.bin" || mime != "application/x-custom" || !bytes.Equal(got, data) {
		t.Fatalf("stored %q %q %d bytes (ok %v), want spec.bin application/x-custom %d bytes", name, mime, len(got), ok, len(data))
	}
}
