package restore

import (
	"bytes"
	"context"
	"crypto/sha1"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// fileHashSuffix marks an inline file column moved to a blob by the backup
// engine ("documentbody@cloudbackup.sha256": "<hex>").
const fileHashSuffix = "@cloudbackup.sha256"

const (
	annLookupTable = "@Microsoft.Dynamics.CRM.lookuplogicalname"
	annNav         = "@Microsoft.Dynamics.CRM.associatednavigationproperty"
)

// srec is a backed-up record.
type srec struct {
	ID      string
	Version int64
	F       map[string]json.RawMessage
}

// cand is a record chosen for the restore and what it gets.
type cand struct {
	table    string
	src      *srec
	id       string // id in the target
	action   string // create, update, skip, conflict, fail
	reason   string
	live     map[string]json.RawMessage
	warnings []string
	diff     []FieldDiff
	body     map[string]json.RawMessage
	binds    []bind
	state    map[string]json.RawMessage
	files    []FileOp
	chunk    int
}

type bind struct {
	nav    string
	value  string // "/set(id)"
	target *cand  // non-nil when the target is restored by this job
}

type planner struct {
	e         *Engine
	job       *Job
	req       *Request
	src       Source
	meta      *metadata
	c         *dataverse.Client
	inRun     map[string]bool
	srcT      map[string]map[string]*srec
	liveT     map[string]map[string]map[string]json.RawMessage
	chosen    map[string]*cand // table|srcid
	order     []*cand
	unmapped  map[string]*Unmapped
	results   []Result
	assocs    []assocPlan
	fileCache map[string]map[string]backupformat.FileRef
}

type assocPlan struct {
	rel    *n2nMeta
	e1, e2 string // source ids
	t1, t2 string // target ids ("" unmapped)
	skip   string
}

func ckey(table, id string) string { return table + "|" + id }

func (p *planner) source(ctx context.Context, table string) (map[string]*srec, error) {
	if m, ok := p.srcT[table]; ok {
		return m, nil
	}
	if !p.inRun[table] {
		p.srcT[table] = nil
		return nil, nil
	}
	m := map[string]*srec{}
	err := p.src.Records(ctx, table, func(r backupformat.Record) error {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(r.Data, &f); err != nil {
			return fmt.Errorf("record %s of %s: %w", r.ID, table, err)
		}
		m[lower(r.ID)] = &srec{ID: lower(r.ID), Version: r.Version, F: f}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("backup of %s: %w", table, err)
	}
	p.srcT[table] = m
	return m, nil
}

func (p *planner) livet(ctx context.Context, table string) (map[string]map[string]json.RawMessage, error) {
	if m, ok := p.liveT[table]; ok {
		return m, nil
	}
	if !p.meta.has(table) {
		p.liveT[table] = nil
		return nil, nil
	}
	tm, err := p.meta.table(ctx, table)
	if err != nil {
		return nil, err
	}
	m := map[string]map[string]json.RawMessage{}
	err = readAll(ctx, p.meta.reads, p.c, tm, nil, func(id string, raw json.RawMessage) error {
		var f map[string]json.RawMessage
		if err := json.Unmarshal(raw, &f); err != nil {
			return err
		}
		m[id] = f
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("live %s: %w", table, err)
	}
	p.liveT[table] = m
	return m, nil
}

// plan decides every record's fate and lays out the operations.
func (p *planner) plan(ctx context.Context) ([][]Op, []Phase, error) {
	tables, err := p.src.Tables(ctx)
	if err != nil {
		return nil, nil, err
	}
	p.inRun = map[string]bool{}
	for _, t := range tables {
		p.inRun[t] = true
	}
	sc := p.req.Scope
	scope := map[string]bool{}
	explicit := len(sc.Tables) > 0 || len(sc.Records) > 0
	for _, t := range sc.Tables {
		scope[t] = true
	}
	for t := range sc.Records {
		scope[t] = true
	}
	if !explicit {
		for _, t := range tables {
			if !notRestored[t] {
				scope[t] = true
			}
		}
	}
	var scoped []string
	for t := range scope {
		if !p.inRun[t] {
			p.job.Notes = append(p.job.Notes, "table "+t+" has no state in run "+p.req.Run)
			continue
		}
		if !p.meta.has(t) {
			p.job.Notes = append(p.job.Notes, "table "+t+" does not exist in the target environment")
			continue
		}
		if p.meta.defs[t].IsIntersect {
			continue // N:N links are restored as associations
		}
		scoped = append(scoped, t)
	}
	sort.Strings(scoped)
	// 1. The chosen records.
	var frontier []*cand
	for _, t := range scoped {
		recs, err := p.source(ctx, t)
		if err != nil {
			return nil, nil, err
		}
		var live map[string]map[string]json.RawMessage
		if sc.Deleted {
			if live, err = p.livet(ctx, t); err != nil {
				return nil, nil, err
			}
		}
		ids := sc.Records[t]
		want := map[string]bool{}
		for _, id := range ids {
			want[id] = true
		}
		for _, id := range sortedKeys(recs) {
			r := recs[id]
			if len(ids) > 0 && !want[id] {
				continue
			}
			if !match(r.F, sc.Filter[t]) {
				continue
			}
			if sc.Deleted && live[id] != nil {
				continue
			}
			if c := p.choose(t, r); c != nil {
				frontier = append(frontier, c)
			}
		}
		for _, id := range ids {
			if recs[id] == nil {
				p.results = append(p.results, Result{Kind: KindRecord, Table: t, Source: id, Predict: "fail", Status: ResFailed,
					Reason: "not in the backup", Message: "record " + id + " of " + t + " is not in run " + p.req.Run})
			}
		}
	}
	// 2. Related records: missing parents and N:N partners.
	if rel := sc.Related; rel != nil && rel.Depth > 0 {
		for d := 0; d < rel.Depth && len(frontier) > 0; d++ {
			var next []*cand
			for _, c := range frontier {
				more, err := p.related(ctx, c, rel)
				if err != nil {
					return nil, nil, err
				}
				next = append(next, more...)
			}
			frontier = next
		}
	}
	// 3. Notes of chosen records.
	if on(p.req.Options.Notes) && p.inRun["annotation"] && !scope["annotation"] && p.meta.has("annotation") {
		notes, err := p.source(ctx, "annotation")
		if err != nil {
			return nil, nil, err
		}
		var live map[string]map[string]json.RawMessage
		if sc.Deleted {
			if live, err = p.livet(ctx, "annotation"); err != nil {
				return nil, nil, err
			}
		}
		for _, id := range sortedKeys(notes) {
			n := notes[id]
			var obj string
			_ = json.Unmarshal(n.F["_objectid_value"], &obj)
			var ot string
			_ = json.Unmarshal(n.F["_objectid_value"+annLookupTable], &ot)
			if obj == "" || p.chosen[ckey(ot, lower(obj))] == nil || (sc.Deleted && live[id] != nil) {
				continue
			}
			p.choose("annotation", n)
		}
	}
	// 4. Decide each record against the live target.
	for _, c := range p.order {
		if err := p.decide(ctx, c); err != nil {
			return nil, nil, err
		}
	}
	// 5. Lookups, bodies, files.
	for _, c := range p.order {
		if c.action == "create" || c.action == "update" {
			if err := p.build(ctx, c); err != nil {
				return nil, nil, err
			}
		}
	}
	// 6. N:N associations.
	if on(p.req.Options.Associations) {
		if err := p.planAssociations(ctx, tables, explicit); err != nil {
			return nil, nil, err
		}
	}
	return p.layout(ctx)
}

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func (p *planner) choose(table string, r *srec) *cand {
	k := ckey(table, r.ID)
	if p.chosen[k] != nil {
		return nil
	}
	c := &cand{table: table, src: r, id: r.ID}
	if p.req.Policy == PolicyRestoreAsNew {
		c.id = newID(p.job.ID, table, r.ID)
	}
	p.chosen[k] = c
	p.order = append(p.order, c)
	return c
}

// newID derives the id of a restore-as-new copy (stable across retries).
func newID(job, table, id string) string {
	h := sha1.Sum([]byte("cloudbackup-restore/" + job + "/" + table + "/" + id))
	h[6] = (h[6] & 0x0f) | 0x50
	h[8] = (h[8] & 0x3f) | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", h[0:4], h[4:6], h[6:8], h[8:10], h[10:16])
}

// lookups returns the lookup columns of a backed-up record: attribute ->
// (target table, source id, annotated navigation property).
type lookupVal struct{ attr, table, id, nav string }

func lookups(f map[string]json.RawMessage) []lookupVal {
	var out []lookupVal
	for k, v := range f {
		if !strings.HasPrefix(k, "_") || !strings.HasSuffix(k, "_value") {
			continue
		}
		attr := k[1 : len(k)-len("_value")]
		lv := lookupVal{attr: attr}
		_ = json.Unmarshal(v, &lv.id)
		lv.id = lower(lv.id)
		_ = json.Unmarshal(f[k+annLookupTable], &lv.table)
		_ = json.Unmarshal(f[k+annNav], &lv.nav)
		out = append(out, lv)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].attr < out[j].attr })
	return out
}

func (p *planner) related(ctx context.Context, c *cand, rel *Related) ([]*cand, error) {
	var out []*cand
	add := func(table, id string) error {
		if table == "" || id == "" || notRestored[table] || !p.inRun[table] || !p.meta.has(table) || p.meta.defs[table].IsIntersect {
			return nil
		}
		if p.chosen[ckey(table, id)] != nil {
			return nil
		}
		live, err := p.livet(ctx, table)
		if err != nil {
			return err
		}
		if live[id] != nil {
			return nil // present: nothing to restore
		}
		recs, err := p.source(ctx, table)
		if err != nil {
			return err
		}
		if r := recs[id]; r != nil {
			if n := p.choose(table, r); n != nil {
				out = append(out, n)
			}
		}
		return nil
	}
	if rel.Lookups {
		for _, lv := range lookups(c.src.F) {
			if err := add(lv.table, lv.id); err != nil {
				return nil, err
			}
		}
	}
	if rel.Associations {
		rels, err := p.meta.relationships(ctx, p.entities())
		if err != nil {
			return nil, err
		}
		for _, r := range rels {
			if r.Entity1 != c.table && r.Entity2 != c.table {
				continue
			}
			rows, err := p.source(ctx, r.Intersect)
			if err != nil {
				return nil, err
			}
			for _, row := range rows {
				a, b := str(row.F[r.Entity1Attr]), str(row.F[r.Entity2Attr])
				if r.Entity1 == c.table && a == c.src.ID {
					if err := add(r.Entity2, b); err != nil {
						return nil, err
					}
				}
				if r.Entity2 == c.table && b == c.src.ID {
					if err := add(r.Entity1, a); err != nil {
						return nil, err
					}
				}
			}
		}
	}
	return out, nil
}

func (p *planner) entities() []string {
	var out []string
	for t := range p.inRun {
		if p.meta.has(t) && !p.meta.defs[t].IsIntersect {
			out = append(out, t)
		}
	}
	sort.Strings(out)
	return out
}

func str(v json.RawMessage) string {
	var s string
	_ = json.Unmarshal(v, &s)
	return lower(s)
}

// decide applies the conflict policy.
func (p *planner) decide(ctx context.Context, c *cand) error {
	if p.req.Policy == PolicyRestoreAsNew {
		c.action = "create"
		return nil
	}
	live, err := p.livet(ctx, c.table)
	if err != nil {
		return err
	}
	c.live = live[c.id]
	if c.live == nil {
		c.action = "create"
		return nil
	}
	switch p.req.Policy {
	case PolicySkipExisting:
		c.action, c.reason = "skip", "exists in the target (policy skip-existing)"
	case PolicyOverwrite:
		c.action = "update"
	case PolicyIfUnchanged:
		var etag string
		_ = json.Unmarshal(c.live["@odata.etag"], &etag)
		lv := dataverse.ETagVersion(etag)
		if lv > c.src.Version && c.src.Version > 0 {
			c.action, c.reason = "conflict", fmt.Sprintf("changed in the target since the backup (version %d > %d)", lv, c.src.Version)
		} else {
			c.action = "update"
		}
	}
	return nil
}

// resolve maps a reference to the target: (id, restored-by-this-job cand, ok).
func (p *planner) resolve(ctx context.Context, lv lookupVal, referrer string) (string, *cand, bool, error) {
	if t := p.chosen[ckey(lv.table, lv.id)]; t != nil {
		switch t.action {
		case "create", "update":
			return t.id, t, true, nil
		case "skip", "conflict":
			return t.id, nil, true, nil // exists in the target
		}
		return "", nil, false, nil
	}
	if m := p.req.Mapping[lv.table]; m != nil {
		if to := m[lv.id]; to != "" {
			return lower(to), nil, true, nil
		}
	}
	live, err := p.livet(ctx, lv.table)
	if err != nil {
		return "", nil, false, err
	}
	if live[lv.id] != nil {
		return lv.id, nil, true, nil
	}
	key := ""
	if kc, ok := ReferenceTables[lv.table]; ok {
		recs, err := p.source(ctx, lv.table)
		if err != nil {
			return "", nil, false, err
		}
		if r := recs[lv.id]; r != nil {
			cols := []string{kc}
			if lv.table == "systemuser" {
				cols = append(cols, "internalemailaddress")
			}
			for _, col := range cols {
				var v string
				_ = json.Unmarshal(r.F[col], &v)
				if v == "" {
					continue
				}
				key = col + "=" + v
				for id, lr := range live {
					var w string
					_ = json.Unmarshal(lr[col], &w)
					if strings.EqualFold(w, v) {
						return id, nil, true, nil
					}
				}
			}
		}
		u := p.unmapped[ckey(lv.table, lv.id)]
		if u == nil {
			u = &Unmapped{Table: lv.table, ID: lv.id, Key: key, Referrer: referrer}
			p.unmapped[ckey(lv.table, lv.id)] = u
		}
		u.Count++
	}
	return "", nil, false, nil
}

// skippedColumns are never written back.
var skippedColumns = map[string]bool{"versionnumber": true, "statecode": true, "statuscode": true, "createdon": true, "modifiedon": true, "overriddencreatedon": true}

// build makes the body, lookups, state and files of a record to write.
func (p *planner) build(ctx context.Context, c *cand) error {
	tm, err := p.meta.table(ctx, c.table)
	if err != nil {
		return err
	}
	create := c.action == "create"
	fields := map[string]bool{}
	for _, f := range p.req.Scope.Fields[c.table] {
		fields[f] = true
	}
	partial := !create && len(fields) > 0
	keep := func(col string) bool { return !partial || fields[col] }
	c.body = map[string]json.RawMessage{}
	for k, v := range c.src.F {
		if col, ok := strings.CutSuffix(k, fileHashSuffix); ok && keep(col) && tm.writable(col, create) {
			var sum string
			_ = json.Unmarshal(v, &sum)
			b64, err := p.inlineFile(ctx, sum)
			if err != nil {
				c.warnings = append(c.warnings, fmt.Sprintf("%s: file %s unreadable: %v", col, sum, err))
				continue
			}
			c.body[col] = b64
			continue
		}
		if _, isFile := tm.Files[k]; isFile || strings.Contains(k, "@") || strings.HasPrefix(k, "_") || k == tm.PrimaryID || skippedColumns[k] {
			continue
		}
		if !keep(k) || !tm.writable(k, create) {
			continue
		}
		c.body[k] = v
	}
	if create && on(p.req.Options.KeepCreatedOn) && tm.writable("overriddencreatedon", true) {
		if v, ok := c.src.F["createdon"]; ok && string(v) != "null" {
			c.body["overriddencreatedon"] = v
		}
	}
	// Lookups.
	for _, lv := range lookups(c.src.F) {
		if !keep(lv.attr) || !tm.writable(lv.attr, create) && lv.attr != "ownerid" {
			continue
		}
		if lv.attr == "ownerid" && !on(p.req.Options.Owner) {
			continue
		}
		ref := c.table + "/" + c.src.ID + "." + lv.attr
		if lv.id == "" {
			if !create && c.live != nil && string(c.live["_"+lv.attr+"_value"]) != "null" && c.live["_"+lv.attr+"_value"] != nil {
				if nav := tm.nav(lv.attr, "", lv.nav); nav != "" {
					c.body[nav+"@odata.bind"] = json.RawMessage("null")
				} else if navs := tm.Navs[lv.attr]; len(navs) > 0 {
					for _, n := range sortedKeys(navs) {
						c.body[navs[n]+"@odata.bind"] = json.RawMessage("null")
						break
					}
				}
			}
			continue
		}
		if lv.table == "" {
			c.warnings = append(c.warnings, lv.attr+": the backup does not say which table "+lv.id+" is in; not set")
			continue
		}
		nav := tm.nav(lv.attr, lv.table, lv.nav)
		if nav == "" {
			c.warnings = append(c.warnings, fmt.Sprintf("%s: no navigation property to %s in the target; not set", lv.attr, lv.table))
			continue
		}
		id, target, ok, err := p.resolve(ctx, lv, ref)
		if err != nil {
			return err
		}
		if !ok {
			if c.table == "annotation" && lv.attr == "objectid" {
				c.action, c.reason = "skip", fmt.Sprintf("parent %s %s is neither restored nor present in the target", lv.table, lv.id)
				return nil
			}
			if _, isRef := ReferenceTables[lv.table]; isRef {
				c.warnings = append(c.warnings, fmt.Sprintf("%s: %s %s unmapped in the target; not set", lv.attr, lv.table, lv.id))
			} else {
				c.warnings = append(c.warnings, fmt.Sprintf("%s: %s %s is neither restored nor present in the target; not set", lv.attr, lv.table, lv.id))
			}
			continue
		}
		b := bind{nav: nav, value: "/" + p.meta.set(lv.table) + "(" + id + ")", target: target}
		if target == nil && !create && c.live != nil && str(c.live["_"+lv.attr+"_value"]) == id {
			continue // already points there
		}
		c.binds = append(c.binds, b)
	}
	// State: statuscode on create when active, else after everything.
	if on(p.req.Options.State) && (keep("statecode") || keep("statuscode")) && tm.Attrs["statecode"].LogicalName != "" {
		st, hasSt := c.src.F["statecode"]
		su, hasSu := c.src.F["statuscode"]
		if hasSt && string(st) != "null" {
			liveSame := c.live != nil && string(c.live["statecode"]) == string(st) && string(c.live["statuscode"]) == string(su)
			switch {
			case liveSame:
			case create && string(st) == "0" && hasSu:
				c.body["statuscode"] = su
			default:
				c.state = map[string]json.RawMessage{"statecode": st}
				if hasSu {
					c.state["statuscode"] = su
				}
			}
		}
	}
	// Files.
	if on(p.req.Options.Files) && len(tm.Files) > 0 {
		if err := p.filesOf(ctx, c, tm, keep); err != nil {
			return err
		}
	}
	// Diff against the live record; an update that changes nothing is skipped.
	if c.live != nil {
		c.diff = diff(c, tm)
		if c.action == "update" && len(c.diff) == 0 && len(c.binds) == 0 && c.state == nil && len(c.files) == 0 {
			c.action, c.reason = "skip", "identical to the backup"
		}
	}
	return nil
}

func (p *planner) inlineFile(ctx context.Context, sum string) (json.RawMessage, error) {
	rc, err := p.src.OpenFile(ctx, sum)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	data, err := io.ReadAll(rc)
	if err != nil {
		return nil, err
	}
	return json.Marshal(base64.StdEncoding.EncodeToString(data))
}

func (p *planner) filesOf(ctx context.Context, c *cand, tm *tableMeta, keep func(string) bool) error {
	refs, err := p.fileRefs(ctx, c.table)
	if err != nil {
		return err
	}
	for _, col := range sortedKeys(tm.Files) {
		fr, ok := refs[ckey(c.src.ID, col)]
		if !ok || !keep(col) {
			continue
		}
		c.files = append(c.files, FileOp{Column: col, SHA256: fr.SHA256, Size: fr.Size, FileName: fr.FileName, MimeType: fr.MimeType})
	}
	return nil
}

func (p *planner) fileRefs(ctx context.Context, table string) (map[string]backupformat.FileRef, error) {
	k := "files|" + table
	if m, ok := p.fileCache[k]; ok {
		return m, nil
	}
	m := map[string]backupformat.FileRef{}
	err := p.src.Files(ctx, table, func(fr backupformat.FileRef) error {
		m[ckey(lower(fr.ID), fr.Column)] = fr
		return nil
	})
	if err != nil && !errors.Is(err, backupformat.ErrTableNotInRun) {
		return nil, err
	}
	p.fileCache[k] = m
	return m, nil
}

func diff(c *cand, tm *tableMeta) []FieldDiff {
	var out []FieldDiff
	for _, k := range sortedKeys(c.body) {
		if strings.HasSuffix(k, "@odata.bind") || k == "overriddencreatedon" {
			continue
		}
		b, l := c.body[k], c.live[k]
		if k == "documentbody" {
			if equalJSON(b, l) {
				continue
			}
			out = append(out, FieldDiff{Field: k, Backup: json.RawMessage(`"(file)"`), Live: json.RawMessage(`"(file)"`)})
			continue
		}
		if !equalJSON(b, l) {
			out = append(out, FieldDiff{Field: k, Backup: b, Live: orNull(l)})
		}
	}
	for _, lv := range lookups(c.src.F) {
		if _, ok := tm.Attrs[lv.attr]; !ok || lv.attr == "createdby" || lv.attr == "modifiedby" || lv.attr == "owningbusinessunit" {
			continue
		}
		lk := "_" + lv.attr + "_value"
		if str(c.live[lk]) != lv.id {
			out = append(out, FieldDiff{Field: lv.attr, Backup: orNull(c.src.F[lk]), Live: orNull(c.live[lk])})
		}
	}
	for _, k := range []string{"statecode", "statuscode"} {
		if v, ok := c.src.F[k]; ok && !equalJSON(v, c.live[k]) {
			out = append(out, FieldDiff{Field: k, Backup: v, Live: orNull(c.live[k])})
		}
	}
	return out
}

func orNull(v json.RawMessage) json.RawMessage {
	if len(v) == 0 {
		return json.RawMessage("null")
	}
	return v
}

func equalJSON(a, b json.RawMessage) bool {
	if bytes.Equal(a, b) {
		return true
	}
	var x, y any
	if json.Unmarshal(orNull(a), &x) != nil || json.Unmarshal(orNull(b), &y) != nil {
		return false
	}
	xb, _ := json.Marshal(x)
	yb, _ := json.Marshal(y)
	return bytes.Equal(xb, yb)
}

func (p *planner) planAssociations(ctx context.Context, tables []string, explicit bool) error {
	rels, err := p.meta.relationships(ctx, p.entities())
	if err != nil {
		return err
	}
	for _, it := range sortedKeys(rels) {
		r := rels[it]
		if !p.inRun[it] || notRestored[r.Entity1] && notRestored[r.Entity2] {
			continue
		}
		rows, err := p.source(ctx, it)
		if err != nil {
			return err
		}
		live, err := p.livet(ctx, it)
		if err != nil {
			return err
		}
		have := map[string]bool{}
		for _, row := range live {
			have[str(row[r.Entity1Attr])+"|"+str(row[r.Entity2Attr])] = true
		}
		for _, id := range sortedKeys(rows) {
			row := rows[id]
			a, b := str(row.F[r.Entity1Attr]), str(row.F[r.Entity2Attr])
			ca, cb := p.chosen[ckey(r.Entity1, a)], p.chosen[ckey(r.Entity2, b)]
			if ca == nil && cb == nil && (explicit || p.req.Scope.Deleted && have[a+"|"+b]) {
				continue
			}
			if ca == nil && cb == nil && !p.req.Scope.Deleted && explicit {
				continue
			}
			ap := assocPlan{rel: r, e1: a, e2: b}
			ta, _, oka, err := p.resolve(ctx, lookupVal{table: r.Entity1, id: a}, it+"/"+id)
			if err != nil {
				return err
			}
			tb, _, okb, err := p.resolve(ctx, lookupVal{table: r.Entity2, id: b}, it+"/"+id)
			if err != nil {
				return err
			}
			switch {
			case !oka:
				ap.skip = fmt.Sprintf("%s %s is neither restored nor present in the target", r.Entity1, a)
			case !okb:
				ap.skip = fmt.Sprintf("%s %s is neither restored nor present in the target", r.Entity2, b)
			case have[ta+"|"+tb]:
				ap.skip = "the association exists in the target"
			}
			ap.t1, ap.t2 = ta, tb
			p.assocs = append(p.assocs, ap)
		}
	}
	return nil
}

// tableOrder sorts tables so that lookup targets come before the tables
// that reference them; cycles are broken (their lookups are patched later).
func (p *planner) tableOrder(ctx context.Context) []string {
	set := map[string]bool{}
	for _, c := range p.order {
		set[c.table] = true
	}
	deps := map[string]map[string]bool{}
	for _, c := range p.order {
		for _, b := range c.binds {
			if b.target != nil && b.target.table != c.table {
				if deps[c.table] == nil {
					deps[c.table] = map[string]bool{}
				}
				deps[c.table][b.target.table] = true
			}
		}
	}
	var out []string
	state := map[string]int{}
	var visit func(t string)
	visit = func(t string) {
		if state[t] != 0 {
			return // done, or on the stack (a cycle: broken here)
		}
		state[t] = 1
		for _, d := range sortedKeys(deps[t]) {
			visit(d)
		}
		state[t] = 2
		out = append(out, t)
	}
	for _, t := range sortedKeys(set) {
		visit(t)
	}
	return out
}
