package dataversesim

import (
	"net/url"
	"strings"
)

// Query options of metadata requests (powerapps-docs, developer/
// data-platform/webapi/query-metadata-web-api.md): $select and $filter on
// any property of the requested type (enum literals and complex /Value
// paths included), $expand of collection-valued navigation properties with
// nested options separated by ';' (Attributes($select=LogicalName;$filter=...)).
// No paging: every match comes in the first response.

// metaQuery is the options of one metadata request or one nested $expand.
type metaQuery struct {
	sel    []string // nil = every property
	filter string
	expand map[string]*metaQuery
	// orderby and top are only taken by $expand on table data (expand.go).
	orderby, top string
}

// parseMetaQuery reads the top-level options.
func parseMetaQuery(q url.Values) (*metaQuery, *dvError) {
	for k := range q {
		if strings.HasPrefix(k, "$") && k != "$select" && k != "$filter" && k != "$expand" {
			return nil, unsupportedQueryOption(k)
		}
	}
	mq := &metaQuery{filter: q.Get("$filter")}
	if s := q.Get("$select"); s != "" {
		mq.sel = splitList(s, ',')
	}
	if x := q.Get("$expand"); x != "" {
		var derr *dvError
		if mq.expand, derr = parseExpand(x); derr != nil {
			return nil, derr
		}
	}
	return mq, nil
}

// parseExpand reads "A($select=x,y;$filter=f),B".
func parseExpand(s string) (map[string]*metaQuery, *dvError) {
	out := map[string]*metaQuery{}
	for _, item := range splitList(s, ',') {
		name, opts, hasOpts := strings.Cut(item, "(")
		name = strings.TrimSpace(name)
		nq := &metaQuery{}
		if hasOpts {
			if !strings.HasSuffix(opts, ")") {
				return nil, errf(400, codeBadRequest, "Syntax error at position %d in '%s'.", len(s), s)
			}
			for _, opt := range splitList(strings.TrimSuffix(opts, ")"), ';') {
				k, v, _ := strings.Cut(opt, "=")
				switch strings.TrimSpace(k) {
				case "$select":
					nq.sel = splitList(v, ',')
				case "$filter":
					nq.filter = v
				case "$expand":
					x, derr := parseExpand(v)
					if derr != nil {
						return nil, derr
					}
					nq.expand = x
				case "$orderby":
					nq.orderby = v
				case "$top":
					nq.top = v
				default:
					return nil, unsupportedQueryOption(strings.TrimSpace(k))
				}
			}
		}
		out[name] = nq
	}
	return out, nil
}

// splitList splits on sep outside parentheses and quotes, trimming items.
func splitList(s string, sep byte) []string {
	var out []string
	depth, inQ, start := 0, false, 0
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\'':
			inQ = !inQ
		case inQ:
		case c == '(':
			depth++
		case c == ')':
			depth--
		case c == sep && depth == 0:
			if t := strings.TrimSpace(s[start:i]); t != "" {
				out = append(out, t)
			}
			start = i + 1
		}
	}
	if t := strings.TrimSpace(s[start:]); t != "" {
		out = append(out, t)
	}
	return out
}

// checkSelect answers 400 for a selected name the type does not have.
func checkSelect(sel []string, props map[string]bool, typeName string) *dvError {
	for _, p := range sel {
		if !props[p] {
			return noProperty(p, typeName)
		}
	}
	return nil
}

// checkExpand answers 400 for an expanded name that is not a navigation
// property of the type.
func checkExpand(expand map[string]*metaQuery, navs map[string]bool, typeName string) *dvError {
	for name := range expand {
		if !navs[name] {
			return noProperty(name, typeName)
		}
	}
	return nil
}

// metaGetter exposes a metadata map to $filter: plain properties, and
// complex ones through their Value (CanCreateAttributes/Value,
// RequiredLevel/Value, AttributeTypeName/Value).
func metaGetter(m map[string]any) getter {
	return func(n string) (any, bool) {
		head, sub, hasSub := strings.Cut(n, "/")
		v, ok := m[head]
		if hasSub {
			c, _ := v.(map[string]any)
			v = c[sub]
		}
		if x, isInt := v.(int); isInt {
			return float64(x), ok
		}
		return v, ok
	}
}

// filterMetaList applies $filter, checking names against the type.
func filterMetaList(list []map[string]any, f string, props map[string]bool, typeName string) ([]map[string]any, *dvError) {
	if f == "" {
		return list, nil
	}
	known := func(n string) bool {
		head, _, _ := strings.Cut(n, "/")
		return props[head]
	}
	node, err := parseFilter(f, known)
	if err != nil {
		return nil, filterDVError(err, f, typeName)
	}
	var out []map[string]any
	for _, m := range list {
		if node.eval(metaGetter(m)) {
			out = append(out, m)
		}
	}
	return out, nil
}

// project keeps the selected properties (nil = all), MetadataId and the
// derived-type annotation; a selected property the simulator does not
// model reads as null. Expanded navigation properties are kept.
func project(m map[string]any, sel []string) map[string]any {
	if sel == nil {
		return m
	}
	out := map[string]any{"MetadataId": m["MetadataId"]}
	if t, ok := m["@odata.type"]; ok {
		out["@odata.type"] = t
	}
	for _, k := range sel {
		out[k] = m[k]
	}
	for _, k := range []string{"OptionSet", "GlobalOptionSet"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// contextSuffix is the (a,b,c) part of @odata.context for a $select.
func contextSuffix(sel []string) string {
	if sel == nil {
		return ""
	}
	return "(" + strings.Join(sel, ",") + ")"
}
