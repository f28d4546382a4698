package backup

import (
	"bytes"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
)

// The per-table parts of the metadata snapshot (docs/storage-format.md,
// "Metadata snapshot"), built from RetrieveMetadataChanges answers: each
// ComplexEntityMetadata becomes the parts one request per part used to
// give, item by item the same objects (the Complex* type names read as
// the entity types' names), so readers of the snapshot see no change.

// Snapshot part names.
const (
	partAttributes = "attributes"
	partLookups    = "lookups"
	partPicklists  = "picklists"
	partFiles      = "files"
	partManyToMany = "manyToMany"
	partManyToOne  = "manyToOne"
	partOneToMany  = "oneToMany"
)

// snapshotParts lists every part a complete table has.
var snapshotParts = []string{partAttributes, partLookups, partPicklists, partFiles, partManyToMany, partManyToOne, partOneToMany}

var attributeParts = []string{partAttributes, partLookups, partPicklists, partFiles}

// relationshipParts maps ComplexEntityMetadata's relationship properties
// to their parts.
var relationshipParts = map[string]string{
	"ManyToManyRelationships": partManyToMany,
	"ManyToOneRelationships":  partManyToOne,
	"OneToManyRelationships":  partOneToMany,
}

// Properties asked of each column and relationship. The attributes part
// keeps the first group; Targets goes to lookups, OptionSet to picklists,
// MaxSizeInKB to files.
var (
	attributeBase = []string{"AttributeOf", "AttributeType", "AttributeTypeName", "IsLogical", "IsPrimaryId",
		"IsValidForCreate", "IsValidForRead", "IsValidForUpdate"}
	attributeQueryProps = append(slices.Clone(attributeBase), "Targets", "OptionSet", "MaxSizeInKB")
	relationshipProps   = []string{"SchemaName", "RelationshipType", "IsCustomRelationship", "IsManaged", "SecurityTypes",
		"IsHierarchical", "ReferencedAttribute", "ReferencedEntity", "ReferencingAttribute", "ReferencingEntity",
		"ReferencedEntityNavigationPropertyName", "ReferencingEntityNavigationPropertyName", "CascadeConfiguration",
		"IntersectEntityName", "Entity1LogicalName", "Entity2LogicalName", "Entity1IntersectAttribute",
		"Entity2IntersectAttribute", "Entity1NavigationPropertyName", "Entity2NavigationPropertyName"}
)

// metaItem is one metadata object, its properties as received.
type metaItem map[string]json.RawMessage

func (m metaItem) str(k string) string {
	var s string
	_ = json.Unmarshal(m[k], &s)
	return s
}

func (m metaItem) id() string { return strings.ToLower(m.str("MetadataId")) }

func (m metaItem) pick(keys ...string) metaItem {
	out := metaItem{}
	for _, k := range keys {
		if v, ok := m[k]; ok {
			out[k] = v
		}
	}
	return out
}

// complexEntity is one ComplexEntityMetadata of an answer.
type complexEntity struct {
	LogicalName string                       `json:"LogicalName"`
	HasChanged  *bool                        `json:"HasChanged"`
	Attributes  []json.RawMessage            `json:"Attributes"`
	Relations   map[string][]json.RawMessage `json:"-"`
}

func decodeEntity(raw json.RawMessage) (complexEntity, error) {
	// The answer's types are Complex<Type>; the snapshot names the entity
	// types, as the EntityDefinitions endpoints do.
	raw = bytes.ReplaceAll(raw, []byte(`"#Microsoft.Dynamics.CRM.Complex`), []byte(`"#Microsoft.Dynamics.CRM.`))
	var e complexEntity
	if err := json.Unmarshal(raw, &e); err != nil {
		return e, fmt.Errorf("decode entity metadata: %w", err)
	}
	var rels map[string]json.RawMessage
	if err := json.Unmarshal(raw, &rels); err != nil {
		return e, fmt.Errorf("decode entity metadata: %w", err)
	}
	e.Relations = map[string][]json.RawMessage{}
	for prop := range relationshipParts {
		if v := rels[prop]; len(v) > 0 && string(v) != "null" {
			var list []json.RawMessage
			if err := json.Unmarshal(v, &list); err != nil {
				return e, fmt.Errorf("decode %s of %s: %w", prop, e.LogicalName, err)
			}
			e.Relations[prop] = list
		}
	}
	return e, nil
}

// attributeKind says which special part a column belongs to ("" = none),
// by its type: the cast the per-part requests used.
func attributeKind(a metaItem) string {
	switch strings.TrimPrefix(a.str("@odata.type"), "#Microsoft.Dynamics.CRM.") {
	case "LookupAttributeMetadata":
		return partLookups
	case "PicklistAttributeMetadata":
		return partPicklists
	case "FileAttributeMetadata":
		return partFiles
	case "":
		switch a.str("AttributeType") {
		case "Lookup", "Customer", "Owner":
			return partLookups
		case "Picklist":
			return partPicklists
		}
		var tn struct{ Value string }
		_ = json.Unmarshal(a["AttributeTypeName"], &tn)
		if tn.Value == "FileType" {
			return partFiles
		}
	}
	return ""
}

// attributeItems splits one column into its part items.
func attributeItems(a metaItem) map[string]metaItem {
	head := []string{"@odata.type", "MetadataId", "LogicalName"}
	out := map[string]metaItem{partAttributes: a.pick(append(head, attributeBase...)...)}
	switch kind := attributeKind(a); kind {
	case partLookups:
		out[kind] = a.pick(append(head, "Targets")...)
	case partFiles:
		out[kind] = a.pick(append(head, "MaxSizeInKB")...)
	case partPicklists:
		it := a.pick(append(head, "OptionSet")...)
		it["GlobalOptionSet"] = globalOptionSet(it["OptionSet"])
		out[kind] = it
	}
	return out
}

// globalOptionSet is what $expand=GlobalOptionSet gives: the option set
// when it is a global one, else null.
func globalOptionSet(os json.RawMessage) json.RawMessage {
	var g struct{ IsGlobal bool }
	if len(os) > 0 && json.Unmarshal(os, &g) == nil && g.IsGlobal {
		return os
	}
	return json.RawMessage("null")
}

// tableParts is the parts of a table read in full.
func tableParts(e complexEntity) (map[string][]metaItem, error) {
	parts := map[string][]metaItem{}
	for _, p := range snapshotParts {
		parts[p] = []metaItem{}
	}
	if err := applyEntity(parts, e); err != nil {
		return nil, err
	}
	return parts, nil
}

// applyEntity applies a table's answer to its parts: every column and
// relationship in it replaces the item with its MetadataId (or is added).
// A column whose HasChanged is false did not change itself, only something
// under it (its option set: cache-schema-data.md, "Tracking Options"), so
// only its options are taken. Options come back without the labels that
// did not change; those are kept from before.
func applyEntity(parts map[string][]metaItem, e complexEntity) error {
	for _, raw := range e.Attributes {
		var a metaItem
		if err := json.Unmarshal(raw, &a); err != nil {
			return fmt.Errorf("decode a column of %s: %w", e.LogicalName, err)
		}
		id := a.id()
		old := find(parts[partPicklists], id)
		if string(a["HasChanged"]) == "false" {
			if old != nil && a["OptionSet"] != nil {
				old["OptionSet"] = mergeOptions(old["OptionSet"], a["OptionSet"])
				old["GlobalOptionSet"] = globalOptionSet(old["OptionSet"])
			}
			continue
		}
		items := attributeItems(a)
		if p := items[partPicklists]; p != nil && old != nil {
			p["OptionSet"] = mergeOptions(old["OptionSet"], p["OptionSet"])
			p["GlobalOptionSet"] = globalOptionSet(p["OptionSet"])
		}
		for _, part := range attributeParts {
			parts[part] = remove(parts[part], id)
			if it := items[part]; it != nil {
				parts[part] = append(parts[part], it)
			}
		}
	}
	for prop, part := range relationshipParts {
		for _, raw := range e.Relations[prop] {
			var r metaItem
			if err := json.Unmarshal(raw, &r); err != nil {
				return fmt.Errorf("decode a relationship of %s: %w", e.LogicalName, err)
			}
			parts[part] = append(remove(parts[part], r.id()), r.pick(append([]string{"@odata.type", "MetadataId"}, relationshipProps...)...))
		}
	}
	return nil
}

// mergeOptions takes the options of next, with the labels of prev for the
// options whose label next leaves out.
func mergeOptions(prev, next json.RawMessage) json.RawMessage {
	var p, n map[string]json.RawMessage
	if json.Unmarshal(next, &n) != nil || n == nil || json.Unmarshal(prev, &p) != nil || p == nil {
		return next
	}
	var po, no []metaItem
	if json.Unmarshal(n["Options"], &no) != nil || json.Unmarshal(p["Options"], &po) != nil {
		return next
	}
	for _, o := range no {
		if l := o["Label"]; len(l) > 0 && string(l) != "null" {
			continue
		}
		for _, q := range po {
			if bytes.Equal(q["Value"], o["Value"]) && q["Label"] != nil {
				o["Label"] = q["Label"]
			}
		}
	}
	b, err := json.Marshal(no)
	if err != nil {
		return next
	}
	n["Options"] = b
	out, err := json.Marshal(n)
	if err != nil {
		return next
	}
	return out
}

func find(items []metaItem, id string) metaItem {
	for _, it := range items {
		if it.id() == id {
			return it
		}
	}
	return nil
}

func remove(items []metaItem, id string) []metaItem {
	return slices.DeleteFunc(items, func(it metaItem) bool { return it.id() == id })
}

// removeIDs drops the items with the given MetadataIds from every part.
func removeIDs(parts map[string][]metaItem, ids map[string]bool) {
	for p, items := range parts {
		parts[p] = slices.DeleteFunc(items, func(it metaItem) bool { return ids[it.id()] })
	}
}

// decodeParts reads a table's parts from the snapshot; ok is false when a
// part is missing or was refused (the table is then read in full again).
func decodeParts(tm map[string]json.RawMessage) (map[string][]metaItem, bool) {
	parts := map[string][]metaItem{}
	for _, p := range snapshotParts {
		if tm[p+"Error"] != nil || tm[p] == nil {
			return nil, false
		}
		var items []metaItem
		if err := json.Unmarshal(tm[p], &items); err != nil {
			return nil, false
		}
		parts[p] = items
	}
	return parts, true
}

// encodeParts writes parts in a stable order (columns by logical name,
// relationships by schema name), so a snapshot kept up to date by changes
// is byte for byte the one a full read gives.
func encodeParts(parts map[string][]metaItem) (map[string]json.RawMessage, error) {
	out := map[string]json.RawMessage{}
	for p, items := range parts {
		key := "LogicalName"
		if strings.HasPrefix(p, "many") || strings.HasPrefix(p, "one") {
			key = "SchemaName"
		}
		slices.SortFunc(items, func(a, b metaItem) int {
			if c := strings.Compare(a.str(key), b.str(key)); c != 0 {
				return c
			}
			return strings.Compare(a.id(), b.id())
		})
		list := make([]json.RawMessage, 0, len(items))
		for _, it := range items {
			b, err := canonicalJSON(it)
			if err != nil {
				return nil, err
			}
			list = append(list, b)
		}
		b, err := json.Marshal(list)
		if err != nil {
			return nil, err
		}
		out[p] = b
	}
	return out, nil
}

// canonicalJSON encodes v with every object's keys sorted, at any depth
// (numbers kept as written).
func canonicalJSON(v any) (json.RawMessage, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var x any
	if err := dec.Decode(&x); err != nil {
		return nil, err
	}
	return json.Marshal(x)
}
