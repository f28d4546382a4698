package dataversesim

import (
	"bytes"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
)

// Bulk operation messages (reference 12; powerapps-docs,
// developer/data-platform/bulk-operations.md):
//
//	POST /<set>/Microsoft.Dynamics.CRM.CreateMultiple  {"Targets":[{"@odata.type":"Microsoft.Dynamics.CRM.<table>",...}]}
//	  -> 200 {"@odata.context":"...#Microsoft.Dynamics.CRM.CreateMultipleResponse","Ids":[...]}
//	POST /<set>/Microsoft.Dynamics.CRM.UpdateMultiple  -> 204
//	POST /<set>/Microsoft.Dynamics.CRM.UpsertMultiple  -> 200 {"Results":[{"RecordCreated":true,"Target":{...}}]}
//	POST /<set>/Microsoft.Dynamics.CRM.DeleteMultiple  -> 204, elastic tables only
//
// Every target is written through the same code path as a single request
// (each is routed as POST /<set> or PATCH /<set>(<key>)), so versioning,
// tombstones, statecode rules and whatever else single writes enforce apply
// unchanged. On a standard table the request is all or nothing: a failure
// rolls back the targets already written and answers that failure. On an
// elastic table targets succeed or fail one by one; a failure answers 400
// with the per-record statuses in the
// @Microsoft.PowerApps.CDS.ErrorDetails.Plugin.BulkApiErrorDetails
// annotation when the client asks for annotations. The docs set no limit on
// the number of targets (only message size and time), so none is enforced;
// each target is charged as one written record of server time, so a bulk
// request meets the execution-time limit as the docs say it does.

// bulkMessages are the bound actions served on every entity set.
var bulkMessages = map[string]bool{"CreateMultiple": true, "UpdateMultiple": true, "UpsertMultiple": true, "DeleteMultiple": true}

// serveBoundCollectionAction answers POST /<set>/Microsoft.Dynamics.CRM.<action>.
func (e *Env) serveBoundCollectionAction(rc *reqCtx, w http.ResponseWriter, r *http.Request, td *tableData, action string) {
	if !bulkMessages[action] {
		writeDVError(w, noSegment("Microsoft.Dynamics.CRM."+action))
		return
	}
	if r.Method != http.MethodPost {
		writeDVError(w, noResource(rc))
		return
	}
	def := td.def
	elastic := def.TableType == "Elastic"
	if action == "DeleteMultiple" && !elastic {
		// "If you use DeleteMultiple on a standard table, you get the error:
		// DeleteMultiple has not yet been implemented." (bulk-operations.md)
		writeDVError(w, errf(400, codeUnsupported, "DeleteMultiple has not yet been implemented."))
		return
	}
	if !tableSupportsMessage(def, action) {
		writeDVError(w, errf(400, codeUnsupported, "The '%s' method does not support entities of type '%s'. MessageProcessorCache returned MessageProcessor.Empty.", action, def.LogicalName))
		return
	}
	targets, derr := bulkTargets(rc.r, def, action)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	outer := e.undo
	var undo []func()
	e.undo = &undo
	results := make([]bulkResult, len(targets))
	var failed *bufferedResponse
	for i, t := range targets {
		res := e.bulkOne(rc, td, action, t)
		results[i] = res
		if res.resp.status >= 400 && failed == nil {
			failed = res.resp
			if !elastic {
				break
			}
		}
	}
	e.undo = outer
	if failed != nil && !elastic {
		for i := len(undo) - 1; i >= 0; i-- {
			undo[i]()
		}
		copyResponse(w, failed)
		return
	}
	if outer != nil {
		*outer = append(*outer, undo...)
	}
	if failed != nil {
		e.writeBulkPartialFailure(rc, w, failed, results)
		return
	}
	switch action {
	case "CreateMultiple":
		b := []byte(`{"@odata.context":`)
		b = appendJSONString(b, rc.base+"$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse")
		b = append(b, `,"Ids":[`...)
		for i, res := range results {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendJSONString(b, res.id)
		}
		writeBody(w, 200, append(b, "]}"...))
	case "UpsertMultiple":
		b := []byte(`{"@odata.context":`)
		b = appendJSONString(b, rc.base+"$metadata#Microsoft.Dynamics.CRM.UpsertMultipleResponse")
		b = append(b, `,"Results":[`...)
		for i, res := range results {
			if i > 0 {
				b = append(b, ',')
			}
			b = append(b, `{"RecordCreated":`...)
			b = strconv.AppendBool(b, res.created)
			b = append(b, `,"Target":{"@odata.type":`...)
			b = appendJSONString(b, "#Microsoft.Dynamics.CRM."+def.LogicalName)
			b = append(b, ',')
			b = appendKey(b, def.PrimaryID)
			b = appendJSONString(b, res.id)
			b = append(b, "}}"...)
		}
		writeBody(w, 200, append(b, "]}"...))
	default:
		w.WriteHeader(http.StatusNoContent)
	}
}

// tableSupportsMessage reports whether a bulk message is available for a
// table. A table whose reference page lists its messages (TableDef.Messages)
// supports exactly those; otherwise every table that takes Create and Update
// does: intersect tables, virtual tables and tables that refuse
// RetrieveMultiple do not (bulk-operations.md: "Not all standard tables
// support these messages"; availability is per sdkmessagefilter).
func tableSupportsMessage(def *TableDef, msg string) bool {
	if def.TableType == "Elastic" {
		return true // "All elastic tables support" them (bulk-operations.md)
	}
	if def.Messages != nil {
		return contains(def.Messages, msg)
	}
	return !def.IsIntersect && !def.RefuseRetrieveMultiple && def.TableType != "Virtual" && def.LogicalName != "organization"
}

// bulkTargets reads and checks the Targets parameter.
func bulkTargets(r *http.Request, def *TableDef, action string) ([]map[string]any, *dvError) {
	body, derr := readBody(r)
	if derr != nil {
		return nil, derr
	}
	raw, ok := body["Targets"].([]any)
	if !ok || len(raw) == 0 {
		return nil, errf(400, codeBadRequest, "The parameter 'Targets' of %s is required: send {\"Targets\":[...]} with one object per %s record.", action, def.LogicalName)
	}
	want := "Microsoft.Dynamics.CRM." + def.LogicalName
	out := make([]map[string]any, len(raw))
	for i, t := range raw {
		m, ok := t.(map[string]any)
		if !ok {
			return nil, errf(400, codeBadRequest, "Item %d of 'Targets' is not an object.", i)
		}
		typ, _ := m["@odata.type"].(string)
		switch strings.TrimPrefix(typ, "#") {
		case want:
		case "":
			// "You must set the @odata.type property for each item in the
			// Targets parameter." (bulk-operations.md)
			return nil, errf(400, codeBadRequest, "Item %d of 'Targets' has no '@odata.type'; set it to '%s'.", i, want)
		default:
			return nil, errf(400, codeBadRequest, "Item %d of 'Targets' is of type '%s'; every item sent to %s on '%s' must be '%s'.", i, typ, action, def.SetName, want)
		}
		out[i] = m
	}
	return out, nil
}

// bulkResult is the outcome of one target.
type bulkResult struct {
	id      string
	created bool
	resp    *bufferedResponse
}

// bulkOne writes one target by routing the equivalent single request.
func (e *Env) bulkOne(rc *reqCtx, td *tableData, action string, t map[string]any) bulkResult {
	def := td.def
	body := make(map[string]any, len(t))
	for k, v := range t {
		if k != "@odata.type" {
			body[k] = v
		}
	}
	id, _ := body[def.PrimaryID].(string)
	id = strings.ToLower(strings.Trim(id, "{}"))
	method, path, hdr := "", def.SetName, http.Header{}
	existed := false
	switch action {
	case "CreateMultiple":
		method = http.MethodPost
	case "UpdateMultiple":
		if id == "" {
			return bulkResult{resp: errorResponse(errf(400, codeBadRequest, "Entity Id must be specified for Update."))}
		}
		method, path = http.MethodPatch, def.SetName+"("+id+")"
		hdr.Set("If-Match", "*") // update only, never create
	case "UpsertMultiple":
		switch key := alternateKeyOf(def, body); {
		case id != "":
			method, path = http.MethodPatch, def.SetName+"("+id+")"
			existed = td.recs[id] != nil
		case key != "":
			method, path = http.MethodPatch, def.SetName+"("+key+")"
			found, _ := e.resolveKey(td, key)
			existed = td.recs[found] != nil
		default:
			method = http.MethodPost // no key: the record is created
		}
	case "DeleteMultiple":
		if id == "" {
			return bulkResult{resp: errorResponse(errf(400, codeBadRequest, "Entity Id must be specified for Delete."))}
		}
		method, path, body = http.MethodDelete, def.SetName+"("+id+")", nil
	}
	var payload []byte
	if body != nil {
		payload, _ = json.Marshal(body)
	}
	req, _ := http.NewRequest(method, rc.base+path, bytes.NewReader(payload))
	for k, v := range rc.r.Header {
		if strings.HasPrefix(strings.ToLower(k), "mscrm.") || strings.EqualFold(k, "CallerObjectId") {
			req.Header[k] = v
		}
	}
	for k, v := range hdr {
		req.Header[k] = v
	}
	req.Header.Set("Content-Type", "application/json")
	sub := &reqCtx{e: e, r: req, user: rc.user, isAdmin: rc.isAdmin, base: rc.base}
	res := &bufferedResponse{header: http.Header{}, status: 200}
	e.route(sub, res, req)
	rc.records += sub.records
	if res.status == http.StatusNotFound && action == "UpdateMultiple" {
		// bulk-operations.md, "Troubleshooting": "Contact With Ids = <guid> Do Not Exist".
		return bulkResult{id: id, resp: errorResponse(errf(404, codeNotFound, "%s With Ids = %s Do Not Exist", schemaName(def.LogicalName), id))}
	}
	out := bulkResult{id: id, resp: res, created: method == http.MethodPost || method == http.MethodPatch && !existed}
	if loc := res.header.Get("OData-EntityId"); loc != "" {
		if i := strings.LastIndexByte(loc, '('); i >= 0 {
			out.id = strings.TrimSuffix(loc[i+1:], ")")
		}
	}
	return out
}

// alternateKeyOf returns "name='value'" when body carries every column of an
// alternate key of the table, else "".
func alternateKeyOf(def *TableDef, body map[string]any) string {
	for name := range alternateKeys[def.LogicalName] {
		if v, ok := body[name].(string); ok && v != "" {
			return name + "='" + strings.ReplaceAll(v, "'", "''") + "'"
		}
	}
	return ""
}

// writeBulkPartialFailure answers an elastic-table bulk request in which
// some targets failed: the first failure's error, plus every target's
// status when the client asked for annotations (bulk-operations.md, "On
// Error behavior with elastic tables").
func (e *Env) writeBulkPartialFailure(rc *reqCtx, w http.ResponseWriter, failed *bufferedResponse, results []bulkResult) {
	var body struct {
		Error map[string]any `json:"error"`
	}
	_ = json.Unmarshal(failed.bytes(), &body)
	if body.Error == nil {
		body.Error = map[string]any{"code": codeBadRequest, "message": "One or more records failed."}
	}
	p := parsePrefs(rc.r.Header)
	if p.hasAnn && (strings.Contains(p.ann.header, "*") || strings.Contains(p.ann.header, "Microsoft.PowerApps.CDS.ErrorDetails")) {
		type detail struct {
			RequestIndex int    `json:"RequestIndex"`
			ID           string `json:"Id"`
			StatusCode   int    `json:"StatusCode"`
		}
		details := make([]detail, len(results))
		for i, r := range results {
			details[i] = detail{RequestIndex: i, ID: r.id, StatusCode: r.resp.status}
		}
		j, _ := json.Marshal(details)
		body.Error["@Microsoft.PowerApps.CDS.ErrorDetails.Plugin.BulkApiErrorDetails"] = string(j)
	}
	b, _ := json.Marshal(body)
	writeBody(w, failed.status, b)
}

// errorResponse renders a Dataverse error as a buffered response.
func errorResponse(d *dvError) *bufferedResponse {
	res := &bufferedResponse{header: http.Header{}, status: 200}
	writeDVError(res, d)
	return res
}

// copyResponse sends a buffered response as the answer.
func copyResponse(w http.ResponseWriter, res *bufferedResponse) {
	for k, v := range res.header {
		w.Header()[k] = v
	}
	w.WriteHeader(res.status)
	w.Write(res.bytes())
}
