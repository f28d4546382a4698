package dataversesim

import (
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// $apply aggregation (powerapps-docs, developer/data-platform/webapi/query/
// aggregate-data.md), the subset Dataverse supports:
//
//	$apply=aggregate($count as n)
//	$apply=aggregate(revenue with sum as total, createdon with max as last)
//	$apply=groupby((statuscode))                       distinct values
//	$apply=groupby((statuscode,statecode),aggregate($count as n))
//	$apply=filter(statecode eq 0)/groupby((statuscode),aggregate(...))
//
// Methods: sum, average, min, max, countdistinct, and $count. Groups come
// ordered by their values; a null group value is left out of its row, as
// the documented "distinct" example shows. Aggregates see at most 50,000
// rows (AggregateQueryRecordLimit, 0x8004E023); grouping by a date and
// ordering by an aggregate value are refused with the documented errors;
// grouping by a related table's column (primarycontactid/fullname) is not
// implemented and refused. FetchXML aggregates (fetchxml.go) share this.

// aggregateLimit is the most rows an aggregate may read (aggregate-data.md).
var aggregateLimit = 50000

// aggSpec is one aggregate value of a result row.
type aggSpec struct {
	alias  string
	method string   // count (rows), countcolumn, countdistinct, sum, avg, min, max
	attr   *AttrDef // nil for a row count
}

// groupSpec is one grouping column.
type groupSpec struct {
	name string // output property
	attr *AttrDef
}

// aggRow is one result row: group values, then aggregate values.
type aggRow struct {
	keys []any
	vals []any
}

func aggregateLimitError() *dvError {
	return errf(400, codeAggregateLimit, "AggregateQueryRecordLimit exceeded. Cannot perform this operation.")
}

// runAggregate groups recs and computes the aggregates of each group.
func runAggregate(def *TableDef, recs []*Record, groups []groupSpec, aggs []aggSpec) ([]aggRow, *dvError) {
	if len(recs) > aggregateLimit {
		return nil, aggregateLimitError()
	}
	type bucket struct {
		keys []any
		recs []*Record
	}
	index := map[string]*bucket{}
	var order []*bucket
	for _, rec := range recs {
		get := propGetter(def, rec)
		keys := make([]any, len(groups))
		var sig strings.Builder
		for i, g := range groups {
			v, _ := get(g.attr.Name)
			keys[i] = v
			sig.WriteString(groupKey(v))
			sig.WriteByte(0)
		}
		b := index[sig.String()]
		if b == nil {
			b = &bucket{keys: keys}
			index[sig.String()] = b
			order = append(order, b)
		}
		b.recs = append(b.recs, rec)
	}
	if len(groups) == 0 && len(order) == 0 {
		order = append(order, &bucket{}) // an aggregate over no rows is one row
	}
	sort.SliceStable(order, func(i, j int) bool {
		for k := range groups {
			a, b := normalize(order[i].keys[k]), normalize(order[j].keys[k])
			if a == nil || b == nil {
				if (a == nil) != (b == nil) {
					return a == nil
				}
				continue
			}
			if c, _ := compare(a, b); c != 0 {
				return c < 0
			}
		}
		return false
	})
	out := make([]aggRow, len(order))
	for i, b := range order {
		row := aggRow{keys: b.keys, vals: make([]any, len(aggs))}
		for j, a := range aggs {
			row.vals[j] = aggValue(def, a, b.recs)
		}
		out[i] = row
	}
	return out, nil
}

func groupKey(v any) string {
	switch x := v.(type) {
	case nil:
		return "\x01"
	case Ref:
		return x.ID
	case time.Time:
		return x.Format(time.RFC3339Nano)
	case string:
		return strings.ToLower(x)
	}
	return strconv.Quote(toString(v))
}

func toString(v any) string {
	switch x := v.(type) {
	case string:
		return x
	case int64:
		return strconv.FormatInt(x, 10)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	case bool:
		return strconv.FormatBool(x)
	}
	return ""
}

// aggValue computes one aggregate over a group's rows (nil for no value).
func aggValue(def *TableDef, a aggSpec, recs []*Record) any {
	if a.method == "count" {
		return int64(len(recs))
	}
	var vals []any
	for _, rec := range recs {
		if v, _ := propGetter(def, rec)(a.attr.Name); v != nil {
			vals = append(vals, v)
		}
	}
	switch a.method {
	case "countcolumn":
		return int64(len(vals))
	case "countdistinct":
		seen := map[string]bool{}
		for _, v := range vals {
			seen[groupKey(v)] = true
		}
		return int64(len(seen))
	case "sum", "avg":
		if len(vals) == 0 {
			return nil
		}
		sum := 0.0
		for _, v := range vals {
			f, _ := normalize(v).(float64)
			sum += f
		}
		if a.method == "avg" {
			return sum / float64(len(vals))
		}
		return sum
	case "min", "max":
		var best any
		for _, v := range vals {
			if best == nil {
				best = v
				continue
			}
			c, _ := compare(normalize(v), normalize(best))
			if a.method == "min" && c < 0 || a.method == "max" && c > 0 {
				best = v
			}
		}
		return best
	}
	return nil
}

// numeric reports whether sum and average apply to a column.
func numeric(a *AttrDef) bool {
	switch a.Type {
	case TInteger, TBigInt, TDecimal, TDouble, TMoney:
		return true
	}
	return false
}

// appendAggRows writes the value array of an aggregate answer.
func (e *Env) appendAggRows(b []byte, rows []aggRow, groups []groupSpec, aggs []aggSpec, ann annotations) []byte {
	b = append(b, `,"value":[`...)
	for i, row := range rows {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		first := true
		prop := func(name string, a *AttrDef, v any, formatted string) {
			if !first {
				b = append(b, ',')
			}
			first = false
			if ann.formatted && formatted != "" {
				b = appendKey(b, name+"@OData.Community.Display.V1.FormattedValue")
				b = appendJSONString(b, formatted)
				b = append(b, ',')
			}
			b = appendKey(b, name)
			b = e.appendValue(b, a, v)
		}
		for k, g := range groups {
			v := row.keys[k]
			if v == nil {
				continue
			}
			prop(g.name, g.attr, v, e.formatted(g.attr, v))
		}
		for k, a := range aggs {
			v := row.vals[k]
			f := ""
			switch x := v.(type) {
			case int64:
				f = formatThousands(float64(x), 0)
			case float64:
				if a.attr.Type == TMoney {
					f = "$" + formatThousands(x, 2)
				} else {
					f = formatThousands(x, 2)
				}
			case nil:
			default:
				f = e.formatted(a.attr, v)
			}
			prop(a.alias, a.attr, v, f)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// parseApply reads the $apply transformations.
func parseApply(def *TableDef, s string, aliases func(string) (string, bool)) (filters []filterNode, groups []groupSpec, aggs []aggSpec, derr *dvError) {
	for _, step := range splitList(s, '/') {
		name, args, ok := strings.Cut(step, "(")
		if !ok || !strings.HasSuffix(args, ")") {
			return nil, nil, nil, errf(400, codeBadRequest, "Syntax error at position %d in '%s'.", len(s), s)
		}
		args = strings.TrimSuffix(args, ")")
		switch strings.TrimSpace(name) {
		case "filter":
			node, err := parseFilterWith(args, knownProp(def), aliases)
			if err != nil {
				return nil, nil, nil, filterDVError(err, args, def.LogicalName)
			}
			filters = append(filters, node)
		case "groupby":
			parts := splitList(args, ',')
			if len(parts) == 0 || !strings.HasPrefix(parts[0], "(") || !strings.HasSuffix(parts[0], ")") {
				return nil, nil, nil, errf(400, codeBadRequest, "Syntax error at position %d in '%s'.", len(s), s)
			}
			for _, p := range splitList(strings.Trim(parts[0], "()"), ',') {
				if strings.Contains(p, "/") {
					return nil, nil, nil, errf(400, codeBadRequest, "Grouping by a column of a related table ('%s') is not supported; group by the lookup (_x_value) instead.", p)
				}
				a := columnOf(def, p)
				if a == nil {
					return nil, nil, nil, noProperty(p, def.LogicalName)
				}
				if a.Type == TDateTime {
					// aggregate-data.md: "groupby with datetime values is not supported".
					return nil, nil, nil, errf(400, codeBadRequest, "groupby with datetime values is not supported ('%s').", p)
				}
				groups = append(groups, groupSpec{name: p, attr: a})
			}
			for _, p := range parts[1:] {
				inner, ok := strings.CutPrefix(p, "aggregate(")
				if !ok || !strings.HasSuffix(inner, ")") {
					return nil, nil, nil, errf(400, codeBadRequest, "Syntax error at position %d in '%s'.", len(s), s)
				}
				a, derr := parseAggregates(def, strings.TrimSuffix(inner, ")"))
				if derr != nil {
					return nil, nil, nil, derr
				}
				aggs = append(aggs, a...)
			}
		case "aggregate":
			a, derr := parseAggregates(def, args)
			if derr != nil {
				return nil, nil, nil, derr
			}
			aggs = append(aggs, a...)
		default:
			return nil, nil, nil, errf(400, codeBadRequest, "The transformation '%s' is not supported in $apply.", strings.TrimSpace(name))
		}
	}
	return filters, groups, aggs, nil
}

// columnOf resolves a property name ($select style: lookups as _x_value).
func columnOf(def *TableDef, name string) *AttrDef {
	if a := def.Attr(name); a != nil && !a.IsLookup() {
		return a
	}
	if strings.HasPrefix(name, "_") && strings.HasSuffix(name, "_value") {
		if a := def.Attr(name[1 : len(name)-6]); a != nil && a.IsLookup() {
			return a
		}
	}
	return nil
}

var applyMethods = map[string]string{"sum": "sum", "average": "avg", "min": "min", "max": "max", "countdistinct": "countdistinct"}

// parseAggregates reads "$count as n, revenue with sum as total".
func parseAggregates(def *TableDef, s string) ([]aggSpec, *dvError) {
	var out []aggSpec
	for _, item := range splitList(s, ',') {
		f := strings.Fields(item)
		switch {
		case len(f) == 3 && f[0] == "$count" && f[1] == "as":
			out = append(out, aggSpec{alias: f[2], method: "count"})
		case len(f) == 5 && f[1] == "with" && f[3] == "as":
			m, ok := applyMethods[f[2]]
			if !ok {
				return nil, errf(400, codeBadRequest, "The aggregation method '%s' is not supported.", f[2])
			}
			a := columnOf(def, f[0])
			if a == nil {
				return nil, noProperty(f[0], def.LogicalName)
			}
			if (m == "sum" || m == "avg") && !numeric(a) {
				return nil, errf(400, codeBadRequest, "The aggregation method '%s' cannot be applied to '%s', which is not numeric.", f[2], f[0])
			}
			out = append(out, aggSpec{alias: f[4], method: m, attr: a})
		default:
			return nil, errf(400, codeBadRequest, "Syntax error in the aggregate expression '%s'.", item)
		}
	}
	return out, nil
}

func (e *Env) aggregate(rc *reqCtx, w http.ResponseWriter, td *tableData, q url.Values, p prefs) {
	def := td.def
	if p.trackChanges {
		writeDVError(w, errf(400, codeBadRequest, `The "$apply" query parameter isn't supported when Change Tracking is enabled.`))
		return
	}
	for _, bad := range []string{"$select", "$expand", "$skiptoken"} {
		if q.Has(bad) {
			writeDVError(w, errf(400, codeBadRequest, "The query parameter %s cannot be combined with $apply.", bad))
			return
		}
	}
	filters, groups, aggs, derr := parseApply(def, q.Get("$apply"), aliasesOf(q))
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	if f := q.Get("$filter"); f != "" {
		node, err := parseFilterWith(f, knownProp(def), aliasesOf(q))
		if err != nil {
			writeDVError(w, filterDVError(err, f, def.LogicalName))
			return
		}
		filters = append(filters, node)
	}
	if ob := q.Get("$orderby"); ob != "" {
		for _, part := range strings.Split(ob, ",") {
			name := strings.Fields(part)
			if len(name) == 0 {
				continue
			}
			isGroup := false
			for _, g := range groups {
				isGroup = isGroup || g.name == name[0]
			}
			if !isGroup {
				// aggregate-data.md: "$orderby with aggregate values is not supported".
				writeDVError(w, errf(400, codeBadRequest, "The query node SingleValueOpenPropertyAccess is not supported"))
				return
			}
		}
	}
	var recs []*Record
	for _, id := range td.ids {
		rec := td.recs[id]
		ok := true
		for _, f := range filters {
			ok = ok && f.eval(propGetter(def, rec))
		}
		if ok {
			recs = append(recs, rec)
		}
	}
	rows, derr := runAggregate(def, recs, groups, aggs)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	if ob := q.Get("$orderby"); ob != "" {
		sortAggRows(rows, groups, ob)
	}
	if t := q.Get("$top"); t != "" {
		if n, err := strconv.Atoi(t); err == nil && n >= 0 && n < len(rows) {
			rows = rows[:n]
		}
	}
	rc.records = len(recs)
	e.writeAggRows(w, rc, def, rows, groups, aggs, p)
}

// sortAggRows orders result rows by group columns ("name desc, ...").
func sortAggRows(rows []aggRow, groups []groupSpec, ob string) {
	type key struct {
		i    int
		desc bool
	}
	var keys []key
	for _, part := range strings.Split(ob, ",") {
		f := strings.Fields(part)
		for i, g := range groups {
			if len(f) > 0 && g.name == f[0] {
				keys = append(keys, key{i, len(f) > 1 && strings.EqualFold(f[1], "desc")})
			}
		}
	}
	sort.SliceStable(rows, func(a, b int) bool {
		for _, k := range keys {
			x, y := normalize(rows[a].keys[k.i]), normalize(rows[b].keys[k.i])
			if x == nil || y == nil {
				if (x == nil) != (y == nil) {
					return (x == nil) != k.desc
				}
				continue
			}
			if c, _ := compare(x, y); c != 0 {
				return (c < 0) != k.desc
			}
		}
		return false
	})
}

// writeAggRows answers aggregate rows, from $apply or an aggregate
// fetchXml, as a collection of the table's entity set.
func (e *Env) writeAggRows(w http.ResponseWriter, rc *reqCtx, def *TableDef, rows []aggRow, groups []groupSpec, aggs []aggSpec, p prefs) {
	b := []byte(`{"@odata.context":`)
	b = appendJSONString(b, rc.base+"$metadata#"+def.SetName)
	b = e.appendAggRows(b, rows, groups, aggs, p.ann)
	b = append(b, '}')
	if p.hasAnn {
		w.Header().Set("Preference-Applied", p.ann.header)
	}
	writeBody(w, 200, b)
}
