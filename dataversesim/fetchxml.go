package dataversesim

import (
	"encoding/xml"
	"io"
	"net/http"
	"net/url"
	"regexp"
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

type fetchDoc struct {
	Count, Page, Top, PagingCookie, Distinct, Aggregate, Datasource, ReturnTotal string
	Entity                                                                       *fetchEntity
}

type fetchEntity struct {
	Name    string
	Attrs   []fetchAttr
	All     bool
	Orders  []fetchOrder
	Filters []*fetchFilter
}

type fetchAttr struct {
	Name, Alias, Aggregate, GroupBy, Distinct, DateGrouping string
}

type fetchOrder struct {
	Attribute, Alias string
	Descending       bool
}

type fetchFilter struct {
	or    bool
	conds []fetchCondition
	subs  []*fetchFilter
}

type fetchCondition struct {
	attr     *AttrDef
	op       string
	value    string
	hasValue bool
	values   []string
}

func invalidFetch(format string, args ...any) *dvError {
	return errf(400, codeInvalidFetch, format, args...)
}

// fetchElements are the elements understood, by parent.
var fetchElements = map[string]map[string]bool{
	"":          {"fetch": true},
	"fetch":     {"entity": true},
	"entity":    {"attribute": true, "all-attributes": true, "order": true, "filter": true},
	"filter":    {"condition": true, "filter": true},
	"condition": {"value": true},
}

// parseFetch reads a FetchXML document with a streaming decoder, so an
// unknown element is reported instead of skipped.
func parseFetch(src string, def *TableDef) (*fetchDoc, *dvError) {
	d := xml.NewDecoder(strings.NewReader(src))
	var stack []string
	var doc *fetchDoc
	var filters []*fetchFilter
	var cond *fetchCondition
	var text strings.Builder
	attr := func(se xml.StartElement, name string) (string, bool) {
		for _, a := range se.Attr {
			if a.Name.Local == name {
				return a.Value, true
			}
		}
		return "", false
	}
	for {
		tok, err := d.Token()
		if err == io.EOF {
			break
		}
		if err != nil {
			return nil, invalidFetch("The fetchXml parameter is not well-formed XML.")
		}
		switch t := tok.(type) {
		case xml.StartElement:
			parent := ""
			if len(stack) > 0 {
				parent = stack[len(stack)-1]
			}
			name := t.Name.Local
			if !fetchElements[parent][name] {
				if name == "link-entity" {
					return nil, invalidFetch("The 'link-entity' element is not supported for this query; query the linked table '%s' with its own request.", attrOr(t, "name"))
				}
				return nil, invalidFetch("The element '%s' is not supported inside '%s' in fetchXml.", name, parent)
			}
			stack = append(stack, name)
			switch name {
			case "fetch":
				doc = &fetchDoc{}
				doc.Count, _ = attr(t, "count")
				doc.Page, _ = attr(t, "page")
				doc.Top, _ = attr(t, "top")
				doc.PagingCookie, _ = attr(t, "paging-cookie")
				doc.Distinct, _ = attr(t, "distinct")
				doc.Aggregate, _ = attr(t, "aggregate")
				doc.Datasource, _ = attr(t, "datasource")
				doc.ReturnTotal, _ = attr(t, "returntotalrecordcount")
			case "entity":
				if doc.Entity != nil {
					return nil, invalidFetch("A fetch has exactly one entity element.")
				}
				n, _ := attr(t, "name")
				if n != def.LogicalName {
					return nil, invalidFetch("The fetchXml entity '%s' does not match the entity set '%s' (table '%s').", n, def.SetName, def.LogicalName)
				}
				doc.Entity = &fetchEntity{Name: n}
			case "attribute":
				fa := fetchAttr{}
				fa.Name, _ = attr(t, "name")
				fa.Alias, _ = attr(t, "alias")
				fa.Aggregate, _ = attr(t, "aggregate")
				fa.GroupBy, _ = attr(t, "groupby")
				fa.Distinct, _ = attr(t, "distinct")
				fa.DateGrouping, _ = attr(t, "dategrouping")
				doc.Entity.Attrs = append(doc.Entity.Attrs, fa)
			case "all-attributes":
				doc.Entity.All = true
			case "order":
				o := fetchOrder{}
				o.Attribute, _ = attr(t, "attribute")
				o.Alias, _ = attr(t, "alias")
				desc, _ := attr(t, "descending")
				o.Descending = desc == "true" || desc == "1"
				doc.Entity.Orders = append(doc.Entity.Orders, o)
			case "filter":
				typ, _ := attr(t, "type")
				f := &fetchFilter{or: strings.EqualFold(typ, "or")}
				if parent == "entity" {
					doc.Entity.Filters = append(doc.Entity.Filters, f)
				} else {
					top := filters[len(filters)-1]
					top.subs = append(top.subs, f)
				}
				filters = append(filters, f)
			case "condition":
				an, _ := attr(t, "attribute")
				if e, ok := attr(t, "entityname"); ok && e != "" {
					return nil, invalidFetch("Conditions on a linked table (entityname='%s') are not supported for this query.", e)
				}
				if _, ok := attr(t, "valueof"); ok {
					return nil, invalidFetch("Conditions comparing two columns (valueof) are not supported for this query.")
				}
				a := def.Attr(an)
				if a == nil {
					return nil, errf(400, codeQueryNoAttribute, "'%s' entity doesn't contain attribute with Name = '%s' and NameMapping = 'Logical'.", def.LogicalName, an)
				}
				op, _ := attr(t, "operator")
				cond = &fetchCondition{attr: a, op: op}
				cond.value, cond.hasValue = attr(t, "value")
			case "value":
				text.Reset()
			}
		case xml.CharData:
			text.Write(t)
		case xml.EndElement:
			name := stack[len(stack)-1]
			stack = stack[:len(stack)-1]
			switch name {
			case "value":
				cond.values = append(cond.values, strings.TrimSpace(text.String()))
			case "condition":
				f := filters[len(filters)-1]
				f.conds = append(f.conds, *cond)
				cond = nil
			case "filter":
				filters = filters[:len(filters)-1]
			}
		}
	}
	if doc == nil || doc.Entity == nil {
		return nil, invalidFetch("The fetchXml parameter has no fetch element with an entity element.")
	}
	for _, fa := range doc.Entity.Attrs {
		if def.Attr(fa.Name) == nil {
			return nil, errf(400, codeQueryNoAttribute, "'%s' entity doesn't contain attribute with Name = '%s' and NameMapping = 'Logical'.", def.LogicalName, fa.Name)
		}
	}
	for _, o := range doc.Entity.Orders {
		if o.Attribute != "" && def.Attr(o.Attribute) == nil {
			return nil, errf(400, codeQueryNoAttribute, "'%s' entity doesn't contain attribute with Name = '%s' and NameMapping = 'Logical'.", def.LogicalName, o.Attribute)
		}
	}
	for _, f := range doc.Entity.Filters {
		if derr := f.check(); derr != nil {
			return nil, derr
		}
	}
	return doc, nil
}

func attrOr(se xml.StartElement, name string) string {
	for _, a := range se.Attr {
		if a.Name.Local == name {
			return a.Value
		}
	}
	return ""
}

var fetchOperators = map[string]bool{"eq": true, "ne": true, "neq": true, "gt": true, "ge": true, "lt": true, "le": true,
	"in": true, "not-in": true, "null": true, "not-null": true, "like": true, "not-like": true, "begins-with": true,
	"not-begin-with": true, "ends-with": true, "not-end-with": true, "on": true, "on-or-after": true, "on-or-before": true,
	"between": true, "not-between": true}

func (f *fetchFilter) check() *dvError {
	for _, c := range f.conds {
		if !fetchOperators[c.op] {
			return invalidFetch("The condition operator '%s' (on '%s') is not supported for this query.", c.op, c.attr.Name)
		}
		switch c.op {
		case "null", "not-null":
		case "in", "not-in":
			if len(c.values) == 0 {
				return invalidFetch("The condition operator '%s' on '%s' needs one or more value elements.", c.op, c.attr.Name)
			}
		case "between", "not-between":
			if len(c.values) != 2 {
				return invalidFetch("The condition operator '%s' on '%s' needs two value elements.", c.op, c.attr.Name)
			}
		default:
			if !c.hasValue && len(c.values) != 1 {
				return invalidFetch("The condition operator '%s' on '%s' needs a value.", c.op, c.attr.Name)
			}
		}
		typed := !strings.Contains(c.op, "like") && !strings.Contains(c.op, "begin") && !strings.Contains(c.op, "end-with") && !strings.HasPrefix(c.op, "ends")
		vals := append([]string(nil), c.values...)
		if c.hasValue {
			vals = append(vals, c.value)
		}
		for _, v := range vals {
			if _, ok := fetchValue(c.attr, v); typed && c.op != "null" && c.op != "not-null" && !ok {
				return invalidFetch("The value '%s' is not valid for the column '%s' (%s).", v, c.attr.Name, c.attr.Type)
			}
		}
	}
	for _, s := range f.subs {
		if derr := s.check(); derr != nil {
			return derr
		}
	}
	return nil
}

// fetchValue converts a condition value to the stored representation.
func fetchValue(a *AttrDef, v string) (any, bool) {
	switch a.Type {
	case TLookup, TCustomer, TOwner, TUniqueID:
		v = strings.Trim(v, "{}")
		if !reGUID.MatchString(v) {
			return nil, false
		}
		return strings.ToLower(v), true
	case TInteger, TBigInt, TPicklist, TState, TStatus, TDecimal, TDouble, TMoney:
		f, err := strconv.ParseFloat(v, 64)
		return f, err == nil
	case TBoolean:
		switch strings.ToLower(v) {
		case "1", "true":
			return true, true
		case "0", "false":
			return false, true
		}
		return nil, false
	case TDateTime:
		if t, err := parseDVTime(v); err == nil {
			return t, true
		}
		for _, l := range []string{"1/2/2006", "1/2/2006 3:04 PM", "1/2/2006 15:04:05"} {
			if t, err := time.Parse(l, v); err == nil {
				return t.UTC(), true
			}
		}
		return nil, false
	}
	return v, true
}

func (f *fetchFilter) match(get getter) bool {
	if len(f.conds) == 0 && len(f.subs) == 0 {
		return true
	}
	for _, c := range f.conds {
		r := c.match(get)
		if f.or && r {
			return true
		}
		if !f.or && !r {
			return false
		}
	}
	for _, s := range f.subs {
		r := s.match(get)
		if f.or && r {
			return true
		}
		if !f.or && !r {
			return false
		}
	}
	return !f.or
}

func likeRegexp(pattern string) *regexp.Regexp {
	var b strings.Builder
	b.WriteString("(?is)^")
	for _, r := range pattern {
		switch r {
		case '%':
			b.WriteString(".*")
		case '_':
			b.WriteString(".")
		default:
			b.WriteString(regexp.QuoteMeta(string(r)))
		}
	}
	b.WriteString("$")
	return regexp.MustCompile(b.String())
}

func dayOf(t time.Time) time.Time {
	return time.Date(t.Year(), t.Month(), t.Day(), 0, 0, 0, 0, time.UTC)
}

func (c fetchCondition) match(get getter) bool {
	raw, _ := get(c.attr.Name)
	v := normalize(raw)
	if c.op == "null" {
		return v == nil
	}
	if c.op == "not-null" {
		return v != nil
	}
	if v == nil {
		return c.op == "ne" || c.op == "neq" || c.op == "not-in" || c.op == "not-like" || c.op == "not-begin-with" || c.op == "not-end-with"
	}
	one := c.value
	if !c.hasValue && len(c.values) > 0 {
		one = c.values[0]
	}
	cmp := func(s string) (int, bool) {
		w, ok := fetchValue(c.attr, s)
		if !ok {
			return 0, false
		}
		return compare(v, normalize(w))
	}
	str, _ := v.(string)
	switch c.op {
	case "eq":
		r, ok := cmp(one)
		return ok && r == 0
	case "ne", "neq":
		r, ok := cmp(one)
		return !ok || r != 0
	case "gt", "ge", "lt", "le":
		r, ok := cmp(one)
		return ok && (c.op == "gt" && r > 0 || c.op == "ge" && r >= 0 || c.op == "lt" && r < 0 || c.op == "le" && r <= 0)
	case "in", "not-in":
		in := false
		for _, s := range c.values {
			if r, ok := cmp(s); ok && r == 0 {
				in = true
			}
		}
		return in == (c.op == "in")
	case "like", "not-like":
		return likeRegexp(one).MatchString(str) == (c.op == "like")
	case "begins-with", "not-begin-with":
		return strings.HasPrefix(strings.ToLower(str), strings.ToLower(one)) == (c.op == "begins-with")
	case "ends-with", "not-end-with":
		return strings.HasSuffix(strings.ToLower(str), strings.ToLower(one)) == (c.op == "ends-with")
	case "on", "on-or-after", "on-or-before":
		t, ok1 := v.(time.Time)
		w, ok2 := fetchValue(c.attr, one)
		if !ok1 || !ok2 {
			return false
		}
		d, wd := dayOf(t), dayOf(w.(time.Time))
		return c.op == "on" && d.Equal(wd) || c.op == "on-or-after" && !d.Before(wd) || c.op == "on-or-before" && !d.After(wd)
	case "between", "not-between":
		lo, ok1 := cmp(c.values[0])
		hi, ok2 := cmp(c.values[1])
		return (ok1 && ok2 && lo >= 0 && hi <= 0) == (c.op == "between")
	}
	return false
}

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
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, rc.base+"$metadata#"+def.SetName)
	b = e.appendAggRows(b, rows, groups, aggs, p.ann)
	b = append(b, '}')
	if p.hasAnn {
		w.Header().Set("Preference-Applied", p.ann.header)
	}
	writeBody(w, 200, b)
}
