package dataversesim

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// The block upload messages (powerapps-docs, developer/data-platform/
// file-column-data.md, "Upload files" with Dataverse messages):
//
//	POST InitializeFileBlocksUpload {"Target":{"@odata.type":"Microsoft.Dynamics.CRM.<table>","<pk>":"<id>"},
//	                                 "FileAttributeName":"<col>","FileName":"<name>"} -> {"FileContinuationToken":"..."}
//	POST UploadBlock {"BlockId":"<base64>","BlockData":"<base64>","FileContinuationToken":"..."} -> 204
//	POST CommitFileBlocksUpload {"FileName":"...","MimeType":"...","BlockList":["<id>",...],
//	                             "FileContinuationToken":"..."} -> {"FileId":"...","FileSizeInBytes":n}
//
// Unlike a PATCH of the column, the commit takes the MIME type, so this is
// the only upload that keeps it (dataverse-reference 11). Blocks are at
// most 4 MB; the commit assembles the blocks in BlockList order.

type blockUpload struct {
	table, id, col, name string
	blocks               map[string][]byte
}

func (e *Env) serveFileBlocks(rc *reqCtx, w http.ResponseWriter, r *http.Request, message string) {
	if r.Method != http.MethodPost {
		writeDVError(w, errf(405, codeBadRequest, "The HTTP method '%s' is not allowed for %s.", r.Method, message))
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(r.Body).Decode(&body); err != nil {
		writeDVError(w, errf(400, codeBadRequest, "The request body of %s is not valid JSON.", message))
		return
	}
	str := func(k string) string {
		var s string
		_ = json.Unmarshal(body[k], &s)
		return s
	}
	// The request pipeline holds the environment's write lock (env.go).
	if e.blockUploads == nil {
		e.blockUploads = map[string]*blockUpload{}
	}
	switch message {
	case "InitializeFileBlocksUpload":
		var target map[string]any
		_ = json.Unmarshal(body["Target"], &target)
		typ, _ := target["@odata.type"].(string)
		td := e.tables[strings.TrimPrefix(strings.TrimPrefix(typ, "#"), "Microsoft.Dynamics.CRM.")]
		if td == nil {
			writeDVError(w, errf(400, codeBadRequest, "Target must name the record's table in @odata.type."))
			return
		}
		id, _ := target[td.def.PrimaryID].(string)
		id = strings.ToLower(strings.Trim(id, "{}"))
		rec := td.recs[id]
		if rec == nil {
			writeDVError(w, errf(404, codeNotFound, "%s With Id = %s Does Not Exist", td.def.LogicalName, id))
			return
		}
		a := td.def.Attr(str("FileAttributeName"))
		if a == nil || a.Type != TFile && a.Type != TImage {
			writeDVError(w, errf(400, codeBadRequest, "'%s' is not a file or image column of %s.", str("FileAttributeName"), td.def.LogicalName))
			return
		}
		if str("FileName") == "" {
			writeDVError(w, errf(400, codeBadRequest, "FileName is required."))
			return
		}
		tok := base64.RawURLEncoding.EncodeToString([]byte(newGUID(e.rng)))
		e.blockUploads[tok] = &blockUpload{table: td.def.LogicalName, id: id, col: a.Name, name: str("FileName"), blocks: map[string][]byte{}}
		writeBody(w, 200, mustJSON(map[string]any{"@odata.context": rc.base + "$metadata#Microsoft.Dynamics.CRM.InitializeFileBlocksUploadResponse", "FileContinuationToken": tok}))
	case "UploadBlock":
		up := e.blockUploads[str("FileContinuationToken")]
		if up == nil {
			writeDVError(w, errf(400, codeBadRequest, "The FileContinuationToken is invalid or expired."))
			return
		}
		data, err := base64.StdEncoding.DecodeString(str("BlockData"))
		if err != nil || str("BlockId") == "" {
			writeDVError(w, errf(400, codeBadRequest, "BlockId and a base64 BlockData are required."))
			return
		}
		if len(data) > chunkSize {
			writeDVError(w, errf(400, codeBadRequest, "A block can hold at most %d bytes.", chunkSize))
			return
		}
		up.blocks[str("BlockId")] = data
		w.WriteHeader(http.StatusNoContent)
	case "CommitFileBlocksUpload":
		tok := str("FileContinuationToken")
		up := e.blockUploads[tok]
		if up == nil {
			writeDVError(w, errf(400, codeBadRequest, "The FileContinuationToken is invalid or expired."))
			return
		}
		var list []string
		_ = json.Unmarshal(body["BlockList"], &list)
		var data []byte
		for _, id := range list {
			b, ok := up.blocks[id]
			if !ok {
				writeDVError(w, errf(400, codeBadRequest, "Block %s of the BlockList was not uploaded.", id))
				return
			}
			data = append(data, b...)
		}
		td := e.tables[up.table]
		rec := td.recs[up.id]
		a := td.def.Attr(up.col)
		if rec == nil || a == nil {
			delete(e.blockUploads, tok)
			writeDVError(w, errf(404, codeNotFound, "%s With Id = %s Does Not Exist", up.table, up.id))
			return
		}
		if int64(len(data)) > int64(a.MaxSizeKB)*1024 {
			delete(e.blockUploads, tok)
			writeDVError(w, errf(400, codeTooBig, "Attachment file size is too big."))
			return
		}
		mime := str("MimeType")
		if mime == "" {
			mime = guessMime(up.name)
		}
		name := str("FileName")
		if name == "" {
			name = up.name
		}
		delete(e.blockUploads, tok)
		e.finishUpload(rc, td, rec, a, name, mime, data)
		fid, _ := td.recs[up.id].get(td.def, fileIDAttr(a)).(string)
		writeBody(w, 200, mustJSON(map[string]any{"@odata.context": rc.base + "$metadata#Microsoft.Dynamics.CRM.CommitFileBlocksUploadResponse",
			"FileId": fid, "FileSizeInBytes": len(data)}))
	}
}

func mustJSON(v any) []byte {
	b, _ := json.Marshal(v)
	return b
}
