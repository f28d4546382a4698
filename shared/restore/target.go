package restore

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/guid"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// TargetOptions tune how the Dataverse target reads live records. Zero
// values take the documented defaults.
type TargetOptions struct {
	// IDsPerRequest is the number of ids one read asks for (default 100):
	// a $filter of "<primary key> eq <id>" clauses joined by "or", about
	// 60 bytes each, well under the 32 KB URL limit of a GET.
	IDsPerRequest int
	// ScanAbove: when more ids of one table are asked for at once, the
	// table is read page by page (5000 records a request; only the primary
	// key when existence is all that is asked) and filtered here, which
	// takes fewer requests than asking by id (default 20,000).
	ScanAbove int
}

// DataverseTarget is the plan.Target of a Dataverse environment: metadata
// read once per table, live records read by id in batches.
//
// Batches use "or" of "eq" clauses: Dataverse's $filter has and, or, not
// and eq on primary keys and lookups (powerapps-docs
// developer/data-platform/webapi/query/filter-rows.md, "Logical
// operators"). Its Microsoft.Dynamics.CRM.In function would be shorter but
// the simulator does not offer it yet.
type DataverseTarget struct {
	*metadata
	c *dataverse.Client
	o TargetOptions
}

var _ plan.Target = (*DataverseTarget)(nil)

// NewTarget reads the table list of the environment c is a client of and
// returns its target.
func NewTarget(ctx context.Context, c *dataverse.Client, o *TargetOptions) (*DataverseTarget, error) {
	m, err := newMetadata(ctx, c, &planReads{})
	if err != nil {
		return nil, err
	}
	t := &DataverseTarget{metadata: m, c: c}
	if o != nil {
		t.o = *o
	}
	if t.o.IDsPerRequest <= 0 {
		t.o.IDsPerRequest = 100
	}
	if t.o.ScanAbove <= 0 {
		t.o.ScanAbove = 20_000
	}
	return t, nil
}

// Records reads the records of table with the given ids, every column with
// its annotations.
func (t *DataverseTarget) Records(ctx context.Context, table string, ids []string) (plan.LiveRecords, error) {
	out := plan.LiveRecords{}
	err := t.read(ctx, table, ids, false, func(id string, rec map[string]json.RawMessage) {
		out[id] = rec
	})
	return out, err
}

// Existing reports which of ids exist in table, reading only primary keys.
func (t *DataverseTarget) Existing(ctx context.Context, table string, ids []string) (map[string]bool, error) {
	out := map[string]bool{}
	err := t.read(ctx, table, ids, true, func(id string, _ map[string]json.RawMessage) {
		out[id] = true
	})
	return out, err
}

// read calls fn with each record of table among ids (all columns, or the
// primary key only), by id or, above ScanAbove ids, by reading the table.
func (t *DataverseTarget) read(ctx context.Context, table string, ids []string, keyOnly bool, fn func(id string, rec map[string]json.RawMessage)) error {
	if len(ids) == 0 {
		return nil
	}
	ts, err := t.Table(ctx, table)
	if err != nil {
		return err
	}
	want := make(map[string]bool, len(ids))
	for _, id := range ids {
		if !guid.Valid(id) {
			return fmt.Errorf("read %s: %q is not a record id", table, id)
		}
		want[strings.ToLower(id)] = true
	}
	var cols []string
	if keyOnly {
		cols = []string{ts.PrimaryID}
	}
	keep := func(rec map[string]json.RawMessage) error {
		id, err := idOf(rec, ts.PrimaryID)
		if err != nil {
			return fmt.Errorf("read %s: %w", table, err)
		}
		if want[id] {
			fn(id, rec)
		}
		return nil
	}
	if len(want) > t.o.ScanAbove {
		return readPages(ctx, t.reads, t.c, dataverse.CollectionQuery(ts.EntitySet, cols, ""), keep)
	}
	sorted := make([]string, 0, len(want))
	for id := range want {
		sorted = append(sorted, id)
	}
	sort.Strings(sorted)
	for start := 0; start < len(sorted); start += t.o.IDsPerRequest {
		chunk := sorted[start:min(start+t.o.IDsPerRequest, len(sorted))]
		clauses := make([]string, len(chunk))
		for i, id := range chunk {
			clauses[i] = ts.PrimaryID + " eq " + id
		}
		if err := readPages(ctx, t.reads, t.c, dataverse.CollectionQuery(ts.EntitySet, cols, strings.Join(clauses, " or ")), keep); err != nil {
			return fmt.Errorf("read %d records of %s by id: %w", len(chunk), table, err)
		}
	}
	return nil
}

// FindByKey returns the smallest id of the records of table whose column
// equals value (Dataverse compares text ignoring case).
func (t *DataverseTarget) FindByKey(ctx context.Context, table, column, value string) (string, error) {
	ts, err := t.Table(ctx, table)
	if err != nil {
		return "", err
	}
	if !ts.HasColumn(column) {
		return "", fmt.Errorf("table %s has no column %s", table, column)
	}
	filter := column + " eq '" + strings.ReplaceAll(value, "'", "''") + "'"
	found := ""
	err = readPages(ctx, t.reads, t.c, dataverse.CollectionQuery(ts.EntitySet, []string{ts.PrimaryID}, filter), func(rec map[string]json.RawMessage) error {
		id, err := idOf(rec, ts.PrimaryID)
		if err != nil {
			return fmt.Errorf("find %s of %s: %w", column, table, err)
		}
		if found == "" || id < found {
			found = id
		}
		return nil
	})
	return found, err
}

// Linked reports which of pairs rel links, reading the intersect table's
// rows of those pairs (or, above ScanAbove pairs, the whole table's two id
// columns).
func (t *DataverseTarget) Linked(ctx context.Context, rel plan.ManyToMany, pairs []plan.Link) (map[plan.Link]bool, error) {
	out := map[plan.Link]bool{}
	if len(pairs) == 0 {
		return out, nil
	}
	ts, err := t.Table(ctx, rel.Intersect)
	if err != nil {
		return nil, err
	}
	want := map[plan.Link]bool{}
	for _, p := range pairs {
		if !guid.Valid(p.ID1) || !guid.Valid(p.ID2) {
			return nil, fmt.Errorf("links of %s: %q|%q is not a pair of record ids", rel.Intersect, p.ID1, p.ID2)
		}
		want[plan.Link{ID1: strings.ToLower(p.ID1), ID2: strings.ToLower(p.ID2)}] = true
	}
	cols := []string{rel.Entity1Column, rel.Entity2Column}
	keep := func(rec map[string]json.RawMessage) error {
		a, err := idOf(rec, rel.Entity1Column)
		if err != nil {
			return fmt.Errorf("links of %s: %w", rel.Intersect, err)
		}
		b, err := idOf(rec, rel.Entity2Column)
		if err != nil {
			return fmt.Errorf("links of %s: %w", rel.Intersect, err)
		}
		if l := (plan.Link{ID1: a, ID2: b}); want[l] {
			out[l] = true
		}
		return nil
	}
	if len(want) > t.o.ScanAbove {
		return out, readPages(ctx, t.reads, t.c, dataverse.CollectionQuery(ts.EntitySet, cols, ""), keep)
	}
	sorted := make([]plan.Link, 0, len(want))
	for l := range want {
		sorted = append(sorted, l)
	}
	sort.Slice(sorted, func(i, j int) bool {
		return sorted[i].ID1 < sorted[j].ID1 || sorted[i].ID1 == sorted[j].ID1 && sorted[i].ID2 < sorted[j].ID2
	})
	per := max(1, t.o.IDsPerRequest/2) // two ids a clause
	for start := 0; start < len(sorted); start += per {
		chunk := sorted[start:min(start+per, len(sorted))]
		clauses := make([]string, len(chunk))
		for i, l := range chunk {
			clauses[i] = "(" + rel.Entity1Column + " eq " + l.ID1 + " and " + rel.Entity2Column + " eq " + l.ID2 + ")"
		}
		if err := readPages(ctx, t.reads, t.c, dataverse.CollectionQuery(ts.EntitySet, cols, strings.Join(clauses, " or ")), keep); err != nil {
			return nil, fmt.Errorf("read %d links of %s: %w", len(chunk), rel.Intersect, err)
		}
	}
	return out, nil
}

// idOf returns the id in column col of a record, lower case.
func idOf(rec map[string]json.RawMessage, col string) (string, error) {
	var id string
	if err := json.Unmarshal(rec[col], &id); err != nil || id == "" {
		return "", fmt.Errorf("a record has no id in %s (%.60s)", col, rec[col])
	}
	return strings.ToLower(strings.Trim(id, "{}")), nil
}

// Throttled reports the 429s the target's reads waited out so far.
func (t *DataverseTarget) Throttled() int64 { return t.reads.throttled.Load() }
