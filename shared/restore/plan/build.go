package plan

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
)

// skippedColumns are not written as columns: the state is set in the
// state phase, createdon through overriddencreatedon (options.keepCreatedOn).
var skippedColumns = map[string]bool{"statecode": true, "statuscode": true, "createdon": true, "overriddencreatedon": true}

// inlineFileColumns are the base64 file content columns the backup moves
// into content-addressed blobs (shared/backup/scan.go keeps the same list).
var inlineFileColumns = map[string]string{"annotation": "documentbody", "activitymimeattachment": "body"}

// buildAll makes what each record to write gets, after learning in one
// call per table which of the records they refer to exist in the target.
func (p *planner) buildAll(ctx context.Context) error {
	var refs []lookupRef
	var writes []*candidate
	for _, c := range p.order {
		if !c.action.Writes() {
			continue
		}
		writes = append(writes, c)
		lookups, err := lookupsOf(c.table, c.backup.ID, c.backup.Fields)
		if err != nil {
			return err
		}
		refs = append(refs, lookups...)
	}
	parties, err := p.partyRefs(ctx, writes)
	if err != nil {
		return err
	}
	if err := p.prefetchReferences(ctx, append(refs, parties...)); err != nil {
		return err
	}
	for _, c := range p.order {
		if c.action.Writes() {
			if err := p.build(ctx, c); err != nil {
				return err
			}
		}
	}
	return nil
}

// build makes the body, lookups, state and files of a record to write, and
// its diff against the live record.
func (p *planner) build(ctx context.Context, c *candidate) error {
	tm, err := p.target.Table(ctx, c.table)
	if err != nil {
		return err
	}
	create := c.action == ActionCreate
	fields := map[string]bool{}
	for _, f := range p.req.Scope.Fields[c.table] {
		fields[f] = true
	}
	partial := !create && len(fields) > 0
	keep := func(col string) bool { return !partial || fields[col] }
	if err := p.buildBody(ctx, c, tm, create, keep); err != nil {
		return err
	}
	done, err := p.buildLookups(ctx, c, tm, create, keep)
	if err != nil || done {
		return err
	}
	if err := p.buildParties(ctx, c, tm); err != nil {
		return err
	}
	if c.closes != nil {
		return nil // a close activity: its parent's close message writes it, in that state
	}
	if err := p.buildState(c, tm, create, keep); err != nil {
		return err
	}
	if c.state != nil {
		p.buildMessage(c)
		if err := p.closeNavigation(ctx, c); err != nil {
			return err
		}
	}
	if p.req.Options.Files {
		if err := p.filesOf(ctx, c, tm, keep); err != nil {
			return err
		}
	}
	// Diff against the live record; an update that changes nothing is skipped.
	if c.live != nil {
		if c.diff, err = diff(c, tm); err != nil {
			return err
		}
		if c.action == ActionUpdate && len(c.diff) == 0 && len(c.binds) == 0 && c.state == nil && len(c.files) == 0 {
			c.action, c.reason = ActionSkip, "identical to the backup"
		}
	}
	return nil
}

// buildBody copies the writable columns (an inline file back from its blob).
func (p *planner) buildBody(ctx context.Context, c *candidate, tm *TableSchema, create bool, keep func(string) bool) error {
	c.body = map[string]json.RawMessage{}
	for _, k := range sortedKeys(c.backup.Fields) {
		v := c.backup.Fields[k]
		if col, ok := backupformat.InlineFileColumn(k); ok {
			if !keep(col) {
				continue
			}
			if why := tm.notWritableReason(col, create); why != "" {
				p.notWritableValue(c.table, col, why, v)
				continue
			}
			var sum string
			if err := json.Unmarshal(v, &sum); err != nil {
				c.warnings = append(c.warnings, fmt.Sprintf("%s: the backup's file reference is not a hash (%v); not restored", col, err))
				continue
			}
			b64, err := p.inlineFile(ctx, sum)
			if err != nil {
				c.warnings = append(c.warnings, fmt.Sprintf("%s: file %s unreadable: %v", col, sum, err))
				continue
			}
			c.body[col] = b64
			continue
		}
		if tm.Columns[k].File || tm.Columns[tm.Columns[k].Of].File || strings.Contains(k, "@") || strings.HasPrefix(k, "_") || k == tm.PrimaryID || skippedColumns[k] {
			continue // a file's name and id come back with the file
		}
		if !keep(k) {
			continue
		}
		if create && inlineFileColumns[c.table] == k && string(v) == "null" {
			continue // no attachment: nothing to upload (a null body would still count as one of 0 bytes)
		}
		if why := tm.notWritableReason(k, create); why != "" {
			if tm.computed(k) {
				p.notWritableCount(c.table, k, why)
			} else {
				p.notWritableValue(c.table, k, why, v)
			}
			continue
		}
		c.body[k] = v
	}
	if create && p.req.Options.KeepCreatedOn && tm.writable("overriddencreatedon", true) {
		if v, ok := c.backup.Fields["createdon"]; ok && string(v) != "null" {
			c.body["overriddencreatedon"] = v
		}
	}
	return nil
}

// buildLookups maps the record's lookups to the target; done is true when
// the record turned out to be skipped (a note whose parent maps nowhere).
func (p *planner) buildLookups(ctx context.Context, c *candidate, tm *TableSchema, create bool, keep func(string) bool) (done bool, err error) {
	lookups, err := lookupsOf(c.table, c.backup.ID, c.backup.Fields)
	if err != nil {
		return false, err
	}
	for _, lv := range lookups {
		if !keep(lv.attr) || lv.attr == "ownerid" && !p.req.Options.Owner {
			continue
		}
		if why := tm.notWritableReason(lv.attr, create); why != "" && lv.attr != "ownerid" {
			p.notWritableValue(c.table, lv.attr, why, c.backup.Fields["_"+lv.attr+"_value"])
			continue
		}
		liveID, err := idField(c.live, "_"+lv.attr+"_value")
		if err != nil {
			return false, fmt.Errorf("live record %s of %s: %w", c.targetID, c.table, err)
		}
		if lv.id == "" {
			// Cleared since: clear it in the target too.
			if !create && liveID != "" {
				if nav := tm.navigation(lv.attr, "", lv.nav); nav != "" {
					c.body[nav+"@odata.bind"] = json.RawMessage("null")
				} else if navs := tm.Navigations[lv.attr]; len(navs) > 0 {
					c.body[navs[sortedKeys(navs)[0]]+"@odata.bind"] = json.RawMessage("null")
				}
			}
			continue
		}
		if lv.table == "" {
			c.warnings = append(c.warnings, lv.attr+": the backup does not say which table "+lv.id+" is in; not set")
			continue
		}
		nav := tm.navigation(lv.attr, lv.table, lv.nav)
		if nav == "" {
			c.warnings = append(c.warnings, fmt.Sprintf("%s: no navigation property to %s in the target; not set", lv.attr, lv.table))
			continue
		}
		res, err := p.resolve(ctx, lv, c.table+"/"+c.backup.ID+"."+lv.attr)
		if err != nil {
			return false, err
		}
		if !res.ok {
			if c.table == "annotation" && lv.attr == "objectid" {
				c.action, c.reason = ActionSkip, fmt.Sprintf("parent %s %s is neither restored nor present in the target", lv.table, lv.id)
				return true, nil
			}
			c.warnings = append(c.warnings, referenceWarning(lv))
			continue
		}
		if res.target == nil && !create && liveID == res.id {
			continue // already points there
		}
		c.binds = append(c.binds, lookupBind{nav: nav, value: "/" + p.tables[lv.table].EntitySet + "(" + res.id + ")", target: res.target})
	}
	return false, nil
}

// buildState sets statuscode on create when the record was active, else
// plans statecode/statuscode for after everything.
func (p *planner) buildState(c *candidate, tm *TableSchema, create bool, keep func(string) bool) error {
	if !p.req.Options.State || !(keep("statecode") || keep("statuscode")) || !tm.HasColumn("statecode") {
		return nil
	}
	st, hasSt := c.backup.Fields["statecode"]
	su, hasSu := c.backup.Fields["statuscode"]
	if !hasSt || string(st) == "null" {
		return nil
	}
	liveSame := c.live != nil && equalJSON(c.live["statecode"], st) && equalJSON(c.live["statuscode"], su)
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

func (p *planner) filesOf(ctx context.Context, c *candidate, tm *TableSchema, keep func(string) bool) error {
	cols := tm.fileColumns()
	if len(cols) == 0 {
		return nil
	}
	refs, err := p.fileRefs(ctx, c.table)
	if err != nil {
		return err
	}
	for _, col := range cols {
		fr, ok := refs[ckey(c.backup.ID, col)]
		if !ok || !keep(col) {
			continue
		}
		c.files = append(c.files, FileOp{Column: col, SHA256: fr.SHA256, Size: fr.Size, FileName: fr.FileName, MimeType: fr.MimeType})
	}
	return nil
}

// fileRefs loads the file references of a table's records (record|column).
func (p *planner) fileRefs(ctx context.Context, table string) (map[string]backupformat.FileRef, error) {
	if m, ok := p.files[table]; ok {
		return m, nil
	}
	m := map[string]backupformat.FileRef{}
	err := p.src.Files(ctx, table, func(fr backupformat.FileRef) error {
		m[ckey(lower(fr.ID), fr.Column)] = fr
		return nil
	})
	if err != nil && !errors.Is(err, backupformat.ErrTableNotInRun) {
		return nil, fmt.Errorf("files of %s: %w", table, err)
	}
	p.files[table] = m
	return m, nil
}

// diff lists the columns, lookups and state that differ between what is
// written and the live record.
func diff(c *candidate, tm *TableSchema) ([]FieldDiff, error) {
	var out []FieldDiff
	for _, k := range sortedKeys(c.body) {
		if strings.HasSuffix(k, "@odata.bind") || k == "overriddencreatedon" {
			continue
		}
		b, l := c.body[k], c.live[k]
		if equalJSON(b, l) {
			continue
		}
		if k == "documentbody" {
			out = append(out, FieldDiff{Field: k, Backup: json.RawMessage(`"(file)"`), Live: json.RawMessage(`"(file)"`)})
			continue
		}
		out = append(out, FieldDiff{Field: k, Backup: b, Live: orNull(l)})
	}
	lookups, err := lookupsOf(c.table, c.backup.ID, c.backup.Fields)
	if err != nil {
		return nil, err
	}
	for _, lv := range lookups {
		if !tm.HasColumn(lv.attr) || lv.attr == "createdby" || lv.attr == "modifiedby" || lv.attr == "owningbusinessunit" {
			continue
		}
		lk := "_" + lv.attr + "_value"
		liveID, err := idField(c.live, lk)
		if err != nil {
			return nil, fmt.Errorf("live record %s of %s: %w", c.targetID, c.table, err)
		}
		if liveID != lv.id {
			out = append(out, FieldDiff{Field: lv.attr, Backup: orNull(c.backup.Fields[lk]), Live: orNull(c.live[lk])})
		}
	}
	for _, k := range []string{"statecode", "statuscode"} {
		if v, ok := c.backup.Fields[k]; ok && !equalJSON(v, c.live[k]) {
			out = append(out, FieldDiff{Field: k, Backup: v, Live: orNull(c.live[k])})
		}
	}
	return out, nil
}
