package backupdemo

import (
	"crypto/sha256"
	"fmt"
	"reflect"
	"sort"
	"strings"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
)

// The comparison of make demo: every row the delete touched (the deleted
// ones and the survivors it changed) as it was before the delete, against
// the simulator after the restore, column by column. A column that differs
// fails the comparison unless it cannot be written back, or the restore
// sets it by design (overriddencreatedon, listed too). Nothing is left out
// without being listed:
//
//   - in a row the restore created, a column counts as not writable only
//     when the restore job lists it (Job.NotWritable: table, column,
//     reason), or, for a value Dataverse sets where the backup had none
//     (createdby on a row that had none), when the table's metadata says a
//     client cannot set it; a column the job wrote wrong or dropped
//     without listing it is a difference;
//   - in a survivor the job writes only the cleared lookup, so the columns
//     the delete and the relink changed besides are the platform's: they
//     count as not writable when the metadata says so (modifiedon,
//     versionnumber, ispartydeleted: IsValidForUpdate false).
//
// Every not-writable column is listed with its reason and the number of
// rows it differs in.

// snapshot is what the touched rows looked like before the delete.
type snapshot struct {
	// rows are the touched rows (deleted parties aside), values normalized
	// (file columns by content, times in UTC to the second).
	rows map[rowKey]map[string]any
	// created marks the rows the restore must create again (the deleted ones).
	created map[rowKey]bool
	// parties are the deleted activity parties by their activity. They are
	// compared by content: activityparty has no Create message, its rows are
	// written with their activity and get ids from Dataverse
	// (reference/entities/activityparty.md), so a faithful restore may
	// give them new ids.
	parties map[rowKey][]map[string]any
	// links are the N:N links with a touched end ("intersect:id1,id2"),
	// linkRows their intersect rows.
	links    map[string]bool
	linkRows map[rowKey]string
}

func takeSnapshot(e *dataversesim.Env, d *deletion) *snapshot {
	s := &snapshot{rows: map[rowKey]map[string]any{}, created: map[rowKey]bool{}, parties: map[rowKey][]map[string]any{}}
	touched := map[string]bool{}
	for _, k := range d.touched() {
		row, ok := e.Get(k.table, k.id)
		if !ok {
			continue
		}
		touched[k.id] = true
		n := normalize(e, k.table, row)
		if act, ok := row["activityid"].(dataversesim.Ref); ok && k.table == "activityparty" && d.deleted[k] {
			a := rowKey{act.Table, act.ID}
			s.parties[a] = append(s.parties[a], n)
			continue
		}
		s.rows[k] = n
		s.created[k] = d.deleted[k]
	}
	s.links, s.linkRows = linksOf(e, touched)
	return s
}

// normalize makes a row comparable: "@version" (the simulator's row
// version, which the versionnumber column carries) goes, times are UTC to
// the second, file and image columns are their content.
func normalize(e *dataversesim.Env, table string, row map[string]any) map[string]any {
	def := e.Table(table)
	out := map[string]any{}
	for col, v := range row {
		if col == "@version" {
			continue
		}
		if t, ok := v.(time.Time); ok {
			v = t.UTC().Truncate(time.Second)
		}
		if id, ok := v.(string); ok && isFileColumn(def, col) {
			name, mime, data, found := e.File(id)
			if !found {
				v = "file " + id + " missing"
			} else {
				v = fmt.Sprintf("file %q %s %d bytes sha256 %x", name, mime, len(data), sha256.Sum256(data))
			}
		}
		out[col] = v
	}
	return out
}

// isFileColumn reports whether col holds a file id: a file column, or the
// id column of an image column.
func isFileColumn(def *dataversesim.TableDef, col string) bool {
	a := def.Attr(col)
	if a == nil {
		return false
	}
	if a.Type == dataversesim.TFile {
		return true
	}
	if a.Type == dataversesim.TUniqueID && a.AttributeOf != "" {
		of := def.Attr(a.AttributeOf)
		return of != nil && of.Type == dataversesim.TImage
	}
	return false
}

// linksOf lists the N:N links with an end in ids, from the intersect tables.
func linksOf(e *dataversesim.Env, ids map[string]bool) (map[string]bool, map[rowKey]string) {
	links, rows := map[string]bool{}, map[rowKey]string{}
	for _, table := range e.Tables() {
		def := e.Table(table)
		if !def.IsIntersect {
			continue
		}
		for _, id := range e.IDs(table) {
			row, _ := e.Get(table, id)
			var ends []string
			hit := false
			for _, a := range def.Attrs {
				if v, ok := row[a.Name].(string); ok && a.Type == dataversesim.TUniqueID && !a.IsPrimaryID {
					ends = append(ends, v)
					hit = hit || ids[v]
				}
			}
			if hit {
				sort.Strings(ends)
				l := table + ":" + strings.Join(ends, ",")
				links[l] = true
				rows[rowKey{table, id}] = l
			}
		}
	}
	return links, rows
}

// comparison is the outcome of comparing the simulator with a snapshot.
type comparison struct {
	job         listed
	differences []string
	// notWritable counts, per "table.column", the rows in which a column
	// Dataverse does not let a client set differs; setByRestore those in
	// which the restore set a column by design.
	notWritable  map[string]int
	reasons      map[string]string // "table.column" -> why it is not writable (created rows; survivors)
	setByRestore map[string]int
	compared     int // rows compared field by field (parties included)
	links        int // N:N links compared
	newPartyIDs  int // parties back with an id Dataverse gave them
}

// columnsNotWritable lists the not-writable columns that differed, sorted.
func (c *comparison) columnsNotWritable() []string { return sortedKeys(c.notWritable) }

func sortedKeys[V any](m map[string]V) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// listed are the columns a restore job says it cannot write:
// "table.column" -> reason (restore.Job.NotWritable). With a nil map the
// table metadata decides alone (the comparison's own tests).
type listed map[string]string

// compareWith compares the simulator now with snap; job lists what the
// restore job could not write.
func compareWith(e *dataversesim.Env, snap *snapshot, job listed) *comparison {
	c := &comparison{job: job, notWritable: map[string]int{}, reasons: map[string]string{}, setByRestore: map[string]int{}}
	for k, want := range snap.rows {
		row, ok := e.Get(k.table, k.id)
		if !ok {
			c.differences = append(c.differences, k.String()+" missing")
			continue
		}
		c.compared++
		c.row(e, k.String(), k.table, want, normalize(e, k.table, row), snap.created[k])
	}
	for act, want := range snap.parties {
		c.parties(e, act, want)
	}
	ids := map[string]bool{}
	for k := range snap.rows {
		ids[k.id] = true
	}
	now, _ := linksOf(e, ids)
	for l := range snap.links {
		c.links++
		if !now[l] {
			c.differences = append(c.differences, "N:N link "+l+" missing")
		}
	}
	for l := range now {
		if !snap.links[l] {
			c.differences = append(c.differences, "N:N link "+l+" present, want absent")
		}
	}
	sort.Strings(c.differences)
	return c
}

// row compares one row column by column; created says whether the restore
// created it (else it survived the delete and the restore may update it).
func (c *comparison) row(e *dataversesim.Env, name, table string, want, got map[string]any, created bool) {
	cols := map[string]bool{}
	for col := range want {
		cols[col] = true
	}
	for col := range got {
		cols[col] = true
	}
	for col := range cols {
		wv, gv := want[col], got[col]
		if reflect.DeepEqual(wv, gv) {
			continue
		}
		key := table + "." + col
		if created && col == "overriddencreatedon" && wv == nil && reflect.DeepEqual(gv, want["createdon"]) {
			c.setByRestore[key]++ // Dataverse keeps createdon only through it
			continue
		}
		reason, meta := c.job[key], notWritable(e, table, col, created)
		switch {
		case !created || c.job == nil:
			reason = meta
		case reason != "":
			reason = "listed by the job: " + reason
		case wv == nil && meta != "":
			reason = "set by Dataverse, " + meta
		}
		if reason == "" {
			msg := fmt.Sprintf("%s.%s = %v, want %v", name, col, show(gv), show(wv))
			if created && meta != "" {
				msg += " (" + meta + ", but the job does not list it)"
			}
			c.differences = append(c.differences, msg)
			continue
		}
		c.notWritable[key]++
		if !strings.Contains(c.reasons[key], reason) {
			c.reasons[key] = strings.TrimPrefix(c.reasons[key]+"; "+reason, "; ")
		}
	}
}

// parties compares the parties of an activity with the deleted ones, each
// matched by its role, party and address.
func (c *comparison) parties(e *dataversesim.Env, act rowKey, want []map[string]any) {
	var now []map[string]any
	nowIDs := map[string]string{}
	for _, id := range e.IDs("activityparty") {
		row, _ := e.Get("activityparty", id)
		if ref, ok := row["activityid"].(dataversesim.Ref); ok && ref.Table == act.table && ref.ID == act.id {
			n := normalize(e, "activityparty", row)
			now = append(now, n)
			nowIDs[partyKey(n)] = id
		}
	}
	used := make([]bool, len(now))
	for _, w := range want {
		c.compared++
		match := -1
		for i, g := range now {
			if !used[i] && partyKey(g) == partyKey(w) {
				match = i
				break
			}
		}
		name := fmt.Sprintf("activityparty of %s (%s)", act, partyKey(w))
		if match < 0 {
			c.differences = append(c.differences, name+" missing")
			continue
		}
		used[match] = true
		g := now[match]
		if g["activitypartyid"] != w["activitypartyid"] {
			c.newPartyIDs++
			g = withID(g, w["activitypartyid"])
		}
		c.row(e, name, "activityparty", w, g, true)
	}
	for i, g := range now {
		if !used[i] {
			c.differences = append(c.differences, fmt.Sprintf("activityparty %s of %s (%s) present, want absent", nowIDs[partyKey(g)], act, partyKey(g)))
		}
	}
}

// partyKey is what a party is within its activity: role, party, address.
func partyKey(p map[string]any) string {
	return fmt.Sprintf("mask %v party %v address %v", p["participationtypemask"], show(p["partyid"]), show(p["addressused"]))
}

func withID(p map[string]any, id any) map[string]any {
	out := map[string]any{}
	for k, v := range p {
		out[k] = v
	}
	out["activitypartyid"] = id
	return out
}

func show(v any) any {
	switch x := v.(type) {
	case nil:
		return "<absent>"
	case dataversesim.Ref:
		return x.Table + "/" + x.ID
	case time.Time:
		return x.Format(time.RFC3339)
	}
	return v
}

// notWritable says why Dataverse does not let a client set column of table
// in a row the restore created (created) or updated, "" when it does: the
// table's metadata marks it not valid for create or update
// (IsValidForCreate/IsValidForUpdate, the simulator's AttrDef.ReadOnly and
// CreateOnly), or calculated or rollup. createdon is settable on create
// through overriddencreatedon, so it counts as writable there.
func notWritable(e *dataversesim.Env, table, column string, created bool) string {
	def := e.Table(table)
	a := def.Attr(column)
	switch {
	case a == nil:
		return ""
	case created && column == "createdon" && def.Attr("overriddencreatedon") != nil:
		return ""
	case a.SourceType == 1:
		return "calculated"
	case a.SourceType == 2:
		return "rollup"
	case a.ReadOnly:
		return "not valid for create or update"
	case a.CreateOnly && !created:
		return "valid for create only"
	}
	return ""
}
