package dataversesim

import (
	"fmt"
	"strings"
	"time"
)

// Direct access to an environment's rows for tests: read, create, update
// and delete bypassing the Web API (no auth, limits or faults), with the
// same versioning and tombstones, so a test can make changes and then see
// them in a delta, or compare state after a restore.
//
// Values use Go types: string, int64 (also for choices, state and status),
// float64 (decimal, money), bool, time.Time, Ref (lookups) and, for
// multi-choice columns, a string such as "1,3".

// Tables lists the logical names of every table.
func (e *Env) Tables() []string {
	out := make([]string, len(e.s.schema.tables))
	for i, t := range e.s.schema.tables {
		out[i] = t.LogicalName
	}
	return out
}

// Table returns a table's definition.
func (e *Env) Table(name string) *TableDef { return e.s.schema.byName[name] }

// Count returns the number of rows of a table.
func (e *Env) Count(table string) int {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if td := e.tables[table]; td != nil {
		return len(td.ids)
	}
	return 0
}

// IDs returns the row ids of a table in primary key order.
func (e *Env) IDs(table string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	if td := e.tables[table]; td != nil {
		return append([]string(nil), td.ids...)
	}
	return nil
}

// Get returns a row as column -> value (nil columns omitted) plus
// "@version", or false when absent.
func (e *Env) Get(table, id string) (map[string]any, bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	td := e.tables[table]
	if td == nil {
		return nil, false
	}
	rec := td.recs[strings.ToLower(id)]
	if rec == nil {
		return nil, false
	}
	m := map[string]any{"@version": rec.Version}
	for i, a := range td.def.Attrs {
		if a.IsPrimaryID {
			m[a.Name] = rec.ID
		} else if v := rec.Vals[i]; v != nil {
			m[a.Name] = v
		}
	}
	return m, true
}

func goValue(a *AttrDef, v any) (any, error) {
	switch x := v.(type) {
	case nil, string, int64, float64, bool, time.Time, Ref:
		return v, nil
	case int:
		if a.Type == TMoney || a.Type == TDecimal || a.Type == TDouble {
			return float64(x), nil
		}
		return int64(x), nil
	case int32:
		return int64(x), nil
	case float32:
		return float64(x), nil
	}
	return nil, fmt.Errorf("dataversesim: unsupported value %T for %s", v, a.Name)
}

func (e *Env) setFields(def *TableDef, rec *Record, fields map[string]any) error {
	for k, v := range fields {
		a := def.Attr(k)
		if a == nil {
			return fmt.Errorf("dataversesim: %s has no column %s", def.LogicalName, k)
		}
		if a.IsPrimaryID {
			continue
		}
		gv, err := goValue(a, v)
		if err != nil {
			return err
		}
		rec.Vals[a.idx] = gv
	}
	return nil
}

// Create inserts a row (id from fields[primary key] or generated) and returns its id.
func (e *Env) Create(table string, fields map[string]any) (string, error) {
	e.mu.Lock()
	defer e.mu.Unlock()
	td := e.tables[table]
	if td == nil {
		return "", fmt.Errorf("dataversesim: no table %s", table)
	}
	id, _ := fields[td.def.PrimaryID].(string)
	if id == "" {
		id = newGUID(e.rng)
	}
	id = strings.ToLower(id)
	if td.recs[id] != nil {
		return "", fmt.Errorf("dataversesim: %s %s exists", table, id)
	}
	rec := newRecord(td.def, id)
	now := e.now().Truncate(time.Second)
	rec.set(td.def, "createdon", now)
	if td.def.Attr("statecode") != nil {
		rec.set(td.def, "statecode", int64(0))
		rec.set(td.def, "statuscode", td.def.Attr("statuscode").Options[0].Value)
	}
	if err := e.setFields(td.def, rec, fields); err != nil {
		return "", err
	}
	e.autoNumber(td.def, rec, now)
	e.stamp(td.def, rec, now, "")
	e.put(td, rec)
	return id, nil
}

// Update changes columns of a row (nil clears a column).
func (e *Env) Update(table, id string, fields map[string]any) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	td := e.tables[table]
	if td == nil || td.recs[strings.ToLower(id)] == nil {
		return fmt.Errorf("dataversesim: %s %s: %w", table, id, errNotFound)
	}
	rec := td.recs[strings.ToLower(id)].clone()
	if err := e.setFields(td.def, rec, fields); err != nil {
		return err
	}
	e.stamp(td.def, rec, e.now().Truncate(time.Second), "")
	e.put(td, rec)
	return nil
}

// Delete removes a row as a user's delete in Dataverse does: with its N:N
// associations and the cascade configuration of its relationships
// (cascade.go: children deleted, lookups on survivors cleared, a Restrict
// refused); deltas report every change.
func (e *Env) Delete(table, id string) error {
	e.mu.Lock()
	defer e.mu.Unlock()
	td := e.tables[table]
	if td == nil || td.recs[strings.ToLower(id)] == nil {
		return fmt.Errorf("dataversesim: %s %s: %w", table, id, errNotFound)
	}
	if _, derr := e.deleteCascading("", td, strings.ToLower(id)); derr != nil {
		return fmt.Errorf("dataversesim: delete %s %s: %s (%s)", table, id, derr.message, derr.code)
	}
	return nil
}

// Version is the environment's current change-tracking version.
func (e *Env) Version() int64 {
	e.mu.RLock()
	defer e.mu.RUnlock()
	return e.version
}

// File returns a stored file or image by file id.
func (e *Env) File(fileID string) (name, mime string, data []byte, ok bool) {
	e.mu.RLock()
	defer e.mu.RUnlock()
	f := e.files[fileID]
	if f == nil {
		return "", "", nil, false
	}
	return f.Name, f.Mime, append([]byte(nil), f.Data...), true
}

// Associated returns the ids related to id through an N:N relationship.
func (e *Env) Associated(relationship, id string) []string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	var out []string
	for _, rel := range e.s.schema.n2n {
		if rel.SchemaName != relationship {
			continue
		}
		it := e.tables[rel.IntersectEntity]
		for _, iid := range it.ids {
			rec := it.recs[iid]
			if rec.get(it.def, rel.Entity1Attr) == id {
				out = append(out, rec.get(it.def, rel.Entity2Attr).(string))
			} else if rec.get(it.def, rel.Entity2Attr) == id {
				out = append(out, rec.get(it.def, rel.Entity1Attr).(string))
			}
		}
	}
	return out
}

// SystemUserFor returns the systemuserid of an app (by client id) or a
// service account (by username) in this environment.
func (e *Env) SystemUserFor(clientIDOrUsername string) string {
	e.mu.RLock()
	defer e.mu.RUnlock()
	su := e.tables["systemuser"]
	for _, id := range su.ids {
		rec := su.recs[id]
		if rec.get(su.def, "applicationid") == clientIDOrUsername || strings.EqualFold(fmt.Sprint(rec.get(su.def, "domainname")), clientIDOrUsername) {
			return id
		}
	}
	return ""
}
