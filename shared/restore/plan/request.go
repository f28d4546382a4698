package plan

import (
	"encoding/json"
	"strings"
)

// Request is what a plan is made of.
type Request struct {
	// Job is the id of the restore job: it seeds the ids of restore-as-new
	// copies, so planning the same job again gives the same ids.
	Job string
	// Run is the backup run restored (named in notes and reasons).
	Run     string
	Policy  Policy
	Scope   Scope
	Options Options
	// Mapping overrides reference mapping: table -> source id -> target id.
	Mapping map[string]map[string]string
	// ChunkSize is the number of operations per chunk (default 500).
	ChunkSize int
}

// Options say what is restored besides the records' columns.
type Options struct {
	// KeepCreatedOn sets overriddencreatedon from the backup on create.
	KeepCreatedOn bool
	// Owner restores ownerid (mapped).
	Owner bool
	// State restores statecode/statuscode.
	State bool
	// Notes restores the notes (with attachments) of restored records.
	Notes bool
	// Files restores file and image columns.
	Files bool
	// Associations restores N:N links.
	Associations bool
	// Relink re-points the lookups of surviving records that a delete of
	// a restored record cleared (RemoveLink), where they are still null
	// and the survivor is otherwise unchanged since the backup.
	Relink bool
}

// Scope selects what is restored.
type Scope struct {
	// Tables limits the restore to these tables (logical names); empty means
	// every table of the run except reference data (users, teams, business
	// units, roles, currencies, organization), which is mapped, not written.
	Tables []string `json:"tables,omitempty"`
	// Records restores only these ids (table -> ids).
	Records map[string][]string `json:"records,omitempty"`
	// Filter keeps only records matching every condition (table -> conditions).
	Filter map[string][]Condition `json:"filter,omitempty"`
	// Deleted restores only records present at the run and absent now.
	Deleted bool `json:"deleted,omitempty"`
	// Fields restores only these columns of existing records (table ->
	// columns); missing records are created whole.
	Fields map[string][]string `json:"fields,omitempty"`
	// Related follows lookups and N:N links from the chosen records to
	// records missing in the target, up to Depth levels (0: off).
	Related *Related `json:"related,omitempty"`
}

// Related configures related-record following.
type Related struct {
	Depth        int  `json:"depth"`
	Lookups      bool `json:"lookups"`
	Associations bool `json:"associations"`
}

// Condition is one filter test on a backed-up column.
type Condition struct {
	Column string `json:"column"`
	// Op: eq, ne, contains, startswith, gt, ge, lt, le, null, notnull.
	Op    string          `json:"op"`
	Value json.RawMessage `json:"value,omitempty"`
}

// referenceKeys are the tables mapped across environments, never written,
// with the natural key a reference to them is mapped by.
var referenceKeys = map[string]string{
	"systemuser":          "domainname",
	"team":                "name",
	"businessunit":        "name",
	"transactioncurrency": "isocurrencycode",
}

// notRestored are tables a whole-environment restore leaves out.
var notRestored = map[string]bool{"organization": true, "role": true, "systemuser": true, "team": true, "businessunit": true, "transactioncurrency": true}

// Match applies the conditions to a record's fields: every one must hold.
// A lookup is tested by its id (column "x" matches "_x_value").
func Match(fields map[string]json.RawMessage, conds []Condition) bool {
	for _, c := range conds {
		if !matchOne(fields, c) {
			return false
		}
	}
	return true
}

func matchOne(fields map[string]json.RawMessage, c Condition) bool {
	v, has := fields[c.Column]
	if !has {
		v, has = fields["_"+c.Column+"_value"]
	}
	isNull := !has || string(v) == "null"
	switch c.Op {
	case "null":
		return isNull
	case "notnull":
		return !isNull
	}
	if isNull {
		return c.Op == "ne"
	}
	cmp, comparable := compareJSON(v, c.Value)
	switch c.Op {
	case "eq":
		return comparable && cmp == 0
	case "ne":
		return !comparable || cmp != 0
	case "gt":
		return comparable && cmp > 0
	case "ge":
		return comparable && cmp >= 0
	case "lt":
		return comparable && cmp < 0
	case "le":
		return comparable && cmp <= 0
	case "contains", "startswith":
		// Not text on either side: no match (compareJSON tells numbers apart).
		var s, sub string
		if json.Unmarshal(v, &s) != nil || json.Unmarshal(c.Value, &sub) != nil {
			return false
		}
		s, sub = strings.ToLower(s), strings.ToLower(sub)
		if c.Op == "contains" {
			return strings.Contains(s, sub)
		}
		return strings.HasPrefix(s, sub)
	}
	return true
}

// compareJSON compares two JSON scalars of the same kind (numbers
// numerically, strings case-insensitively); false when they are not
// comparable.
func compareJSON(a, b json.RawMessage) (int, bool) {
	var fa, fb float64
	if json.Unmarshal(a, &fa) == nil && json.Unmarshal(b, &fb) == nil {
		switch {
		case fa < fb:
			return -1, true
		case fa > fb:
			return 1, true
		}
		return 0, true
	}
	var sa, sb string
	if json.Unmarshal(a, &sa) == nil && json.Unmarshal(b, &sb) == nil {
		return strings.Compare(strings.ToLower(sa), strings.ToLower(sb)), true
	}
	var ba, bb bool
	if json.Unmarshal(a, &ba) == nil && json.Unmarshal(b, &bb) == nil {
		if ba == bb {
			return 0, true
		}
		return 1, true
	}
	return 0, false
}
