package dataversesim

import (
	"fmt"
	"net/url"
	"regexp"
	"sort"
	"strings"
	"testing"
)

// FetchXML through the Web API (powerapps-docs, developer/data-platform/
// webapi/use-fetchxml-web-api.md and fetchxml/reference/*.md).

func fetchURL(set, fetch string) string {
	return set + "?fetchXml=" + url.QueryEscape(fetch)
}

func TestFetchXMLAttributesFilterOrderNulls(t *testing.T) {
	_, e := small(t)
	id, err := e.Create("contact", map[string]any{"lastname": "Zz Fetch", "firstname": "Nulljob"})
	if err != nil {
		t.Fatal(err)
	}
	r := call(t, e, "GET", fetchURL("contacts", `<fetch mapping='logical'><entity name='contact'><attribute name='fullname'/><attribute name='jobtitle'/>`+
		`<filter><condition attribute='contactid' operator='eq' value='{`+strings.ToUpper(id)+`}'/></filter></entity></fetch>`), nil)
	want(t, r, 200)
	if len(r.values()) != 1 {
		t.Fatalf("eq on the key: %s", r.raw)
	}
	row := r.values()[0].(map[string]any)
	if _, ok := row["jobtitle"]; ok || row["contactid"] != id || !strings.HasSuffix(r.body["@odata.context"].(string), "#contacts(contactid,fullname,jobtitle)") {
		t.Fatalf("null columns must be left out of FetchXML rows: %s", r.raw)
	}
	// Order, operators and a nested or filter.
	r = call(t, e, "GET", fetchURL("contacts", `<fetch><entity name='contact'><attribute name='fullname'/><attribute name='createdon'/>`+
		`<order attribute='fullname' descending='true'/><filter type='and'><condition attribute='statecode' operator='eq' value='0'/>`+
		`<condition attribute='createdon' operator='on-or-after' value='2000-01-01'/><filter type='or'>`+
		`<condition attribute='fullname' operator='like' value='%a%'/><condition attribute='fullname' operator='begins-with' value='Zz'/></filter></filter></entity></fetch>`), nil)
	want(t, r, 200)
	var names []string
	for _, v := range r.values() {
		n := v.(map[string]any)["fullname"].(string)
		if !strings.Contains(strings.ToLower(n), "a") && !strings.HasPrefix(n, "Zz") {
			t.Fatalf("filter let through %q", n)
		}
		names = append(names, strings.ToLower(n))
	}
	if len(names) < 2 || !sort.SliceIsSorted(names, func(i, j int) bool { return names[i] > names[j] }) {
		t.Fatalf("descending order: %v", names)
	}
	// in / not-null / lt on a choice.
	r = call(t, e, "GET", fetchURL("accounts", `<fetch><entity name='account'><attribute name='industrycode'/><filter>`+
		`<condition attribute='industrycode' operator='in'><value>1</value><value>2</value></condition>`+
		`<condition attribute='industrycode' operator='not-null'/></filter></entity></fetch>`), nil)
	want(t, r, 200)
	if len(r.values()) == 0 {
		t.Fatal("in matched nothing")
	}
	for _, v := range r.values() {
		if c := v.(map[string]any)["industrycode"].(float64); c != 1 && c != 2 {
			t.Fatalf("in let through %v", c)
		}
	}
}

func TestFetchXMLPagingCookie(t *testing.T) {
	_, e := small(t)
	all := e.IDs("account")
	seen := map[string]bool{}
	cookie, page, pages := "", 1, 0
	for {
		fetch := fmt.Sprintf(`<fetch count="37" page="%d"`, page)
		if cookie != "" {
			fetch += ` paging-cookie="` + xmlAttr(cookie) + `"`
		}
		fetch += `><entity name="account"><attribute name="name"/></entity></fetch>`
		r := call(t, e, "GET", fetchURL("accounts", fetch)+"&$count=true", nil, "Prefer", `odata.include-annotations="*"`)
		want(t, r, 200)
		pages++
		if r.body["@odata.count"].(float64) != float64(len(all)) || r.body["@Microsoft.Dynamics.CRM.totalrecordcount"].(float64) != float64(len(all)) {
			t.Fatalf("counts: %.300s", r.raw)
		}
		for _, v := range r.values() {
			id := v.(map[string]any)["accountid"].(string)
			if seen[id] {
				t.Fatalf("duplicate %s on page %d", id, page)
			}
			seen[id] = true
		}
		more, _ := r.body["@Microsoft.Dynamics.CRM.morerecords"].(bool)
		if !more {
			if _, ok := r.body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"]; ok {
				t.Fatal("last page carries a paging cookie")
			}
			break
		}
		// Documented handling: the pagingcookie attribute is URL-encoded twice.
		raw := r.body["@Microsoft.Dynamics.CRM.fetchxmlpagingcookie"].(string)
		m := regexp.MustCompile(`pagenumber="(\d+)" pagingcookie="([^"]+)"`).FindStringSubmatch(raw)
		if m == nil || m[1] != fmt.Sprint(page+1) {
			t.Fatalf("cookie shape: %s", raw)
		}
		once, _ := url.QueryUnescape(m[2])
		cookie, _ = url.QueryUnescape(once)
		if !strings.HasPrefix(cookie, `<cookie page="`+fmt.Sprint(page)+`"><accountid last="{`) {
			t.Fatalf("inner cookie: %s", cookie)
		}
		page++
	}
	if len(seen) != len(all) || pages != (len(all)+36)/37 {
		t.Fatalf("paged %d of %d rows in %d pages", len(seen), len(all), pages)
	}
}

func TestFetchXMLRefusals(t *testing.T) {
	_, e := small(t)
	cases := []struct{ fetch, code, msg string }{
		{`<fetch><entity name="account"><attribute name="nosuch"/></entity></fetch>`, "0x80041103", "'account' entity doesn't contain attribute with Name = 'nosuch'"},
		{`<fetch><entity name="account"><link-entity name="contact" from="parentcustomerid" to="accountid"/></entity></fetch>`, codeInvalidFetch, "'link-entity'"},
		{`<fetch><entity name="contact"/></fetch>`, codeInvalidFetch, "does not match the entity set 'accounts'"},
		{`<fetch><entity name="account"><filter><condition attribute="name" operator="under" value="x"/></filter></entity></fetch>`, codeInvalidFetch, "'under'"},
		{`<fetch count="5001"><entity name="account"/></fetch>`, codeInvalidFetch, "5000"},
		{`<fetch><entity name="account"><bogus/></entity></fetch>`, codeInvalidFetch, "'bogus'"},
		{`<fetch><entity name="account">`, codeInvalidFetch, "well-formed"},
	}
	for _, c := range cases {
		r := call(t, e, "GET", fetchURL("accounts", c.fetch), nil)
		if r.status != 400 || r.errCode() != c.code || !strings.Contains(r.errMsg(), c.msg) {
			t.Fatalf("%s: %d %s", c.fetch, r.status, r.raw)
		}
	}
	// Long-term retention: no rows are retained in the simulator.
	r := call(t, e, "GET", fetchURL("accounts", `<fetch datasource="retained"><entity name="account"><attribute name="name"/></entity></fetch>`), nil)
	if r.status != 200 || len(r.values()) != 0 {
		t.Fatalf("retained: %d %s", r.status, r.raw)
	}
}

func TestFetchXMLAggregate(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", fetchURL("accounts", `<fetch aggregate="true"><entity name="account"><attribute name="accountid" alias="n" aggregate="count"/>`+
		`<attribute name="statecode" alias="state" groupby="true"/></entity></fetch>`), nil)
	want(t, r, 200)
	total := 0.0
	for _, v := range r.values() {
		total += v.(map[string]any)["n"].(float64)
	}
	if total != float64(e.Count("account")) {
		t.Fatalf("grouped counts add up to %v, want %d: %s", total, e.Count("account"), r.raw)
	}
}

// Aggregates with $apply (webapi/query/aggregate-data.md).
func TestApplyAggregates(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "accounts?$apply=aggregate($count as n)", nil)
	want(t, r, 200)
	if len(r.values()) != 1 || r.values()[0].(map[string]any)["n"].(float64) != float64(e.Count("account")) {
		t.Fatalf("count: %s", r.raw)
	}
	r = call(t, e, "GET", "accounts?$apply=groupby((statuscode),aggregate($count as count))", nil, "Prefer", `odata.include-annotations="OData.Community.Display.V1.FormattedValue"`)
	want(t, r, 200)
	sum := 0.0
	for _, v := range r.values() {
		m := v.(map[string]any)
		sum += m["count"].(float64)
		if m["statuscode@OData.Community.Display.V1.FormattedValue"] == nil || m["count@OData.Community.Display.V1.FormattedValue"] == nil {
			t.Fatalf("formatted values: %v", m)
		}
	}
	if sum != float64(e.Count("account")) {
		t.Fatalf("groups add up to %v: %s", sum, r.raw)
	}
	wantSum := 0.0
	for _, id := range e.IDs("account") {
		row, _ := e.Get("account", id)
		if v, ok := row["revenue"].(float64); ok {
			wantSum += v
		}
	}
	r = call(t, e, "GET", "accounts?$apply=aggregate(revenue with sum as total,revenue with max as top)", nil)
	if got := r.values()[0].(map[string]any)["total"].(float64); got < wantSum-0.01 || got > wantSum+0.01 || wantSum == 0 {
		t.Fatalf("sum %v, want %v", got, wantSum)
	}
	r = call(t, e, "GET", "accounts?$apply=filter(statecode eq 1)/groupby((statecode))", nil)
	want(t, r, 200)
	for _, v := range r.values() {
		if v.(map[string]any)["statecode"].(float64) != 1 {
			t.Fatalf("filter transformation: %s", r.raw)
		}
	}
	// Documented refusals.
	r = call(t, e, "GET", "accounts?$apply=groupby((statuscode),aggregate($count as count))&$orderby=count desc", nil)
	if r.status != 400 || r.errMsg() != "The query node SingleValueOpenPropertyAccess is not supported" {
		t.Fatalf("orderby aggregate: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "accounts?$apply=groupby((createdon))", nil)
	if r.status != 400 || !strings.Contains(r.errMsg(), "datetime") {
		t.Fatalf("groupby datetime: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "accounts?$apply=aggregate(name with sum as x)", nil)
	want(t, r, 400)
	old := aggregateLimit
	aggregateLimit = 10
	defer func() { aggregateLimit = old }()
	r = call(t, e, "GET", "accounts?$apply=aggregate($count as n)", nil)
	if r.status != 400 || r.errCode() != "0x8004e023" || r.errMsg() != "AggregateQueryRecordLimit exceeded. Cannot perform this operation." {
		t.Fatalf("aggregate limit: %d %s", r.status, r.raw)
	}
}

// TestUnsupportedQueryOptionsRefused: options Dataverse does not support,
// or the simulator does not implement, are refused rather than ignored.
func TestUnsupportedQueryOptionsRefused(t *testing.T) {
	_, e := small(t)
	for _, opt := range []string{"$skip=10", "$search=x", "$format=json", "$compute=a", "$levels=2", "savedQuery=00000000-0000-0000-0000-000000000001"} {
		name, _, _ := strings.Cut(opt, "=")
		r := call(t, e, "GET", "accounts?"+opt, nil)
		if r.status != 400 || r.errCode() != codeBadRequest || r.errMsg() != "The query parameter "+name+" is not supported" {
			t.Fatalf("%s: %d %s", opt, r.status, r.raw)
		}
	}
	// Custom options without $ are ignored, as OData says (bulk-operations.md sends tag=...).
	want(t, call(t, e, "GET", "accounts?$select=name&$top=1&tag=x", nil), 200)
	// Parameter aliases in $filter.
	id := e.IDs("account")[5]
	r := call(t, e, "GET", "accounts?$select=name&$filter=accountid eq @id&@id="+id, nil)
	if r.status != 200 || len(r.values()) != 1 {
		t.Fatalf("alias: %d %s", r.status, r.raw)
	}
	r = call(t, e, "GET", "accounts?$filter=name eqq 'x'", nil)
	if r.status != 400 || r.errMsg() != "Syntax error at position 5 in 'name eqq 'x''." {
		t.Fatalf("syntax error wording: %d %s", r.status, r.raw)
	}
}
