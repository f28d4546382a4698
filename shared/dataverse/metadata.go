package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
)

// EntityDefinition is the part of a table's metadata the engine decides on.
type EntityDefinition struct {
	LogicalName            string `json:"LogicalName"`
	SchemaName             string `json:"SchemaName"`
	EntitySetName          string `json:"EntitySetName"`
	PrimaryIDAttribute     string `json:"PrimaryIdAttribute"`
	PrimaryNameAttribute   string `json:"PrimaryNameAttribute"`
	ChangeTrackingEnabled  bool   `json:"ChangeTrackingEnabled"`
	IsIntersect            bool   `json:"IsIntersect"`
	IsValidForAdvancedFind bool   `json:"IsValidForAdvancedFind"`
	ObjectTypeCode         int    `json:"ObjectTypeCode"`
	OwnershipType          string `json:"OwnershipType"`
	IsCustomEntity         bool   `json:"IsCustomEntity"`
	HasNotes               bool   `json:"HasNotes"`
	TableType              string `json:"TableType"`
	MetadataID             string `json:"MetadataId"`
}

// entitySelect is the $select of EntityDefinitions (reference 3).
const entitySelect = "LogicalName,SchemaName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,ChangeTrackingEnabled,IsIntersect,IsValidForAdvancedFind,ObjectTypeCode,OwnershipType,IsCustomEntity,HasNotes,TableType"

// EntityDefinitions lists every table (one answer, no paging). raw is the
// answer's value array as received, for the metadata snapshot.
func (c *Client) EntityDefinitions(ctx context.Context) (defs []EntityDefinition, raw json.RawMessage, err error) {
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	if _, err := c.getJSON(ctx, "EntityDefinitions?$select="+entitySelect, nil, &out); err != nil {
		return nil, nil, err
	}
	if err := json.Unmarshal(out.Value, &defs); err != nil {
		return nil, nil, fmt.Errorf("dataverse: decode EntityDefinitions: %w", err)
	}
	return defs, out.Value, nil
}

// AttributeDefinition is the part of a column's metadata the engine uses.
type AttributeDefinition struct {
	LogicalName       string `json:"LogicalName"`
	AttributeType     string `json:"AttributeType"`
	AttributeTypeName struct {
		Value string `json:"Value"`
	} `json:"AttributeTypeName"`
	IsValidForCreate bool     `json:"IsValidForCreate"`
	IsValidForUpdate bool     `json:"IsValidForUpdate"`
	IsValidForRead   bool     `json:"IsValidForRead"`
	AttributeOf      *string  `json:"AttributeOf"`
	IsPrimaryID      bool     `json:"IsPrimaryId"`
	IsLogical        bool     `json:"IsLogical"`
	Targets          []string `json:"Targets,omitempty"`
}

// IsFile reports a file column; IsImage an image column.
func (a AttributeDefinition) IsFile() bool  { return a.AttributeTypeName.Value == "FileType" }
func (a AttributeDefinition) IsImage() bool { return a.AttributeTypeName.Value == "ImageType" }

const attrSelect = "LogicalName,AttributeType,AttributeTypeName,IsValidForCreate,IsValidForUpdate,IsValidForRead,AttributeOf,IsPrimaryId,IsLogical"

func entityPath(logicalName string) string {
	return "EntityDefinitions(LogicalName='" + url.PathEscape(logicalName) + "')"
}

// Attributes lists the columns of a table; raw is the value array as received.
func (c *Client) Attributes(ctx context.Context, logicalName string) ([]AttributeDefinition, json.RawMessage, error) {
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	if _, err := c.getJSON(ctx, entityPath(logicalName)+"/Attributes?$select="+attrSelect, nil, &out); err != nil {
		return nil, nil, err
	}
	var attrs []AttributeDefinition
	if err := json.Unmarshal(out.Value, &attrs); err != nil {
		return nil, nil, fmt.Errorf("dataverse: decode attributes of %s: %w", logicalName, err)
	}
	return attrs, out.Value, nil
}

// MetadataValue GETs a metadata path relative to a table's definition (for
// example "/Microsoft.Dynamics.CRM.LookupAttributeMetadata?$select=LogicalName,Targets",
// "/ManyToManyRelationships") and returns its value array as received.
func (c *Client) MetadataValue(ctx context.Context, logicalName, sub string) (json.RawMessage, error) {
	var out struct {
		Value json.RawMessage `json:"value"`
	}
	if _, err := c.getJSON(ctx, entityPath(logicalName)+"/"+stringsTrimLeft(sub), nil, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

func stringsTrimLeft(s string) string {
	for len(s) > 0 && s[0] == '/' {
		s = s[1:]
	}
	return s
}
