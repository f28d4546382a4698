package plan

import (
	"context"
	"fmt"
	"sort"
)

// liveView remembers what the planner learnt of the target's records. Each
// step asks for the ids it needs in one call per table (fetch, check);
// record and present then answer from memory, asking for a single id only
// when a step did not announce it.
type liveView struct {
	rows    Rows
	records map[string]LiveRecords       // table -> id -> record read
	exists  map[string]map[string]bool   // table -> id -> exists (known)
	keys    map[string]map[string]string // table -> "column=value" -> id
}

func newLiveView(rows Rows) *liveView {
	return &liveView{rows: rows, records: map[string]LiveRecords{}, exists: map[string]map[string]bool{}, keys: map[string]map[string]string{}}
}

// fetch reads the records of ids not read yet (ids known to be absent are
// not asked again).
func (v *liveView) fetch(ctx context.Context, table string, ids []string) error {
	need := distinct(ids, func(id string) bool {
		_, read := v.records[table][id]
		return read || v.known(table, id) && !v.exists[table][id]
	})
	if len(need) == 0 {
		return nil
	}
	got, err := v.rows.Records(ctx, table, need)
	if err != nil {
		return fmt.Errorf("read %d live records of %s: %w", len(need), table, err)
	}
	if v.records[table] == nil {
		v.records[table] = LiveRecords{}
	}
	for _, id := range need {
		r := got[id]
		v.learn(table, id, r != nil)
		if r != nil {
			v.records[table][id] = r
		}
	}
	return nil
}

// check learns which of ids exist.
func (v *liveView) check(ctx context.Context, table string, ids []string) error {
	need := distinct(ids, func(id string) bool { return v.known(table, id) })
	if len(need) == 0 {
		return nil
	}
	got, err := v.rows.Existing(ctx, table, need)
	if err != nil {
		return fmt.Errorf("check %d live records of %s: %w", len(need), table, err)
	}
	for _, id := range need {
		v.learn(table, id, got[id])
	}
	return nil
}

func (v *liveView) known(table, id string) bool {
	_, ok := v.exists[table][id]
	return ok
}

func (v *liveView) learn(table, id string, exists bool) {
	if v.exists[table] == nil {
		v.exists[table] = map[string]bool{}
	}
	v.exists[table][id] = exists
}

// record returns the live record (nil when absent), reading it if no step
// asked for it.
func (v *liveView) record(ctx context.Context, table, id string) (LiveRecord, error) {
	if err := v.fetch(ctx, table, []string{id}); err != nil {
		return nil, err
	}
	return v.records[table][id], nil
}

// present reports whether the record exists, asking if no step did.
func (v *liveView) present(ctx context.Context, table, id string) (bool, error) {
	if err := v.check(ctx, table, []string{id}); err != nil {
		return false, err
	}
	return v.exists[table][id], nil
}

// byKey returns the id of the record of table whose column equals value.
func (v *liveView) byKey(ctx context.Context, table, column, value string) (string, error) {
	k := column + "=" + value
	if id, ok := v.keys[table][k]; ok {
		return id, nil
	}
	id, err := v.rows.FindByKey(ctx, table, column, value)
	if err != nil {
		return "", fmt.Errorf("find %s of %s: %w", k, table, err)
	}
	if v.keys[table] == nil {
		v.keys[table] = map[string]string{}
	}
	v.keys[table][k] = id
	return id, nil
}

// distinct returns the non-empty ids for which skip is false, once each,
// sorted.
func distinct(ids []string, skip func(id string) bool) []string {
	var out []string
	seen := map[string]bool{}
	for _, id := range ids {
		if id == "" || seen[id] || skip(id) {
			continue
		}
		seen[id] = true
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
