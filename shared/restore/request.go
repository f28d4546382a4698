package restore

import (
	"encoding/json"
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/guid"
)

// Conflict policies.
const (
	// PolicySkipExisting creates missing records and leaves existing ones.
	PolicySkipExisting = "skip-existing"
	// PolicyOverwrite creates missing records and updates existing ones
	// (all fields, or Scope.Fields only).
	PolicyOverwrite = "overwrite"
	// PolicyIfUnchanged updates an existing record only when its version is
	// not newer than the backup's (otherwise: conflict); creates missing ones.
	PolicyIfUnchanged = "if-unchanged-since-backup"
	// PolicyRestoreAsNew creates every record with a new id; lookups, notes
	// and N:N links between restored records point at the new ids.
	PolicyRestoreAsNew = "restore-as-new"
)

// Policies lists the conflict policies.
func Policies() []string {
	return []string{PolicySkipExisting, PolicyOverwrite, PolicyIfUnchanged, PolicyRestoreAsNew}
}

// Request is a restore job as asked for (the body of POST /api/restores).
type Request struct {
	// Environment is the backed-up environment; Run the run (point in time).
	Environment string `json:"environment"`
	Run         string `json:"run"`
	// Target is the environment written to; empty means Environment.
	Target string `json:"target,omitempty"`
	Scope  Scope  `json:"scope"`
	// Policy is one of Policies(); default skip-existing.
	Policy  string     `json:"policy,omitempty"`
	Options JobOptions `json:"options"`
	DryRun  bool       `json:"dryRun,omitempty"`
	// Mapping overrides reference mapping: table -> source id -> target id.
	Mapping map[string]map[string]string `json:"mapping,omitempty"`
	// ProceedIfDamaged restores the tables that verify when the run (or a
	// run it builds on) fails verification; without it such a job fails
	// before anything is written, naming the damaged blobs.
	ProceedIfDamaged bool `json:"proceedIfDamaged,omitempty"`
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

// JobOptions of a job. Pointers default to true when absent.
type JobOptions struct {
	// BypassBusinessLogic sends MSCRM.BypassBusinessLogicExecution; the
	// identities' privilege is checked before anything is written.
	BypassBusinessLogic bool `json:"bypassBusinessLogic,omitempty"`
	// SuppressFlows keeps Power Automate flows from triggering.
	SuppressFlows bool `json:"suppressFlows,omitempty"`
	// KeepCreatedOn sets overriddencreatedon from the backup (default true).
	KeepCreatedOn *bool `json:"keepCreatedOn,omitempty"`
	// Owner restores ownerid (mapped) (default true).
	Owner *bool `json:"owner,omitempty"`
	// State restores statecode/statuscode after create (default true).
	State *bool `json:"state,omitempty"`
	// Notes restores the notes (with attachments) of restored records (default true).
	Notes *bool `json:"notes,omitempty"`
	// Files restores file and image columns (default true).
	Files *bool `json:"files,omitempty"`
	// Associations restores N:N links (default true).
	Associations *bool `json:"associations,omitempty"`
}

func on(b *bool) bool { return b == nil || *b }

// ReferenceTables are mapped across environments, never written.
var ReferenceTables = map[string]string{
	"systemuser":          "domainname",
	"team":                "name",
	"businessunit":        "name",
	"transactioncurrency": "isocurrencycode",
}

// notRestored are tables a whole-environment restore leaves out.
var notRestored = map[string]bool{"organization": true, "role": true, "systemuser": true, "team": true, "businessunit": true, "transactioncurrency": true}

var reID = regexp.MustCompile(`^[A-Za-z0-9._-]{1,100}$`)
var reName = regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)

// FieldError is a rejected field of a request.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ValidationError lists the problems of a request.
type ValidationError struct{ Errors []FieldError }

func (e *ValidationError) Error() string {
	var s []string
	for _, f := range e.Errors {
		s = append(s, f.Field+": "+f.Message)
	}
	return "invalid restore request: " + strings.Join(s, "; ")
}

// Normalize fills defaults and validates the request.
func (r *Request) Normalize() error {
	var errs []FieldError
	add := func(f, m string) { errs = append(errs, FieldError{f, m}) }
	if !reID.MatchString(r.Environment) {
		add("environment", "required: the id of the backed-up environment")
	}
	if r.Run != "" && !reID.MatchString(r.Run) {
		add("run", "not a run id")
	}
	if r.Target == "" {
		r.Target = r.Environment
	} else if !reID.MatchString(r.Target) {
		add("target", "not an environment id")
	}
	if r.Policy == "" {
		r.Policy = PolicySkipExisting
	}
	ok := false
	for _, p := range Policies() {
		ok = ok || p == r.Policy
	}
	if !ok {
		add("policy", "one of "+strings.Join(Policies(), ", "))
	}
	for _, t := range r.Scope.Tables {
		if !reName.MatchString(t) {
			add("scope.tables", fmt.Sprintf("%q is not a table logical name", t))
		}
	}
	for t, ids := range r.Scope.Records {
		if !reName.MatchString(t) {
			add("scope.records", fmt.Sprintf("%q is not a table logical name", t))
		}
		for i, id := range ids {
			if !guid.Valid(strings.Trim(id, "{}")) {
				add(fmt.Sprintf("scope.records.%s[%d]", t, i), "not a GUID")
			}
			ids[i] = strings.ToLower(strings.Trim(id, "{}"))
		}
	}
	for t, conds := range r.Scope.Filter {
		for i, c := range conds {
			if !reName.MatchString(c.Column) {
				add(fmt.Sprintf("scope.filter.%s[%d].column", t, i), "not a column name")
			}
			switch c.Op {
			case "eq", "ne", "contains", "startswith", "gt", "ge", "lt", "le":
				if len(c.Value) == 0 {
					add(fmt.Sprintf("scope.filter.%s[%d].value", t, i), "required for "+c.Op)
				}
			case "null", "notnull":
			default:
				add(fmt.Sprintf("scope.filter.%s[%d].op", t, i), "one of eq, ne, contains, startswith, gt, ge, lt, le, null, notnull")
			}
		}
	}
	for t, cols := range r.Scope.Fields {
		for _, c := range cols {
			if !reName.MatchString(c) {
				add("scope.fields."+t, fmt.Sprintf("%q is not a column name", c))
			}
		}
	}
	if r.Scope.Related != nil && (r.Scope.Related.Depth < 0 || r.Scope.Related.Depth > 5) {
		add("scope.related.depth", "between 0 and 5")
	}
	if r.Policy == PolicyRestoreAsNew && len(r.Scope.Fields) > 0 {
		add("scope.fields", "field-level restore needs an existing record; not with restore-as-new")
	}
	for t, m := range r.Mapping {
		for s, d := range m {
			if !guid.Valid(s) || !guid.Valid(d) {
				add("mapping."+t, "source and target ids must be GUIDs")
			}
		}
	}
	if len(errs) > 0 {
		sort.Slice(errs, func(i, j int) bool { return errs[i].Field < errs[j].Field })
		return &ValidationError{Errors: errs}
	}
	return nil
}

// match applies the conditions to a record's fields.
func match(fields map[string]json.RawMessage, conds []Condition) bool {
	for _, c := range conds {
		v, has := fields[c.Column]
		if !has {
			v, has = fields["_"+c.Column+"_value"]
		}
		isNull := !has || string(v) == "null"
		switch c.Op {
		case "null":
			if !isNull {
				return false
			}
			continue
		case "notnull":
			if isNull {
				return false
			}
			continue
		}
		if isNull {
			if c.Op == "ne" {
				continue
			}
			return false
		}
		cmp, comparable := compareJSON(v, c.Value)
		switch c.Op {
		case "eq":
			if !comparable || cmp != 0 {
				return false
			}
		case "ne":
			if comparable && cmp == 0 {
				return false
			}
		case "gt", "ge", "lt", "le":
			if !comparable || !(c.Op == "gt" && cmp > 0 || c.Op == "ge" && cmp >= 0 || c.Op == "lt" && cmp < 0 || c.Op == "le" && cmp <= 0) {
				return false
			}
		case "contains", "startswith":
			var s, sub string
			if json.Unmarshal(v, &s) != nil || json.Unmarshal(c.Value, &sub) != nil {
				return false
			}
			s, sub = strings.ToLower(s), strings.ToLower(sub)
			if c.Op == "contains" && !strings.Contains(s, sub) || c.Op == "startswith" && !strings.HasPrefix(s, sub) {
				return false
			}
		}
	}
	return true
}

// compareJSON compares two JSON scalars of the same kind (numbers
// numerically, strings case-insensitively).
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
