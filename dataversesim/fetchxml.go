package dataversesim

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// FetchXML queries: GET /<set>?fetchXml=<url-encoded fetch> (powerapps-docs,
// developer/data-platform/webapi/use-fetchxml-web-api.md, and the reference
// pages under developer/data-platform/fetchxml/reference). The subset a
// backup needs is implemented:
//
//   - <fetch count page paging-cookie top distinct returntotalrecordcount
//     aggregate datasource> (mapping, version, output-format, no-lock,
//     latematerialize and options do not change results and are accepted);
//   - one <entity> (the entity set's table) with <attribute name alias
//     aggregate groupby distinct>, <all-attributes/>, <order attribute
//     descending>, nested <filter type="and|or"> and <condition attribute
//     operator value> with <value> children;
//   - operators eq ne neq gt ge lt le in not-in null not-null like not-like
//     begins-with not-begin-with ends-with not-end-with on on-or-after
//     on-or-before between not-between.
//
// Rows come without null properties ("Properties with null values will not
// be included"). Paging: count rows per page (at most 5000), page, and the
// paging cookie; with Prefer odata.include-annotations the answer carries
// @Microsoft.Dynamics.CRM.fetchxmlpagingcookie (the inner cookie URL-encoded
// twice) and @Microsoft.Dynamics.CRM.morerecords while more rows exist.
// datasource="retained" reads long-term-retained rows: the simulator
// retains none, so it answers an empty page [unverified: what Dataverse
// answers for a table without a retention policy]. link-entity and any
// other element are refused with an error naming them, never ignored.

// codeQueryNoAttribute is QueryBuilderNoAttribute.
const codeQueryNoAttribute = "0x80041103"

// codeInvalidFetch is the code of a FetchXML the query builder refuses
// (InvalidArgument).
const codeInvalidFetch = "0x80040203"

// maxFetchCount is the largest page (and top) FetchXML allows
// (fetchxml/reference/fetch.md: top "cannot exceed 5,000").
const maxFetchCount = 5000

func (e *Env) fetchXML(rc *reqCtx, w http.ResponseWriter, td *tableData, q url.Values, p prefs) {
	def := td.def
	if p.trackChanges {
		writeDVError(w, errf(400, codeBadRequest, `The "fetchXml" query parameter isn't supported when Change Tracking is enabled.`))
		return
	}
	for k := range q {
		if strings.HasPrefix(k, "$") && k != "$count" {
			writeDVError(w, errf(400, codeBadRequest, "The query parameter %s cannot be combined with fetchXml; express it in the FetchXML.", k))
			return
		}
	}
	fx, derr := parseFetch(q.Get("fetchXml"), def)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	num := func(s, what string, def int) (int, *dvError) {
		if s == "" {
			return def, nil
		}
		n, err := strconv.Atoi(s)
		if err != nil || n <= 0 {
			return 0, invalidFetch("The fetch attribute '%s' must be a positive integer, not '%s'.", what, s)
		}
		return n, nil
	}
	count, derr := num(fx.Count, "count", maxFetchCount)
	if derr == nil && count > maxFetchCount {
		derr = invalidFetch("The fetch attribute 'count' cannot exceed %d.", maxFetchCount)
	}
	page, derr2 := num(fx.Page, "page", 1)
	top, derr3 := num(fx.Top, "top", 0)
	for _, d := range []*dvError{derr, derr2, derr3} {
		if d != nil {
			writeDVError(w, d)
			return
		}
	}
	if top > maxFetchCount {
		writeDVError(w, invalidFetch("The fetch attribute 'top' cannot exceed %d.", maxFetchCount))
		return
	}
	if fx.Top != "" && (fx.Count != "" || fx.Page != "") {
		writeDVError(w, invalidFetch("The fetch attribute 'top' cannot be combined with the paging attributes 'count' and 'page'."))
		return
	}
	if fx.Datasource != "" && fx.Datasource != "retained" {
		writeDVError(w, invalidFetch("The fetch attribute 'datasource' must be 'retained', not '%s'.", fx.Datasource))
		return
	}
	var recs []*Record
	if fx.Datasource != "retained" {
		for _, id := range td.ids {
			rec := td.recs[id]
			ok := true
			for _, f := range fx.Entity.Filters {
				ok = ok && f.match(propGetter(def, rec))
			}
			if ok {
				recs = append(recs, rec)
			}
		}
	}
	if fx.Aggregate == "true" || fx.Aggregate == "1" {
		e.fetchAggregate(rc, w, td, fx, recs, p)
		return
	}
	for _, fa := range fx.Entity.Attrs {
		if fa.Aggregate != "" || fa.GroupBy != "" {
			writeDVError(w, invalidFetch("The attribute '%s' uses aggregate or groupby, which need aggregate='true' on the fetch element.", fa.Name))
			return
		}
	}
	var cols []*AttrDef
	if !fx.Entity.All && len(fx.Entity.Attrs) > 0 {
		cols = append(cols, def.Attr(def.PrimaryID))
		for _, fa := range fx.Entity.Attrs {
			if a := def.Attr(fa.Name); !contains(attrNames(cols), a.Name) {
				cols = append(cols, a)
			}
		}
	}
	if len(fx.Entity.Orders) > 0 {
		sort.SliceStable(recs, func(i, j int) bool {
			gi, gj := propGetter(def, recs[i]), propGetter(def, recs[j])
			for _, o := range fx.Entity.Orders {
				a, _ := gi(o.Attribute)
				b, _ := gj(o.Attribute)
				a, b = normalize(a), normalize(b)
				if a == nil || b == nil {
					if (a == nil) != (b == nil) {
						return (a == nil) != o.Descending
					}
					continue
				}
				if c, _ := compare(a, b); c != 0 {
					return (c < 0) != o.Descending
				}
			}
			return recs[i].ID < recs[j].ID
		})
	}
	if fx.Distinct == "true" || fx.Distinct == "1" {
		recs = distinctRecords(def, recs, cols)
	}
	total := len(recs)
	start := (page - 1) * count
	if ck := fx.PagingCookie; ck != "" && len(fx.Entity.Orders) == 0 {
		// Primary-key order: continue after the cookie's last id.
		if m := reCookieLast.FindStringSubmatch(ck); m != nil {
			last := strings.ToLower(m[1])
			start = sort.Search(len(recs), func(i int) bool { return recs[i].ID > last })
		}
	}
	if start > len(recs) {
		start = len(recs)
	}
	end := start + count
	if top > 0 {
		end = start + top
	}
	more := end < len(recs) && top == 0
	if end > len(recs) {
		end = len(recs)
	}
	pageRecs := recs[start:end]
	rc.records = len(pageRecs)
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, rc.contextURL(def.SetName, cols, ""))
	if q.Get("$count") == "true" {
		b = append(b, `,"@odata.count":`...)
		b = strconv.AppendInt(b, int64(total), 10)
	}
	if fx.ReturnTotal == "true" || q.Get("$count") == "true" && p.ann.crmQuery {
		b = append(b, `,"@Microsoft.Dynamics.CRM.totalrecordcount":`...)
		b = strconv.AppendInt(b, int64(total), 10)
		b = append(b, `,"@Microsoft.Dynamics.CRM.totalrecordcountlimitexceeded":false`...)
	}
	if more && p.ann.crmQuery && len(pageRecs) > 0 {
		b = append(b, `,"@Microsoft.Dynamics.CRM.fetchxmlpagingcookie":`...)
		b = appendJSONString(b, fetchPagingCookie(def, page, pageRecs, fx.Entity.Orders))
		b = append(b, `,"@Microsoft.Dynamics.CRM.morerecords":true`...)
	}
	b = append(b, `,"value":[`...)
	for i, rec := range pageRecs {
		if i > 0 {
			b = append(b, ',')
		}
		b = e.appendRecordOpts(b, td, rec, cols, p.ann, "", true)
	}
	b = append(b, "]}"...)
	if p.hasAnn {
		w.Header().Set("Preference-Applied", p.ann.header)
	}
	writeBody(w, 200, b)
}

func attrNames(cols []*AttrDef) []string {
	out := make([]string, len(cols))
	for i, a := range cols {
		out[i] = a.Name
	}
	return out
}

// distinctRecords keeps the first row of each distinct set of returned values.
func distinctRecords(def *TableDef, recs []*Record, cols []*AttrDef) []*Record {
	if cols == nil {
		return recs // every row differs by its primary key
	}
	seen := map[string]bool{}
	var out []*Record
	for _, rec := range recs {
		var sig strings.Builder
		for _, a := range cols {
			if a.IsPrimaryID {
				continue
			}
			v, _ := propGetter(def, rec)(a.Name)
			sig.WriteString(groupKey(v))
			sig.WriteByte(0)
		}
		if !seen[sig.String()] {
			seen[sig.String()] = true
			out = append(out, rec)
		}
	}
	return out
}

// fetchPagingCookie is the documented annotation value:
// <cookie pagenumber="N+1" pagingcookie="<inner, URL-encoded twice>" istracking="False" />.
func fetchPagingCookie(def *TableDef, page int, recs []*Record, orders []fetchOrder) string {
	first, last := recs[0], recs[len(recs)-1]
	var inner strings.Builder
	inner.WriteString(`<cookie page="` + strconv.Itoa(page) + `">`)
	for _, o := range orders {
		fv, _ := propGetter(def, first)(o.Attribute)
		lv, _ := propGetter(def, last)(o.Attribute)
		inner.WriteString(`<` + o.Attribute + ` last="` + xmlAttr(cookieValue(lv)) + `" first="` + xmlAttr(cookieValue(fv)) + `" />`)
	}
	inner.WriteString(`<` + def.PrimaryID + ` last="{` + strings.ToUpper(last.ID) + `}" first="{` + strings.ToUpper(first.ID) + `}" />`)
	inner.WriteString(`</cookie>`)
	return `<cookie pagenumber="` + strconv.Itoa(page+1) + `" pagingcookie="` + escapeAll(escapeAll(inner.String(), true), true) + `" istracking="False" />`
}

func cookieValue(v any) string {
	switch x := v.(type) {
	case Ref:
		return "{" + strings.ToUpper(x.ID) + "}"
	case time.Time:
		return x.UTC().Format(dvTime)
	}
	return toString(v)
}

// fetchAggregate answers <fetch aggregate="true">: every attribute has an
// aggregate (count, countcolumn, sum, avg, min, max) or groupby="true", and
// an alias (fetchxml/aggregate-data.md).
func (e *Env) fetchAggregate(rc *reqCtx, w http.ResponseWriter, td *tableData, fx *fetchDoc, recs []*Record, p prefs) {
	def := td.def
	var groups []groupSpec
	var aggs []aggSpec
	for _, fa := range fx.Entity.Attrs {
		a := def.Attr(fa.Name)
		if fa.Alias == "" {
			writeDVError(w, invalidFetch("The attribute '%s' of an aggregate query needs an alias.", fa.Name))
			return
		}
		switch {
		case fa.GroupBy == "true":
			if fa.DateGrouping != "" {
				writeDVError(w, invalidFetch("Grouping by date parts (dategrouping='%s') is not supported for this query.", fa.DateGrouping))
				return
			}
			groups = append(groups, groupSpec{name: fa.Alias, attr: a})
		case fa.Aggregate != "":
			m := fa.Aggregate
			switch m {
			case "count", "countcolumn", "sum", "avg", "min", "max":
			default:
				writeDVError(w, invalidFetch("The aggregate '%s' is not supported.", m))
				return
			}
			if m == "countcolumn" && fa.Distinct == "true" {
				m = "countdistinct"
			}
			if (m == "sum" || m == "avg") && !numeric(a) {
				writeDVError(w, invalidFetch("The aggregate '%s' cannot be applied to the column '%s', which is not numeric.", m, fa.Name))
				return
			}
			if m == "count" {
				aggs = append(aggs, aggSpec{alias: fa.Alias, method: "count"})
			} else {
				aggs = append(aggs, aggSpec{alias: fa.Alias, method: m, attr: a})
			}
		default:
			writeDVError(w, invalidFetch("The attribute '%s' of an aggregate query needs aggregate or groupby.", fa.Name))
			return
		}
	}
	rows, derr := runAggregate(def, recs, groups, aggs)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	rc.records = len(recs)
	e.writeAggRows(w, rc, def, rows, groups, aggs, p)
}
