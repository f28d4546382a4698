package dataversesim

import (
	"bytes"
	"encoding/base64"
	"fmt"
	"strings"
	"testing"
)

func projectWithFile(t *testing.T, e *Env) (string, []byte) {
	for _, id := range e.IDs("cr1_project") {
		row, _ := e.Get("cr1_project", id)
		if fid, ok := row["cr1_document"].(string); ok {
			_, _, data, _ := e.File(fid)
			return id, data
		}
	}
	t.Fatal("no project with a file")
	return "", nil
}

func TestFileDownloadRange(t *testing.T) {
	_, e := small(t)
	id, data := projectWithFile(t, e)
	r := call(t, e, "GET", "cr1_projects("+id+")/cr1_document/$value", nil)
	want(t, r, 200)
	if !bytes.Equal(r.raw, data) || r.header.Get("x-ms-file-size") != fmt.Sprint(len(data)) || r.header.Get("x-ms-file-name") == "" || r.header.Get("mimetype") != "application/pdf" {
		t.Fatalf("download: %v", r.header)
	}
	r = call(t, e, "GET", "cr1_projects("+id+")/cr1_document/$value", nil, "Range", "bytes=0-99")
	want(t, r, 206)
	if !bytes.Equal(r.raw, data[:100]) || r.header.Get("x-ms-chunk-size") != "4194304" {
		t.Fatalf("range: %d bytes %v", len(r.raw), r.header)
	}
	// Plain read returns the file id and name, not the bytes.
	r = call(t, e, "GET", "cr1_projects("+id+")?$select=cr1_document,cr1_document_name", nil)
	if _, ok := r.body["cr1_document"].(string); !ok || r.body["cr1_document_name"] == nil {
		t.Fatalf("row: %s", r.raw)
	}
}

func TestImageThumbnailAndFull(t *testing.T) {
	_, e := small(t)
	for _, id := range e.IDs("cr1_project") {
		row, _ := e.Get("cr1_project", id)
		fid, ok := row["cr1_imageid"].(string)
		if !ok {
			continue
		}
		_, _, full, _ := e.File(fid)
		thumb := call(t, e, "GET", "cr1_projects("+id+")/cr1_image/$value", nil)
		big := call(t, e, "GET", "cr1_projects("+id+")/cr1_image/$value?size=full", nil)
		if !bytes.Equal(big.raw, full) || bytes.Equal(thumb.raw, full) || len(thumb.raw) == 0 {
			t.Fatalf("image: full %d thumb %d", len(big.raw), len(thumb.raw))
		}
		return
	}
	t.Fatal("no image")
}

func TestFileUploadSingleAndChunked(t *testing.T) {
	_, e := small(t)
	id := e.IDs("cr1_project")[1]
	data := bytes.Repeat([]byte("0123456789"), 1000)
	want(t, call(t, e, "PATCH", "cr1_projects("+id+")/cr1_document", data, "Content-Type", "application/octet-stream", "x-ms-file-name", "one.pdf"), 204)
	r := call(t, e, "GET", "cr1_projects("+id+")/cr1_document/$value", nil)
	if !bytes.Equal(r.raw, data) || r.header.Get("x-ms-file-name") != "one.pdf" {
		t.Fatal("single upload round trip")
	}
	big := bytes.Repeat([]byte("abcdefgh"), 700000) // 5.6 MB: two chunks
	r = call(t, e, "PATCH", "cr1_projects("+id+")/cr1_document?x-ms-file-name=big.pdf", nil, "x-ms-transfer-mode", "chunked")
	want(t, r, 200)
	loc := r.header.Get("Location")
	if !strings.Contains(loc, "sessiontoken=") || r.header.Get("x-ms-chunk-size") != "4194304" {
		t.Fatalf("chunk session: %v", r.header)
	}
	for start := 0; start < len(big); start += chunkSize {
		end := min(start+chunkSize, len(big))
		r = call(t, e, "PATCH", loc, big[start:end], "Content-Type", "application/octet-stream", "Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end-1, len(big)))
		wantStatus := 206
		if end == len(big) {
			wantStatus = 204
		}
		want(t, r, wantStatus)
	}
	r = call(t, e, "GET", "cr1_projects("+id+")/cr1_document/$value", nil)
	if !bytes.Equal(r.raw, big) {
		t.Fatalf("chunked round trip: %d bytes", len(r.raw))
	}
	// Image column limit is 10 MB: 11 MB is too big.
	r = call(t, e, "PATCH", "cr1_projects("+id+")/cr1_image", bytes.Repeat([]byte{1}, 11<<20), "Content-Type", "application/octet-stream", "x-ms-file-name", "x.png")
	if r.status != 400 || r.errCode() != codeTooBig {
		t.Fatalf("too big: %d %.200s", r.status, r.raw)
	}
}

func TestAnnotationDocumentBody(t *testing.T) {
	_, e := small(t)
	acc := e.IDs("account")[0]
	body := base64.StdEncoding.EncodeToString([]byte("hello attachment"))
	r := call(t, e, "POST", "annotations", map[string]any{"subject": "n", "filename": "a.txt", "mimetype": "text/plain", "documentbody": body,
		"objectid_account@odata.bind": "/accounts(" + acc + ")"}, "Prefer", "return=representation")
	want(t, r, 201)
	if r.body["documentbody"] != body || r.body["filesize"] != float64(16) || r.body["isdocument"] != true {
		t.Fatalf("annotation: %s", r.raw)
	}
	org := e.IDs("organization")[0]
	e.Update("organization", org, map[string]any{"maxuploadfilesize": int64(10)})
	r = call(t, e, "POST", "annotations", map[string]any{"subject": "n", "documentbody": body})
	if r.status != 400 || r.errCode() != codeTooBig || r.errMsg() != "Attachment file size is too big." {
		t.Fatalf("too big: %d %s", r.status, r.raw)
	}
}
