package dataversesim

import (
	"net/http"
	"net/url"
	"regexp"
	"sort"
	"strconv"
	"strings"
)

// Collection reads (reference 1): $select, $filter, $orderby, $top, $count,
// Prefer odata.maxpagesize (default and maximum 5000) with a paging-cookie
// $skiptoken, and annotations.

const maxPageSize = 5000

// prefs is the parsed Prefer header(s).
type prefs struct {
	maxPageSize    int
	ann            annotations
	hasAnn         bool
	trackChanges   bool
	returnRep      bool
	continueOnErr  bool
	maxPageApplied bool
}

// splitPrefer splits on commas outside double quotes.
func splitPrefer(h string) []string {
	var out []string
	inQ, start := false, 0
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '"':
			inQ = !inQ
		case ',':
			if !inQ {
				out = append(out, strings.TrimSpace(h[start:i]))
				start = i + 1
			}
		}
	}
	return append(out, strings.TrimSpace(h[start:]))
}

func parsePrefs(h http.Header) prefs {
	p := prefs{maxPageSize: maxPageSize}
	for _, line := range h.Values("Prefer") {
		for _, item := range splitPrefer(line) {
			k, v, _ := strings.Cut(item, "=")
			switch strings.ToLower(strings.TrimSpace(k)) {
			case "odata.maxpagesize":
				if n, err := strconv.Atoi(strings.Trim(v, `" `)); err == nil && n > 0 && n <= maxPageSize {
					p.maxPageSize, p.maxPageApplied = n, true
				}
			case "odata.include-annotations":
				p.ann, p.hasAnn = parseAnnotations(strings.TrimSpace(v)), true
			case "odata.track-changes":
				p.trackChanges = true
			case "return":
				p.returnRep = strings.Trim(v, `"`) == "representation"
			case "odata.continue-on-error":
				p.continueOnErr = true
			}
		}
	}
	return p
}

// selectColumns resolves $select (nil = all columns). Lookups are
// selected as _x_value; the primary key is always returned and money
// columns bring _transactioncurrencyid_value. A single-valued navigation
// property (ownerid, parentaccountid, customerid_account...) is not a
// column: "you can't use $select" on it (powerapps-docs, developer/
// data-platform/webapi/query/select-columns.md, "Lookup property data"), and
// Dataverse then answers the whole record (reference 11), so that is what
// comes back: nothing in it is named after the navigation property. Any
// other unknown name answers 400 "Could not find a property named ...".
func selectColumns(def *TableDef, sel string) ([]*AttrDef, *dvError) {
	if sel == "" {
		return nil, nil
	}
	var cols []*AttrDef
	seen := map[*AttrDef]bool{}
	add := func(a *AttrDef) {
		if a != nil && !seen[a] {
			seen[a] = true
			cols = append(cols, a)
		}
	}
	add(def.Attr(def.PrimaryID))
	whole := false
	for _, n := range strings.Split(sel, ",") {
		n = strings.TrimSpace(n)
		if _, isNav := def.navIdx[n]; isNav {
			whole = true
			continue
		}
		a := def.Attr(n)
		if a != nil && a.IsLookup() {
			a = nil // a lookup's property is _x_value
		}
		if a == nil && strings.HasPrefix(n, "_") && strings.HasSuffix(n, "_value") {
			if la := def.Attr(strings.TrimSuffix(strings.TrimPrefix(n, "_"), "_value")); la != nil && la.IsLookup() {
				a = la
			}
		}
		if a != nil && a.IsLookup() && a.Name == n {
			if _, isNav := def.navIdx[n]; isNav {
				whole = true
				continue
			}
			a = nil
		}
		if a == nil {
			return nil, noProperty(n, def.LogicalName)
		}
		add(a)
		if a.Type == TMoney {
			add(def.Attr("transactioncurrencyid"))
		}
	}
	if whole {
		return nil, nil
	}
	return cols, nil
}

// propGetter exposes a record to $filter.
func propGetter(def *TableDef, rec *Record) getter {
	return func(name string) (any, bool) {
		if name == def.PrimaryID {
			return rec.ID, true
		}
		if a := def.attrIdx[name]; a != nil {
			return rec.Vals[a.idx], true
		}
		if strings.HasPrefix(name, "_") && strings.HasSuffix(name, "_value") {
			if a := def.attrIdx[name[1:len(name)-6]]; a != nil {
				return rec.Vals[a.idx], true
			}
		}
		return nil, false
	}
}

func knownProp(def *TableDef) func(string) bool {
	return func(name string) bool {
		_, ok := propGetter(def, &Record{Vals: make([]any, len(def.Attrs))})(name)
		return ok
	}
}

// cookie is the decoded $skiptoken.
type cookie struct {
	page       int
	last       string
	tracking   bool
	trackVer   int64
	hasTracked bool
}

var (
	reCookiePage = regexp.MustCompile(`pagenumber="(\d+)"`)
	reCookieIn   = regexp.MustCompile(`pagingcookie="([^"]*)"`)
	reCookieLast = regexp.MustCompile(`last="\{?([0-9A-Fa-f-]{36})\}?"`)
	reCookieTrk  = regexp.MustCompile(`istracking="(\w+)"`)
	reCookieVer  = regexp.MustCompile(`trackingversion="(\d+)"`)
)

func parseCookie(s string) (cookie, bool) {
	var c cookie
	m := reCookiePage.FindStringSubmatch(s)
	if m == nil {
		return c, false
	}
	c.page, _ = strconv.Atoi(m[1])
	if m := reCookieIn.FindStringSubmatch(s); m != nil {
		inner, err := url.QueryUnescape(m[1])
		if err != nil {
			inner = m[1]
		}
		if inner2, err := url.QueryUnescape(inner); err == nil && strings.Contains(inner2, "<") {
			inner = inner2
		}
		if lm := reCookieLast.FindStringSubmatch(inner); lm != nil {
			c.last = strings.ToLower(lm[1])
		}
	}
	if m := reCookieTrk.FindStringSubmatch(s); m != nil {
		c.tracking = strings.EqualFold(m[1], "true")
	}
	if m := reCookieVer.FindStringSubmatch(s); m != nil {
		c.trackVer, _ = strconv.ParseInt(m[1], 10, 64)
		c.hasTracked = true
	}
	return c, true
}

// escapeAll percent-encodes everything but unreserved characters; lower
// selects lowercase hex, as the inner paging cookie is encoded.
func escapeAll(s string, lower bool) string {
	hex := "0123456789ABCDEF"
	if lower {
		hex = hexDigits
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.' || c == '~' {
			b.WriteByte(c)
			continue
		}
		b.WriteByte('%')
		b.WriteByte(hex[c>>4])
		b.WriteByte(hex[c&15])
	}
	return b.String()
}

// skiptoken builds the documented cookie shape: the inner cookie is
// URL-encoded once inside the attribute and once more in the link.
func skiptoken(pk string, nextPage int, first, last string, tracking bool, trackVer int64) string {
	inner := `<cookie page="` + strconv.Itoa(nextPage-1) + `"><` + pk + ` last="{` + strings.ToUpper(last) + `}" first="{` + strings.ToUpper(first) + `}" /></cookie>`
	trk := "False"
	extra := ""
	if tracking {
		trk = "True"
		if trackVer > 0 {
			extra = ` trackingversion="` + strconv.FormatInt(trackVer, 10) + `"`
		}
	}
	c := `<cookie pagenumber="` + strconv.Itoa(nextPage) + `" pagingcookie="` + escapeAll(inner, true) + `" istracking="` + trk + `"` + extra + ` />`
	return escapeAll(c, false)
}

// linkWith rebuilds the request URL with extra, keeping the other query options.
func (rc *reqCtx) linkWith(set string, q url.Values, drop []string, extraKey, extraVal string) string {
	var parts []string
	keys := make([]string, 0, len(q))
	for k := range q {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		skip := false
		for _, d := range drop {
			if k == d {
				skip = true
			}
		}
		if skip {
			continue
		}
		for _, v := range q[k] {
			parts = append(parts, escapeQueryKey(k)+"="+escapeQueryValue(v))
		}
	}
	if extraKey != "" {
		parts = append(parts, extraKey+"="+extraVal)
	}
	u := rc.base + set
	if len(parts) > 0 {
		u += "?" + strings.Join(parts, "&")
	}
	return u
}

func escapeQueryKey(k string) string { return strings.ReplaceAll(url.QueryEscape(k), "%24", "$") }

func escapeQueryValue(v string) string {
	s := url.QueryEscape(v)
	s = strings.ReplaceAll(s, "+", "%20")
	return strings.NewReplacer("%2C", ",", "%27", "'", "%28", "(", "%29", ")", "%3A", ":").Replace(s)
}

// contextURL is @odata.context for a collection with a $select.
func (rc *reqCtx) contextURL(set string, cols []*AttrDef, suffix string) string {
	s := rc.base + "$metadata#" + set
	if cols != nil {
		names := make([]string, len(cols))
		for i, a := range cols {
			names[i] = outputName(a)
		}
		s += "(" + strings.Join(names, ",") + ")"
	}
	return s + suffix
}

// The system query options a request may carry (reference 1). Dataverse
// refuses $skip, $search and $format; any other option the simulator does
// not implement is refused too rather than ignored, so a client never gets
// rows it did not ask for. Custom options without '$' (for example the
// tag=... of bulk-operations.md) are ignored as OData says, except the
// predefined-query ones, which would change the rows returned.
var (
	collectionOptions = map[string]bool{"$select": true, "$filter": true, "$orderby": true, "$top": true, "$count": true,
		"$expand": true, "$skiptoken": true, "$deltatoken": true, "$apply": true, "fetchXml": true}
	entityOptions = map[string]bool{"$select": true, "$expand": true}
)

func checkQueryOptions(q url.Values, allowed map[string]bool) *dvError {
	for k := range q {
		if allowed[k] || strings.HasPrefix(k, "@") {
			continue
		}
		if strings.HasPrefix(k, "$") || k == "savedQuery" || k == "userQuery" {
			return unsupportedQueryOption(k)
		}
	}
	return nil
}

// aliasesOf resolves parameter aliases (@p1) from the query string.
func aliasesOf(q url.Values) func(string) (string, bool) {
	return func(name string) (string, bool) {
		v, ok := q[name]
		if !ok || len(v) == 0 {
			return "", false
		}
		return v[0], true
	}
}

// queryValues parses a raw query string on '&' only. url.ParseQuery drops
// any pair holding a ';', and OData uses ';' between the options nested in
// $expand (Attributes($select=LogicalName;$filter=...)).
func queryValues(raw string) url.Values {
	q := url.Values{}
	for _, pair := range strings.Split(raw, "&") {
		if pair == "" {
			continue
		}
		k, v, _ := strings.Cut(pair, "=")
		uk, err1 := url.QueryUnescape(k)
		uv, err2 := url.QueryUnescape(v)
		if err1 != nil || err2 != nil {
			uk, uv = k, v
		}
		q[uk] = append(q[uk], uv)
	}
	return q
}
