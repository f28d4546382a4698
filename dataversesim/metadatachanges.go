package dataversesim

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"time"
)

// RetrieveMetadataChanges (powerapps-docs, developer/data-platform/
// query-schema-definitions.md and cache-schema-data.md; the Web API request
// shape from PowerApps-Samples WebAPIService RetrieveMetadataChangesRequest):
//
//	GET RetrieveMetadataChanges(Query=@p1,ClientVersionStamp=@p2,DeletedMetadataFilters=@p3)
//	    ?@p1=<EntityQueryExpression JSON>&@p2='<stamp>'&@p3=Microsoft.Dynamics.CRM.DeletedMetadataFilters'Attribute'
//	-> {"ServerVersionStamp":"<version>!<MM/dd/yyyy HH:mm:ss>","DeletedMetadata":{...},"EntityMetadata":[...]}
//
// Every parameter is optional; without Query the whole metadata comes back
// (one request reads the whole organization). With ClientVersionStamp (the
// ServerVersionStamp of an earlier answer) only what changed since comes
// back: an entity that changed has HasChanged true, one that did not but
// whose columns, relationships or keys did has HasChanged false and carries
// only the changed ones. With DeletedMetadataFilters too, DeletedMetadata
// lists the MetadataIds deleted since, unfiltered by the query, keyed by
// DeletedMetadataFilters member ("Default" for tables, as the Web API enum
// has no Entity member). A stamp older than
// organization.expiresubscriptionsindays (90 days) answers ExpiredVersionStamp
// (0x80044352). Metadata changes come from Env.AddColumn, Env.DeleteColumn
// and Env.DeleteTable (the simulator has no metadata write API); each gets a
// version from the organization's version counter, like row changes. They
// live in memory only: -state keeps rows, not metadata changes.

// metaState is one organization's metadata history.
type metaState struct {
	schema  *schema          // private copy after the first change; nil = the server's
	changed map[string]int64 // MetadataId -> version of its last change
	deleted []deletedMeta
}

type deletedMeta struct {
	kind    string // DeletedMetadataFilters member
	id      string
	version int64
}

// deletedFilterBits are the DeletedMetadataFilters members (flags).
var deletedFilterBits = map[string]int{"Default": 1, "Entity": 1, "Attribute": 2, "Relationship": 4, "Label": 8, "OptionSet": 16, "All": 31}

// expireSubscriptions is organization.expiresubscriptionsindays' default
// (cache-schema-data.md: "stored for 90 days by default").
const expireSubscriptions = 90 * 24 * time.Hour

// changedSince reports the version of an item's last change after v0.
func (e *Env) changedSince(id string, v0 int64) bool {
	return e.meta != nil && e.meta.changed[id] > v0
}

// entityQuery is EntityQueryExpression (query-schema-definitions.md).
type entityQuery struct {
	Criteria          *metaFilterExpr `json:"Criteria"`
	Properties        *metaPropsExpr  `json:"Properties"`
	AttributeQuery    *metaSubQuery   `json:"AttributeQuery"`
	RelationshipQuery *metaSubQuery   `json:"RelationshipQuery"`
	KeyQuery          *metaSubQuery   `json:"KeyQuery"`
	LabelQuery        json.RawMessage `json:"LabelQuery"`
}

type metaSubQuery struct {
	Criteria   *metaFilterExpr `json:"Criteria"`
	Properties *metaPropsExpr  `json:"Properties"`
}

type metaPropsExpr struct {
	AllProperties bool     `json:"AllProperties"`
	PropertyNames []string `json:"PropertyNames"`
}

type metaFilterExpr struct {
	FilterOperator json.RawMessage     `json:"FilterOperator"` // "And"/"Or" or 0/1
	Conditions     []metaConditionExpr `json:"Conditions"`
	Filters        []metaFilterExpr    `json:"Filters"`
}

type metaConditionExpr struct {
	PropertyName      string          `json:"PropertyName"`
	ConditionOperator json.RawMessage `json:"ConditionOperator"` // name or number
	Value             *struct {
		Type  string          `json:"Type"`
		Value json.RawMessage `json:"Value"`
	} `json:"Value"`
}

// wants reports whether a property is requested (nil expression = all).
func (p *metaPropsExpr) wants(name string) bool {
	return p == nil || p.AllProperties || contains(p.PropertyNames, name)
}

// check answers 400 for a property name the type does not have.
func (p *metaPropsExpr) check(props map[string]bool, typ string) *dvError {
	if p == nil {
		return nil
	}
	for _, n := range p.PropertyNames {
		if !props[n] {
			return metaQueryNoProperty(n, typ)
		}
	}
	return nil
}

// project keeps the requested properties; MetadataId, LogicalName and
// HasChanged always come (query-schema-definitions.md).
func (p *metaPropsExpr) project(m map[string]any) map[string]any {
	out := map[string]any{}
	for k, v := range m {
		if k == "MetadataId" || k == "LogicalName" || k == "HasChanged" || k == "@odata.type" || p.wants(k) {
			out[k] = v
		}
	}
	return out
}

func metaQueryNoProperty(name, typ string) *dvError {
	return errf(400, codeMetadataQuery, "The type %s does not have a property named %s", typ, name)
}

func enumName(raw json.RawMessage, names []string) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n int
	if json.Unmarshal(raw, &n) == nil && n >= 0 && n < len(names) {
		return names[n]
	}
	return ""
}

var metaOperators = []string{"Equals", "NotEquals", "In", "NotIn", "GreaterThan", "LessThan"}

// check answers 400 for a condition on a property the type lacks.
func (f *metaFilterExpr) check(props map[string]bool, typ string) *dvError {
	if f == nil {
		return nil
	}
	for _, c := range f.Conditions {
		if !props[c.PropertyName] {
			return metaQueryNoProperty(c.PropertyName, typ)
		}
		if enumName(c.ConditionOperator, metaOperators) == "" {
			return errf(400, codeBadRequest, "The ConditionOperator of the condition on '%s' is not one of %s.", c.PropertyName, strings.Join(metaOperators, ", "))
		}
	}
	for i := range f.Filters {
		if derr := f.Filters[i].check(props, typ); derr != nil {
			return derr
		}
	}
	return nil
}

// match evaluates a MetadataFilterExpression against an item.
func (f *metaFilterExpr) match(m map[string]any) bool {
	if f == nil || len(f.Conditions) == 0 && len(f.Filters) == 0 {
		return true
	}
	or := strings.EqualFold(enumName(f.FilterOperator, []string{"And", "Or"}), "Or")
	results := make([]bool, 0, len(f.Conditions)+len(f.Filters))
	for _, c := range f.Conditions {
		results = append(results, c.match(m))
	}
	for i := range f.Filters {
		results = append(results, f.Filters[i].match(m))
	}
	for _, r := range results {
		if or && r {
			return true
		}
		if !or && !r {
			return false
		}
	}
	return !or
}

// values are the condition's values as strings (a list for In/NotIn).
func (c metaConditionExpr) values() []string {
	if c.Value == nil {
		return []string{""}
	}
	var s string
	if json.Unmarshal(c.Value.Value, &s) == nil {
		if strings.HasSuffix(c.Value.Type, "[]") {
			// "['a','b']" (the PowerShell samples) or "a,b".
			s = strings.Trim(s, "[]")
			var out []string
			for _, p := range strings.Split(s, ",") {
				out = append(out, strings.Trim(strings.TrimSpace(p), `'"`))
			}
			return out
		}
		return []string{s}
	}
	var list []any
	if json.Unmarshal(c.Value.Value, &list) == nil {
		var out []string
		for _, x := range list {
			out = append(out, fmt.Sprint(x))
		}
		return out
	}
	return []string{strings.Trim(string(c.Value.Value), `"`)}
}

func (c metaConditionExpr) match(m map[string]any) bool {
	v := m[c.PropertyName]
	if cm, ok := v.(map[string]any); ok {
		v = cm["Value"] // BooleanManagedProperty, AttributeRequiredLevelManagedProperty
	}
	have := fmt.Sprint(v)
	if v == nil {
		have = ""
	}
	vals := c.values()
	eq := func(want string) bool { return strings.EqualFold(have, want) }
	switch enumName(c.ConditionOperator, metaOperators) {
	case "Equals":
		return eq(vals[0])
	case "NotEquals":
		return !eq(vals[0])
	case "In", "NotIn":
		in := false
		for _, w := range vals {
			in = in || eq(w)
		}
		return in == (enumName(c.ConditionOperator, metaOperators) == "In")
	case "GreaterThan", "LessThan":
		a, err1 := strconv.ParseFloat(have, 64)
		b, err2 := strconv.ParseFloat(vals[0], 64)
		if err1 != nil || err2 != nil {
			return false
		}
		if enumName(c.ConditionOperator, metaOperators) == "GreaterThan" {
			return a > b
		}
		return a < b
	}
	return false
}

// functionParams reads the parameters of a function call in a path:
// Name(A=@p1,B='x') with aliases resolved from the query string.
func functionParams(rest, name string, q url.Values) (map[string]string, bool) {
	rest = strings.TrimPrefix(rest, "/")
	args, ok := strings.CutPrefix(rest, name)
	if !ok {
		return nil, false
	}
	out := map[string]string{}
	if args == "" || args == "()" {
		return out, true
	}
	if !strings.HasPrefix(args, "(") || !strings.HasSuffix(args, ")") {
		return nil, false
	}
	for _, p := range splitList(args[1:len(args)-1], ',') {
		k, v, ok := strings.Cut(p, "=")
		if !ok {
			return nil, false
		}
		v = strings.TrimSpace(v)
		if strings.HasPrefix(v, "@") {
			v = q.Get(v)
		}
		out[strings.TrimSpace(k)] = v
	}
	return out, true
}

// unquote reads an OData string literal ('x', with ” for ').
func unquote(v string) string {
	if len(v) >= 2 && v[0] == '\'' && v[len(v)-1] == '\'' {
		return strings.ReplaceAll(v[1:len(v)-1], "''", "'")
	}
	return v
}

func (e *Env) retrieveMetadataChanges(rc *reqCtx, w http.ResponseWriter, r *http.Request) {
	params, ok := functionParams(apiRest(r.URL.Path), "RetrieveMetadataChanges", queryValues(r.URL.RawQuery))
	if !ok {
		writeDVError(w, noSegment(strings.TrimPrefix(apiRest(r.URL.Path), "/")))
		return
	}
	var query entityQuery
	if raw := params["Query"]; raw != "" {
		if err := json.Unmarshal([]byte(raw), &query); err != nil {
			writeDVError(w, errf(400, codeBadRequest, "The value of the parameter 'Query' is not a valid EntityQueryExpression in JSON."))
			return
		}
	}
	v0 := int64(-1)
	if stamp := unquote(params["ClientVersionStamp"]); stamp != "" {
		ver, issued, ok := parseDeltaToken(stamp)
		if !ok {
			writeDVError(w, errf(400, codeMetadataQuery, "Invalid version stamp"))
			return
		}
		if e.now().Sub(issued) > expireSubscriptions {
			writeDVError(w, errf(400, codeExpiredToken, "Version stamp associated with the client has expired. Please perform a full sync."))
			return
		}
		v0 = ver
	}
	filters := 0
	if f := params["DeletedMetadataFilters"]; f != "" {
		f = strings.TrimPrefix(f, "Microsoft.Dynamics.CRM.DeletedMetadataFilters")
		for _, n := range strings.Split(unquote(f), ",") {
			bit, ok := deletedFilterBits[strings.TrimSpace(n)]
			if !ok {
				writeDVError(w, errf(400, codeBadRequest, "'%s' is not a member of Microsoft.Dynamics.CRM.DeletedMetadataFilters.", strings.TrimSpace(n)))
				return
			}
			filters |= bit
		}
	}
	for _, chk := range []*dvError{
		query.Properties.check(entityMetadataProps, "EntityMetadata"), query.Criteria.check(entityMetadataProps, "EntityMetadata"),
		subCheck(query.AttributeQuery, anyAttributeProps, "AttributeMetadata"),
		subCheck(query.RelationshipQuery, anyRelationshipProps, "RelationshipMetadataBase"),
		subCheck(query.KeyQuery, entityKeyProps, "EntityKeyMetadata"),
	} {
		if chk != nil {
			writeDVError(w, chk)
			return
		}
	}
	var entities []any
	for _, t := range e.sch().tables {
		if em := e.complexEntity(t, &query, v0); em != nil {
			entities = append(entities, em)
		}
	}
	if entities == nil {
		entities = []any{}
	}
	out := map[string]any{
		"@odata.context":     rc.base + "$metadata#Microsoft.Dynamics.CRM.RetrieveMetadataChangesResponse",
		"ServerVersionStamp": e.deltaToken(e.version),
		"DeletedMetadata":    e.deletedSince(v0, filters),
		"EntityMetadata":     entities,
	}
	writeMetaJSON(w, out)
}

// anyAttributeProps and anyRelationshipProps are the properties an
// AttributeQuery or RelationshipQuery may name: those of the base type and
// of every derived type, as the answer holds the derived (Complex*) types
// and names no cast. Microsoft's own Web API sample asks for "OptionSet"
// in its AttributeQuery (PowerApps-Samples, dataverse/webapi/CSharp-NETx/
// RetrieveMetadataChanges/Program.cs), and query-schema-definitions.md
// gives RetrieveMetadataChanges "details for derived types" in one request
// where EntityDefinitions needs a cast per type. An item of a type without
// the property leaves it out.
var anyAttributeProps, anyRelationshipProps = unionProps(attributeProps), unionProps(relationshipProps)

func unionProps(byType map[string]map[string]bool) map[string]bool {
	out := map[string]bool{}
	for _, props := range byType {
		for p := range props {
			out[p] = true
		}
	}
	return out
}

func subCheck(q *metaSubQuery, props map[string]bool, typ string) *dvError {
	if q == nil {
		return nil
	}
	if derr := q.Properties.check(props, typ); derr != nil {
		return derr
	}
	return q.Criteria.check(props, typ)
}

// complexEntity is one ComplexEntityMetadata of the answer, or nil when the
// table does not match the query or (with a stamp) nothing of it changed.
func (e *Env) complexEntity(t *TableDef, q *entityQuery, v0 int64) map[string]any {
	m := entityMeta(t)
	if !q.Criteria.match(m) {
		return nil
	}
	delta := v0 >= 0
	entChanged := !delta || e.changedSince(m["MetadataId"].(string), v0)
	childChanged := false
	out := q.Properties.project(m)
	if q.Properties.wants("Attributes") {
		var attrs []any
		for _, a := range t.Attrs {
			am := e.attrMeta(t, a, true)
			if !q.AttributeQuery.criteria().match(am) || delta && !e.changedSince(am["MetadataId"].(string), v0) {
				continue
			}
			am = q.AttributeQuery.properties().project(am)
			if c := castByType[a.Type]; c == "UniqueIdentifierAttributeMetadata" {
				delete(am, "@odata.type")
			} else {
				am["@odata.type"] = "#Microsoft.Dynamics.CRM.Complex" + c
			}
			if delta {
				am["HasChanged"] = true
			}
			attrs = append(attrs, am)
		}
		childChanged = childChanged || len(attrs) > 0
		out["Attributes"] = nonNil(attrs)
	}
	for kind := range relationshipKinds {
		if !q.Properties.wants(kind) {
			continue
		}
		var rels []any
		for _, rm := range e.relationships(t, kind) {
			if !q.RelationshipQuery.criteria().match(rm) || delta && !e.changedSince(rm["MetadataId"].(string), v0) {
				continue
			}
			rm = q.RelationshipQuery.properties().project(rm)
			rm["@odata.type"] = strings.Replace(rm["@odata.type"].(string), "CRM.", "CRM.Complex", 1)
			if delta {
				rm["HasChanged"] = true
			}
			rels = append(rels, rm)
		}
		childChanged = childChanged || len(rels) > 0
		out[kind] = nonNil(rels)
	}
	if q.Properties.wants("Keys") {
		var keys []any
		for _, km := range keyMeta(t) {
			if !q.KeyQuery.criteria().match(km) || delta && !e.changedSince(km["MetadataId"].(string), v0) {
				continue
			}
			km = q.KeyQuery.properties().project(km)
			if delta {
				km["HasChanged"] = true
			}
			keys = append(keys, km)
		}
		childChanged = childChanged || len(keys) > 0
		out["Keys"] = nonNil(keys)
	}
	if delta {
		if !entChanged && !childChanged {
			return nil
		}
		out["HasChanged"] = entChanged
	}
	return out
}

func nonNil(l []any) []any {
	if l == nil {
		return []any{}
	}
	return l
}

func (q *metaSubQuery) criteria() *metaFilterExpr {
	if q == nil {
		return nil
	}
	return q.Criteria
}

func (q *metaSubQuery) properties() *metaPropsExpr {
	if q == nil {
		return nil
	}
	return q.Properties
}

// deletedSince is the DeletedMetadataCollection of an answer: the requested
// kinds deleted after v0, unfiltered by the query (cache-schema-data.md).
func (e *Env) deletedSince(v0 int64, filters int) map[string]any {
	byKind := map[string][]string{}
	if v0 >= 0 && filters != 0 && e.meta != nil {
		for _, d := range e.meta.deleted {
			if d.version > v0 && filters&deletedFilterBits[d.kind] != 0 {
				byKind[d.kind] = append(byKind[d.kind], d.id)
			}
		}
	}
	keys := make([]string, 0, len(byKind))
	for k := range byKind {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	values := make([]any, len(keys))
	for i, k := range keys {
		values[i] = map[string]any{"Items": byKind[k]}
	}
	return map[string]any{"Count": len(keys), "IsReadOnly": false, "Keys": keys, "Values": values}
}
