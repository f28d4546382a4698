package restore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
)

// Container holds restore requests and chunks (working data of restore
// jobs).
const Container = "restore"

// chunkBlob holds the operations of chunk n of a job (JSON []plan.Op).
func chunkBlob(job string, n int) string { return fmt.Sprintf("jobs/%s/chunk-%06d.json", job, n) }

// requestBlob holds the job's Request.
func requestBlob(job string) string { return "jobs/" + job + "/request.json" }

func putJSON(ctx context.Context, b blobstore.Store, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %s: %w", name, err)
	}
	_, err = b.Put(ctx, Container, name, bytes.NewReader(data), &blobstore.PutOptions{ContentType: "application/json"})
	return err
}

func getJSON(ctx context.Context, b blobstore.Store, name string, v any) error {
	rc, err := b.Get(ctx, Container, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	if err := json.NewDecoder(rc).Decode(v); err != nil {
		return fmt.Errorf("decode %s: %w", name, err)
	}
	return nil
}
