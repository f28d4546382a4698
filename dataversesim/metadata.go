package dataversesim

import (
	"encoding/json"
	"net/http"
	"strings"
)

// Metadata endpoints (reference 3; powerapps-docs, developer/data-platform/
// webapi/query-metadata-web-api.md and query-schema-definitions.md):
//
//	EntityDefinitions[(key)]                      $select $filter $expand=Attributes(...),Keys,*Relationships
//	EntityDefinitions(key)/Attributes[(key)][/Microsoft.Dynamics.CRM.<Type>AttributeMetadata[/OptionSet|/GlobalOptionSet]]
//	EntityDefinitions(key)/Keys[(key)]            alternate keys (EntityKeyMetadata)
//	EntityDefinitions(key)/ManyToOneRelationships, /OneToManyRelationships, /ManyToManyRelationships
//	RelationshipDefinitions[(key)][/Microsoft.Dynamics.CRM.<Kind>RelationshipMetadata]
//	GlobalOptionSetDefinitions[(key)][/Microsoft.Dynamics.CRM.OptionSetMetadata]
//
// A key is LogicalName='x' (SchemaName='x', Name='x') or a MetadataId.
// MetadataId is always returned; there is no paging. Each request is
// checked against the properties of the type it names: without a cast only
// the base type's properties exist (Targets is on LookupAttributeMetadata,
// Options on OptionSetMetadata), and a property the type lacks answers 400
// "Could not find a property named ...". RetrieveMetadataChanges is in
// metadatachanges.go.

var castByType = map[AttrType]string{
	TString: "StringAttributeMetadata", TMemo: "MemoAttributeMetadata", TInteger: "IntegerAttributeMetadata", TBigInt: "BigIntAttributeMetadata",
	TDecimal: "DecimalAttributeMetadata", TDouble: "DoubleAttributeMetadata", TMoney: "MoneyAttributeMetadata", TBoolean: "BooleanAttributeMetadata",
	TDateTime: "DateTimeAttributeMetadata", TPicklist: "PicklistAttributeMetadata", TMultiPick: "MultiSelectPicklistAttributeMetadata",
	TState: "StateAttributeMetadata", TStatus: "StatusAttributeMetadata", TLookup: "LookupAttributeMetadata", TCustomer: "LookupAttributeMetadata",
	TOwner: "LookupAttributeMetadata", TUniqueID: "UniqueIdentifierAttributeMetadata", TFile: "FileAttributeMetadata", TImage: "ImageAttributeMetadata",
	TEntityName: "EntityNameAttributeMetadata",
}

// globalChoice marks a choice column as using the named global choice.
func globalChoice(name string, a *AttrDef) *AttrDef { a.GlobalOptionSet = name; return a }

func label(s string) map[string]any {
	l := map[string]any{"Label": s, "LanguageCode": 1033, "IsManaged": true, "MetadataId": metadataID("label", s), "HasChanged": nil}
	return map[string]any{"LocalizedLabels": []any{l}, "UserLocalizedLabel": l}
}

func managed(v bool, name string) map[string]any {
	return map[string]any{"Value": v, "CanBeChanged": false, "ManagedPropertyLogicalName": name}
}

func schemaName(n string) string {
	if strings.HasPrefix(n, "cr1_") {
		return "cr1_" + strings.ToUpper(n[4:5]) + n[5:]
	}
	return strings.ToUpper(n[:1]) + n[1:]
}

func entityMeta(t *TableDef) map[string]any {
	tt := t.TableType
	if tt == "" {
		tt = tableStandard
	}
	return map[string]any{
		"MetadataId": metadataID("entity", t.LogicalName), "HasChanged": nil, "LogicalName": t.LogicalName, "SchemaName": schemaName(t.LogicalName),
		"EntitySetName": t.SetName, "LogicalCollectionName": t.SetName, "CollectionSchemaName": schemaName(t.SetName),
		"PrimaryIdAttribute": t.PrimaryID, "PrimaryNameAttribute": nilIfEmpty(t.PrimaryName),
		"ChangeTrackingEnabled": t.ChangeTracking, "IsIntersect": t.IsIntersect, "IsValidForAdvancedFind": !t.IsIntersect && !t.RefuseRetrieveMultiple && !t.HiddenFromAdvancedFind,
		"ObjectTypeCode": t.ObjectTypeCode, "OwnershipType": t.Ownership, "IsCustomEntity": t.IsCustom, "IsManaged": !t.IsCustom,
		"HasNotes": t.HasNotes, "HasActivities": t.HasNotes && !t.IsActivity, "TableType": tt, "IsActivity": t.IsActivity,
		"IsActivityParty": t.LogicalName == "account" || t.LogicalName == "contact" || t.LogicalName == "lead" || t.LogicalName == "systemuser",
		"IsLogicalEntity": false, "IsPrivate": false, "IsArchivalEnabled": false, "IsRetentionEnabled": false,
		"IsCustomizable": managed(true, "iscustomizable"), "CanChangeTrackingBeEnabled": managed(!t.IsIntersect, "canchangetrackingbeenabled"),
		"DisplayName": label(t.LogicalName), "DisplayCollectionName": label(t.SetName),
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

// attrMeta is one column's metadata as its own type (the @odata.type cast).
func (e *Env) attrMeta(t *TableDef, a *AttrDef, expandOptions bool) map[string]any {
	at := a.Type
	if at == TMultiPick || at == TFile || at == TImage {
		at = "Virtual"
	}
	required := "None"
	if a.IsPrimaryID || a.IsPrimary {
		required = "SystemRequired"
	}
	m := map[string]any{
		"@odata.type": "#Microsoft.Dynamics.CRM." + castByType[a.Type], "MetadataId": metadataID("attr", t.LogicalName, a.Name), "HasChanged": nil,
		"LogicalName": a.Name, "SchemaName": schemaName(a.Name), "EntityLogicalName": t.LogicalName,
		"AttributeType": string(at), "AttributeTypeName": map[string]any{"Value": attrTypeName(a)},
		"IsValidForCreate": !a.ReadOnly && !a.IsPrimaryID || a.IsPrimaryID, "IsValidForUpdate": !a.ReadOnly && !a.CreateOnly && !a.IsPrimaryID,
		"IsValidForRead": true, "AttributeOf": nilIfEmpty(a.AttributeOf), "IsPrimaryId": a.IsPrimaryID, "IsPrimaryName": a.IsPrimary,
		"IsLogical": a.Logical, "IsCustomAttribute": strings.HasPrefix(a.Name, "cr1_"),
		"DisplayName": label(a.Name), "SourceType": a.SourceType, "AutoNumberFormat": nilIfEmpty(a.AutoNumber),
		"RequiredLevel":         map[string]any{"Value": required, "CanBeChanged": !a.IsPrimaryID, "ManagedPropertyLogicalName": "canmodifyrequirementlevelsettings"},
		"IsValidODataAttribute": true, "IsRetrievable": true, "IsFilterable": true, "IsSearchable": true,
		"IsCustomizable": managed(true, "iscustomizable"), "IsManaged": !strings.HasPrefix(a.Name, "cr1_"),
	}
	switch {
	case a.IsLookup():
		m["Targets"] = a.Targets
		m["Format"] = "None"
	case a.Type == TFile || a.Type == TImage:
		m["MaxSizeInKB"] = a.MaxSizeKB
	case a.Type == TString || a.Type == TMemo:
		m["MaxLength"] = maxLength(a)
		m["Format"] = nilIfEmpty(a.Format)
		if a.Type == TString {
			f := a.Format
			if f == "" {
				f = "Text"
			}
			m["FormatName"] = map[string]any{"Value": f}
		}
	case a.Type == TDateTime:
		b := a.DateTimeBehavior
		if b == "" {
			b = "UserLocal"
		}
		f := a.Format
		if f == "" {
			f = "DateAndTime"
		}
		m["DateTimeBehavior"] = map[string]any{"Value": b}
		m["Format"] = f
	}
	if len(a.Options) > 0 || a.Type == TBoolean {
		m["DefaultFormValue"] = nil
		if expandOptions {
			m["OptionSet"] = e.optionSetMeta(t, a)
			if a.GlobalOptionSet != "" {
				m["GlobalOptionSet"] = m["OptionSet"]
			} else {
				m["GlobalOptionSet"] = nil
			}
		}
	}
	return m
}

func maxLength(a *AttrDef) int {
	if a.MaxLength > 0 {
		return a.MaxLength
	}
	if a.Type == TMemo {
		return 2000
	}
	return 100
}

// optionSetMeta is the OptionSet of a choice column: its global choice when
// it uses one, else its local one.
func (e *Env) optionSetMeta(t *TableDef, a *AttrDef) map[string]any {
	name, id, global := t.LogicalName+"_"+a.Name, metadataID("optionset", t.LogicalName, a.Name), false
	if a.GlobalOptionSet != "" {
		name, id, global = a.GlobalOptionSet, metadataID("globaloptionset", a.GlobalOptionSet), true
	}
	typ := "Picklist"
	switch a.Type {
	case TState:
		typ = "State"
	case TStatus:
		typ = "Status"
	case TBoolean:
		typ = "Boolean"
	}
	if a.Type == TBoolean {
		return map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM.BooleanOptionSetMetadata", "MetadataId": id, "HasChanged": nil, "Name": name,
			"IsGlobal": false, "OptionSetType": typ, "IsCustomOptionSet": false, "DisplayName": label(a.Name),
			"TrueOption": map[string]any{"Value": 1, "Label": label("Yes")}, "FalseOption": map[string]any{"Value": 0, "Label": label("No")}}
	}
	var opts []any
	for _, o := range a.Options {
		om := map[string]any{"Value": o.Value, "Label": label(o.Label), "Color": nil, "IsManaged": true, "MetadataId": nil, "HasChanged": nil}
		if a.Type == TStatus {
			om["State"] = o.State
		}
		opts = append(opts, om)
	}
	return map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM.OptionSetMetadata", "MetadataId": id, "HasChanged": nil, "Name": name,
		"IsGlobal": global, "OptionSetType": typ, "IsCustomOptionSet": strings.HasPrefix(name, "cr1_"), "DisplayName": label(name), "Options": opts}
}

// globalOptionSets lists the global choices the schema's columns use.
func (e *Env) globalOptionSets() []map[string]any {
	var out []map[string]any
	seen := map[string]bool{}
	for _, t := range e.sch().tables {
		for _, a := range t.Attrs {
			if a.GlobalOptionSet != "" && !seen[a.GlobalOptionSet] {
				seen[a.GlobalOptionSet] = true
				out = append(out, e.optionSetMeta(t, a))
			}
		}
	}
	return out
}

// keyMeta lists a table's alternate keys (EntityKeyMetadata).
func keyMeta(t *TableDef) []map[string]any {
	var out []map[string]any
	for col := range alternateKeys[t.LogicalName] {
		name := t.LogicalName + "_" + col + "_key"
		out = append(out, map[string]any{"MetadataId": metadataID("key", t.LogicalName, col), "HasChanged": nil, "LogicalName": name,
			"SchemaName": schemaName(name), "DisplayName": label(col), "EntityLogicalName": t.LogicalName, "KeyAttributes": []string{col},
			"EntityKeyIndexStatus": "Active", "AsyncJob": nil, "IsManaged": false, "IsCustomizable": managed(true, "iscustomizable"),
			"IsSecondaryKey": false, "IsExportKey": false, "IsSynchronous": false})
	}
	return out
}

// relationshipKinds maps EntityMetadata's relationship navigation
// properties to their metadata type.
var relationshipKinds = map[string]string{
	"ManyToManyRelationships": "ManyToManyRelationshipMetadata",
	"ManyToOneRelationships":  "OneToManyRelationshipMetadata",
	"OneToManyRelationships":  "OneToManyRelationshipMetadata",
}

func (e *Env) manyToMany(r *N2N) map[string]any {
	return map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM.ManyToManyRelationshipMetadata", "MetadataId": metadataID("rel", r.SchemaName),
		"HasChanged": nil, "SchemaName": r.SchemaName, "IntersectEntityName": r.IntersectEntity,
		"Entity1LogicalName": r.Entity1, "Entity2LogicalName": r.Entity2, "Entity1IntersectAttribute": r.Entity1Attr, "Entity2IntersectAttribute": r.Entity2Attr,
		"Entity1NavigationPropertyName": r.Entity1Nav, "Entity2NavigationPropertyName": r.Entity2Nav, "RelationshipType": "ManyToManyRelationship",
		"IsCustomRelationship": strings.HasPrefix(r.SchemaName, "cr1_"), "IsManaged": !strings.HasPrefix(r.SchemaName, "cr1_"), "SecurityTypes": "Append"}
}

func oneToMany(r *Rel1N) map[string]any {
	m := map[string]any{"@odata.type": "#Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata", "MetadataId": metadataID("rel", r.SchemaName),
		"HasChanged": nil, "SchemaName": r.SchemaName, "ReferencingEntity": r.ReferencingEntity, "ReferencingAttribute": r.ReferencingAttribute,
		"ReferencedEntity": r.ReferencedEntity, "ReferencedAttribute": r.ReferencedAttribute, "ReferencingEntityNavigationPropertyName": r.ReferencingNav,
		"ReferencedEntityNavigationPropertyName": r.ReferencedNav, "RelationshipType": "OneToManyRelationship",
		"IsCustomRelationship": strings.HasPrefix(r.ReferencingEntity, "cr1_"), "IsManaged": !strings.HasPrefix(r.ReferencingEntity, "cr1_"),
		"SecurityTypes": "Append", "IsHierarchical": r.ReferencedEntity == r.ReferencingEntity, "CascadeConfiguration": nil}
	if c := r.Cascade; c != (Cascade{}) {
		m["CascadeConfiguration"] = map[string]any{"Assign": c.Assign, "Delete": c.Delete, "Merge": c.Merge, "Reparent": c.Reparent, "Share": c.Share, "Unshare": c.Unshare}
	}
	return m
}

// oneToManyRels is every one-to-many relationship: those the schema states
// (with their cascade configuration) and one per lookup target it does not.
func (e *Env) oneToManyRels() []*Rel1N {
	sch := e.sch()
	out := append([]*Rel1N(nil), sch.rels...)
	stated := map[string]bool{}
	for _, r := range sch.rels {
		stated[r.ReferencingEntity+"/"+r.ReferencingAttribute+"/"+r.ReferencedEntity] = true
	}
	for _, src := range sch.tables {
		for _, a := range src.Attrs {
			if !a.IsLookup() {
				continue
			}
			for _, tg := range a.Targets {
				ref := sch.byName[tg]
				if ref == nil || stated[src.LogicalName+"/"+a.Name+"/"+tg] {
					continue
				}
				sn := tg + "_" + src.LogicalName + "_" + a.Name
				out = append(out, &Rel1N{SchemaName: sn, ReferencedEntity: tg, ReferencedAttribute: ref.PrimaryID,
					ReferencingEntity: src.LogicalName, ReferencingAttribute: a.Name, ReferencedNav: sn, ReferencingNav: a.nav[tg]})
			}
		}
	}
	return out
}

// relationships lists one kind of relationship of a table.
func (e *Env) relationships(t *TableDef, kind string) []map[string]any {
	var out []map[string]any
	switch kind {
	case "ManyToManyRelationships":
		for _, r := range e.sch().n2n {
			if r.Entity1 == t.LogicalName || r.Entity2 == t.LogicalName {
				out = append(out, e.manyToMany(r))
			}
		}
	case "ManyToOneRelationships", "OneToManyRelationships":
		for _, r := range e.oneToManyRels() {
			if kind == "ManyToOneRelationships" && r.ReferencingEntity == t.LogicalName || kind == "OneToManyRelationships" && r.ReferencedEntity == t.LogicalName {
				out = append(out, oneToMany(r))
			}
		}
	}
	return out
}

// metaKey parses a metadata key: LogicalName='x' (or SchemaName=, Name=)
// gives the name, a GUID gives the MetadataId.
func metaKey(def string) (string, bool) {
	if k, v, ok := strings.Cut(def, "="); ok && !strings.ContainsAny(k, "'") {
		return strings.Trim(v, "'"), true
	}
	return strings.ToLower(strings.Trim(def, "{}")), false
}

// cast returns the type named by a Microsoft.Dynamics.CRM.<Type> segment.
func cast(s segment) (string, bool) {
	return strings.CutPrefix(s.name, "Microsoft.Dynamics.CRM.")
}

func (e *Env) serveMetadata(rc *reqCtx, w http.ResponseWriter, r *http.Request, segs []segment) {
	if r.Method != http.MethodGet {
		writeDVError(w, errf(405, codeBadRequest, "The HTTP method '%s' is not supported for %s.", r.Method, segs[0].name))
		return
	}
	mq, derr := parseMetaQuery(queryValues(r.URL.RawQuery))
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	ctx := rc.base + "$metadata#" + segs[0].name
	switch segs[0].name {
	case "RelationshipDefinitions":
		e.serveRelationshipDefinitions(w, ctx, segs, mq)
	case "GlobalOptionSetDefinitions":
		e.serveGlobalOptionSets(w, ctx, segs, mq)
	default:
		e.serveEntityDefinitions(w, ctx, segs, mq)
	}
}

func (e *Env) serveEntityDefinitions(w http.ResponseWriter, ctx string, segs []segment, mq *metaQuery) {
	first := segs[0]
	if !first.has || len(segs) == 1 {
		if derr := checkSelect(mq.sel, entityMetadataProps, "EntityMetadata"); derr != nil {
			writeDVError(w, derr)
			return
		}
		if derr := checkExpand(mq.expand, entityNavProps, "EntityMetadata"); derr != nil {
			writeDVError(w, derr)
			return
		}
	}
	if !first.has {
		var list []map[string]any
		for _, t := range e.sch().tables {
			list = append(list, entityMeta(t))
		}
		list, derr := filterMetaList(list, mq.filter, entityMetadataProps, "EntityMetadata")
		if derr != nil {
			writeDVError(w, derr)
			return
		}
		out := make([]map[string]any, 0, len(list))
		for _, m := range list {
			em, derr := e.expandEntity(e.sch().byName[m["LogicalName"].(string)], project(m, mq.sel), mq.expand)
			if derr != nil {
				writeDVError(w, derr)
				return
			}
			out = append(out, em)
		}
		writeMetaJSON(w, map[string]any{"@odata.context": ctx + contextSuffix(mq.sel), "value": out})
		return
	}
	t := e.tableByMetaKey(first.key)
	if t == nil {
		k, _ := metaKey(first.key)
		writeDVError(w, errf(404, codeNotFound, "Could not find entity with name or id %s.", k))
		return
	}
	if len(segs) == 1 {
		m, derr := e.expandEntity(t, project(entityMeta(t), mq.sel), mq.expand)
		if derr != nil {
			writeDVError(w, derr)
			return
		}
		m["@odata.context"] = ctx + contextSuffix(mq.sel) + "/$entity"
		writeMetaJSON(w, m)
		return
	}
	ctx += "(" + first.key + ")/" + segs[1].name
	switch segs[1].name {
	case "Attributes":
		e.serveAttributes(w, ctx, t, segs[1:], mq)
	case "Keys":
		e.serveMetaCollection(w, ctx, segs[1], keyMeta(t), entityKeyProps, "EntityKeyMetadata", mq, "LogicalName")
	case "ManyToManyRelationships", "ManyToOneRelationships", "OneToManyRelationships":
		typ := relationshipKinds[segs[1].name]
		e.serveMetaCollection(w, ctx, segs[1], e.relationships(t, segs[1].name), relationshipProps[typ], typ, mq, "SchemaName")
	default:
		writeDVError(w, noSegment(segs[1].name))
	}
}

// tableByMetaKey finds a table by LogicalName='x' or MetadataId.
func (e *Env) tableByMetaKey(key string) *TableDef {
	k, byName := metaKey(key)
	for _, x := range e.sch().tables {
		if byName && x.LogicalName == k || !byName && metadataID("entity", x.LogicalName) == k {
			return x
		}
	}
	return nil
}

// expandEntity adds the expanded navigation properties to an entity's map.
func (e *Env) expandEntity(t *TableDef, m map[string]any, expand map[string]*metaQuery) (map[string]any, *dvError) {
	for nav, nq := range expand {
		var list []map[string]any
		var props map[string]bool
		typ := ""
		switch nav {
		case "Attributes":
			typ, props = "AttributeMetadata", attributeProps["AttributeMetadata"]
			for _, a := range t.Attrs {
				list = append(list, e.attrMeta(t, a, false))
			}
		case "Keys":
			typ, props, list = "EntityKeyMetadata", entityKeyProps, keyMeta(t)
		default:
			typ = relationshipKinds[nav]
			props, list = relationshipProps[typ], e.relationships(t, nav)
		}
		if derr := checkSelect(nq.sel, props, typ); derr != nil {
			return nil, derr
		}
		if len(nq.expand) > 0 {
			for n := range nq.expand {
				return nil, noProperty(n, typ)
			}
		}
		if nq.orderby != "" {
			return nil, unsupportedQueryOption("$orderby")
		}
		if nq.top != "" {
			return nil, unsupportedQueryOption("$top")
		}
		list, derr := filterMetaList(list, nq.filter, props, typ)
		if derr != nil {
			return nil, derr
		}
		out := make([]map[string]any, 0, len(list))
		for _, x := range list {
			out = append(out, project(x, nq.sel))
		}
		m[nav] = out
	}
	return m, nil
}

// serveAttributes answers .../Attributes[(key)][/cast[/OptionSet]].
func (e *Env) serveAttributes(w http.ResponseWriter, ctx string, t *TableDef, segs []segment, mq *metaQuery) {
	coll := segs[0]
	typ, rest := "AttributeMetadata", segs[1:]
	if len(rest) > 0 {
		c, ok := cast(rest[0])
		if !ok || attributeProps[c] == nil {
			writeDVError(w, noSegment(rest[0].name))
			return
		}
		typ, rest = c, rest[1:]
	}
	props := attributeProps[typ]
	var list []map[string]any
	for _, a := range t.Attrs {
		if coll.has {
			ak, _ := metaKey(coll.key)
			if a.Name != ak && metadataID("attr", t.LogicalName, a.Name) != ak {
				continue
			}
		}
		if typ != "AttributeMetadata" && castByType[a.Type] != typ {
			continue
		}
		_, expandOS := mq.expand["OptionSet"]
		_, expandGOS := mq.expand["GlobalOptionSet"]
		list = append(list, e.attrMeta(t, a, expandOS || expandGOS || len(rest) > 0))
	}
	if len(rest) > 0 {
		// .../Attributes(key)/<cast>/OptionSet: the option set itself.
		nav := rest[0].name
		if !coll.has || len(list) != 1 || !attributeNavProps[nav] || !props[nav] {
			writeDVError(w, noSegment(nav))
			return
		}
		os, _ := list[0][nav].(map[string]any)
		if os == nil {
			writeDVError(w, errf(404, codeNotFound, "The attribute %s has no %s.", coll.key, nav))
			return
		}
		osType := strings.TrimPrefix(os["@odata.type"].(string), "#Microsoft.Dynamics.CRM.")
		if derr := checkSelect(mq.sel, optionSetProps[osType], osType); derr != nil {
			writeDVError(w, derr)
			return
		}
		m := project(os, mq.sel)
		m["@odata.context"] = ctx + "/$entity"
		writeMetaJSON(w, m)
		return
	}
	if derr := checkSelect(mq.sel, props, typ); derr != nil {
		writeDVError(w, derr)
		return
	}
	for nav := range mq.expand {
		if !attributeNavProps[nav] || !props[nav] {
			writeDVError(w, noProperty(nav, typ))
			return
		}
	}
	if coll.has {
		if len(list) == 0 {
			writeDVError(w, errf(404, codeNotFound, "Could not find attribute %s on entity %s.", coll.key, t.LogicalName))
			return
		}
		m := project(list[0], mq.sel)
		m["@odata.context"] = ctx + "/$entity"
		writeMetaJSON(w, m)
		return
	}
	list, derr := filterMetaList(list, mq.filter, props, typ)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, m := range list {
		out = append(out, project(m, mq.sel))
	}
	writeMetaJSON(w, map[string]any{"@odata.context": ctx + contextSuffix(mq.sel), "value": out})
}

// serveMetaCollection answers a collection of metadata items of one type,
// or one of them when the segment has a key (matched on keyProp or
// MetadataId).
func (e *Env) serveMetaCollection(w http.ResponseWriter, ctx string, seg segment, list []map[string]any, props map[string]bool, typ string, mq *metaQuery, keyProp string) {
	if derr := checkSelect(mq.sel, props, typ); derr != nil {
		writeDVError(w, derr)
		return
	}
	if len(mq.expand) > 0 {
		for n := range mq.expand {
			writeDVError(w, noProperty(n, typ))
			return
		}
	}
	if seg.has {
		k, _ := metaKey(seg.key)
		for _, m := range list {
			if m[keyProp] == k || m["MetadataId"] == k {
				out := project(m, mq.sel)
				out["@odata.context"] = ctx + "/$entity"
				writeMetaJSON(w, out)
				return
			}
		}
		writeDVError(w, errf(404, codeNotFound, "Could not find %s %s.", typ, k))
		return
	}
	list, derr := filterMetaList(list, mq.filter, props, typ)
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	out := make([]map[string]any, 0, len(list))
	for _, m := range list {
		out = append(out, project(m, mq.sel))
	}
	writeMetaJSON(w, map[string]any{"@odata.context": ctx + contextSuffix(mq.sel), "value": out})
}

func (e *Env) serveRelationshipDefinitions(w http.ResponseWriter, ctx string, segs []segment, mq *metaQuery) {
	var all []map[string]any
	for _, r := range e.oneToManyRels() {
		all = append(all, oneToMany(r))
	}
	for _, r := range e.sch().n2n {
		all = append(all, e.manyToMany(r))
	}
	all, typ, ok := castMetaList(w, segs, all, relationshipProps, "RelationshipMetadataBase")
	if !ok {
		return
	}
	e.serveMetaCollection(w, ctx, segs[0], all, relationshipProps[typ], typ, mq, "SchemaName")
}

func (e *Env) serveGlobalOptionSets(w http.ResponseWriter, ctx string, segs []segment, mq *metaQuery) {
	all := e.globalOptionSets()
	all, typ, ok := castMetaList(w, segs, all, optionSetProps, "OptionSetMetadataBase")
	if !ok {
		return
	}
	e.serveMetaCollection(w, ctx, segs[0], all, optionSetProps[typ], typ, mq, "Name")
}

func writeMetaJSON(w http.ResponseWriter, v any) {
	b, _ := json.Marshal(v)
	writeBody(w, 200, b)
}

// castMetaList applies a type cast segment (RelationshipDefinitions/
// Microsoft.Dynamics.CRM.OneToManyRelationshipMetadata) to a metadata
// collection: the items of that derived type, and the type whose
// properties may be selected. An unknown cast or a further segment is
// answered as Dataverse answers an unknown segment (ok false).
func castMetaList(w http.ResponseWriter, segs []segment, all []map[string]any, props map[string]map[string]bool, base string) ([]map[string]any, string, bool) {
	if len(segs) < 2 {
		return all, base, true
	}
	c, ok := cast(segs[1])
	if !ok || props[c] == nil || c == base || len(segs) > 2 {
		writeDVError(w, noSegment(segs[1].name))
		return nil, "", false
	}
	var kept []map[string]any
	for _, m := range all {
		if m["@odata.type"] == "#Microsoft.Dynamics.CRM."+c {
			kept = append(kept, m)
		}
	}
	return kept, c, true
}
