package restore

import (
	"fmt"
	"regexp"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/guid"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// Request is a restore job as asked for (the body of POST /api/restores).
type Request struct {
	// Environment is the backed-up environment; Run the run (point in time).
	Environment string `json:"environment"`
	Run         string `json:"run"`
	// Target is the environment written to; empty means Environment.
	Target string     `json:"target,omitempty"`
	Scope  plan.Scope `json:"scope"`
	// Policy is one of plan.Policies(); default skip-existing.
	Policy  plan.Policy `json:"policy,omitempty"`
	Options JobOptions  `json:"options"`
	DryRun  bool        `json:"dryRun,omitempty"`
	// Mapping overrides reference mapping: table -> source id -> target id.
	Mapping map[string]map[string]string `json:"mapping,omitempty"`
	// ProceedIfDamaged restores the tables that verify when the run (or a
	// run it builds on) fails verification; without it such a job fails
	// before anything is written, naming the damaged blobs.
	ProceedIfDamaged bool `json:"proceedIfDamaged,omitempty"`
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
	// Relink re-points the lookups of surviving records that the delete
	// of a restored record cleared, where still null and the survivor is
	// otherwise unchanged since the backup (default true).
	Relink *bool `json:"relink,omitempty"`
}

func on(b *bool) bool { return b == nil || *b }

// planRequest is what the planner is given of the job.
func (r *Request) planRequest(job string, chunkSize int) plan.Request {
	o := r.Options
	return plan.Request{Job: job, Run: r.Run, Policy: r.Policy, Scope: r.Scope, Mapping: r.Mapping, ChunkSize: chunkSize,
		Options: plan.Options{KeepCreatedOn: on(o.KeepCreatedOn), Owner: on(o.Owner), State: on(o.State), Notes: on(o.Notes),
			Files: on(o.Files), Associations: on(o.Associations), Relink: on(o.Relink)}}
}

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
		r.Policy = plan.PolicySkipExisting
	}
	if !r.Policy.Valid() {
		var names []string
		for _, p := range plan.Policies() {
			names = append(names, string(p))
		}
		add("policy", "one of "+strings.Join(names, ", "))
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
		for i, c := range cols {
			if !reName.MatchString(c) {
				add(fmt.Sprintf("scope.fields.%s[%d]", t, i), fmt.Sprintf("%q is not a column name", c))
			}
		}
	}
	if r.Scope.Related != nil && (r.Scope.Related.Depth < 0 || r.Scope.Related.Depth > 5) {
		add("scope.related.depth", "between 0 and 5")
	}
	if r.Policy == plan.PolicyRestoreAsNew && len(r.Scope.Fields) > 0 {
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
