package dataversesim

import (
	"encoding/json"
	"net/http"
	"net/url"
	"strings"
)

// Metadata endpoints (reference 3): EntityDefinitions with $select/$filter
// (no paging, MetadataId always returned), Attributes with type casts
// (LookupAttributeMetadata Targets, PicklistAttributeMetadata OptionSet,
// FileAttributeMetadata MaxSizeInKB), and relationship definitions.

var castByType = map[AttrType]string{
	TString: "StringAttributeMetadata", TMemo: "MemoAttributeMetadata", TInteger: "IntegerAttributeMetadata", TBigInt: "BigIntAttributeMetadata",
	TDecimal: "DecimalAttributeMetadata", TDouble: "DoubleAttributeMetadata", TMoney: "MoneyAttributeMetadata", TBoolean: "BooleanAttributeMetadata",
	TDateTime: "DateTimeAttributeMetadata", TPicklist: "PicklistAttributeMetadata", TMultiPick: "MultiSelectPicklistAttributeMetadata",
	TState: "StateAttributeMetadata", TStatus: "StatusAttributeMetadata", TLookup: "LookupAttributeMetadata", TCustomer: "LookupAttributeMetadata",
	TOwner: "LookupAttributeMetadata", TUniqueID: "UniqueIdentifierAttributeMetadata", TFile: "FileAttributeMetadata", TImage: "ImageAttributeMetadata",
	TEntityName: "EntityNameAttributeMetadata",
}

func label(s string) map[string]any {
	l := map[string]any{"Label": s, "LanguageCode": 1033}
	return map[string]any{"LocalizedLabels": []any{l}, "UserLocalizedLabel": l}
}

func schemaName(n string) string {
	if strings.HasPrefix(n, "cr1_") {
		return "cr1_" + strings.ToUpper(n[4:5]) + n[5:]
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func entityMeta(t *TableDef) map[string]any {
	tt := "Standard"
	if t.IsActivity {
		tt = "Standard"
	}
	return map[string]any{
		"MetadataId": metadataID("entity", t.LogicalName), "LogicalName": t.LogicalName, "SchemaName": schemaName(t.LogicalName),
		"EntitySetName": t.SetName, "LogicalCollectionName": t.SetName, "PrimaryIdAttribute": t.PrimaryID, "PrimaryNameAttribute": nilIfEmpty(t.PrimaryName),
		"ChangeTrackingEnabled": t.ChangeTracking, "IsIntersect": t.IsIntersect, "IsValidForAdvancedFind": !t.IsIntersect && !t.RefuseRetrieveMultiple,
		"ObjectTypeCode": t.ObjectTypeCode, "OwnershipType": t.Ownership, "IsCustomEntity": t.IsCustom, "HasNotes": t.HasNotes, "TableType": tt,
		"IsActivity": t.IsActivity, "DisplayName": label(t.LogicalName), "IsRetrieveMultipleAvailable": !t.RefuseRetrieveMultiple,
	}
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func attrTypeName(a *AttrDef) string {
	switch a.Type {
	case TMultiPick:
		return "MultiSelectPicklistType"
	case TFile:
		return "FileType"
	case TImage:
		return "ImageType"
	}
	return string(a.Type) + "Type"
}

func attrMeta(t *TableDef, a *AttrDef, expandOptions bool) map[string]any {
	at := a.Type
	if at == TMultiPick || at == TFile || at == TImage {
		at = "Virtual"
	}
	m := map[string]any{
		"@odata.type": "#Microsoft.Dynamics.CRM." + castByType[a.Type], "MetadataId": metadataID("attr", t.LogicalName, a.Name),
		"LogicalName": a.Name, "SchemaName": schemaName(a.Name), "EntityLogicalName": t.LogicalName,
		"AttributeType": string(at), "AttributeTypeName": map[string]any{"Value": attrTypeName(a)},
		"IsValidForCreate": !a.ReadOnly && !a.IsPrimaryID || a.IsPrimaryID, "IsValidForUpdate": !a.ReadOnly && !a.CreateOnly && !a.IsPrimaryID,
		"IsValidForRead": true, "AttributeOf": nilIfEmpty(a.AttributeOf), "IsPrimaryId": a.IsPrimaryID, "IsPrimaryName": a.IsPrimary,
		"IsLogical": a.Logical, "IsCustomAttribute": strings.HasPrefix(a.Name, "cr1_"), "DisplayName": label(a.Name),
	}
	if a.IsLookup() {
		m["Targets"] = a.Targets
	}
	if a.Type == TFile || a.Type == TImage {
		m["MaxSizeInKB"] = a.MaxSizeKB
	}
	if len(a.Options) > 0 && expandOptions {
		var opts []any
		for _, o := range a.Options {
			om := map[string]any{"Value": o.Value, "Label": label(o.Label)}
			if a.Type == TStatus {
				om["State"] = o.State
			}
			opts = append(opts, om)
		}
		m["OptionSet"] = map[string]any{"MetadataId": metadataID("optionset", t.LogicalName, a.Name), "Name": t.LogicalName + "_" + a.Name, "IsGlobal": false, "Options": opts}
		m["GlobalOptionSet"] = nil
	}
	return m
}

func project(m map[string]any, sel string) map[string]any {
	if sel == "" {
		return m
	}
	out := map[string]any{"MetadataId": m["MetadataId"]}
	if t, ok := m["@odata.type"]; ok {
		out["@odata.type"] = t
	}
	for _, k := range strings.Split(sel, ",") {
		k = strings.TrimSpace(k)
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	for _, k := range []string{"OptionSet", "GlobalOptionSet"} {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

func filterMaps(list []map[string]any, f string) ([]map[string]any, *dvError) {
	if f == "" {
		return list, nil
	}
	node, err := parseFilter(f, func(string) bool { return true })
	if err != nil {
		return nil, errf(400, codeBadRequest, "Invalid $filter: %v", err)
	}
	var out []map[string]any
	for _, m := range list {
		mm := m
		if node.eval(func(n string) (any, bool) {
			v, ok := mm[n]
			if x, isInt := v.(int); isInt {
				return float64(x), ok
			}
			return v, ok
		}) {
			out = append(out, m)
		}
	}
	return out, nil
}

func (e *Env) relationships(t *TableDef, kind string) []map[string]any {
	var out []map[string]any
	switch kind {
	case "ManyToManyRelationships":
		for _, r := range e.s.schema.n2n {
			if r.Entity1 == t.LogicalName || r.Entity2 == t.LogicalName {
				out = append(out, map[string]any{"MetadataId": metadataID("rel", r.SchemaName), "SchemaName": r.SchemaName, "IntersectEntityName": r.IntersectEntity,
					"Entity1LogicalName": r.Entity1, "Entity2LogicalName": r.Entity2, "Entity1IntersectAttribute": r.Entity1Attr, "Entity2IntersectAttribute": r.Entity2Attr,
					"Entity1NavigationPropertyName": r.Entity1Nav, "Entity2NavigationPropertyName": r.Entity2Nav, "RelationshipType": "ManyToManyRelationship", "IsCustomRelationship": strings.HasPrefix(r.SchemaName, "cr1_")})
			}
		}
	case "ManyToOneRelationships", "OneToManyRelationships":
		for _, r := range e.s.schema.rels {
			if kind == "ManyToOneRelationships" && r.ReferencingEntity == t.LogicalName || kind == "OneToManyRelationships" && r.ReferencedEntity == t.LogicalName {
				out = append(out, rel1NMeta(r))
			}
		}
	}
	return out
}

func metaKey(def string) (string, bool) {
	if strings.HasPrefix(def, "LogicalName=") {
		return strings.Trim(strings.TrimPrefix(def, "LogicalName="), "'"), true
	}
	return strings.ToLower(strings.Trim(def, "{}")), false
}

func (e *Env) serveMetadata(rc *reqCtx, w http.ResponseWriter, r *http.Request, segs []segment) {
	if r.Method != http.MethodGet {
		writeDVError(w, errf(405, codeBadRequest, "The simulator's metadata is read-only."))
		return
	}
	q := r.URL.Query()
	ctx := rc.base + "$metadata#" + segs[0].name
	if segs[0].name == "RelationshipDefinitions" {
		var all []map[string]any
		for _, t := range e.s.schema.tables {
			all = append(all, e.relationships(t, "OneToManyRelationships")...)
		}
		for _, rel := range e.s.schema.n2n {
			all = append(all, e.relationships(e.s.schema.byName[rel.Entity1], "ManyToManyRelationships")...)
		}
		writeMetaList(w, ctx, dedupe(all), q)
		return
	}
	if !segs[0].has {
		var list []map[string]any
		for _, t := range e.s.schema.tables {
			list = append(list, entityMeta(t))
		}
		writeMetaList(w, ctx, list, q)
		return
	}
	k, byName := metaKey(segs[0].key)
	var t *TableDef
	for _, x := range e.s.schema.tables {
		if byName && x.LogicalName == k || !byName && metadataID("entity", x.LogicalName) == k {
			t = x
		}
	}
	if t == nil {
		writeDVError(w, errf(404, "0x80040217", "Could not find entity with name or id %s.", k))
		return
	}
	if len(segs) == 1 {
		m := project(entityMeta(t), q.Get("$select"))
		if strings.Contains(q.Get("$expand"), "Attributes") {
			var attrs []any
			for _, a := range t.Attrs {
				attrs = append(attrs, attrMeta(t, a, false))
			}
			m["Attributes"] = attrs
		}
		m["@odata.context"] = ctx + "/$entity"
		writeMetaJSON(w, m)
		return
	}
	switch segs[1].name {
	case "Attributes":
		cast := ""
		if len(segs) > 2 {
			cast = strings.TrimPrefix(segs[2].name, "Microsoft.Dynamics.CRM.")
		}
		expand := strings.Contains(q.Get("$expand"), "OptionSet")
		var list []map[string]any
		for _, a := range t.Attrs {
			if segs[1].has {
				ak, _ := metaKey(segs[1].key)
				if a.Name != ak && metadataID("attr", t.LogicalName, a.Name) != ak {
					continue
				}
			}
			if cast != "" && castByType[a.Type] != cast {
				continue
			}
			list = append(list, attrMeta(t, a, expand))
		}
		if segs[1].has {
			if len(list) == 0 {
				writeDVError(w, errf(404, "0x80040217", "Could not find attribute %s.", segs[1].key))
				return
			}
			m := project(list[0], q.Get("$select"))
			m["@odata.context"] = ctx + "/$entity"
			writeMetaJSON(w, m)
			return
		}
		writeMetaList(w, ctx, list, q)
	case "ManyToManyRelationships", "ManyToOneRelationships", "OneToManyRelationships":
		writeMetaList(w, ctx, e.relationships(t, segs[1].name), q)
	default:
		writeDVError(w, errf(400, codeBadRequest, "Resource not found for the segment '%s'.", segs[1].name))
	}
}

func dedupe(list []map[string]any) []map[string]any {
	seen := map[any]bool{}
	var out []map[string]any
	for _, m := range list {
		if !seen[m["SchemaName"]] {
			seen[m["SchemaName"]] = true
			out = append(out, m)
		}
	}
	return out
}

func writeMetaList(w http.ResponseWriter, ctx string, list []map[string]any, q url.Values) {
	list, derr := filterMaps(list, q.Get("$filter"))
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, m := range list {
		out = append(out, project(m, q.Get("$select")))
	}
	writeMetaJSON(w, map[string]any{"@odata.context": ctx, "value": out})
}

func writeMetaJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	writeBody(w, 200, b)
}

// serveCSDL answers $metadata with the entity container (entity sets and
// their keys), enough for clients that read entity set names from it.
func (e *Env) serveCSDL(rc *reqCtx, w http.ResponseWriter) {
	var sb strings.Builder
	sb.WriteString(`<?xml version="1.0" encoding="utf-8"?><edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx"><edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">`)
	for _, t := range e.s.schema.tables {
		sb.WriteString(`<EntityType Name="` + t.LogicalName + `"><Key><PropertyRef Name="` + t.PrimaryID + `"/></Key></EntityType>`)
	}
	sb.WriteString(`<EntityContainer Name="System">`)
	for _, t := range e.s.schema.tables {
		sb.WriteString(`<EntitySet Name="` + t.SetName + `" EntityType="Microsoft.Dynamics.CRM.` + t.LogicalName + `"/>`)
	}
	sb.WriteString(`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(200)
	w.Write([]byte(sb.String()))
}
