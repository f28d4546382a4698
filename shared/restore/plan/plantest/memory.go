package plantest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strings"
	"sync"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// Source is an in-memory backup: records by table, file references, and
// file contents by sha256.
type Source struct {
	// Records by table, in the order they are streamed.
	Data     map[string][]backupformat.Record
	FileRefs map[string][]backupformat.FileRef
	Contents map[string][]byte
}

var _ plan.Source = (*Source)(nil)

// NewSource returns an empty source.
func NewSource() *Source {
	return &Source{Data: map[string][]backupformat.Record{}, FileRefs: map[string][]backupformat.FileRef{}, Contents: map[string][]byte{}}
}

// Add adds records of table given as JSON objects; the id is read from
// column idColumn and the version from "versionnumber" when present.
func (s *Source) Add(table, idColumn string, records ...map[string]any) error {
	for _, r := range records {
		data, err := json.Marshal(r)
		if err != nil {
			return err
		}
		id, _ := r[idColumn].(string)
		if id == "" {
			return fmt.Errorf("plantest: a %s record without %s", table, idColumn)
		}
		var v int64
		if n, ok := r["versionnumber"].(int); ok {
			v = int64(n)
		}
		s.Data[table] = append(s.Data[table], backupformat.Record{ID: id, Op: backupformat.OpUpsert, Version: v, Data: data})
	}
	return nil
}

// Tables lists the tables with records, sorted.
func (s *Source) Tables(context.Context) ([]string, error) {
	var out []string
	for t := range s.Data {
		out = append(out, t)
	}
	sort.Strings(out)
	return out, nil
}

// Records streams the records of table.
func (s *Source) Records(ctx context.Context, table string, fn func(backupformat.Record) error) error {
	recs, ok := s.Data[table]
	if !ok {
		return fmt.Errorf("%w: %s", backupformat.ErrTableNotInRun, table)
	}
	for _, r := range recs {
		if err := fn(r); err != nil {
			return err
		}
	}
	return nil
}

// Files streams the file references of table.
func (s *Source) Files(ctx context.Context, table string, fn func(backupformat.FileRef) error) error {
	for _, fr := range s.FileRefs[table] {
		if err := fn(fr); err != nil {
			return err
		}
	}
	return nil
}

// OpenFile opens a content by hash.
func (s *Source) OpenFile(ctx context.Context, sum string) (io.ReadCloser, error) {
	b, ok := s.Contents[sum]
	if !ok {
		return nil, fmt.Errorf("file %s: %w", sum, blobstore.ErrNotFound)
	}
	return io.NopCloser(bytes.NewReader(b)), nil
}

// Target is an in-memory environment: table schemas, records (as JSON
// objects keyed by column, annotations included) and N:N relationships
// whose links are rows of the intersect table. Calls records each Rows
// call, for tests that check what the planner asks for.
type Target struct {
	Schemas       map[string]*plan.TableSchema
	Rows          map[string]plan.LiveRecords
	Relationships []plan.ManyToMany

	mu    sync.Mutex
	calls []Call
}

// Call is one Rows call the target answered.
type Call struct {
	Method string // Records, Existing, FindByKey, Linked
	Table  string
	N      int // ids or pairs asked for
}

var _ plan.Target = (*Target)(nil)

// NewTarget returns an empty target.
func NewTarget() *Target {
	return &Target{Schemas: map[string]*plan.TableSchema{}, Rows: map[string]plan.LiveRecords{}}
}

// AddTable adds a table whose columns are all writable (name -> column;
// the primary id is added).
func (t *Target) AddTable(info plan.TableInfo, cols ...plan.Column) *plan.TableSchema {
	ts := &plan.TableSchema{TableInfo: info, Columns: map[string]plan.Column{info.PrimaryID: {Name: info.PrimaryID, Create: true}},
		Navigations: map[string]map[string]string{}}
	for _, c := range cols {
		ts.Columns[c.Name] = c
	}
	t.Schemas[info.Name] = ts
	if t.Rows[info.Name] == nil {
		t.Rows[info.Name] = plan.LiveRecords{}
	}
	return ts
}

// Relate adds a one-to-many relationship to both tables' schemas (and
// the lookup's navigation property); the tables must exist.
func (t *Target) Relate(r plan.Relationship) {
	child, parent := t.Schemas[r.Referencing], t.Schemas[r.Referenced]
	child.ManyToOne = append(child.ManyToOne, r)
	parent.OneToMany = append(parent.OneToMany, r)
	if child.Navigations[r.Attribute] == nil {
		child.Navigations[r.Attribute] = map[string]string{}
	}
	child.Navigations[r.Attribute][r.Referenced] = r.Navigation
}

// Put stores a live record (its id taken from the table's primary id).
func (t *Target) Put(table string, rec map[string]any) error {
	ts := t.Schemas[table]
	if ts == nil {
		return fmt.Errorf("plantest: no table %s", table)
	}
	lr := plan.LiveRecord{}
	for k, v := range rec {
		b, err := json.Marshal(v)
		if err != nil {
			return err
		}
		lr[k] = b
	}
	id, _ := rec[ts.PrimaryID].(string)
	if id == "" {
		return fmt.Errorf("plantest: a %s record without %s", table, ts.PrimaryID)
	}
	t.Rows[table][strings.ToLower(id)] = lr
	return nil
}

// Calls returns the Rows calls answered so far.
func (t *Target) Calls() []Call {
	t.mu.Lock()
	defer t.mu.Unlock()
	return append([]Call(nil), t.calls...)
}

func (t *Target) called(method, table string, n int) {
	t.mu.Lock()
	t.calls = append(t.calls, Call{method, table, n})
	t.mu.Unlock()
}

// Tables lists the tables.
func (t *Target) Tables(context.Context) (map[string]plan.TableInfo, error) {
	out := map[string]plan.TableInfo{}
	for name, ts := range t.Schemas {
		out[name] = ts.TableInfo
	}
	return out, nil
}

// Table returns a table's schema.
func (t *Target) Table(_ context.Context, name string) (*plan.TableSchema, error) {
	ts := t.Schemas[name]
	if ts == nil {
		return nil, fmt.Errorf("the target environment has no table %s", name)
	}
	return ts, nil
}

// ManyToMany returns the relationships of the given tables.
func (t *Target) ManyToMany(_ context.Context, tables []string) (map[string]plan.ManyToMany, error) {
	want := map[string]bool{}
	for _, x := range tables {
		want[x] = true
	}
	out := map[string]plan.ManyToMany{}
	for _, r := range t.Relationships {
		if want[r.Entity1] || want[r.Entity2] {
			out[r.Intersect] = r
		}
	}
	return out, nil
}

// Records returns the records with the given ids.
func (t *Target) Records(_ context.Context, table string, ids []string) (plan.LiveRecords, error) {
	t.called("Records", table, len(ids))
	if t.Schemas[table] == nil {
		return nil, fmt.Errorf("the target environment has no table %s", table)
	}
	out := plan.LiveRecords{}
	for _, id := range ids {
		if r := t.Rows[table][strings.ToLower(id)]; r != nil {
			out[strings.ToLower(id)] = r
		}
	}
	return out, nil
}

// Existing reports which ids exist.
func (t *Target) Existing(_ context.Context, table string, ids []string) (map[string]bool, error) {
	t.called("Existing", table, len(ids))
	if t.Schemas[table] == nil {
		return nil, fmt.Errorf("the target environment has no table %s", table)
	}
	out := map[string]bool{}
	for _, id := range ids {
		if t.Rows[table][strings.ToLower(id)] != nil {
			out[strings.ToLower(id)] = true
		}
	}
	return out, nil
}

// FindByKey returns the smallest id whose column equals value, ignoring case.
func (t *Target) FindByKey(_ context.Context, table, column, value string) (string, error) {
	t.called("FindByKey", table, 1)
	ts := t.Schemas[table]
	if ts == nil {
		return "", fmt.Errorf("the target environment has no table %s", table)
	}
	if !ts.HasColumn(column) {
		return "", fmt.Errorf("table %s has no column %s", table, column)
	}
	found := ""
	for id, r := range t.Rows[table] {
		var s string
		if json.Unmarshal(r[column], &s) == nil && strings.EqualFold(s, value) && (found == "" || id < found) {
			found = id
		}
	}
	return found, nil
}

// Linked reports which pairs have a row in the relationship's intersect table.
func (t *Target) Linked(_ context.Context, rel plan.ManyToMany, pairs []plan.Link) (map[plan.Link]bool, error) {
	t.called("Linked", rel.Intersect, len(pairs))
	have := map[plan.Link]bool{}
	for _, r := range t.Rows[rel.Intersect] {
		var a, b string
		if err := json.Unmarshal(r[rel.Entity1Column], &a); err != nil {
			return nil, fmt.Errorf("%s row: %s: %w", rel.Intersect, rel.Entity1Column, err)
		}
		if err := json.Unmarshal(r[rel.Entity2Column], &b); err != nil {
			return nil, fmt.Errorf("%s row: %s: %w", rel.Intersect, rel.Entity2Column, err)
		}
		have[plan.Link{ID1: strings.ToLower(a), ID2: strings.ToLower(b)}] = true
	}
	out := map[plan.Link]bool{}
	for _, p := range pairs {
		l := plan.Link{ID1: strings.ToLower(p.ID1), ID2: strings.ToLower(p.ID2)}
		if have[l] {
			out[l] = true
		}
	}
	return out, nil
}
