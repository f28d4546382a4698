package dataversesim

import (
	"encoding/xml"
	"net/http"
	"sort"
	"strconv"
	"strings"
)

// The CSDL $metadata document (powerapps-docs, developer/data-platform/
// webapi/web-api-service-documents.md, web-api-entitytypes.md,
// web-api-properties.md, web-api-navigation-properties.md,
// web-api-actions.md, web-api-complex-enum-types.md), built from the
// organization's schema and served alike at v9.0, v9.1 and v9.2:
//
//   - crmbaseentity (abstract), expando (open), principal (abstract, key
//     ownerid: systemuser and team derive from it) and activitypointer
//     (activity tables derive from it, key activityid);
//   - one EntityType per table: Key, a Property per column typed by its
//     attribute type (choices are Edm.Int32, money Edm.Decimal, DateOnly
//     Edm.Date), lookups as _x_value Edm.Guid plus one single-valued
//     NavigationProperty per target with its ReferentialConstraint and
//     Partner, collection-valued NavigationProperties for one-to-many and
//     many-to-many relationships, and the alternate-key annotation;
//   - the metadata types behind EntityDefinitions, RelationshipDefinitions
//     and GlobalOptionSetDefinitions (open types: their properties are the
//     ones metaprops.go lists);
//   - EnumTypes and ComplexTypes of the operations served, and the
//     operations: WhoAmI and RetrieveMetadataChanges (functions),
//     CreateMultiple, UpdateMultiple and UpsertMultiple (actions bound to
//     any entity set), WinOpportunity, LoseOpportunity and CloseIncident.
//     DeleteMultiple is left out: "a private action. You won't find it in
//     the CSDL $metadata document" (bulk-operations.md);
//   - the EntityContainer "System" with an EntitySet per table (with its
//     NavigationPropertyBindings), the metadata entity sets and the imports.
//
// With ?annotations=true (or Prefer: odata.include-annotations) read-only
// properties carry Org.OData.Core.V1.Computed and Permissions/Read.

type csdlWriter struct {
	sb          strings.Builder
	annotations bool
}

func (c *csdlWriter) w(parts ...string) {
	for _, p := range parts {
		c.sb.WriteString(p)
	}
}

func xmlAttr(s string) string {
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(s))
	return strings.ReplaceAll(b.String(), `"`, "&quot;")
}

// edmType is the Edm type of a column's property.
func edmType(a *AttrDef) string {
	switch a.Type {
	case TInteger, TPicklist, TState, TStatus:
		return "Edm.Int32"
	case TBigInt:
		return "Edm.Int64"
	case TDecimal, TMoney:
		return "Edm.Decimal"
	case TDouble:
		return "Edm.Double"
	case TBoolean:
		return "Edm.Boolean"
	case TDateTime:
		if a.DateTimeBehavior == "DateOnly" || a.Format == "DateOnly" {
			return "Edm.Date"
		}
		return "Edm.DateTimeOffset"
	case TUniqueID, TLookup, TCustomer, TOwner:
		return "Edm.Guid"
	case TFile, TImage:
		return "Edm.Binary" // "Used for file and image data" (web-api-properties.md)
	}
	return "Edm.String"
}

func (e *Env) serveCSDL(rc *reqCtx, w http.ResponseWriter) {
	c := &csdlWriter{annotations: rc.r.URL.Query().Get("annotations") == "true" || parsePrefs(rc.r.Header).hasAnn}
	sch := e.sch()
	c.w(`<?xml version="1.0" encoding="utf-8"?>`,
		`<edmx:Edmx Version="4.0" xmlns:edmx="http://docs.oasis-open.org/odata/ns/edmx">`,
		`<edmx:Reference Uri="http://vocabularies.odata.org/OData.Community.Keys.V1.xml"><edmx:Include Namespace="OData.Community.Keys.V1" Alias="Keys"/></edmx:Reference>`,
		`<edmx:Reference Uri="http://docs.oasis-open.org/odata/odata/v4.0/os/vocabularies/Org.OData.Core.V1.xml"><edmx:Include Namespace="Org.OData.Core.V1" Alias="Core"/></edmx:Reference>`,
		`<edmx:DataServices><Schema Namespace="Microsoft.Dynamics.CRM" Alias="mscrm" xmlns="http://docs.oasis-open.org/odata/ns/edm">`)
	c.w(`<EntityType Name="crmbaseentity" Abstract="true"/>`,
		`<EntityType Name="expando" BaseType="mscrm.crmbaseentity" OpenType="true"/>`,
		`<EntityType Name="principal" BaseType="mscrm.crmbaseentity" Abstract="true"><Key><PropertyRef Name="ownerid"/></Key><Property Name="ownerid" Type="Edm.Guid"/></EntityType>`)
	if sch.byName["activitypointer"] == nil {
		c.w(`<EntityType Name="activitypointer" BaseType="mscrm.crmbaseentity" Abstract="true"><Key><PropertyRef Name="activityid"/></Key><Property Name="activityid" Type="Edm.Guid"/></EntityType>`)
	}
	rels := e.oneToManyRels()
	for _, t := range sch.tables {
		e.csdlEntityType(c, t, rels)
	}
	c.w(csdlMetadataTypes, csdlEnumTypes, csdlComplexTypes)
	c.w(csdlOperations(sch))
	c.w(`<EntityContainer Name="System">`)
	for _, t := range sch.tables {
		c.w(`<EntitySet Name="`, xmlAttr(t.SetName), `" EntityType="Microsoft.Dynamics.CRM.`, xmlAttr(t.LogicalName), `">`)
		for _, b := range e.navBindings(t, rels) {
			c.w(`<NavigationPropertyBinding Path="`, xmlAttr(b[0]), `" Target="`, xmlAttr(b[1]), `"/>`)
		}
		c.w(`</EntitySet>`)
	}
	c.w(`<EntitySet Name="EntityDefinitions" EntityType="Microsoft.Dynamics.CRM.EntityMetadata"/>`,
		`<EntitySet Name="RelationshipDefinitions" EntityType="Microsoft.Dynamics.CRM.RelationshipMetadataBase"/>`,
		`<EntitySet Name="GlobalOptionSetDefinitions" EntityType="Microsoft.Dynamics.CRM.OptionSetMetadataBase"/>`,
		`<FunctionImport Name="WhoAmI" Function="Microsoft.Dynamics.CRM.WhoAmI"/>`,
		`<FunctionImport Name="RetrieveMetadataChanges" Function="Microsoft.Dynamics.CRM.RetrieveMetadataChanges"/>`,
		`<ActionImport Name="WinOpportunity" Action="Microsoft.Dynamics.CRM.WinOpportunity"/>`,
		`<ActionImport Name="LoseOpportunity" Action="Microsoft.Dynamics.CRM.LoseOpportunity"/>`,
		`<ActionImport Name="CloseIncident" Action="Microsoft.Dynamics.CRM.CloseIncident"/>`,
		`</EntityContainer></Schema></edmx:DataServices></edmx:Edmx>`)
	b := []byte(c.sb.String())
	w.Header().Set("Content-Type", "application/xml")
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(200)
	w.Write(b)
}

// baseType is the EntityType a table's type derives from.
func baseType(sch *schema, t *TableDef) (name string, base *TableDef) {
	switch {
	case t.LogicalName == "systemuser" || t.LogicalName == "team":
		return "principal", nil
	case t.IsActivity && t.LogicalName != "activitypointer":
		return "activitypointer", sch.byName["activitypointer"]
	}
	return "crmbaseentity", nil
}

func (e *Env) csdlEntityType(c *csdlWriter, t *TableDef, rels []*Rel1N) {
	sch := e.sch()
	bt, base := baseType(sch, t)
	c.w(`<EntityType Name="`, xmlAttr(t.LogicalName), `" BaseType="mscrm.`, bt, `">`)
	inherited := func(name string) bool { return base != nil && base.Attr(name) != nil }
	switch bt {
	case "crmbaseentity":
		c.w(`<Key><PropertyRef Name="`, xmlAttr(t.PrimaryID), `"/></Key>`)
	case "activitypointer":
		if t.PrimaryID != "activityid" {
			c.w(`<Key><PropertyRef Name="`, xmlAttr(t.PrimaryID), `"/></Key>`)
		}
	}
	for _, a := range t.Attrs {
		if inherited(a.Name) || bt == "activitypointer" && base == nil && a.Name == "activityid" {
			continue
		}
		name := outputName(a)
		c.w(`<Property Name="`, xmlAttr(name), `" Type="`, edmType(a), `"`)
		if edmType(a) == "Edm.Decimal" {
			c.w(` Scale="Variable"`)
		}
		readOnly := a.IsLookup() || a.ReadOnly && !a.IsPrimaryID
		if c.annotations && readOnly {
			c.w(`><Annotation Term="Org.OData.Core.V1.Computed" Bool="true"/><Annotation Term="Org.OData.Core.V1.Permissions"><EnumMember>Org.OData.Core.V1.PermissionType/Read</EnumMember></Annotation></Property>`)
		} else {
			c.w(`/>`)
		}
	}
	// Single-valued navigation properties: one per lookup target, unless the
	// base type already declares one of that name.
	baseNavs := map[string]bool{}
	if base != nil {
		for _, a := range base.Attrs {
			for _, n := range a.nav {
				baseNavs[n] = true
			}
		}
	}
	for _, a := range t.Attrs {
		if !a.IsLookup() {
			continue
		}
		if a.Type == TOwner {
			if baseNavs[a.Name] {
				continue
			}
			c.w(`<NavigationProperty Name="`, xmlAttr(a.Name), `" Type="mscrm.principal" Partner="`, xmlAttr("owner_"+t.SetName),
				`"><ReferentialConstraint Property="_`, xmlAttr(a.Name), `_value" ReferencedProperty="ownerid"/></NavigationProperty>`)
			continue
		}
		for _, tg := range a.Targets {
			ref := sch.byName[tg]
			if ref == nil || baseNavs[a.nav[tg]] {
				continue
			}
			c.w(`<NavigationProperty Name="`, xmlAttr(a.nav[tg]), `" Type="mscrm.`, xmlAttr(tg), `" Nullable="false" Partner="`,
				xmlAttr(partnerOf(rels, t.LogicalName, a.Name, tg)), `"><ReferentialConstraint Property="_`, xmlAttr(a.Name),
				`_value" ReferencedProperty="`, xmlAttr(ref.PrimaryID), `"/></NavigationProperty>`)
		}
	}
	// Collection-valued: the other side of one-to-many relationships, and many-to-many.
	seen := map[string]bool{}
	for _, r := range rels {
		if r.ReferencedEntity != t.LogicalName || sch.byName[r.ReferencingEntity] == nil || seen[r.ReferencedNav] {
			continue
		}
		seen[r.ReferencedNav] = true
		c.w(`<NavigationProperty Name="`, xmlAttr(r.ReferencedNav), `" Type="Collection(mscrm.`, xmlAttr(r.ReferencingEntity), `)" Partner="`, xmlAttr(r.ReferencingNav), `"/>`)
	}
	for _, r := range sch.n2n {
		for _, side := range [][3]string{{r.Entity1, r.Entity1Nav, r.Entity2}, {r.Entity2, r.Entity2Nav, r.Entity1}} {
			if side[0] != t.LogicalName || seen[side[1]] {
				continue
			}
			seen[side[1]] = true
			other := r.Entity2Nav
			if side[1] == r.Entity2Nav && r.Entity1 != r.Entity2 {
				other = r.Entity1Nav
			}
			c.w(`<NavigationProperty Name="`, xmlAttr(side[1]), `" Type="Collection(mscrm.`, xmlAttr(side[2]), `)" Partner="`, xmlAttr(other), `"/>`)
		}
	}
	if keys := alternateKeys[t.LogicalName]; len(keys) > 0 {
		names := make([]string, 0, len(keys))
		for k := range keys {
			names = append(names, k)
		}
		sort.Strings(names)
		c.w(`<Annotation Term="OData.Community.Keys.V1.AlternateKeys"><Collection>`)
		for _, k := range names {
			c.w(`<Record Type="OData.Community.Keys.V1.AlternateKey"><PropertyValue Property="Key"><Collection><Record Type="OData.Community.Keys.V1.PropertyRef">`,
				`<PropertyValue Property="Alias" String="`, xmlAttr(k), `"/><PropertyValue Property="Name" PropertyPath="`, xmlAttr(k), `"/></Record></Collection></PropertyValue></Record>`)
		}
		c.w(`</Collection></Annotation>`)
	}
	c.w(`</EntityType>`)
}

// partnerOf is the collection-valued navigation property on the referenced
// table that pairs with a lookup's single-valued one.
func partnerOf(rels []*Rel1N, referencing, attr, referenced string) string {
	for _, r := range rels {
		if r.ReferencingEntity == referencing && r.ReferencingAttribute == attr && r.ReferencedEntity == referenced {
			return r.ReferencedNav
		}
	}
	return referenced + "_" + referencing + "_" + attr
}

// navBindings are an entity set's NavigationPropertyBindings (path, target set).
func (e *Env) navBindings(t *TableDef, rels []*Rel1N) [][2]string {
	sch := e.sch()
	var out [][2]string
	for _, a := range t.Attrs {
		if !a.IsLookup() || a.Type == TOwner {
			continue
		}
		for _, tg := range a.Targets {
			if ref := sch.byName[tg]; ref != nil {
				out = append(out, [2]string{a.nav[tg], ref.SetName})
			}
		}
	}
	seen := map[string]bool{}
	for _, r := range rels {
		if ref := sch.byName[r.ReferencingEntity]; r.ReferencedEntity == t.LogicalName && ref != nil && !seen[r.ReferencedNav] {
			seen[r.ReferencedNav] = true
			out = append(out, [2]string{r.ReferencedNav, ref.SetName})
		}
	}
	for _, r := range sch.n2n {
		if r.Entity1 == t.LogicalName && sch.byName[r.Entity2] != nil && !seen[r.Entity1Nav] {
			seen[r.Entity1Nav] = true
			out = append(out, [2]string{r.Entity1Nav, sch.byName[r.Entity2].SetName})
		}
		if r.Entity2 == t.LogicalName && sch.byName[r.Entity1] != nil && !seen[r.Entity2Nav] {
			seen[r.Entity2Nav] = true
			out = append(out, [2]string{r.Entity2Nav, sch.byName[r.Entity1].SetName})
		}
	}
	return out
}

// csdlMetadataTypes are the types behind the metadata entity sets
// (web-api-entitytypes.md: crmmodelbaseentity, MetadataBase with
// MetadataId and HasChanged).
const csdlMetadataTypes = `<EntityType Name="crmmodelbaseentity" Abstract="true"/>` +
	`<EntityType Name="MetadataBase" BaseType="mscrm.crmmodelbaseentity" Abstract="true"><Key><PropertyRef Name="MetadataId"/></Key>` +
	`<Property Name="MetadataId" Type="Edm.Guid" Nullable="false"/><Property Name="HasChanged" Type="Edm.Boolean"/></EntityType>` +
	`<EntityType Name="EntityMetadata" BaseType="mscrm.MetadataBase" OpenType="true">` +
	`<NavigationProperty Name="Attributes" Type="Collection(mscrm.AttributeMetadata)"/>` +
	`<NavigationProperty Name="Keys" Type="Collection(mscrm.EntityKeyMetadata)"/>` +
	`<NavigationProperty Name="ManyToManyRelationships" Type="Collection(mscrm.ManyToManyRelationshipMetadata)"/>` +
	`<NavigationProperty Name="ManyToOneRelationships" Type="Collection(mscrm.OneToManyRelationshipMetadata)"/>` +
	`<NavigationProperty Name="OneToManyRelationships" Type="Collection(mscrm.OneToManyRelationshipMetadata)"/></EntityType>` +
	`<EntityType Name="AttributeMetadata" BaseType="mscrm.MetadataBase" OpenType="true"/>` +
	`<EntityType Name="EnumAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true">` +
	`<NavigationProperty Name="OptionSet" Type="mscrm.OptionSetMetadataBase"/><NavigationProperty Name="GlobalOptionSet" Type="mscrm.OptionSetMetadataBase"/></EntityType>` +
	`<EntityType Name="PicklistAttributeMetadata" BaseType="mscrm.EnumAttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="MultiSelectPicklistAttributeMetadata" BaseType="mscrm.EnumAttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="StateAttributeMetadata" BaseType="mscrm.EnumAttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="StatusAttributeMetadata" BaseType="mscrm.EnumAttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="EntityNameAttributeMetadata" BaseType="mscrm.EnumAttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="BooleanAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true">` +
	`<NavigationProperty Name="OptionSet" Type="mscrm.BooleanOptionSetMetadata"/><NavigationProperty Name="GlobalOptionSet" Type="mscrm.BooleanOptionSetMetadata"/></EntityType>` +
	`<EntityType Name="StringAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="MemoAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="IntegerAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="BigIntAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="DecimalAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="DoubleAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="MoneyAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="DateTimeAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="LookupAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="UniqueIdentifierAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="FileAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="ImageAttributeMetadata" BaseType="mscrm.AttributeMetadata" OpenType="true"/>` +
	`<EntityType Name="RelationshipMetadataBase" BaseType="mscrm.MetadataBase" OpenType="true"/>` +
	`<EntityType Name="OneToManyRelationshipMetadata" BaseType="mscrm.RelationshipMetadataBase" OpenType="true"/>` +
	`<EntityType Name="ManyToManyRelationshipMetadata" BaseType="mscrm.RelationshipMetadataBase" OpenType="true"/>` +
	`<EntityType Name="EntityKeyMetadata" BaseType="mscrm.MetadataBase" OpenType="true"/>` +
	`<EntityType Name="OptionSetMetadataBase" BaseType="mscrm.MetadataBase" OpenType="true"/>` +
	`<EntityType Name="OptionSetMetadata" BaseType="mscrm.OptionSetMetadataBase" OpenType="true"/>` +
	`<EntityType Name="BooleanOptionSetMetadata" BaseType="mscrm.OptionSetMetadataBase" OpenType="true"/>`

// csdlEnumTypes are the enumerations the served operations and metadata
// filters use (query-metadata-web-api.md, cache-schema-data.md).
const csdlEnumTypes = `<EnumType Name="OwnershipTypes"><Member Name="None" Value="0"/><Member Name="UserOwned" Value="1"/>` +
	`<Member Name="TeamOwned" Value="2"/><Member Name="BusinessOwned" Value="4"/><Member Name="OrganizationOwned" Value="8"/>` +
	`<Member Name="BusinessParented" Value="16"/><Member Name="Filesystem" Value="32"/></EnumType>` +
	`<EnumType Name="AttributeTypeCode"><Member Name="Boolean" Value="0"/><Member Name="Customer" Value="1"/><Member Name="DateTime" Value="2"/>` +
	`<Member Name="Decimal" Value="3"/><Member Name="Double" Value="4"/><Member Name="Integer" Value="5"/><Member Name="Lookup" Value="6"/>` +
	`<Member Name="Memo" Value="7"/><Member Name="Money" Value="8"/><Member Name="Owner" Value="9"/><Member Name="PartyList" Value="10"/>` +
	`<Member Name="Picklist" Value="11"/><Member Name="State" Value="12"/><Member Name="Status" Value="13"/><Member Name="String" Value="14"/>` +
	`<Member Name="Uniqueidentifier" Value="15"/><Member Name="CalendarRules" Value="16"/><Member Name="Virtual" Value="17"/>` +
	`<Member Name="BigInt" Value="18"/><Member Name="ManagedProperty" Value="19"/><Member Name="EntityName" Value="20"/></EnumType>` +
	`<EnumType Name="DeletedMetadataFilters" IsFlags="true"><Member Name="Default" Value="1"/><Member Name="Attribute" Value="2"/>` +
	`<Member Name="Relationship" Value="4"/><Member Name="Label" Value="8"/><Member Name="OptionSet" Value="16"/><Member Name="All" Value="31"/></EnumType>` +
	`<EnumType Name="MetadataConditionOperator"><Member Name="Equals" Value="0"/><Member Name="NotEquals" Value="1"/><Member Name="In" Value="2"/>` +
	`<Member Name="NotIn" Value="3"/><Member Name="GreaterThan" Value="4"/><Member Name="LessThan" Value="5"/></EnumType>` +
	`<EnumType Name="LogicalOperator"><Member Name="And" Value="0"/><Member Name="Or" Value="1"/></EnumType>`

// csdlComplexTypes are the parameter and response types of the served
// operations (WhoAmIResponse as web-api-complex-enum-types.md shows it).
const csdlComplexTypes = `<ComplexType Name="WhoAmIResponse"><Property Name="BusinessUnitId" Type="Edm.Guid" Nullable="false"/>` +
	`<Property Name="UserId" Type="Edm.Guid" Nullable="false"/><Property Name="OrganizationId" Type="Edm.Guid" Nullable="false"/></ComplexType>` +
	`<ComplexType Name="CreateMultipleResponse"><Property Name="Ids" Type="Collection(Edm.Guid)" Nullable="false"/></ComplexType>` +
	`<ComplexType Name="UpsertResponse"><Property Name="RecordCreated" Type="Edm.Boolean" Nullable="false"/>` +
	`<NavigationProperty Name="Target" Type="mscrm.crmbaseentity"/></ComplexType>` +
	`<ComplexType Name="UpsertMultipleResponse"><Property Name="Results" Type="Collection(mscrm.UpsertResponse)" Nullable="false"/></ComplexType>` +
	`<ComplexType Name="EntityQueryExpression" OpenType="true"/>` +
	`<ComplexType Name="ComplexEntityMetadata" OpenType="true"/>` +
	`<ComplexType Name="GuidCollection"><Property Name="Items" Type="Collection(Edm.Guid)"/></ComplexType>` +
	`<ComplexType Name="DeletedMetadataCollection"><Property Name="Count" Type="Edm.Int32" Nullable="false"/>` +
	`<Property Name="IsReadOnly" Type="Edm.Boolean" Nullable="false"/><Property Name="Keys" Type="Collection(mscrm.DeletedMetadataFilters)"/>` +
	`<Property Name="Values" Type="Collection(mscrm.GuidCollection)"/></ComplexType>` +
	`<ComplexType Name="RetrieveMetadataChangesResponse"><Property Name="EntityMetadata" Type="Collection(mscrm.ComplexEntityMetadata)"/>` +
	`<Property Name="ServerVersionStamp" Type="Edm.String" Unicode="false"/><Property Name="DeletedMetadata" Type="mscrm.DeletedMetadataCollection"/></ComplexType>`

// csdlOperations are the functions and actions served (the state messages
// WinOpportunity, LoseOpportunity and CloseIncident take a close record of
// the table that schema has, else any entity).
func csdlOperations(sch *schema) string {
	entity := func(name string) string {
		if sch.byName[name] != nil {
			return "mscrm." + name
		}
		return "mscrm.crmbaseentity"
	}
	bulk := func(name, ret string) string {
		s := `<Action Name="` + name + `" IsBound="true"><Parameter Name="entityset" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>` +
			`<Parameter Name="Targets" Type="Collection(mscrm.crmbaseentity)" Nullable="false"/>`
		if ret != "" {
			s += `<ReturnType Type="mscrm.` + ret + `" Nullable="false"/>`
		}
		return s + `</Action>`
	}
	state := func(name, param, table string) string {
		return `<Action Name="` + name + `"><Parameter Name="` + param + `" Type="` + entity(table) + `" Nullable="false"/>` +
			`<Parameter Name="Status" Type="Edm.Int32" Nullable="false"/></Action>`
	}
	return `<Function Name="WhoAmI"><ReturnType Type="mscrm.WhoAmIResponse" Nullable="false"/></Function>` +
		`<Function Name="RetrieveMetadataChanges"><Parameter Name="Query" Type="mscrm.EntityQueryExpression"/>` +
		`<Parameter Name="DeletedMetadataFilters" Type="mscrm.DeletedMetadataFilters"/><Parameter Name="ClientVersionStamp" Type="Edm.String" Unicode="false"/>` +
		`<Parameter Name="AppModuleId" Type="Edm.Guid"/><Parameter Name="RetrieveAllSettings" Type="Edm.Boolean"/>` +
		`<ReturnType Type="mscrm.RetrieveMetadataChangesResponse" Nullable="false"/></Function>` +
		bulk("CreateMultiple", "CreateMultipleResponse") + bulk("UpdateMultiple", "") + bulk("UpsertMultiple", "UpsertMultipleResponse") +
		state("WinOpportunity", "OpportunityClose", "opportunityclose") + state("LoseOpportunity", "OpportunityClose", "opportunityclose") +
		state("CloseIncident", "IncidentResolution", "incidentresolution")
}
