package dataverse

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
)

// FileTarget names the file or image column of one record.
type FileTarget struct {
	Table     string // logical name, for the Target's @odata.type
	PrimaryID string // the table's primary key column
	ID        string
	Column    string
}

// UploadFileBlocks writes a file or image column through the block upload
// messages (InitializeFileBlocksUpload, UploadBlock per block of at most
// UploadChunkSize bytes, CommitFileBlocksUpload; powerapps-docs,
// developer/data-platform/file-column-data.md). Unlike a PATCH of the
// column, the commit takes the MIME type, so the restored file keeps it. r
// is read once, block by block.
func (c *Client) UploadFileBlocks(ctx context.Context, t FileTarget, fileName, mimeType string, r io.Reader, size int64, o *WriteOptions) error {
	init := map[string]any{
		"Target":            map[string]any{"@odata.type": "Microsoft.Dynamics.CRM." + t.Table, t.PrimaryID: t.ID},
		"FileAttributeName": t.Column,
		"FileName":          fileName,
	}
	var started struct{ FileContinuationToken string }
	if err := c.postAction(ctx, "InitializeFileBlocksUpload", init, o, &started); err != nil {
		return fmt.Errorf("dataverse: upload %s of %s %s: %w", t.Column, t.Table, t.ID, err)
	}
	if started.FileContinuationToken == "" {
		return fmt.Errorf("dataverse: upload %s of %s %s: no FileContinuationToken in the answer", t.Column, t.Table, t.ID)
	}
	buf := make([]byte, min(UploadChunkSize, max(size, 1)))
	var blocks []string
	var off int64
	for off < size || len(blocks) == 0 {
		n, err := io.ReadFull(r, buf[:min(int64(len(buf)), size-off)])
		if err != nil && !(size == 0 && err == io.EOF) {
			return fmt.Errorf("dataverse: upload %s: read at %d: %w", t.Column, off, err)
		}
		// Block ids must all have the same length: a zero-padded index.
		id := base64.StdEncoding.EncodeToString(fmt.Appendf(nil, "block-%08d", len(blocks)))
		block := map[string]any{"BlockId": id, "BlockData": base64.StdEncoding.EncodeToString(buf[:n]),
			"FileContinuationToken": started.FileContinuationToken}
		if err := c.postAction(ctx, "UploadBlock", block, o, nil); err != nil {
			return fmt.Errorf("dataverse: upload %s block %d: %w", t.Column, len(blocks), err)
		}
		blocks = append(blocks, id)
		off += int64(n)
	}
	commit := map[string]any{"FileName": fileName, "MimeType": mimeType, "BlockList": blocks,
		"FileContinuationToken": started.FileContinuationToken}
	if err := c.postAction(ctx, "CommitFileBlocksUpload", commit, o, nil); err != nil {
		return fmt.Errorf("dataverse: commit upload of %s of %s %s: %w", t.Column, t.Table, t.ID, err)
	}
	return nil
}

// postAction POSTs an unbound action and decodes its answer into out (when
// not nil).
func (c *Client) postAction(ctx context.Context, action string, body any, o *WriteOptions, out any) error {
	b, err := json.Marshal(body)
	if err != nil {
		return err
	}
	req, err := c.newRequest(ctx, http.MethodPost, action, bytes.NewReader(b))
	if err != nil {
		return err
	}
	o.Apply(req.Header)
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if out == nil {
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
		return nil
	}
	if err := json.NewDecoder(io.LimitReader(resp.Body, 1<<20)).Decode(out); err != nil {
		return fmt.Errorf("decode %s answer: %w", action, err)
	}
	return nil
}
