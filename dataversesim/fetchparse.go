package dataversesim

import (
	"encoding/xml"
	"io"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// Parsing and evaluation of FetchXML (fetchxml.go answers the queries).

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
