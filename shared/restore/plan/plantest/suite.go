package plantest

import (
	"context"
	"encoding/json"
	"sort"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// Facts are what VerifyTarget knows of the target's contents.
type Facts struct {
	// Table has records; IDs are ids of some of them (at least 3; more
	// than the implementation asks for in one request exercises batching).
	Table string
	IDs   []string
	// KeyTable has a record KeyID whose text column KeyColumn is KeyValue.
	KeyTable, KeyColumn, KeyValue, KeyID string
	// Intersect is the intersect table of an N:N relationship of
	// RelationshipOf, which links Linked and does not link Unlinked.
	RelationshipOf   string
	Intersect        string
	Linked, Unlinked plan.Link
	// Cascade is a one-to-many relationship the target has (optional):
	// Referencing.Attribute points at Referenced with this Delete cascade.
	Cascade *plan.Relationship
}

// Absent ids: valid GUIDs no target holds.
var absent = []string{"00000000-0000-4000-8000-00000000dead", "00000000-0000-4000-8000-00000000beef"}

// VerifyTarget checks the contract of plan.Target on tgt, whose contents f
// describes.
func VerifyTarget(t *testing.T, tgt plan.Target, f Facts) {
	ctx := context.Background()
	if len(f.IDs) < 3 {
		t.Fatalf("VerifyTarget needs at least 3 ids of %s, got %d", f.Table, len(f.IDs))
	}
	var info plan.TableInfo
	t.Run("Tables", func(t *testing.T) {
		tables, err := tgt.Tables(ctx)
		if err != nil {
			t.Fatal(err)
		}
		var ok bool
		if info, ok = tables[f.Table]; !ok || info.Name != f.Table || info.EntitySet == "" || info.PrimaryID == "" || info.IsIntersect {
			t.Errorf("table %s: %+v (listed %v)", f.Table, info, ok)
		}
		if it, ok := tables[f.Intersect]; !ok || !it.IsIntersect {
			t.Errorf("intersect table %s: %+v (listed %v)", f.Intersect, it, ok)
		}
	})
	t.Run("Table", func(t *testing.T) {
		ts, err := tgt.Table(ctx, f.Table)
		if err != nil {
			t.Fatal(err)
		}
		if ts.Name != f.Table || !ts.HasColumn(ts.PrimaryID) || !ts.HasColumn(f.KeyColumn) && f.KeyTable == f.Table {
			t.Errorf("schema of %s: %+v", f.Table, ts.TableInfo)
		}
		if _, err := tgt.Table(ctx, "cloudbackup_nosuchtable"); err == nil {
			t.Error("the schema of a table the target does not have")
		}
	})
	t.Run("RecordsByID", func(t *testing.T) {
		ask := append(append([]string(nil), f.IDs...), absent...)
		got, err := tgt.Records(ctx, f.Table, ask)
		if err != nil {
			t.Fatal(err)
		}
		if keys := sortedIDs(got); strings.Join(keys, ",") != strings.Join(sorted(f.IDs), ",") {
			t.Fatalf("records %v, want exactly %v", keys, sorted(f.IDs))
		}
		for id, rec := range got {
			var pk, etag string
			if err := json.Unmarshal(rec[info.PrimaryID], &pk); err != nil || strings.ToLower(pk) != id {
				t.Errorf("record %s: %s = %s (%v)", id, info.PrimaryID, rec[info.PrimaryID], err)
			}
			if err := json.Unmarshal(rec["@odata.etag"], &etag); err != nil || !strings.HasPrefix(etag, `W/"`) {
				t.Errorf("record %s: @odata.etag = %s (%v)", id, rec["@odata.etag"], err)
			}
		}
		if got, err := tgt.Records(ctx, f.Table, nil); err != nil || len(got) != 0 {
			t.Errorf("no ids: %d records, %v", len(got), err)
		}
	})
	t.Run("Existing", func(t *testing.T) {
		got, err := tgt.Existing(ctx, f.Table, append([]string{absent[0]}, f.IDs...))
		if err != nil {
			t.Fatal(err)
		}
		for _, id := range f.IDs {
			if !got[id] {
				t.Errorf("%s not reported existing", id)
			}
		}
		if got[absent[0]] {
			t.Errorf("absent %s reported existing", absent[0])
		}
	})
	t.Run("FindByKey", func(t *testing.T) {
		id, err := tgt.FindByKey(ctx, f.KeyTable, f.KeyColumn, strings.ToUpper(f.KeyValue))
		if err != nil || id != f.KeyID {
			t.Errorf("%s of %s = %q (upper case): %q %v, want %q", f.KeyColumn, f.KeyTable, f.KeyValue, id, err, f.KeyID)
		}
		if id, err := tgt.FindByKey(ctx, f.KeyTable, f.KeyColumn, "no such value, with a quote's"); err != nil || id != "" {
			t.Errorf("unknown value: %q %v", id, err)
		}
	})
	t.Run("Relationships", func(t *testing.T) {
		want := f.Cascade
		if want == nil {
			t.Skip("no relationship named in the facts")
		}
		child, err := tgt.Table(ctx, want.Referencing)
		if err != nil {
			t.Fatal(err)
		}
		parent, err := tgt.Table(ctx, want.Referenced)
		if err != nil {
			t.Fatal(err)
		}
		same := func(r plan.Relationship) bool {
			return r.Referencing == want.Referencing && r.Attribute == want.Attribute && r.Referenced == want.Referenced
		}
		var m2o, o2m *plan.Relationship
		for i := range child.ManyToOne {
			if same(child.ManyToOne[i]) {
				m2o = &child.ManyToOne[i]
			}
		}
		for i := range parent.OneToMany {
			if same(parent.OneToMany[i]) {
				o2m = &parent.OneToMany[i]
			}
		}
		for side, r := range map[string]*plan.Relationship{"many-to-one of " + want.Referencing: m2o, "one-to-many of " + want.Referenced: o2m} {
			if r == nil {
				t.Errorf("%s: no relationship %s.%s -> %s", side, want.Referencing, want.Attribute, want.Referenced)
				continue
			}
			if r.Delete != want.Delete || r.Name == "" || r.Navigation == "" || r.Collection == "" {
				t.Errorf("%s: %+v, want delete %s with a name and both navigation properties", side, *r, want.Delete)
			}
		}
	})
	t.Run("Linked", func(t *testing.T) {
		rels, err := tgt.ManyToMany(ctx, []string{f.RelationshipOf})
		if err != nil {
			t.Fatal(err)
		}
		rel, ok := rels[f.Intersect]
		if !ok || rel.Entity1Column == "" || rel.Entity2Column == "" || rel.Entity1Navigation == "" {
			t.Fatalf("relationship of %s through %s: %+v (listed %v)", f.RelationshipOf, f.Intersect, rel, ok)
		}
		got, err := tgt.Linked(ctx, rel, []plan.Link{f.Linked, f.Unlinked})
		if err != nil {
			t.Fatal(err)
		}
		if !got[f.Linked] || got[f.Unlinked] {
			t.Errorf("linked %v, want %v linked and %v not", got, f.Linked, f.Unlinked)
		}
	})
}

func sortedIDs(m plan.LiveRecords) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func sorted(ids []string) []string {
	out := make([]string, len(ids))
	for i, id := range ids {
		out[i] = strings.ToLower(id)
	}
	sort.Strings(out)
	return out
}
