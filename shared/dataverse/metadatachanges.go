package dataverse

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// RetrieveMetadataChanges (powerapps-docs, developer/data-platform/
// query-schema-definitions.md and cache-schema-data.md) reads the
// definitions of many tables in one request, with the properties of the
// derived column types (Targets, OptionSet, MaxSizeInKB) that EntityDefinitions
// gives only through one cast per request, and with ClientVersionStamp only
// what changed since an earlier answer.

// EntityQuery is the EntityQueryExpression of RetrieveMetadataChanges.
// Nil parts are left out of the request.
type EntityQuery struct {
	Properties        *MetadataProperties `json:"Properties,omitempty"`
	Criteria          *MetadataFilter     `json:"Criteria,omitempty"`
	AttributeQuery    *MetadataSubQuery   `json:"AttributeQuery,omitempty"`
	RelationshipQuery *MetadataSubQuery   `json:"RelationshipQuery,omitempty"`
	KeyQuery          *MetadataSubQuery   `json:"KeyQuery,omitempty"`
	LabelQuery        *LabelQuery         `json:"LabelQuery,omitempty"`
}

// MetadataProperties is a MetadataPropertiesExpression: the properties to
// return (MetadataId, LogicalName and HasChanged always come).
type MetadataProperties struct {
	AllProperties bool     `json:"AllProperties"`
	PropertyNames []string `json:"PropertyNames,omitempty"`
}

// MetadataSubQuery is an AttributeQueryExpression, RelationshipQueryExpression
// or EntityKeyQueryExpression.
type MetadataSubQuery struct {
	Properties *MetadataProperties `json:"Properties,omitempty"`
	Criteria   *MetadataFilter     `json:"Criteria,omitempty"`
}

// MetadataFilter is a MetadataFilterExpression (FilterOperator "And" or "Or").
type MetadataFilter struct {
	FilterOperator string              `json:"FilterOperator"`
	Conditions     []MetadataCondition `json:"Conditions,omitempty"`
	Filters        []MetadataFilter    `json:"Filters,omitempty"`
}

// MetadataCondition is a MetadataConditionExpression; Value.Type is the
// .NET type name the documentation lists ("System.String", "System.Boolean").
type MetadataCondition struct {
	PropertyName      string         `json:"PropertyName"`
	ConditionOperator string         `json:"ConditionOperator"`
	Value             *MetadataValue `json:"Value,omitempty"`
}

// MetadataValue is the Object complex type of a condition.
type MetadataValue struct {
	Type  string `json:"Type"`
	Value string `json:"Value"`
}

// LabelQuery is a LabelQueryExpression: the languages of the labels returned.
type LabelQuery struct {
	FilterLanguages      []int `json:"FilterLanguages"`
	MissingLabelBehavior int   `json:"MissingLabelBehavior"`
}

// NamesIn is a filter matching items whose LogicalName is one of names: the
// documented Or of Equals conditions.
func NamesIn(names []string) *MetadataFilter {
	f := &MetadataFilter{FilterOperator: "Or"}
	for _, n := range names {
		f.Conditions = append(f.Conditions, MetadataCondition{PropertyName: "LogicalName", ConditionOperator: "Equals",
			Value: &MetadataValue{Type: "System.String", Value: n}})
	}
	return f
}

// MetadataChangesOptions are the optional parameters of
// RetrieveMetadataChanges.
type MetadataChangesOptions struct {
	// ClientVersionStamp is the ServerVersionStamp of an earlier answer to
	// the same query: only what changed since comes back. An expired stamp
	// answers IsVersionStampExpired.
	ClientVersionStamp string
	// DeletedMetadataFilters lists the kinds of deleted items to report
	// with a ClientVersionStamp ("Default" for tables, "Attribute",
	// "Relationship", "OptionSet", ...; the Web API enum has no "Entity").
	DeletedMetadataFilters []string
}

// MetadataChanges is the RetrieveMetadataChangesResponse.
type MetadataChanges struct {
	ServerVersionStamp string
	// EntityMetadata are the ComplexEntityMetadata items as received.
	EntityMetadata []json.RawMessage
	// Deleted maps a DeletedMetadataFilters member to the MetadataIds
	// deleted since the ClientVersionStamp (unfiltered by the query).
	Deleted map[string][]string
}

// RetrieveMetadataChanges runs q (GET RetrieveMetadataChanges(Query=@q,...)).
func (c *Client) RetrieveMetadataChanges(ctx context.Context, q *EntityQuery, o *MetadataChangesOptions) (MetadataChanges, error) {
	var names, vals []string
	if q != nil {
		b, err := json.Marshal(q)
		if err != nil {
			return MetadataChanges{}, fmt.Errorf("dataverse: encode metadata query: %w", err)
		}
		names, vals = append(names, "Query=@q"), append(vals, "@q="+url.QueryEscape(string(b)))
	}
	if o != nil && o.ClientVersionStamp != "" {
		lit := "'" + strings.ReplaceAll(o.ClientVersionStamp, "'", "''") + "'"
		names, vals = append(names, "ClientVersionStamp=@s"), append(vals, "@s="+url.QueryEscape(lit))
	}
	if o != nil && len(o.DeletedMetadataFilters) > 0 {
		lit := "Microsoft.Dynamics.CRM.DeletedMetadataFilters'" + strings.Join(o.DeletedMetadataFilters, ",") + "'"
		names, vals = append(names, "DeletedMetadataFilters=@d"), append(vals, "@d="+url.QueryEscape(lit))
	}
	path := "RetrieveMetadataChanges"
	if len(names) > 0 {
		path += "(" + strings.Join(names, ",") + ")?" + strings.Join(vals, "&")
	}
	var out struct {
		ServerVersionStamp string            `json:"ServerVersionStamp"`
		EntityMetadata     []json.RawMessage `json:"EntityMetadata"`
		DeletedMetadata    struct {
			Keys   []string `json:"Keys"`
			Values []struct {
				Items []string `json:"Items"`
			} `json:"Values"`
		} `json:"DeletedMetadata"`
	}
	if _, err := c.getJSON(ctx, path, nil, &out); err != nil {
		return MetadataChanges{}, err
	}
	res := MetadataChanges{ServerVersionStamp: out.ServerVersionStamp, EntityMetadata: out.EntityMetadata, Deleted: map[string][]string{}}
	for i, k := range out.DeletedMetadata.Keys {
		if i < len(out.DeletedMetadata.Values) {
			res.Deleted[k] = append(res.Deleted[k], out.DeletedMetadata.Values[i].Items...)
		}
	}
	return res, nil
}

// IsVersionStampExpired reports the answer to a ClientVersionStamp older
// than organization.expiresubscriptionsindays (ExpiredVersionStamp,
// 0x80044352; cache-schema-data.md "Manage expired cache"): the caller must
// read the metadata in full again.
func IsVersionStampExpired(err error) bool { return IsChangeTrackingExpired(err) }
