package restore

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
)

// Operation kinds, in the order of their phases.
const (
	KindRecord      = "record"      // create or update a record (without deferred lookups)
	KindPatch       = "patch"       // set the lookups deferred by the first phase
	KindFile        = "file"        // upload a file or image column
	KindAssociation = "association" // N:N $ref associate
	KindState       = "state"       // statecode/statuscode
)

// Op is one write of a job, as stored in a chunk blob.
type Op struct {
	Key    string `json:"key"`
	Kind   string `json:"kind"`
	Table  string `json:"table"`
	Set    string `json:"set"`
	Source string `json:"source"`
	ID     string `json:"id"`
	// Action of a record op: create or update.
	Action  string          `json:"action,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
	IfMatch string          `json:"ifMatch,omitempty"`
	// Inline lookups of a record op whose targets were written by an
	// earlier chunk: dropped (with a warning) if the target is missing.
	Inline map[string]string `json:"inline,omitempty"`
	File   *FileOp           `json:"file,omitempty"`
	Assoc  *AssocOp          `json:"assoc,omitempty"`
}

// FileOp uploads a stored file into a column.
type FileOp struct {
	Column   string `json:"column"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	FileName string `json:"fileName"`
	MimeType string `json:"mimeType,omitempty"`
}

// AssocOp links ID (of Set) to TargetID (of TargetSet) through Nav.
type AssocOp struct {
	Nav       string `json:"nav"`
	TargetSet string `json:"targetSet"`
	TargetID  string `json:"targetId"`
}

// Container holds restore plans and chunks (working data of restore jobs).
const Container = "restore"

const restoreContainer = Container

func chunkBlob(job string, n int) string { return fmt.Sprintf("jobs/%s/chunk-%06d.json", job, n) }
func requestBlob(job string) string      { return "jobs/" + job + "/request.json" }

func opKey(chunk, i int) string { return fmt.Sprintf("c%06d-%05d", chunk, i) }

func putJSON(ctx context.Context, b backupformat.Blobs, name string, v any) error {
	data, err := json.Marshal(v)
	if err != nil {
		return err
	}
	_, err = b.Put(ctx, restoreContainer, name, bytes.NewReader(data), &backupformat.PutOptions{ContentType: "application/json"})
	return err
}

func getJSON(ctx context.Context, b backupformat.Blobs, name string, v any) error {
	rc, err := b.Get(ctx, restoreContainer, name)
	if err != nil {
		return err
	}
	defer rc.Close()
	return json.NewDecoder(rc).Decode(v)
}
