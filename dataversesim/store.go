package dataversesim

import (
	"sort"
	"strconv"
	"time"
)

// Ref is the stored value of a lookup column: the target table and row id.
type Ref struct {
	Table string
	ID    string
}

// Record is one row. Vals is indexed like TableDef.Attrs; the primary key
// lives in ID. Version is the row version: the etag and the change-tracking
// order both come from it.
type Record struct {
	ID      string
	Version int64
	Vals    []any
}

// ETag returns the weak etag Dataverse puts in @odata.etag.
func (r *Record) ETag() string { return `W/"` + strconv.FormatInt(r.Version, 10) + `"` }

type tomb struct {
	ID      string
	Version int64
}

// tableData is the rows of one table in one environment. ids is kept sorted
// so paging by primary key (the default order, reference 1) is a binary search.
type tableData struct {
	def   *TableDef
	recs  map[string]*Record
	ids   []string
	tombs []tomb
}

func newTableData(def *TableDef) *tableData {
	return &tableData{def: def, recs: map[string]*Record{}}
}

// seek returns the index of the first id > after (or 0 for "").
func (td *tableData) seek(after string) int {
	if after == "" {
		return 0
	}
	return sort.Search(len(td.ids), func(i int) bool { return td.ids[i] > after })
}

// put stores rec (insert or replace), logging an undo step when a change set is open.
func (e *Env) put(td *tableData, rec *Record) {
	old := td.recs[rec.ID]
	if old == nil {
		i := sort.SearchStrings(td.ids, rec.ID)
		td.ids = append(td.ids, "")
		copy(td.ids[i+1:], td.ids[i:])
		td.ids[i] = rec.ID
	}
	td.recs[rec.ID] = rec
	e.dirty = true
	if e.undo != nil {
		id := rec.ID
		*e.undo = append(*e.undo, func() {
			if old != nil {
				td.recs[id] = old
			} else {
				e.remove(td, id, false)
			}
		})
	}
}

// remove deletes a row; tomb records a $deletedEntity for change tracking.
func (e *Env) remove(td *tableData, id string, tombstone bool) {
	old := td.recs[id]
	if old == nil {
		return
	}
	delete(td.recs, id)
	i := sort.SearchStrings(td.ids, id)
	if i < len(td.ids) && td.ids[i] == id {
		td.ids = append(td.ids[:i], td.ids[i+1:]...)
	}
	e.dirty = true
	ntombs := len(td.tombs)
	if tombstone {
		td.tombs = append(td.tombs, tomb{ID: id, Version: e.nextVersion()})
	}
	if e.undo != nil {
		*e.undo = append(*e.undo, func() {
			td.tombs = td.tombs[:ntombs]
			e.put(td, old)
		})
	}
}

func (e *Env) nextVersion() int64 {
	e.version++
	return e.version
}

// newRecord makes an empty row of td's table with a fresh version.
func newRecord(def *TableDef, id string) *Record {
	return &Record{ID: id, Vals: make([]any, len(def.Attrs))}
}

func (r *Record) clone() *Record {
	c := *r
	c.Vals = append([]any(nil), r.Vals...)
	return &c
}

// get returns the value of column name, or nil.
func (r *Record) get(def *TableDef, name string) any {
	if name == def.PrimaryID {
		return r.ID
	}
	if a := def.attrIdx[name]; a != nil {
		return r.Vals[a.idx]
	}
	return nil
}

func (r *Record) set(def *TableDef, name string, v any) {
	if a := def.attrIdx[name]; a != nil {
		r.Vals[a.idx] = v
	}
}

// stamp sets versionnumber/modifiedon the way the platform does on every write.
func (e *Env) stamp(def *TableDef, r *Record, now time.Time, by string) {
	e.deriveColumns(def, r)
	r.Version = e.nextVersion()
	r.set(def, "versionnumber", r.Version)
	r.set(def, "modifiedon", now)
	if by != "" {
		if def.Attr("modifiedby") != nil {
			r.set(def, "modifiedby", Ref{"systemuser", by})
		}
	}
}
