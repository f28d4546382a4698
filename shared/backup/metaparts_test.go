package backup

import (
	"encoding/json"
	"strings"
	"testing"
)

func entity(t *testing.T, s string) complexEntity {
	t.Helper()
	e, err := decodeEntity(json.RawMessage(s))
	if err != nil {
		t.Fatal(err)
	}
	return e
}

// An option added to a choice column comes back, per cache-schema-data.md
// ("Tracking Options"), as the column with HasChanged false and its option
// set with every option but labels only for the new one: the snapshot
// takes the options and keeps the labels it had.
func TestApplyEntityKeepsOptionLabels(t *testing.T) {
	full := entity(t, `{"LogicalName":"account","HasChanged":null,"Attributes":[
		{"@odata.type":"#Microsoft.Dynamics.CRM.ComplexPicklistAttributeMetadata","MetadataId":"A1","LogicalName":"industrycode","AttributeType":"Picklist","HasChanged":null,
		 "OptionSet":{"@odata.type":"#Microsoft.Dynamics.CRM.ComplexOptionSetMetadata","IsGlobal":false,"Name":"account_industrycode","Options":[
			{"Value":1,"Label":{"UserLocalizedLabel":{"Label":"Accounting"}}},{"Value":2,"Label":{"UserLocalizedLabel":{"Label":"Agriculture"}}}]}},
		{"@odata.type":"#Microsoft.Dynamics.CRM.ComplexStringAttributeMetadata","MetadataId":"A2","LogicalName":"name","AttributeType":"String","HasChanged":null}],
		"OneToManyRelationships":[{"@odata.type":"#Microsoft.Dynamics.CRM.ComplexOneToManyRelationshipMetadata","MetadataId":"R1","SchemaName":"account_contacts","ReferencingEntity":"contact"}]}`)
	parts, err := tableParts(full)
	if err != nil {
		t.Fatal(err)
	}
	if len(parts[partAttributes]) != 2 || len(parts[partPicklists]) != 1 || len(parts[partOneToMany]) != 1 || len(parts[partLookups]) != 0 {
		t.Fatalf("parts: %v", parts)
	}
	changed := entity(t, `{"LogicalName":"account","HasChanged":false,"Attributes":[
		{"@odata.type":"#Microsoft.Dynamics.CRM.ComplexPicklistAttributeMetadata","MetadataId":"a1","LogicalName":"industrycode","HasChanged":false,
		 "OptionSet":{"IsGlobal":false,"Name":"account_industrycode","HasChanged":true,"Options":[
			{"Value":1,"Label":null},{"Value":2,"Label":null},{"Value":3,"Label":{"UserLocalizedLabel":{"Label":"Broadcasting"}}}]}}]}`)
	if err := applyEntity(parts, changed); err != nil {
		t.Fatal(err)
	}
	enc, err := encodeParts(parts)
	if err != nil {
		t.Fatal(err)
	}
	pk := string(enc[partPicklists])
	for _, want := range []string{"Accounting", "Agriculture", "Broadcasting", `"GlobalOptionSet":null`} {
		if !strings.Contains(pk, want) {
			t.Errorf("picklists %s lack %s", pk, want)
		}
	}
	if strings.Contains(pk, "Complex") || strings.Contains(string(enc[partOneToMany]), "Complex") {
		t.Errorf("Complex type names kept: %s", pk)
	}
	// The column itself did not change: its other properties stay.
	if !strings.Contains(string(enc[partAttributes]), `"AttributeType":"Picklist"`) {
		t.Errorf("attributes: %s", enc[partAttributes])
	}
	// Deleted items go from every part.
	removeIDs(parts, map[string]bool{"a1": true, "r1": true})
	if len(parts[partPicklists]) != 0 || len(parts[partAttributes]) != 1 || len(parts[partOneToMany]) != 0 {
		t.Errorf("after deletions: %v", parts)
	}
}
