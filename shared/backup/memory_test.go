package backup_test

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/shared/backup"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// TestCollectFilesOnMemoryStores: engine logic that needs only table and
// blob state runs on the in-memory stores, without Azurite. Retention keeps
// a file a run's file list refers to, deletes an unreferenced one past the
// grace, and leaves a fresh unreferenced one (a page whose list is not
// written yet may be about to refer to it).
func TestCollectFilesOnMemoryStores(t *testing.T) {
	ctx := context.Background()
	blobs := blobstore.NewMemory()
	state := runstate.New(tablestore.NewMemory(runstate.TableRuns), tablestore.NewMemory(runstate.TableTasks), nil)
	clock := time.Now()
	now := func() time.Time { return clock }
	blobs.Now = now
	eng := backup.New(nil, state, blobs, nil, backup.Options{Now: now})

	kept, _, err := backupformat.PutFileBytes(ctx, blobs, []byte("referenced"))
	if err != nil {
		t.Fatal(err)
	}
	old, _, err := backupformat.PutFileBytes(ctx, blobs, []byte("unreferenced"))
	if err != nil {
		t.Fatal(err)
	}
	refs := backupformat.EncodeFileRefs([]backupformat.FileRef{{Table: "annotation", ID: "1", Column: "documentbody", SHA256: kept}})
	if _, err := blobs.Put(ctx, backupformat.ContainerBackups, backupformat.FileRefsBlob("e1", "r1", "annotation", 1), bytes.NewReader(refs), nil); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(2 * time.Hour)
	fresh, _, err := backupformat.PutFileBytes(ctx, blobs, []byte("fresh"))
	if err != nil {
		t.Fatal(err)
	}

	n, err := eng.CollectFiles(ctx, time.Hour)
	if err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("deleted %d files, want 1", n)
	}
	for sum, want := range map[string]error{kept: nil, fresh: nil, old: blobstore.ErrNotFound} {
		rc, err := backupformat.OpenFile(ctx, blobs, sum)
		if err == nil {
			_ = rc.Close()
		}
		if !errors.Is(err, want) && !(want == nil && err == nil) {
			t.Errorf("file %.8s: %v, want %v", sum, err, want)
		}
	}
}
