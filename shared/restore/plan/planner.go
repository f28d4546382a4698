package plan

import (
	"context"
	"crypto/sha1"
	"encoding/json"
	"fmt"
	"sort"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
)

// candidate is a record chosen for the restore and what it gets.
type candidate struct {
	table    string
	backup   *backedUpRecord
	targetID string // id in the target
	action   Action
	reason   string
	live     LiveRecord // the record in the target, nil when absent
	warnings []string
	diff     []FieldDiff
	// What is written: the body, the lookups (binds), the state after
	// everything and the files.
	body  map[string]json.RawMessage
	binds []lookupBind
	state map[string]json.RawMessage
	files []FileOp
	chunk int // of the record operation
	// An activity's parties, written with its create (parties.go).
	partiesNav string
	parties    []partyPlan
	// The message that sets the state, when a PATCH cannot (states.go);
	// close is the close activity it writes, closeNav the close's lookup
	// to this record; closes is set on such a close activity.
	msg      *MessageOp
	msgDef   *stateMessage
	close    *candidate
	closes   *candidate
	closeNav string
	// cascade names the Cascade relationship through which a restored
	// parent's delete took this record (cascade.go).
	cascade string
}

// lookupBind sets a lookup through its navigation property.
type lookupBind struct {
	nav    string
	value  string     // "/set(id)"
	target *candidate // non-nil when the target is restored by this job
}

type planner struct {
	req      Request
	src      Source
	target   Target
	live     *liveView
	tables   map[string]TableInfo // of the target
	inRun    map[string]bool
	backup   map[string]map[string]*backedUpRecord // table -> id -> record
	files    map[string]map[string]backupformat.FileRef
	chosen   map[string]*candidate // table|source id
	order    []*candidate
	unmapped map[string]*Unmapped
	failed   []Prediction // records asked for that are not in the backup
	assocs   []associationPlan
	notes    []string
	// parties: backed-up activity parties by activity id (parties.go).
	parties     map[string][]*backedUpRecord
	notWritable map[string]*NotWritable // table|column
	relinks     []relinkPlan
}

func ckey(table, id string) string { return table + "|" + id }

// Build plans a restore: it decides every record's fate under the policy
// and lays out the writes. It reads the backup from src and, from tgt, the
// metadata and only the live records its decisions depend on.
func Build(ctx context.Context, src Source, tgt Target, req Request) (*Plan, error) {
	if req.ChunkSize <= 0 {
		req.ChunkSize = 500
	}
	if !req.Policy.Valid() {
		return nil, fmt.Errorf("plan: unknown conflict policy %q", req.Policy)
	}
	p := &planner{req: req, src: src, target: tgt, live: newLiveView(tgt),
		backup: map[string]map[string]*backedUpRecord{}, files: map[string]map[string]backupformat.FileRef{},
		chosen: map[string]*candidate{}, unmapped: map[string]*Unmapped{}, notWritable: map[string]*NotWritable{}}
	var err error
	if p.tables, err = tgt.Tables(ctx); err != nil {
		return nil, fmt.Errorf("tables of the target: %w", err)
	}
	runTables, err := src.Tables(ctx)
	if err != nil {
		return nil, fmt.Errorf("tables of run %s: %w", req.Run, err)
	}
	p.inRun = map[string]bool{}
	for _, t := range runTables {
		p.inRun[t] = true
	}
	scope, scoped, explicit := p.scopeTables(runTables)
	steps := []func(context.Context) error{
		func(ctx context.Context) error { return p.chooseScoped(ctx, scoped) },
		p.chooseRelated,
		func(ctx context.Context) error {
			if !req.Options.Notes || !p.inRun["annotation"] || scope["annotation"] || !p.hasTable("annotation") {
				return nil
			}
			return p.chooseNotes(ctx)
		},
		p.decideAll,
		p.chooseCloseRecords,
		p.buildAll,
		p.markCascades,
		p.planRelinks,
		func(ctx context.Context) error {
			if !req.Options.Associations {
				return nil
			}
			return p.planAssociations(ctx, explicit)
		},
	}
	for _, step := range steps {
		if err := step(ctx); err != nil {
			return nil, err
		}
	}
	return p.layout()
}

func (p *planner) hasTable(t string) bool { _, ok := p.tables[t]; return ok }

// restorable reports whether records of table may be chosen: in the run, in
// the target, not an intersect table.
func (p *planner) restorable(t string) bool {
	return p.inRun[t] && p.hasTable(t) && !p.tables[t].IsIntersect
}

// scopeTables returns the tables of the scope, the ones of them to restore
// records of (sorted), and whether the scope names tables or records.
func (p *planner) scopeTables(runTables []string) (scope map[string]bool, scoped []string, explicit bool) {
	sc := p.req.Scope
	scope = map[string]bool{}
	explicit = len(sc.Tables) > 0 || len(sc.Records) > 0
	for _, t := range sc.Tables {
		scope[t] = true
	}
	for t := range sc.Records {
		scope[t] = true
	}
	if !explicit {
		for _, t := range runTables {
			if !notRestored[t] {
				scope[t] = true
			}
		}
	}
	for _, t := range sortedKeys(scope) {
		switch {
		case !p.inRun[t]:
			p.notes = append(p.notes, "table "+t+" has no state in run "+p.req.Run)
		case !p.hasTable(t):
			p.notes = append(p.notes, "table "+t+" does not exist in the target environment")
		case p.tables[t].IsIntersect:
			// N:N links are restored as associations.
		case t == partyTable:
			if explicit {
				p.notes = append(p.notes, "activityparty rows are restored with their activities (created with their parties), not on their own")
			}
		default:
			scoped = append(scoped, t)
		}
	}
	return scope, scoped, explicit
}

// records loads the backed-up records of table (nil when not in the run).
func (p *planner) records(ctx context.Context, table string) (map[string]*backedUpRecord, error) {
	if m, ok := p.backup[table]; ok {
		return m, nil
	}
	if !p.inRun[table] {
		p.backup[table] = nil
		return nil, nil
	}
	m := map[string]*backedUpRecord{}
	err := p.src.Records(ctx, table, func(r backupformat.Record) error {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(r.Data, &f); err != nil {
			return fmt.Errorf("record %s of %s: %w", r.ID, table, err)
		}
		m[lower(r.ID)] = &backedUpRecord{ID: lower(r.ID), Version: r.Version, Fields: f}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup of %s: %w", table, err)
	}
	p.backup[table] = m
	return m, nil
}

// choose adds a record to the restore (once).
func (p *planner) choose(table string, r *backedUpRecord) *candidate {
	k := ckey(table, r.ID)
	if p.chosen[k] != nil {
		return nil
	}
	c := &candidate{table: table, backup: r, targetID: r.ID}
	if p.req.Policy == PolicyRestoreAsNew {
		c.targetID = newID(p.req.Job, table, r.ID)
	}
	p.chosen[k] = c
	p.order = append(p.order, c)
	return c
}

// newID derives the id of a restore-as-new copy (a name-based UUID, stable
// across retries of the job).
func newID(job, table, id string) string {
	h := sha1.Sum([]byte("cloudbackup-restore/" + job + "/" + table + "/" + id))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// entities lists the restorable tables of the run (whose N:N relationships
// matter).
func (p *planner) entities() []string {
	var out []string
	for t := range p.inRun {
		if p.hasTable(t) && !p.tables[t].IsIntersect {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

// candidatesByTable groups candidates by table, in a stable order.
func candidatesByTable(cs []*candidate) (tables []string, by map[string][]*candidate) {
	by = map[string][]*candidate{}
	for _, c := range cs {
		if by[c.table] == nil {
			tables = append(tables, c.table)
		}
		by[c.table] = append(by[c.table], c)
	}
	sort.Strings(tables)
	return tables, by
}
