package dataversesim

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Routing of /api/data/v9.x/... (issue 3 item 2; v9.0, v9.1 and v9.2 are
// served alike, see apiVersions). Everything here runs under the
// environment lock taken by dispatch.

var reSegKey = regexp.MustCompile(`^([A-Za-z0-9_$.]+)(?:\((.*)\))?$`)

type segment struct {
	name string
	key  string // inside the parentheses, "" when absent
	has  bool
}

func splitPath(p string) []segment {
	var out []segment
	for _, part := range strings.Split(strings.Trim(p, "/"), "/") {
		if part == "" {
			continue
		}
		m := reSegKey.FindStringSubmatch(part)
		if m == nil {
			out = append(out, segment{name: part})
			continue
		}
		out = append(out, segment{name: m[1], key: m[2], has: strings.HasSuffix(part, ")")})
	}
	return out
}

func (e *Env) route(rc *reqCtx, w http.ResponseWriter, r *http.Request) {
	w.Header().Set("OData-Version", "4.0")
	rest := apiRest(r.URL.Path)
	if strings.HasPrefix(rest, "/RetrieveMetadataChanges") {
		// Parsed from the raw path: an inline ClientVersionStamp holds '/'.
		if r.Method != http.MethodGet {
			writeDVError(w, noResource(rc))
			return
		}
		e.retrieveMetadataChanges(rc, w, r)
		return
	}
	segs := splitPath(rest)
	if len(segs) == 0 {
		e.serviceDocument(rc, w)
		return
	}
	first := segs[0]
	switch first.name {
	case "$metadata":
		e.serveCSDL(rc, w)
		return
	case "$batch":
		if r.Method != http.MethodPost {
			writeDVError(w, noResource(rc))
			return
		}
		e.serveBatch(rc, w, r)
		return
	case "WhoAmI":
		// A function: GET only (web-api-client-errors.md shows POST answered 404).
		if r.Method != http.MethodGet {
			writeDVError(w, noResource(rc))
			return
		}
		e.whoAmI(rc, w)
		return
	case "InitializeFileBlocksUpload", "UploadBlock", "CommitFileBlocksUpload":
		e.serveFileBlocks(rc, w, r, first.name)
		return
	case "EntityDefinitions", "RelationshipDefinitions", "GlobalOptionSetDefinitions":
		e.serveMetadata(rc, w, r, segs)
		return
	}
	if e.serveUnboundAction(rc, w, r, first) { // statemessages.go
		return
	}
	td := e.tableBySet(first.name)
	if td == nil {
		writeDVError(w, noSegment(first.name))
		return
	}
	if !rc.isAdmin {
		priv := "Read"
		if r.Method != http.MethodGet {
			priv = "Write"
		}
		writeDVError(w, errf(403, codeNoPrivilege, "Principal user (Id=%s, type=8, roleCount=0, privilegeCount=0, accessMode=4, MetadataCachePrivilegesCount=0, BusinessUnitId=%s), is missing prv%s%s privilege on OTC=%d for entity '%s'.", rc.user, e.rootBU(), priv, td.def.LogicalName, td.def.ObjectTypeCode, td.def.LogicalName))
		return
	}
	q := queryValues(r.URL.RawQuery)
	if len(segs) == 1 && !first.has {
		switch r.Method {
		case http.MethodGet:
			e.list(rc, w, td, q)
		case http.MethodPost:
			e.create(rc, w, td)
		default:
			writeDVError(w, errf(405, codeBadRequest, "The HTTP method '%s' is not allowed on an entity set.", r.Method))
		}
		return
	}
	if len(segs) == 2 && !first.has && strings.HasPrefix(segs[1].name, "Microsoft.Dynamics.CRM.") {
		// An action bound to the entity set (reference 12: the bulk messages).
		e.serveBoundCollectionAction(rc, w, r, td, strings.TrimPrefix(segs[1].name, "Microsoft.Dynamics.CRM."))
		return
	}
	id, derr := e.resolveKey(td, first.key)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	if e.serveRecordPath(rc, w, r, td, id, segs[1:]) { // activityparty.go
		return
	}
	if len(segs) == 1 {
		switch r.Method {
		case http.MethodGet:
			e.getOne(rc, w, td, id, q)
		case http.MethodPatch, http.MethodPut:
			e.upsert(rc, w, td, id)
		case http.MethodDelete:
			e.deleteOne(rc, w, td, id)
		default:
			writeDVError(w, errf(405, codeBadRequest, "The HTTP method '%s' is not allowed on an entity.", r.Method))
		}
		return
	}
	second := segs[1]
	if rel := e.sch().n2nNavs[td.def.LogicalName][second.name]; rel != nil {
		e.serveN2N(rc, w, r, td, id, rel, segs[1:])
		return
	}
	if a := td.def.Attr(second.name); a != nil {
		e.serveColumn(rc, w, r, td, id, a, segs[2:])
		return
	}
	writeDVError(w, noSegment(second.name))
}

func (e *Env) tableBySet(set string) *tableData {
	def := e.sch().bySet[set]
	if def == nil {
		return nil
	}
	return e.tables[def.LogicalName]
}

func (e *Env) rootBU() string {
	if ids := e.tables["businessunit"].ids; len(ids) > 0 {
		for _, id := range ids {
			rec := e.tables["businessunit"].recs[id]
			if rec.get(e.tables["businessunit"].def, "parentbusinessunitid") == nil {
				return id
			}
		}
	}
	return ""
}

var alternateKeys = map[string]map[string]bool{"account": {"accountnumber": true}, "contact": {"emailaddress1": true}}

// resolveKey accepts a GUID (optionally in braces) or an alternate key
// (accountnumber='X'). A missing alternate-key row yields "" with no error.
func (e *Env) resolveKey(td *tableData, key string) (string, *dvError) {
	k := strings.Trim(key, "{}")
	if reGUID.MatchString(k) && len(k) == 36 {
		return strings.ToLower(k), nil
	}
	name, val, ok := strings.Cut(key, "=")
	if !ok {
		return "", errf(400, codeBadRequest, "Bad Request - Error in query syntax: key '%s'.", key)
	}
	if !alternateKeys[td.def.LogicalName][name] {
		return "", errf(400, "0x80060891", "The key attribute '%s' is not defined as an alternate key for the %s table.", name, td.def.LogicalName)
	}
	val = strings.Trim(val, "'")
	for _, id := range td.ids {
		if s, _ := td.recs[id].get(td.def, name).(string); s == val {
			return id, nil
		}
	}
	return "alt:" + name + "=" + val, nil
}

func (e *Env) serviceDocument(rc *reqCtx, w http.ResponseWriter) {
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, rc.base+"$metadata")
	b = append(b, `,"value":[`...)
	for i, t := range e.sch().tables {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"name":`...)
		b = appendJSONString(b, t.SetName)
		b = append(b, `,"kind":"EntitySet","url":`...)
		b = appendJSONString(b, t.SetName)
		b = append(b, '}')
	}
	b = append(b, "]}"...)
	writeBody(w, 200, b)
}

func writeBody(w http.ResponseWriter, status int, b []byte) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(status)
	w.Write(b)
}

func (e *Env) whoAmI(rc *reqCtx, w http.ResponseWriter) {
	su := e.tables["systemuser"]
	bu := ""
	if rec := su.recs[rc.user]; rec != nil {
		if ref, ok := rec.get(su.def, "businessunitid").(Ref); ok {
			bu = ref.ID
		}
	}
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, rc.base+"$metadata#Microsoft.Dynamics.CRM.WhoAmIResponse")
	b = append(b, `,"BusinessUnitId":`...)
	b = appendJSONString(b, bu)
	b = append(b, `,"UserId":`...)
	b = appendJSONString(b, rc.user)
	b = append(b, `,"OrganizationId":`...)
	b = appendJSONString(b, e.OrgID)
	b = append(b, '}')
	w.Header().Set("x-ms-dop-hint", strconv.Itoa(e.s.opts.DopHint))
	writeBody(w, 200, b)
}

// list serves a collection GET, including the initial load of change tracking.
func (e *Env) list(rc *reqCtx, w http.ResponseWriter, td *tableData, q url.Values) {
	def := td.def
	if def.RefuseRetrieveMultiple {
		writeDVError(w, errf(400, codeUnsupported, "The 'RetrieveMultiple' method does not support entities of type '%s'. MessageProcessorCache returned MessageProcessor.Empty.", def.LogicalName))
		return
	}
	p := parsePrefs(rc.r.Header)
	if q.Has("$deltatoken") {
		e.delta(rc, w, td, q, p)
		return
	}
	if derr := checkQueryOptions(q, collectionOptions); derr != nil {
		writeDVError(w, derr)
		return
	}
	if q.Has("fetchXml") {
		e.fetchXML(rc, w, td, q, p)
		return
	}
	if q.Has("$apply") {
		e.aggregate(rc, w, td, q, p)
		return
	}
	if p.trackChanges {
		if !def.ChangeTracking {
			writeDVError(w, errf(400, "0x80044353", "Change tracking is not enabled for the entity %s.", def.LogicalName))
			return
		}
		for _, bad := range []string{"$filter", "$orderby", "$expand", "$top"} {
			if q.Has(bad) {
				writeDVError(w, errf(400, codeBadRequest, `The "%s" query parameter isn't supported when Change Tracking is enabled.`, bad))
				return
			}
		}
	}
	cols, derr := selectColumns(def, q.Get("$select"))
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	var xs []*dataExpansion
	if x := q.Get("$expand"); x != "" {
		if xs, derr = e.parseDataExpand(def, x); derr != nil {
			writeDVError(w, derr)
			return
		}
	}
	var filter filterNode
	if f := q.Get("$filter"); f != "" {
		var err error
		if filter, err = parseFilterWith(f, knownProp(def), aliasesOf(q)); err != nil {
			writeDVError(w, filterDVError(err, f, def.LogicalName))
			return
		}
	}
	var ck cookie
	if st := q.Get("$skiptoken"); st != "" {
		var ok bool
		if ck, ok = parseCookie(st); !ok {
			writeDVError(w, errf(400, codeBadRequest, "Invalid $skiptoken."))
			return
		}
	}
	pageSize := p.maxPageSize
	top := -1
	if t := q.Get("$top"); t != "" && !p.maxPageApplied {
		n, err := strconv.Atoi(t)
		if err != nil || n < 0 {
			writeDVError(w, errf(400, codeBadRequest, "Invalid $top value '%s'.", t))
			return
		}
		top = n
		if n < pageSize {
			pageSize = n
		}
	}
	match := func(rec *Record) bool { return filter == nil || filter.eval(propGetter(def, rec)) }
	var page []*Record
	more := false
	total := -1
	if ob := q.Get("$orderby"); ob != "" {
		all := make([]*Record, 0, len(td.ids))
		for _, id := range td.ids {
			if rec := td.recs[id]; match(rec) {
				all = append(all, rec)
			}
		}
		if derr := sortRecords(def, all, ob); derr != nil {
			writeDVError(w, derr)
			return
		}
		total = len(all)
		off := 0
		if ck.page > 1 {
			off = (ck.page - 1) * pageSize
		}
		if off > len(all) {
			off = len(all)
		}
		end := off + pageSize
		if end >= len(all) {
			end = len(all)
		} else {
			more = true
		}
		page = all[off:end]
	} else {
		page = make([]*Record, 0, min(pageSize, len(td.ids)))
		for i := td.seek(ck.last); i < len(td.ids); i++ {
			rec := td.recs[td.ids[i]]
			if !match(rec) {
				continue
			}
			if len(page) == pageSize {
				more = true
				break
			}
			page = append(page, rec)
		}
		if q.Get("$count") == "true" {
			total = 0
			for _, id := range td.ids {
				if match(td.recs[id]) {
					total++
				}
			}
		}
	}
	if top >= 0 {
		more = false
	}
	rc.records = len(page)
	trackVer := ck.trackVer
	if p.trackChanges && !ck.hasTracked {
		trackVer = e.version
	}
	b := make([]byte, 0, 256+len(page)*(200+40*max(len(cols), 12)))
	b = append(b, `{"@odata.context":`...)
	b = appendJSONString(b, rc.contextURL(def.SetName, cols, ""))
	if q.Get("$count") == "true" && total >= 0 {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(total), 10)
	}
	b = append(b, `,"value":[`...)
	for i, rec := range page {
		if i > 0 {
			b = append(b, ',')
		}
		if b, derr = e.appendExpanded(b, td, rec, cols, p.ann, "", xs); derr != nil {
			writeDVError(w, derr)
			return
		}
	}
	b = append(b, ']')
	if more {
		pageNo := max(ck.page, 1) + 1
		var ver int64
		if p.trackChanges && e.s.opts.DeltaTokenAtFirstPage {
			ver = trackVer
		}
		tokn := skiptoken(def.PrimaryID, pageNo, page[0].ID, page[len(page)-1].ID, p.trackChanges, ver)
		b = append(b, `,"@odata.nextLink":`...)
		b = appendJSONString(b, rc.linkWith(def.SetName, q, []string{"$skiptoken"}, "$skiptoken", tokn))
	} else if p.trackChanges {
		ver := e.version
		if e.s.opts.DeltaTokenAtFirstPage && ck.hasTracked {
			ver = trackVer
		}
		b = append(b, `,"@odata.deltaLink":`...)
		b = appendJSONString(b, rc.linkWith(def.SetName, q, []string{"$skiptoken", "$deltatoken"}, "$deltatoken", escapeAll(e.deltaToken(ver), false)))
	}
	b = append(b, '}')
	applied := []string{}
	if p.maxPageApplied {
		applied = append(applied, "odata.maxpagesize="+strconv.Itoa(p.maxPageSize))
	}
	if p.trackChanges {
		applied = append(applied, "odata.track-changes")
	}
	if p.hasAnn {
		applied = append(applied, p.ann.header)
	}
	if len(applied) > 0 {
		w.Header().Set("Preference-Applied", strings.Join(applied, ","))
	}
	writeBody(w, 200, b)
}

func sortRecords(def *TableDef, recs []*Record, orderby string) *dvError {
	type key struct {
		name string
		desc bool
	}
	var keys []key
	for _, part := range strings.Split(orderby, ",") {
		f := strings.Fields(part)
		if len(f) == 0 {
			continue
		}
		if _, ok := propGetter(def, &Record{Vals: make([]any, len(def.Attrs))})(f[0]); !ok {
			return noProperty(f[0], def.LogicalName)
		}
		keys = append(keys, key{f[0], len(f) > 1 && strings.EqualFold(f[1], "desc")})
	}
	sort.SliceStable(recs, func(i, j int) bool {
		gi, gj := propGetter(def, recs[i]), propGetter(def, recs[j])
		for _, k := range keys {
			a, _ := gi(k.name)
			b, _ := gj(k.name)
			a, b = normalize(a), normalize(b)
			if a == nil || b == nil {
				if (a == nil) != (b == nil) {
					return (a == nil) != k.desc
				}
				continue
			}
			c, _ := compare(a, b)
			if c != 0 {
				return (c < 0) != k.desc
			}
		}
		return recs[i].ID < recs[j].ID
	})
	return nil
}

func notFound(def *TableDef, id string) *dvError {
	return errf(404, codeNotFound, "%s With Id = %s Does Not Exist", def.LogicalName, id)
}

func (e *Env) getOne(rc *reqCtx, w http.ResponseWriter, td *tableData, id string, q url.Values) {
	if derr := checkQueryOptions(q, entityOptions); derr != nil {
		writeDVError(w, derr)
		return
	}
	rec := td.recs[id]
	if rec == nil {
		writeDVError(w, notFound(td.def, strings.TrimPrefix(id, "alt:")))
		return
	}
	cols, derr := selectColumns(td.def, q.Get("$select"))
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	if inm := rc.r.Header.Get("If-None-Match"); inm != "" && inm == rec.ETag() {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	var xs []*dataExpansion
	if x := q.Get("$expand"); x != "" {
		if xs, derr = e.parseDataExpand(td.def, x); derr != nil {
			writeDVError(w, derr)
			return
		}
	}
	p := parsePrefs(rc.r.Header)
	rc.records = 1
	b, derr := e.appendExpanded(nil, td, rec, cols, p.ann, rc.contextURL(td.def.SetName, cols, "/$entity"), xs)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	w.Header().Set("ETag", rec.ETag())
	if p.hasAnn {
		w.Header().Set("Preference-Applied", p.ann.header)
	}
	writeBody(w, 200, b)
}
