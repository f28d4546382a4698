package dataversesim

import "fmt"

// Metadata changes of one organization (a maker adding or deleting columns
// and tables): the organization gets a private copy of the schema on its
// first change, and each change is journaled with a version for
// RetrieveMetadataChanges (metadatachanges.go).

// sch is the organization's schema: the server's until its metadata changes.
func (e *Env) sch() *schema {
	if e.meta != nil && e.meta.schema != nil {
		return e.meta.schema
	}
	return e.s.schema
}

// ownSchema gives the organization a private copy of the schema before its
// first metadata change, so other organizations and servers keep theirs.
func (e *Env) ownSchema() *schema {
	if e.meta == nil {
		e.meta = &metaState{changed: map[string]int64{}}
	}
	if e.meta.schema == nil {
		c := &schema{byName: map[string]*TableDef{}, bySet: map[string]*TableDef{}, n2n: e.s.schema.n2n, rels: e.s.schema.rels}
		for _, t := range e.s.schema.tables {
			nt := *t
			nt.Attrs = make([]*AttrDef, len(t.Attrs))
			for i, a := range t.Attrs {
				na := *a
				nt.Attrs[i] = &na
			}
			c.add(&nt)
		}
		c.finish()
		for name, td := range e.tables {
			td.def = c.byName[name]
		}
		e.meta.schema = c
	}
	return e.meta.schema
}

// AddColumn adds a column to a table of this organization, as a maker does
// in the table designer: existing rows read it as null, metadata lists it,
// and RetrieveMetadataChanges reports it as changed.
func (e *Env) AddColumn(table string, col AttrDef) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.ownSchema()
	t := s.byName[table]
	if t == nil {
		return fmt.Errorf("dataversesim: no table %q", table)
	}
	if col.Name == "" || t.Attr(col.Name) != nil || castByType[col.Type] == "" {
		return fmt.Errorf("dataversesim: column %q cannot be added to %s (empty, taken, or unknown type %q)", col.Name, table, col.Type)
	}
	a := col
	a.idx = len(t.Attrs)
	t.Attrs = append(t.Attrs, &a)
	t.attrIdx[a.Name] = &a
	s.finish()
	for _, rec := range e.tables[table].recs {
		rec.Vals = append(rec.Vals, nil)
	}
	v := e.nextVersion()
	e.meta.changed[metadataID("attr", table, a.Name)] = v
	for _, tg := range a.Targets {
		e.meta.changed[metadataID("rel", tg+"_"+table+"_"+a.Name)] = v
	}
	e.dirty = true
	return nil
}

// DeleteColumn removes a column from a table of this organization; its
// values go with it and RetrieveMetadataChanges reports it deleted.
func (e *Env) DeleteColumn(table, column string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.ownSchema()
	t := s.byName[table]
	if t == nil || t.Attr(column) == nil {
		return fmt.Errorf("dataversesim: no column %s.%s", table, column)
	}
	a := t.Attr(column)
	if a.IsPrimaryID || a.IsPrimary {
		return fmt.Errorf("dataversesim: %s.%s is the table's primary column and cannot be deleted", table, column)
	}
	i := a.idx
	t.Attrs = append(t.Attrs[:i:i], t.Attrs[i+1:]...)
	t.attrIdx, t.navIdx = map[string]*AttrDef{}, map[string]navTarget{}
	for j, x := range t.Attrs {
		x.idx = j
		t.attrIdx[x.Name] = x
	}
	s.finish()
	for _, rec := range e.tables[table].recs {
		rec.Vals = append(rec.Vals[:i:i], rec.Vals[i+1:]...)
	}
	v := e.nextVersion()
	e.meta.deleted = append(e.meta.deleted, deletedMeta{"Attribute", metadataID("attr", table, column), v})
	for _, tg := range a.Targets {
		e.meta.deleted = append(e.meta.deleted, deletedMeta{"Relationship", metadataID("rel", tg+"_"+table+"_"+column), v})
	}
	if len(a.Options) > 0 && a.GlobalOptionSet == "" {
		e.meta.deleted = append(e.meta.deleted, deletedMeta{"OptionSet", metadataID("optionset", table, column), v})
	}
	e.dirty = true
	return nil
}

// DeleteTable removes a custom table nothing else refers to, with its rows.
func (e *Env) DeleteTable(table string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	s := e.ownSchema()
	t := s.byName[table]
	if t == nil || !t.IsCustom || t.IsIntersect {
		return fmt.Errorf("dataversesim: %q is not a custom table", table)
	}
	for _, other := range s.tables {
		for _, a := range other.Attrs {
			if other != t && contains(a.Targets, table) {
				return fmt.Errorf("dataversesim: %s is referenced by %s.%s", table, other.LogicalName, a.Name)
			}
		}
	}
	for _, r := range s.n2n {
		if r.Entity1 == table || r.Entity2 == table {
			return fmt.Errorf("dataversesim: %s takes part in the relationship %s", table, r.SchemaName)
		}
	}
	rebuilt := &schema{byName: map[string]*TableDef{}, bySet: map[string]*TableDef{}, n2n: s.n2n, rels: s.rels}
	for _, x := range s.tables {
		if x != t {
			rebuilt.add(x)
		}
	}
	rebuilt.finish()
	e.meta.schema = rebuilt
	delete(e.tables, table)
	v := e.nextVersion()
	e.meta.deleted = append(e.meta.deleted, deletedMeta{"Default", metadataID("entity", table), v})
	for _, a := range t.Attrs {
		e.meta.deleted = append(e.meta.deleted, deletedMeta{"Attribute", metadataID("attr", table, a.Name), v})
	}
	e.dirty = true
	return nil
}
