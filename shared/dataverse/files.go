package dataverse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
)

// FileChunkSize is the Range size of chunked downloads (Dataverse's 4 MB).
// A variable so tests can exercise several chunks with small files.
var FileChunkSize int64 = 4 << 20

// ErrNoFile is returned by DownloadFile when the column holds no file.
var ErrNoFile = errors.New("dataverse: the column holds no file")

// FileInfo describes a downloaded file.
type FileInfo struct {
	Size     int64
	FileName string
	MimeType string
}

// DownloadFile streams the file or image column col of a record into w,
// in Range chunks of FileChunkSize (206 answers), so no chunk larger than
// that is ever held. Image columns are read at full size (?size=full).
func (c *Client) DownloadFile(ctx context.Context, entitySet, id, col string, image bool, w io.Writer) (FileInfo, error) {
	path := url.PathEscape(entitySet) + "(" + id + ")/" + url.PathEscape(col) + "/$value"
	if image {
		path += "?size=full"
	}
	var info FileInfo
	var off int64
	total := int64(-1)
	for {
		req, err := c.newRequest(ctx, http.MethodGet, path, nil)
		if err != nil {
			return info, err
		}
		req.Header.Set("Accept", "*/*")
		req.Header.Set("Range", fmt.Sprintf("bytes=%d-%d", off, off+FileChunkSize-1))
		resp, err := c.do(ctx, req)
		if err != nil {
			if IsNotFound(err) {
				return info, ErrNoFile
			}
			return info, err
		}
		if resp.StatusCode == http.StatusNoContent {
			resp.Body.Close()
			return info, ErrNoFile
		}
		if info.FileName == "" {
			info.FileName = resp.Header.Get("x-ms-file-name")
			info.MimeType = resp.Header.Get("mimetype")
			if info.MimeType == "" {
				info.MimeType = resp.Header.Get("Content-Type")
			}
		}
		if s, err := strconv.ParseInt(resp.Header.Get("x-ms-file-size"), 10, 64); err == nil {
			total = s
		}
		if cr := resp.Header.Get("Content-Range"); cr != "" {
			if i := strings.LastIndexByte(cr, '/'); i >= 0 {
				if s, err := strconv.ParseInt(cr[i+1:], 10, 64); err == nil {
					total = s
				}
			}
		}
		n, err := io.Copy(w, resp.Body)
		resp.Body.Close()
		off += n
		if err != nil {
			return info, fmt.Errorf("dataverse: download %s of %s(%s): %w", col, entitySet, id, err)
		}
		if resp.StatusCode != http.StatusPartialContent || n == 0 || (total >= 0 && off >= total) {
			break
		}
	}
	if total >= 0 && off != total {
		return info, fmt.Errorf("dataverse: download %s of %s(%s): got %d bytes of %d", col, entitySet, id, off, total)
	}
	info.Size = off
	return info, nil
}
