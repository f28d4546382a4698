package dataversesim

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Writes (reference 5): create, update, upsert with If-Match/If-None-Match,
// delete, @odata.bind (including polymorphic navigation properties) and
// statecode/statuscode rules.

func readBody(r *http.Request) (map[string]any, *dvError) {
	raw, err := io.ReadAll(r.Body)
	if err != nil {
		return nil, errf(400, codeBadRequest, "The request body could not be read.")
	}
	if len(bytes.TrimSpace(raw)) == 0 {
		return map[string]any{}, nil
	}
	d := json.NewDecoder(bytes.NewReader(raw))
	d.UseNumber()
	var m map[string]any
	if err := d.Decode(&m); err != nil {
		return nil, errf(400, codePayload, "Error identified in Payload provided by the user: the request body is not a JSON object.")
	}
	return m, nil
}

var reBind = regexp.MustCompile(`([A-Za-z0-9_]+)\(([^)]*)\)\s*$`)

// parseBindTarget accepts "accounts(<id>)", "/accounts(<id>)" or an absolute URL.
func (e *Env) parseBindTarget(v string) (*tableData, string, *dvError) {
	m := reBind.FindStringSubmatch(v)
	if m == nil {
		return nil, "", errf(400, codeBadRequest, "The URI '%s' in the payload is not valid.", v)
	}
	td := e.tableBySet(m[1])
	if td == nil {
		return nil, "", errf(400, codeBadRequest, "Resource not found for the segment '%s'.", m[1])
	}
	id, derr := e.resolveKey(td, m[2])
	if derr != nil {
		return nil, "", derr
	}
	return td, id, nil
}

func badType(v any, edm string) *dvError {
	lit, _ := json.Marshal(v)
	return errf(400, codeBadRequest, "Cannot convert the literal '%s' to the expected type '%s'.", strings.Trim(string(lit), `"`), edm)
}

// convert turns a JSON value into the stored representation of column a.
func convert(a *AttrDef, v any) (any, *dvError) {
	if v == nil {
		return nil, nil
	}
	switch a.Type {
	case TString, TMemo, TEntityName:
		s, ok := v.(string)
		if !ok {
			return nil, badType(v, "Edm.String")
		}
		return s, nil
	case TUniqueID:
		s, ok := v.(string)
		if !ok || !reGUID.MatchString(s) {
			return nil, badType(v, "Edm.Guid")
		}
		return strings.ToLower(strings.Trim(s, "{}")), nil
	case TInteger, TBigInt, TPicklist, TState, TStatus:
		n, ok := v.(json.Number)
		if !ok {
			return nil, badType(v, "Edm.Int32")
		}
		i, err := n.Int64()
		if err != nil {
			return nil, badType(v, "Edm.Int32")
		}
		if a.Type == TPicklist && a.optionLabel(i) == "" {
			return nil, errf(400, "0x8004431a", "A validation error occurred. The value %d of '%s' on record of type '%%s' is outside the valid range. Accepted Values: %s", i, a.Name, optionValues(a))
		}
		return i, nil
	case TDecimal, TDouble, TMoney:
		n, ok := v.(json.Number)
		if !ok {
			return nil, badType(v, "Edm.Decimal")
		}
		f, err := n.Float64()
		if err != nil {
			return nil, badType(v, "Edm.Decimal")
		}
		return f, nil
	case TBoolean:
		b, ok := v.(bool)
		if !ok {
			return nil, badType(v, "Edm.Boolean")
		}
		return b, nil
	case TDateTime:
		s, ok := v.(string)
		if a.DateTimeBehavior == "DateOnly" {
			// Date-only columns are Edm.Date in the Web API: a value with a
			// time part is refused (powerapps-docs, developer/data-platform/
			// behavior-format-date-time-attribute.md).
			t, err := time.Parse("2006-01-02", s)
			if !ok || err != nil {
				return nil, badType(v, "Edm.Date")
			}
			return t, nil
		}
		if !ok {
			return nil, badType(v, "Edm.DateTimeOffset")
		}
		t, err := parseDVTime(s)
		if err != nil {
			return nil, badType(v, "Edm.DateTimeOffset")
		}
		return t, nil
	case TMultiPick:
		s, ok := v.(string)
		if !ok {
			return nil, badType(v, "Edm.String")
		}
		return s, nil
	}
	return nil, errf(400, codeBadRequest, "The property '%s' cannot be set.", a.Name)
}

func optionValues(a *AttrDef) string {
	var s []string
	for _, o := range a.Options {
		s = append(s, strconv.FormatInt(o.Value, 10))
	}
	return strings.Join(s, ",")
}

// apply writes body into rec. create selects create-only rules.
func (e *Env) apply(rc *reqCtx, td *tableData, rec *Record, body map[string]any, create bool) *dvError {
	def := td.def
	for k, v := range body {
		if nav, ok := strings.CutSuffix(k, "@odata.bind"); ok {
			nt, found := def.navIdx[nav]
			if !found {
				// Wording and code of web-api-client-errors.md (SupportArticles-docs).
				return errf(400, codePayload, "Error identified in Payload provided by the user for Entity :'%s'  ---->  InnerException : Microsoft.OData.ODataException: An undeclared property '%s' which only has property annotations in the payload but no property value was found in the payload. In OData, only declared navigation properties and declared named streams can be represented as properties without values.", def.SetName, nav)
			}
			if v == nil {
				rec.Vals[nt.attr.idx] = nil
				continue
			}
			s, _ := v.(string)
			ttd, id, derr := e.parseBindTarget(s)
			if derr != nil {
				return derr
			}
			if nt.target != "" && ttd.def.LogicalName != nt.target || nt.target == "" && !contains(nt.attr.Targets, ttd.def.LogicalName) {
				return errf(400, codeBadRequest, "The navigation property '%s' cannot be bound to an entity of type '%s'.", nav, ttd.def.LogicalName)
			}
			if ttd.recs[id] == nil {
				return notFoundBind(ttd.def, id)
			}
			rec.Vals[nt.attr.idx] = Ref{ttd.def.LogicalName, id}
			continue
		}
		if strings.Contains(k, "@") {
			continue // instance annotations in a payload are ignored
		}
		a := def.Attr(k)
		if a == nil || a.IsLookup() || a.Type == TFile {
			// Wording and code of web-api-client-errors.md (SupportArticles-docs).
			return errf(400, codeNoProperty, "An error occurred while validating input parameters: Microsoft.Crm.CrmException: Invalid property '%s' was found in entity 'Microsoft.Dynamics.CRM.%s'. ---> Microsoft.OData.ODataException: Does not support untyped value in non-open type.", k, def.LogicalName)
		}
		if a.IsPrimaryID {
			if s, _ := v.(string); create && strings.EqualFold(strings.Trim(s, "{}"), rec.ID) {
				continue
			}
			if !create {
				continue
			}
		}
		if a.ReadOnly || a.CreateOnly && !create {
			if e.s.opts.RejectReadOnlyColumns {
				return errf(400, codeBadRequest, "The property '%s' is not valid for %s.", k, map[bool]string{true: "create", false: "update"}[create])
			}
			continue
		}
		if a.Type == TState && create && !e.s.opts.AllowStatecodeOnCreate {
			return errf(400, "0x80040203", "statecode is not valid on create. Create the record active, then update statecode and statuscode.")
		}
		if a.Type == TImage {
			s, _ := v.(string)
			if v == nil {
				rec.set(def, a.Name+"id", nil)
				continue
			}
			data, err := base64.StdEncoding.DecodeString(s)
			if err != nil {
				return badType(v, "Edm.Binary")
			}
			rec.set(def, a.Name+"id", e.storeFile(a.Name+".png", "image/png", data))
			continue
		}
		cv, derr := convert(a, v)
		if derr != nil {
			derr.message = strings.Replace(derr.message, "%s", def.LogicalName, 1)
			return derr
		}
		if a.Name == "overriddencreatedon" && cv != nil {
			rec.set(def, "createdon", cv)
		}
		if a.Name == "documentbody" {
			s, _ := cv.(string)
			if int64(len(s)) > e.maxUpload() {
				return errf(400, codeTooBig, "Attachment file size is too big.")
			}
			if data, err := base64.StdEncoding.DecodeString(s); err == nil {
				rec.set(def, "filesize", int64(len(data)))
			}
		}
		rec.Vals[a.idx] = cv
	}
	return nil
}

func contains(list []string, s string) bool {
	for _, x := range list {
		if x == s {
			return true
		}
	}
	return false
}

// notFoundBind: binding to a missing row is a 400 (issue 3) with the
// "Does Not Exist" message.
func notFoundBind(def *TableDef, id string) *dvError {
	return errf(400, codeNotFound, "%s With Id = %s Does Not Exist", def.LogicalName, strings.TrimPrefix(id, "alt:"))
}

func (e *Env) maxUpload() int64 {
	org := e.tables["organization"]
	for _, id := range org.ids {
		if n, ok := org.recs[id].get(org.def, "maxuploadfilesize").(int64); ok && n > 0 {
			return n
		}
	}
	return 5 * 1024 * 1024
}

// checkState validates statecode/statuscode after a write (reference 5).
func checkState(def *TableDef, rec *Record, stateGiven, statusGiven bool) *dvError {
	sa, ta := def.Attr("statecode"), def.Attr("statuscode")
	if sa == nil || ta == nil {
		return nil
	}
	state, _ := rec.get(def, "statecode").(int64)
	status, _ := rec.get(def, "statuscode").(int64)
	if stateGiven && !statusGiven {
		for _, o := range ta.Options {
			if o.State == state {
				rec.set(def, "statuscode", o.Value)
				return nil
			}
		}
		return errf(400, codeStatus, "%d is not a valid state code on %s with Id %s.", state, def.LogicalName, rec.ID)
	}
	for _, o := range ta.Options {
		if o.Value == status {
			if statusGiven && !stateGiven {
				rec.set(def, "statecode", o.State)
				return nil
			}
			if o.State == state {
				return nil
			}
		}
	}
	return errf(400, codeStatus, "%d is not a valid status code for state code %s.%s on %s with Id %s.", status, def.StateName, strings.ReplaceAll(sa.optionLabel(state), " ", ""), def.LogicalName, rec.ID)
}

// createRecord builds and stores a new row from body; the caller holds the lock.
func (e *Env) createRecord(rc *reqCtx, td *tableData, id string, body map[string]any) (*Record, *dvError) {
	def := td.def
	if def.IsIntersect || def.RefuseRetrieveMultiple || def.LogicalName == "organization" {
		return nil, errf(400, codeUnsupported, "The 'Create' method does not support entities of type '%s'. MessageProcessorCache returned MessageProcessor.Empty.", def.LogicalName)
	}
	parties, derr := e.takeParties(rc, def, body) // activityparty.go
	if derr != nil {
		return nil, derr
	}
	if id == "" {
		if v, ok := body[def.PrimaryID].(string); ok && reGUID.MatchString(v) {
			id = strings.ToLower(strings.Trim(v, "{}"))
		} else {
			id = newGUID(e.rng)
		}
	}
	if td.recs[id] != nil {
		return nil, errf(412, codeDuplicate, "A record with matching key values already exists.")
	}
	rec := newRecord(def, id)
	now := e.now().Truncate(time.Second)
	rec.set(def, "createdon", now)
	rec.set(def, "createdby", Ref{"systemuser", rc.user})
	if def.Attr("ownerid") != nil {
		rec.set(def, "ownerid", Ref{"systemuser", rc.user})
		rec.set(def, "owningbusinessunit", Ref{"businessunit", e.rootBU()})
	}
	_, stateGiven := body["statecode"]
	_, statusGiven := body["statuscode"]
	if def.Attr("statecode") != nil {
		rec.set(def, "statecode", int64(0))
		rec.set(def, "statuscode", def.Attr("statuscode").Options[0].Value)
	}
	if derr := e.apply(rc, td, rec, body, true); derr != nil {
		return nil, derr
	}
	if def.LogicalName == "annotation" {
		if ref, ok := rec.get(def, "objectid").(Ref); ok {
			rec.set(def, "objecttypecode", ref.Table)
		}
		if rec.get(def, "documentbody") != nil {
			rec.set(def, "isdocument", true)
		}
	}
	if statusGiven || stateGiven {
		if derr := checkState(def, rec, stateGiven, statusGiven); derr != nil {
			return nil, derr
		}
		if st, _ := rec.get(def, "statecode").(int64); st != 0 && !e.s.opts.AllowStatecodeOnCreate {
			return nil, errf(400, codeStatus, "%d is not a valid status code for state code %s.Active on %s with Id %s.", rec.get(def, "statuscode"), def.StateName, def.LogicalName, id)
		}
	}
	e.autoNumber(def, rec, now)
	if def.Attr("activitytypecode") != nil {
		rec.set(def, "activitytypecode", def.LogicalName)
	}
	e.stamp(def, rec, now, rc.user)
	e.put(td, rec)
	e.storeParties(def, rec.ID, parties, now, rc.user)
	rc.records += 1 + len(parties)
	return rec, nil
}

func (e *Env) entityURL(rc *reqCtx, def *TableDef, id string) string {
	return rc.base + def.SetName + "(" + id + ")"
}

func (e *Env) writeResult(rc *reqCtx, w http.ResponseWriter, td *tableData, rec *Record, created bool) {
	w.Header().Set("OData-EntityId", e.entityURL(rc, td.def, rec.ID))
	w.Header().Set("ETag", rec.ETag())
	p := parsePrefs(rc.r.Header)
	if p.returnRep {
		cols, _ := selectColumns(td.def, rc.r.URL.Query().Get("$select"))
		b := e.appendRecord(nil, td, rec, cols, p.ann, rc.contextURL(td.def.SetName, cols, "/$entity"))
		w.Header().Set("Preference-Applied", "return=representation")
		status := 200
		if created {
			status = 201
		}
		writeBody(w, status, b)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

func (e *Env) create(rc *reqCtx, w http.ResponseWriter, td *tableData) {
	body, derr := readBody(rc.r)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	rec, derr := e.createRecord(rc, td, "", body)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	e.writeResult(rc, w, td, rec, true)
}

// upsert is PATCH: update, or create when missing unless If-Match forbids it.
func (e *Env) upsert(rc *reqCtx, w http.ResponseWriter, td *tableData, id string) {
	def := td.def
	body, derr := readBody(rc.r)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	ifMatch := rc.r.Header.Get("If-Match")
	ifNone := rc.r.Header.Get("If-None-Match")
	if ifNone == "null" {
		ifNone = "" // dynamics-web-api sends "If-None-Match: null" on every request
	}
	existing := td.recs[id]
	if existing == nil {
		if ifMatch != "" {
			writeDVError(w, notFound(def, strings.TrimPrefix(id, "alt:")))
			return
		}
		newID := id
		if strings.HasPrefix(id, "alt:") {
			kv := strings.TrimPrefix(id, "alt:")
			k, v, _ := strings.Cut(kv, "=")
			body[k] = v
			newID = ""
		}
		rec, derr := e.createRecord(rc, td, newID, body)
		if derr != nil {
			writeDVError(w, derr)
			return
		}
		e.writeResult(rc, w, td, rec, true)
		return
	}
	if ifNone == "*" {
		writeDVError(w, errf(412, codeDuplicate, "A record with matching key values already exists."))
		return
	}
	if ifMatch != "" && ifMatch != "*" && ifMatch != existing.ETag() {
		writeDVError(w, errf(412, codeVersionMismatch, "The version of the existing record doesn't match the RowVersion property provided."))
		return
	}
	if derr := checkStateWrite(def, existing, body); derr != nil { // statemessages.go
		writeDVError(w, derr)
		return
	}
	rec := existing.clone()
	if derr := e.apply(rc, td, rec, body, false); derr != nil {
		writeDVError(w, derr)
		return
	}
	_, stateGiven := body["statecode"]
	_, statusGiven := body["statuscode"]
	if stateGiven || statusGiven {
		if derr := checkState(def, rec, stateGiven, statusGiven); derr != nil {
			writeDVError(w, derr)
			return
		}
	}
	e.stamp(def, rec, e.now().Truncate(time.Second), rc.user)
	e.put(td, rec)
	rc.records++
	e.writeResult(rc, w, td, rec, false)
}

func (e *Env) deleteOne(rc *reqCtx, w http.ResponseWriter, td *tableData, id string) {
	if td.recs[id] == nil {
		writeDVError(w, notFound(td.def, strings.TrimPrefix(id, "alt:")))
		return
	}
	if ifMatch := rc.r.Header.Get("If-Match"); ifMatch != "" && ifMatch != "*" && ifMatch != td.recs[id].ETag() {
		writeDVError(w, errf(412, codeVersionMismatch, "The version of the existing record doesn't match the RowVersion property provided."))
		return
	}
	n, derr := e.deleteCascading(rc.user, td, id)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	rc.records += n
	w.WriteHeader(http.StatusNoContent)
}

// deleteRow removes one row and its N:N associations (cascade.go decides
// which rows a delete takes).
func (e *Env) deleteRow(td *tableData, id string) {
	e.remove(td, id, true)
	for _, rel := range e.s.schema.n2n {
		var attr string
		switch td.def.LogicalName {
		case rel.Entity1:
			attr = rel.Entity1Attr
		case rel.Entity2:
			attr = rel.Entity2Attr
		default:
			continue
		}
		it := e.tables[rel.IntersectEntity]
		for _, iid := range append([]string(nil), it.ids...) {
			if it.recs[iid].get(it.def, attr) == id {
				e.remove(it, iid, true)
			}
		}
	}
}
