package plan

import (
	"context"
	"encoding/json"
	"sort"
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
	// Derived columns (AttributeOf set, e.g. a lookup's name) are never sent.
	Derived bool
	// Targets of a lookup column.
	Targets []string
	// File: a file or image column (uploaded, not sent in the body).
	File bool
}

// TableSchema is what the planner needs of a target table.
type TableSchema struct {
	TableInfo
	Columns map[string]Column
	// Navigations maps lookup column -> target table -> single-valued
	// navigation property (ManyToOneRelationships), e.g. parentcustomerid
	// -> account -> parentcustomerid_account.
	Navigations map[string]map[string]string
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
