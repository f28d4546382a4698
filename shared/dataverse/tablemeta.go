package dataverse

import (
	"context"
	"fmt"
)

// ColumnDefinition is a column as a restore writes it: the attribute
// definition plus SourceType (0 simple, 1 calculated, 2 rollup), which
// AttributeMetadata carries for every column.
type ColumnDefinition struct {
	AttributeDefinition
	SourceType *int `json:"SourceType"`
}

// CascadeConfiguration is what the actions on a referenced record do to the
// records referencing it through one relationship: Cascade, Active,
// UserOwned, NoCascade, RemoveLink or Restrict per action (powerapps-docs,
// developer/data-platform/configure-entity-relationship-cascading-behavior.md).
type CascadeConfiguration struct {
	Assign, Delete, Merge, Reparent, Share, Unshare string
}

// OneToManyRelationship is a OneToManyRelationshipMetadata: lookup
// ReferencingEntity.ReferencingAttribute points at ReferencedEntity.
type OneToManyRelationship struct {
	SchemaName                              string               `json:"SchemaName"`
	ReferencedEntity                        string               `json:"ReferencedEntity"`
	ReferencedAttribute                     string               `json:"ReferencedAttribute"`
	ReferencingEntity                       string               `json:"ReferencingEntity"`
	ReferencingAttribute                    string               `json:"ReferencingAttribute"`
	ReferencingEntityNavigationPropertyName string               `json:"ReferencingEntityNavigationPropertyName"`
	ReferencedEntityNavigationPropertyName  string               `json:"ReferencedEntityNavigationPropertyName"`
	CascadeConfiguration                    CascadeConfiguration `json:"CascadeConfiguration"`
}

// TableMetadata is what a restore needs of one table: its columns and its
// one-to-many relationships on both sides.
type TableMetadata struct {
	LogicalName string                  `json:"LogicalName"`
	Attributes  []ColumnDefinition      `json:"Attributes"`
	ManyToOne   []OneToManyRelationship `json:"ManyToOneRelationships"`
	OneToMany   []OneToManyRelationship `json:"OneToManyRelationships"`
}

const relationshipSelect = "SchemaName,ReferencedEntity,ReferencedAttribute,ReferencingEntity,ReferencingAttribute," +
	"ReferencingEntityNavigationPropertyName,ReferencedEntityNavigationPropertyName,CascadeConfiguration"

// TableMetadata reads a table's columns and relationships in one request:
// the table's definition with its Attributes, ManyToOneRelationships and
// OneToManyRelationships expanded (powerapps-docs, developer/data-platform/
// webapi/query-metadata-web-api.md, "Retrieve attributes" and
// "Retrieve relationships" with $expand on one EntityDefinition).
func (c *Client) TableMetadata(ctx context.Context, logicalName string) (TableMetadata, error) {
	q := entityPath(logicalName) + "?$select=LogicalName&$expand=Attributes($select=" + attrSelect + ",SourceType)," +
		"ManyToOneRelationships($select=" + relationshipSelect + "),OneToManyRelationships($select=" + relationshipSelect + ")"
	var out TableMetadata
	if _, err := c.getJSON(ctx, q, nil, &out); err != nil {
		return TableMetadata{}, err
	}
	if out.LogicalName == "" {
		return TableMetadata{}, fmt.Errorf("dataverse: metadata of %s: no LogicalName in the answer", logicalName)
	}
	return out, nil
}

// Execute POSTs an action at path (relative to the API base): an unbound
// action by its name ("WinOpportunity"), a bound one after its record
// ("emails(<id>)/Microsoft.Dynamics.CRM.SendEmail"); out, when not nil,
// receives the answer (powerapps-docs, developer/data-platform/webapi/
// use-web-api-actions.md).
func (c *Client) Execute(ctx context.Context, path string, body any, o *WriteOptions, out any) error {
	if err := c.postAction(ctx, path, body, o, out); err != nil {
		return fmt.Errorf("dataverse: %s: %w", path, err)
	}
	return nil
}
