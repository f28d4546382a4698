package dataverse

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"time"
)

// UploadChunkSize is the chunk of a chunked upload when the server does not
// name one (x-ms-chunk-size); files up to it go in one request. A variable
// so tests can exercise several chunks with small files.
var UploadChunkSize int64 = 4 << 20

func timeNow() time.Time { return time.Now() }

// UploadFile writes the file or image column col of a record (reference 4):
// one PATCH with the content when size <= UploadChunkSize, otherwise a
// chunked upload (x-ms-transfer-mode: chunked, then one PATCH per chunk to
// the session Location with Content-Range). r is read once, chunk by chunk.
func (c *Client) UploadFile(ctx context.Context, entitySet, id, col, fileName, mimeType string, r io.Reader, size int64, o *WriteOptions) error {
	path := EntityPath(entitySet, id) + "/" + url.PathEscape(col)
	if size <= UploadChunkSize {
		data, err := io.ReadAll(io.LimitReader(r, size+1))
		if err != nil {
			return err
		}
		if int64(len(data)) != size {
			return fmt.Errorf("dataverse: upload %s: read %d bytes, want %d", col, len(data), size)
		}
		req, err := c.newRequest(ctx, http.MethodPatch, path, bytes.NewReader(data))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("x-ms-file-name", fileName)
		o.Apply(req.Header)
		resp, err := c.do(ctx, req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		return nil
	}
	req, err := c.newRequest(ctx, http.MethodPatch, path+"?x-ms-file-name="+url.QueryEscape(fileName), nil)
	if err != nil {
		return err
	}
	req.Header.Set("x-ms-transfer-mode", "chunked")
	req.Header.Set("x-ms-file-name", fileName)
	o.Apply(req.Header)
	resp, err := c.do(ctx, req)
	if err != nil {
		return err
	}
	resp.Body.Close()
	loc := resp.Header.Get("Location")
	if loc == "" {
		return fmt.Errorf("dataverse: chunked upload of %s: no Location in the answer", col)
	}
	chunk := UploadChunkSize
	if n, err := strconv.ParseInt(resp.Header.Get("x-ms-chunk-size"), 10, 64); err == nil && n > 0 && n < chunk {
		chunk = n
	}
	buf := make([]byte, chunk)
	var off int64
	for off < size {
		n, err := io.ReadFull(r, buf[:min(chunk, size-off)])
		if err != nil {
			return fmt.Errorf("dataverse: upload %s: read at %d: %w", col, off, err)
		}
		req, err := c.newRequest(ctx, http.MethodPatch, loc, bytes.NewReader(buf[:n]))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/octet-stream")
		req.Header.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", off, off+int64(n)-1, size))
		req.Header.Set("x-ms-file-name", fileName)
		resp, err := c.do(ctx, req)
		if err != nil {
			return err
		}
		resp.Body.Close()
		off += int64(n)
	}
	return nil
}
