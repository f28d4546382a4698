package plan

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
)

// Target is the environment a job writes to, as the planner reads it: its
// metadata and its live records. The Dataverse implementation is in
// shared/restore; plantest has an in-memory one, and both pass
// plantest.VerifyTarget.
type Target interface {
	Schema
	Rows
}

// Schema is the target's metadata. Implementations cache what they read.
type Schema interface {
	// Tables lists the target's tables by logical name.
	Tables(ctx context.Context) (map[string]TableInfo, error)
	// Table describes one table's columns and lookups; an error when the
	// target has no such table.
	Table(ctx context.Context, name string) (*TableSchema, error)
	// ManyToMany returns the N:N relationships of the given tables, by
	// intersect table.
	ManyToMany(ctx context.Context, tables []string) (map[string]ManyToMany, error)
}

// Rows reads live records by id or key: the planner never asks for a whole
// table, only for the records a decision depends on, and asks for them in
// one call per table and step (implementations batch the ids into requests).
// Ids are lower-case GUIDs without braces, in and out.
type Rows interface {
	// Records returns the records of table with the given ids, with every
	// column and annotation (@odata.etag, lookuplogicalname); ids that do
	// not exist are absent from the result.
	Records(ctx context.Context, table string, ids []string) (LiveRecords, error)
	// Existing reports which of ids exist in table (absent ids: false or
	// missing).
	Existing(ctx context.Context, table string, ids []string) (map[string]bool, error)
	// FindByKey returns the id of a record of table whose column equals
	// value, ignoring case (the smallest id when several do), or "".
	FindByKey(ctx context.Context, table, column, value string) (string, error)
	// Linked reports which of pairs rel links in the target.
	Linked(ctx context.Context, rel ManyToMany, pairs []Link) (map[Link]bool, error)
}

// TableInfo is a table of the target.
type TableInfo struct {
	Name        string // logical name
	EntitySet   string
	PrimaryID   string
	IsIntersect bool // an N:N intersect table: restored through associations
}

// Column is a column of a target table, as restore needs it.
type Column struct {
	Name string
	// Create and Update: the column may be sent on create / update.
	Create, Update bool
	// Derived columns (AttributeOf set, e.g. a lookup's name) are never
	// sent; Of is the column they belong to.
	Derived bool
	Of      string
	// Targets of a lookup column.
	Targets []string
	// File: a file or image column (uploaded, not sent in the body).
	File bool
	// Type is the AttributeType (String, Money, Lookup, ...).
	Type string
	// SourceType: 0 a simple column, 1 calculated, 2 rollup (both computed
	// by Dataverse and never written).
	SourceType int
}

// Relationship is a one-to-many relationship of the target: Referencing.
// Attribute (a lookup) points at a record of Referenced.
type Relationship struct {
	Name                   string // SchemaName
	Referenced             string // the "one" side
	Referencing, Attribute string // the "many" side and its lookup column
	// Navigation is the referencing side's single-valued navigation
	// property (bound with @odata.bind); Collection the referenced side's
	// collection-valued one (a deep insert writes children through it).
	Navigation, Collection string
	// Delete is CascadeConfiguration.Delete: what deleting the referenced
	// record does to the referencing ones (Cascade: deleted too;
	// RemoveLink: the lookup cleared; Restrict: the delete refused;
	// NoCascade: nothing).
	Delete string
}

// Delete cascade behaviours (CascadeConfiguration.Delete).
const (
	DeleteCascade    = "Cascade"
	DeleteRemoveLink = "RemoveLink"
	DeleteRestrict   = "Restrict"
)

// TableSchema is what the planner needs of a target table.
type TableSchema struct {
	TableInfo
	Columns map[string]Column
	// Navigations maps lookup column -> target table -> single-valued
	// navigation property (ManyToOneRelationships), e.g. parentcustomerid
	// -> account -> parentcustomerid_account.
	Navigations map[string]map[string]string
	// ManyToOne are the relationships whose lookups are this table's
	// columns; OneToMany those whose lookups point at this table. A target
	// that cannot tell leaves them empty: no cascade is then restored.
	ManyToOne, OneToMany []Relationship
}

// ManyToMany is an N:N relationship of the target.
type ManyToMany struct {
	Name, Intersect                      string // schema name, intersect table
	Entity1, Entity2                     string // tables linked
	Entity1Column, Entity2Column         string // their id columns in the intersect table
	Entity1Navigation, Entity2Navigation string // collection-valued navigation properties
}

// Link is a pair of records an N:N relationship links (ids of Entity1 and
// Entity2).
type Link struct{ ID1, ID2 string }

// LiveRecord is a record as read from the target, annotations included.
type LiveRecord map[string]json.RawMessage

// LiveRecords are live records by id.
type LiveRecords map[string]LiveRecord

// HasColumn reports whether the table has column c.
func (t *TableSchema) HasColumn(c string) bool { _, ok := t.Columns[c]; return ok }

// writable reports whether column c may be sent on create or update.
func (t *TableSchema) writable(c string, create bool) bool {
	col, ok := t.Columns[c]
	if !ok || col.Derived {
		return false
	}
	if create {
		return col.Create
	}
	return col.Update
}

// notWritableReason says why column c cannot be written on create (or
// update); "" when it can.
func (t *TableSchema) notWritableReason(c string, create bool) string {
	col, ok := t.Columns[c]
	switch {
	case !ok:
		return "not in the target table"
	case col.SourceType == 1:
		return "calculated column: Dataverse computes it"
	case col.SourceType == 2:
		return "rollup column: Dataverse computes it"
	case t.isBaseCurrency(c):
		return "base-currency amount: Dataverse computes it from the amount and the currency's exchange rate"
	case col.Derived:
		return "part of another column (AttributeOf): written through that column"
	case create && !col.Create:
		return "not valid for create (IsValidForCreate false)"
	case !create && !col.Update:
		return "not valid for update (IsValidForUpdate false)"
	}
	return ""
}

// computed reports a column Dataverse computes: calculated, rollup, or a
// base-currency amount.
func (t *TableSchema) computed(c string) bool {
	return t.Columns[c].SourceType != 0 || t.isBaseCurrency(c)
}

// isBaseCurrency reports a money column <x>_base kept in the base currency
// for money column x (powerapps-docs developer/data-platform/
// transaction-currency-currency-entities.md).
func (t *TableSchema) isBaseCurrency(c string) bool {
	src, ok := strings.CutSuffix(c, "_base")
	if !ok {
		return false
	}
	col, has := t.Columns[src]
	return has && col.Type == "Money" && !t.Columns[c].Create && !t.Columns[c].Update
}

// relationship returns the many-to-one relationship of lookup attr to
// table target (nil when the target does not say).
func (t *TableSchema) relationship(attr, target string) *Relationship {
	for i := range t.ManyToOne {
		if r := &t.ManyToOne[i]; r.Attribute == attr && r.Referenced == target {
			return r
		}
	}
	return nil
}

// fileColumns lists the file and image columns, sorted.
func (t *TableSchema) fileColumns() []string {
	var out []string
	for name, c := range t.Columns {
		if c.File {
			out = append(out, name)
		}
	}
	sort.Strings(out)
	return out
}

// navigation returns the navigation property of lookup column attr
// pointing at table target ("" when none can be told).
func (t *TableSchema) navigation(attr, target, annotated string) string {
	if n := t.Navigations[attr][target]; n != "" {
		return n
	}
	if attr == "ownerid" {
		return "ownerid"
	}
	if annotated != "" {
		return annotated
	}
	if len(t.Navigations[attr]) == 0 {
		return ""
	}
	// A single-target lookup's navigation property is the attribute name.
	if c, ok := t.Columns[attr]; ok && len(c.Targets) <= 1 {
		return attr
	}
	return ""
}
