package dataversesim

import (
	"encoding/base64"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
)

// File and image columns (reference 4): a row stores the file id; bytes live
// in Env.files. Download GET .../<col>/$value with Range -> 206 and
// x-ms-file-* headers; image thumbnails unless ?size=full; upload with one
// PATCH or a chunked session (x-ms-transfer-mode: chunked, Location with a
// sessiontoken, Content-Range chunks: 206 then 204).

const chunkSize = 4 * 1024 * 1024

type fileBlob struct {
	Name, Mime string
	Data       []byte
}

type upload struct {
	table, id, col, name, mime string
	data                       []byte
}

// thumbnail stands in for the 144 px image Dataverse derives: a short,
// deterministic prefix so it differs from the full image.
func (f *fileBlob) thumbnail() []byte {
	n := min(len(f.Data), 1024)
	return append([]byte("THUMB144"), f.Data[:n]...)
}

func (e *Env) storeFile(name, mime string, data []byte) string {
	id := newGUID(e.rng)
	e.files[id] = &fileBlob{Name: name, Mime: mime, Data: data}
	e.dirty = true
	return id
}

var reRange = regexp.MustCompile(`^bytes=(\d+)-(\d*)$`)
var reContentRange = regexp.MustCompile(`^bytes (\d+)-(\d+)/(\d+)$`)

// fileIDAttr is where a column keeps its file id.
func fileIDAttr(a *AttrDef) string {
	if a.Type == TImage {
		return a.Name + "id"
	}
	return a.Name
}

func (e *Env) serveColumn(rc *reqCtx, w http.ResponseWriter, r *http.Request, td *tableData, id string, a *AttrDef, rest []segment) {
	def := td.def
	rec := td.recs[id]
	if rec == nil {
		writeDVError(w, notFound(def, id))
		return
	}
	isFile := a.Type == TFile || a.Type == TImage
	switch {
	case r.Method == http.MethodGet && isFile && len(rest) == 1 && rest[0].name == "$value":
		fid, _ := rec.get(def, fileIDAttr(a)).(string)
		f := e.files[fid]
		if f == nil {
			writeDVError(w, errf(404, "0x80060891", "No file attachment found for attribute: %s EntityId: %s.", a.Name, id))
			return
		}
		data := f.Data
		if a.Type == TImage && r.URL.Query().Get("size") != "full" {
			data = f.thumbnail()
		}
		h := w.Header()
		h.Set("Content-Type", "application/octet-stream")
		h.Set("x-ms-file-name", f.Name)
		h.Set("x-ms-file-size", strconv.Itoa(len(data)))
		h.Set("mimetype", f.Mime)
		rc.records = 1
		if rg := r.Header.Get("Range"); rg != "" {
			m := reRange.FindStringSubmatch(rg)
			if m == nil {
				writeDVError(w, errf(416, codeBadRequest, "Invalid Range header '%s'.", rg))
				return
			}
			start, _ := strconv.Atoi(m[1])
			end := len(data) - 1
			if m[2] != "" {
				end, _ = strconv.Atoi(m[2])
			}
			end = min(end, len(data)-1)
			if start > end {
				writeDVError(w, errf(416, codeBadRequest, "Range %s not satisfiable for a file of %d bytes.", rg, len(data)))
				return
			}
			h.Set("x-ms-chunk-size", strconv.Itoa(chunkSize))
			h.Set("Content-Range", fmt.Sprintf("bytes %d-%d/%d", start, end, len(data)))
			h.Set("Content-Length", strconv.Itoa(end-start+1))
			w.WriteHeader(http.StatusPartialContent)
			w.Write(data[start : end+1])
			return
		}
		h.Set("Content-Length", strconv.Itoa(len(data)))
		w.WriteHeader(200)
		w.Write(data)
	case (r.Method == http.MethodPatch || r.Method == http.MethodPut) && isFile && len(rest) == 0:
		e.uploadColumn(rc, w, r, td, rec, a)
	case r.Method == http.MethodDelete && isFile && len(rest) == 0:
		nrec := rec.clone()
		nrec.set(def, fileIDAttr(a), nil)
		if a.Type == TFile {
			nrec.set(def, a.Name+"_name", nil)
		}
		e.stamp(def, nrec, e.now(), rc.user)
		e.put(td, nrec)
		w.WriteHeader(http.StatusNoContent)
	case r.Method == http.MethodGet && len(rest) == 0:
		// Single property: {"value": ...}
		b := []byte(`{"@odata.context":`)
		b = appendJSONString(b, rc.base+"$metadata#"+def.SetName+"("+id+")/"+a.Name)
		b = append(b, `,"value":`...)
		b = e.appendValue(b, a, rec.get(def, a.Name))
		b = append(b, '}')
		writeBody(w, 200, b)
	default:
		writeDVError(w, errf(405, codeBadRequest, "The HTTP method '%s' is not allowed on property %s.", r.Method, a.Name))
	}
}

func (e *Env) uploadColumn(rc *reqCtx, w http.ResponseWriter, r *http.Request, td *tableData, rec *Record, a *AttrDef) {
	def := td.def
	maxBytes := int64(a.MaxSizeKB) * 1024
	q := r.URL.Query()
	if tokn := q.Get("sessiontoken"); tokn != "" {
		up := e.uploads[tokn]
		if up == nil {
			writeDVError(w, errf(400, codeBadRequest, "Invalid or expired sessiontoken."))
			return
		}
		m := reContentRange.FindStringSubmatch(r.Header.Get("Content-Range"))
		if m == nil {
			writeDVError(w, errf(400, codeBadRequest, "Content-Range header is required for a chunk."))
			return
		}
		start, _ := strconv.ParseInt(m[1], 10, 64)
		end, _ := strconv.ParseInt(m[2], 10, 64)
		total, _ := strconv.ParseInt(m[3], 10, 64)
		if total > maxBytes {
			delete(e.uploads, tokn)
			writeDVError(w, errf(400, codeTooBig, "Attachment file size is too big."))
			return
		}
		chunk, err := io.ReadAll(r.Body)
		if err != nil || int64(len(chunk)) != end-start+1 || start != int64(len(up.data)) {
			writeDVError(w, errf(400, codeBadRequest, "Chunk %d-%d does not follow the %d bytes received.", start, end, len(up.data)))
			return
		}
		up.data = append(up.data, chunk...)
		if int64(len(up.data)) < total {
			w.WriteHeader(http.StatusPartialContent)
			return
		}
		delete(e.uploads, tokn)
		e.finishUpload(rc, td, rec, a, up.name, up.mime, up.data)
		w.WriteHeader(http.StatusNoContent)
		return
	}
	name := r.Header.Get("x-ms-file-name")
	if name == "" {
		name = q.Get("x-ms-file-name")
	}
	if name == "" {
		writeDVError(w, errf(400, codeBadRequest, "The x-ms-file-name header is required."))
		return
	}
	// A PATCH of the column cannot set the MIME type (dataverse-reference
	// 11: only CommitFileBlocksUpload takes one): it follows the name.
	mime := guessMime(name)
	if strings.EqualFold(r.Header.Get("x-ms-transfer-mode"), "chunked") {
		tokn := base64.RawURLEncoding.EncodeToString([]byte(newGUID(e.rng)))
		e.uploads[tokn] = &upload{table: def.LogicalName, id: rec.ID, col: a.Name, name: name, mime: mime}
		w.Header().Set("Location", e.entityURL(rc, def, rec.ID)+"/"+a.Name+"?sessiontoken="+tokn)
		w.Header().Set("x-ms-chunk-size", strconv.Itoa(chunkSize))
		w.WriteHeader(200)
		return
	}
	data, err := io.ReadAll(io.LimitReader(r.Body, maxBytes+1))
	if err != nil {
		writeDVError(w, errf(400, codeBadRequest, "The file content could not be read."))
		return
	}
	if int64(len(data)) > maxBytes {
		writeDVError(w, errf(400, codeTooBig, "Attachment file size is too big."))
		return
	}
	e.finishUpload(rc, td, rec, a, name, mime, data)
	w.WriteHeader(http.StatusNoContent)
}

func (e *Env) finishUpload(rc *reqCtx, td *tableData, rec *Record, a *AttrDef, name, mime string, data []byte) {
	def := td.def
	nrec := rec.clone()
	nrec.set(def, fileIDAttr(a), e.storeFile(name, mime, data))
	if a.Type == TFile {
		nrec.set(def, a.Name+"_name", name)
	}
	e.stamp(def, nrec, e.now(), rc.user)
	e.put(td, nrec)
	rc.records++
}

func guessMime(name string) string {
	switch {
	case strings.HasSuffix(name, ".pdf"):
		return "application/pdf"
	case strings.HasSuffix(name, ".png"):
		return "image/png"
	case strings.HasSuffix(name, ".jpg"), strings.HasSuffix(name, ".jpeg"):
		return "image/jpeg"
	case strings.HasSuffix(name, ".txt"):
		return "text/plain"
	}
	return "application/octet-stream"
}
