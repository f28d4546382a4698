package plan

import "encoding/json"

// Policy is a conflict policy: what a restore does with a record that
// exists in the target. The strings are the API's and the stored jobs'.
type Policy string

// Conflict policies.
const (
	// PolicySkipExisting creates missing records and leaves existing ones.
	PolicySkipExisting Policy = "skip-existing"
	// PolicyOverwrite creates missing records and updates existing ones
	// (all fields, or Scope.Fields only).
	PolicyOverwrite Policy = "overwrite"
	// PolicyIfUnchanged updates an existing record only when its version is
	// not newer than the backup's (otherwise: conflict); creates missing ones.
	PolicyIfUnchanged Policy = "if-unchanged-since-backup"
	// PolicyRestoreAsNew creates every record with a new id; lookups, notes
	// and N:N links between restored records point at the new ids.
	PolicyRestoreAsNew Policy = "restore-as-new"
)

// Policies lists the conflict policies.
func Policies() []Policy {
	return []Policy{PolicySkipExisting, PolicyOverwrite, PolicyIfUnchanged, PolicyRestoreAsNew}
}

// Valid reports whether p is one of Policies().
func (p Policy) Valid() bool {
	for _, q := range Policies() {
		if p == q {
			return true
		}
	}
	return false
}

// Action is what the plan decides for a record or an association, or for
// one of a written record's later operations. The strings are stored in job
// results and shown in reports.
type Action string

// Actions.
const (
	ActionCreate    Action = "create"    // the record is absent (or restored as new): create it
	ActionUpdate    Action = "update"    // the record exists: update it
	ActionSkip      Action = "skip"      // nothing to write (Prediction.Reason says why)
	ActionConflict  Action = "conflict"  // changed in the target since the backup (if-unchanged policy)
	ActionFail      Action = "fail"      // cannot be restored (e.g. not in the backup)
	ActionAssociate Action = "associate" // an N:N link to make
	ActionRelink    Action = "relink"    // re-point a surviving record's lookup a delete cleared
	// The later operations of a written record predict their own kind.
	ActionPatch Action = Action(KindPatch)
	ActionFile  Action = Action(KindFile)
	ActionState Action = Action(KindState)
)

// Writes reports whether a record with this action is written.
func (a Action) Writes() bool { return a == ActionCreate || a == ActionUpdate }

// Kind is the kind of an operation. Each kind is a phase; phases run in the
// order of the constants.
type Kind string

// Operation kinds, in the order of their phases.
const (
	KindRecord      Kind = "record"      // create or update a record (without deferred lookups)
	KindPatch       Kind = "patch"       // set the lookups deferred by the first phase
	KindFile        Kind = "file"        // upload a file or image column
	KindRelink      Kind = "relink"      // re-point lookups of surviving records at restored ones
	KindAssociation Kind = "association" // N:N $ref associate
	KindState       Kind = "state"       // statecode/statuscode, by PATCH or by the state's message
)

// Op is one write of a job, as stored in a chunk blob.
type Op struct {
	// Key identifies the operation in the job: "c<chunk>-<index>".
	Key    string `json:"key"`
	Kind   Kind   `json:"kind"`
	Table  string `json:"table"`
	Set    string `json:"set"`
	Source string `json:"source"`
	ID     string `json:"id"`
	// Action of a record op: create or update.
	Action  Action          `json:"action,omitempty"`
	Body    json.RawMessage `json:"body,omitempty"`
	IfMatch string          `json:"ifMatch,omitempty"`
	// Inline lookups of a record op whose targets were written by an
	// earlier chunk: dropped (with a warning) if the target is missing.
	Inline map[string]string `json:"inline,omitempty"`
	File   *FileOp           `json:"file,omitempty"`
	Assoc  *AssocOp          `json:"assoc,omitempty"`
	// Parties of an activity created with it (a deep insert through
	// PartiesNav, <activity>_activity_parties).
	PartiesNav string     `json:"partiesNav,omitempty"`
	Parties    []PartyOp  `json:"parties,omitempty"`
	Message    *MessageOp `json:"message,omitempty"`
	// Links of a relink: lookup column -> the id it is re-pointed at (a
	// replay whose If-Match fails checks them: done by an earlier attempt,
	// or changed).
	Links map[string]string `json:"links,omitempty"`
	// Retry marks a create sent again without the lookups and parties
	// that point at records this job restored (one turned out missing);
	// never stored.
	Retry bool `json:"-"`
}

// PartyOp is one activityparty row written with its activity.
type PartyOp struct {
	// Fields: participationtypemask, addressused and the other writable
	// columns of the backed-up row.
	Fields map[string]json.RawMessage `json:"fields"`
	// Bind is the party's lookup, "partyid_<table>@odata.bind" -> Value
	// "/<set>(<id>)"; empty for an address nothing resolves.
	Bind  string `json:"bind,omitempty"`
	Value string `json:"value,omitempty"`
	// Restored: the party is a record this job creates; if it turns out
	// missing the row keeps only its address (or is left out, with a
	// warning).
	Restored bool `json:"restored,omitempty"`
}

// MessageOp sets a record's state through the message Dataverse requires
// for it (WinOpportunity, CloseIncident, SendEmail, ...) instead of a PATCH.
type MessageOp struct {
	// Name of the action; Bound ones are posted to the record
	// (<set>(<id>)/Microsoft.Dynamics.CRM.<Name>).
	Name  string `json:"name"`
	Bound bool   `json:"bound,omitempty"`
	// Params is the request body (the close activity, Status, ...).
	Params json.RawMessage `json:"params"`
	// State and Status are the record's state afterwards: a record found
	// in it already (a replay) is not sent the message again.
	State  int `json:"state"`
	Status int `json:"status"`
	// From lists the states the message accepts the record in; a record
	// in another state is first PATCHed to the last of them.
	From []int `json:"from,omitempty"`
	// Close names the backed-up close activity the message creates (its
	// result row is CloseKey).
	CloseTable string `json:"closeTable,omitempty"`
	CloseID    string `json:"closeId,omitempty"`
	CloseKey   string `json:"closeKey,omitempty"`
}

// FileOp uploads a stored file into a column.
type FileOp struct {
	Column   string `json:"column"`
	SHA256   string `json:"sha256"`
	Size     int64  `json:"size"`
	FileName string `json:"fileName"`
	MimeType string `json:"mimeType,omitempty"`
	// PrimaryID is the table's primary key column, which the block upload
	// messages name the record by (empty in chunks planned before they
	// were used: those upload with a PATCH of the column).
	PrimaryID string `json:"primaryId,omitempty"`
}

// AssocOp links ID (of Set) to TargetID (of TargetSet) through Nav.
type AssocOp struct {
	Nav       string `json:"nav"`
	TargetSet string `json:"targetSet"`
	TargetID  string `json:"targetId"`
}

// Phase is a run of chunks of one kind of operation.
type Phase struct {
	Name   Kind `json:"name"`
	First  int  `json:"first"`
	Chunks int  `json:"chunks"`
	Ops    int  `json:"ops"`
}

// FieldDiff is one column that differs between the backup and the live record.
type FieldDiff struct {
	Field  string          `json:"field"`
	Backup json.RawMessage `json:"backup"`
	Live   json.RawMessage `json:"live"`
}

// Unmapped is a reference of a backed-up record that has no counterpart in
// the target (not restored, absent, no natural key match, no override).
type Unmapped struct {
	Table    string `json:"table"`    // referenced table
	ID       string `json:"id"`       // referenced id in the source
	Key      string `json:"key"`      // natural key tried, if any
	Count    int    `json:"count"`    // references to it
	Referrer string `json:"referrer"` // first referring record, table/id.column
}

// Prediction is one line of a plan: an operation of the plan's chunks
// (Planned), or a decision that writes nothing (a record skipped, in
// conflict or failed; an association skipped).
type Prediction struct {
	// Key is the operation's key when Planned, else a key unique in the
	// plan ("p-r<n>" for records, "p-a<n>" for associations).
	Key     string
	Planned bool
	Kind    Kind
	Table   string
	// Source is the backed-up id ("<id1>|<id2>" for an association),
	// Target the id written ("<id1>|<id2>").
	Source, Target string
	Action         Action
	Reason         string
	Message        string
	// Warnings: unmapped or dropped references, unreadable files.
	Warnings []string
	// Diff lists the columns that differ from the live record (of a
	// relink: the lookups re-pointed, live null).
	Diff []FieldDiff
	// Cascade, for a record created, names the Cascade relationship
	// through which its parent, also restored, took it when deleted
	// (contact_customer_accounts).
	Cascade string
}

// NotWritable is a column of a table whose backed-up values the restore
// cannot write, and why.
type NotWritable struct {
	Table  string `json:"table"`
	Column string `json:"column"`
	Reason string `json:"reason"`
	// Records is how many records written by the job have a value (not
	// null) in it that is not written.
	Records int `json:"records"`
}

// Plan is what a restore job will write: operations in chunks, phase by
// phase, with a prediction for every record and association considered.
type Plan struct {
	// Chunks are the operations in the order they are written; chunk n
	// (1-based) is Chunks[n-1]. Each phase starts a new chunk.
	Chunks [][]Op
	// Phases lists the phases that have operations.
	Phases []Phase
	// Predictions: the operations first (in chunk order), then the
	// decisions that write nothing.
	Predictions []Prediction
	// Unmapped lists the references that map nowhere, by table and id.
	Unmapped []Unmapped
	// NotWritable lists, by table and column, the backed-up values the
	// restore cannot write (read-only, computed, missing in the target, a
	// state no message sets).
	NotWritable []NotWritable
	// Notes are plan-level findings (a table of the scope not in the run or
	// not in the target).
	Notes []string
}
