package dataversesim

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// $batch (reference 5): multipart/mixed with application/http parts and
// nested change sets. A change set is atomic: its writes are logged in an
// undo list and rolled back when one fails; its failure is answered with the
// single failing response. Content-ID: n is referable as $n later in the same
// change set. Without Prefer: odata.continue-on-error the batch stops at the
// first failed request and answers with that request's status: the body
// holds the parts processed so far, the failing one last (powerapps-docs,
// developer/data-platform/webapi/execute-batch-operations-using-web-api.md,
// "Handling errors": "HTTP/1.1 400 BadRequest" around the failing part).
// With it every part carries its own status and the batch answers 200.
// At most 1000 requests; no nesting. The whole batch runs under the
// environment's write lock.

const maxBatchRequests = 1000

type batchItem struct {
	contentID string
	raw       []byte
}

type batchPart struct {
	changeSet []batchItem // nil for a single request
	single    *batchItem
}

func readBatch(body io.Reader, boundary string) ([]batchPart, int, error) {
	mr := multipart.NewReader(body, boundary)
	var parts []batchPart
	count := 0
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, 0, err
		}
		ct, params, _ := mime.ParseMediaType(p.Header.Get("Content-Type"))
		if ct == "multipart/mixed" {
			cs := batchPart{changeSet: []batchItem{}}
			inner := multipart.NewReader(p, params["boundary"])
			for {
				ip, err := inner.NextRawPart()
				if err == io.EOF {
					break
				}
				if err != nil {
					return nil, 0, err
				}
				if ict, _, _ := mime.ParseMediaType(ip.Header.Get("Content-Type")); ict == "multipart/mixed" {
					return nil, 0, errNestedChangeSet
				}
				raw, _ := io.ReadAll(ip)
				cs.changeSet = append(cs.changeSet, batchItem{contentID: ip.Header.Get("Content-ID"), raw: raw})
				count++
			}
			parts = append(parts, cs)
			continue
		}
		raw, _ := io.ReadAll(p)
		parts = append(parts, batchPart{single: &batchItem{contentID: p.Header.Get("Content-ID"), raw: raw}})
		count++
	}
	return parts, count, nil
}

// buildRequest parses the embedded HTTP request, resolving $n references.
func (e *Env) buildRequest(outer *http.Request, raw []byte, ids map[string]string) (*http.Request, error) {
	raw = bytes.TrimLeft(raw, "\r\n")
	sep := []byte("\r\n\r\n")
	i := bytes.Index(raw, sep)
	if j := bytes.Index(raw, []byte("\n\n")); i < 0 || (j >= 0 && j < i) {
		i, sep = j, []byte("\n\n")
	}
	head, body := raw, []byte(nil)
	if i >= 0 {
		head, body = raw[:i], raw[i+len(sep):]
	}
	body = bytes.TrimRight(body, "\r\n")
	lines := strings.Split(strings.ReplaceAll(string(head), "\r\n", "\n"), "\n")
	f := strings.Fields(lines[0])
	if len(f) < 2 {
		return nil, fmt.Errorf("invalid request line %q", lines[0])
	}
	method, target := f[0], f[1]
	keys := make([]string, 0, len(ids))
	for k := range ids {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(a, b int) bool { return len(keys[a]) > len(keys[b]) })
	for _, k := range keys {
		if strings.HasPrefix(target, "$"+k) {
			target = ids[k] + target[len(k)+1:]
			break
		}
	}
	for _, k := range keys {
		body = bytes.ReplaceAll(body, []byte(`"$`+k+`"`), []byte(`"`+ids[k]+`"`))
	}
	if strings.HasPrefix(target, "http://") || strings.HasPrefix(target, "https://") {
		if k := strings.Index(target, "/api/data/"); k >= 0 {
			target = target[k:]
		}
	} else if !strings.HasPrefix(target, "/") {
		v, _ := apiVersion(outer.URL.Path)
		target = "/api/data/" + v + "/" + target
	}
	req, err := http.NewRequest(method, "https://"+outer.Host+target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	for _, l := range lines[1:] {
		if k, v, ok := strings.Cut(l, ":"); ok {
			req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	req.Header.Set("Authorization", outer.Header.Get("Authorization"))
	return req, nil
}

func writeHTTPPart(b *bytes.Buffer, boundary, contentID string, res *bufferedResponse) {
	fmt.Fprintf(b, "--%s\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n", boundary)
	if contentID != "" {
		fmt.Fprintf(b, "Content-ID: %s\r\n", contentID)
	}
	fmt.Fprintf(b, "\r\nHTTP/1.1 %d %s\r\n", res.status, http.StatusText(res.status))
	for _, k := range []string{"Content-Type", "OData-Version", "Location", "OData-EntityId", "ETag", "Preference-Applied"} {
		if v := res.header.Get(k); v != "" {
			fmt.Fprintf(b, "%s: %s\r\n", k, v)
		}
	}
	b.WriteString("\r\n")
	b.Write(res.bytes())
	b.WriteString("\r\n")
}

func (e *Env) serveBatch(rc *reqCtx, w http.ResponseWriter, r *http.Request) {
	ct, params, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || ct != "multipart/mixed" || params["boundary"] == "" {
		writeDVError(w, errf(400, codeBatch, "The batch request must have a multipart/mixed Content-Type with a boundary."))
		return
	}
	parts, count, err := readBatch(r.Body, params["boundary"])
	if err == errNestedChangeSet {
		writeDVError(w, errf(400, codeBatch, "A change set cannot contain another change set."))
		return
	}
	if err != nil {
		writeDVError(w, errf(400, codeBatch, "The batch request body is not a valid multipart/mixed message for boundary '%s'.", params["boundary"]))
		return
	}
	if count > maxBatchRequests {
		writeDVError(w, errf(400, codeBatch, "The number of requests in the batch (%d) exceeds the maximum of %d.", count, maxBatchRequests))
		return
	}
	p := parsePrefs(r.Header)
	bnd := "batchresponse_" + newGUID(e.rng)
	var out bytes.Buffer
	run := func(raw []byte, ids map[string]string, inChangeSet bool) *bufferedResponse {
		res := &bufferedResponse{header: http.Header{}, status: 200}
		req, err := e.buildRequest(r, raw, ids)
		if err != nil {
			writeDVError(res, errf(400, codeBatch, "A batch part does not start with a valid HTTP request line."))
			return res
		}
		if inChangeSet && req.Method == http.MethodGet {
			writeDVError(res, errf(400, codeBatch, "GET requests are not allowed in a change set."))
			return res
		}
		sub := &reqCtx{e: e, r: req, user: rc.user, isAdmin: rc.isAdmin, base: rc.base}
		e.route(sub, res, req)
		rc.records += sub.records
		return res
	}
	status := 200 // the batch's own status; a failure's without continue-on-error
	for _, part := range parts {
		if part.single != nil {
			res := run(part.single.raw, nil, false)
			writeHTTPPart(&out, bnd, part.single.contentID, res)
			if res.status >= 400 && !p.continueOnErr {
				status = res.status
				break
			}
			continue
		}
		var undo []func()
		e.undo = &undo
		ids := map[string]string{}
		csb := "changesetresponse_" + newGUID(e.rng)
		var cs bytes.Buffer
		var failed *bufferedResponse
		failedID := ""
		for _, it := range part.changeSet {
			res := run(it.raw, ids, true)
			if res.status >= 400 {
				failed, failedID = res, it.contentID
				break
			}
			if it.contentID != "" {
				if loc := res.header.Get("OData-EntityId"); loc != "" {
					if k := strings.Index(loc, "/api/data/"); k >= 0 {
						ids[it.contentID] = loc[k:]
					}
				}
			}
			writeHTTPPart(&cs, csb, it.contentID, res)
		}
		e.undo = nil
		if failed != nil {
			for i := len(undo) - 1; i >= 0; i-- {
				undo[i]()
			}
			writeHTTPPart(&out, bnd, failedID, failed)
			if !p.continueOnErr {
				status = failed.status
				break
			}
			continue
		}
		fmt.Fprintf(&out, "--%s\r\nContent-Type: multipart/mixed; boundary=%s\r\n\r\n", bnd, csb)
		out.Write(cs.Bytes())
		fmt.Fprintf(&out, "--%s--\r\n", csb)
	}
	fmt.Fprintf(&out, "--%s--\r\n", bnd)
	w.Header().Set("Content-Type", "multipart/mixed; boundary="+bnd)
	w.Header().Set("Content-Length", strconv.Itoa(out.Len()))
	if p.continueOnErr {
		w.Header().Set("Preference-Applied", "odata.continue-on-error")
	}
	w.WriteHeader(status)
	w.Write(out.Bytes())
}

var errNestedChangeSet = errors.New("nested change set")
