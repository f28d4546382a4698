package tablestoretest

import (
	"context"
	"encoding/json"
	"errors"
	"maps"
	"reflect"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// Open returns a new, empty table for one subtest.
type Open func(t *testing.T) tablestore.Store

// Run runs the suite; open is called once per subtest.
func Run(t *testing.T, open Open) {
	t.Run("GetMissing", func(t *testing.T) { testGetMissing(t, open(t)) })
	t.Run("InsertGet", func(t *testing.T) { testInsertGet(t, open(t)) })
	t.Run("Replace", func(t *testing.T) { testReplace(t, open(t)) })
	t.Run("Upsert", func(t *testing.T) { testUpsert(t, open(t)) })
	t.Run("Delete", func(t *testing.T) { testDelete(t, open(t)) })
	t.Run("ListPrefix", func(t *testing.T) { testListPrefix(t, open(t)) })
	t.Run("ListManyPages", func(t *testing.T) { testListManyPages(t, open(t)) })
	t.Run("ListAll", func(t *testing.T) { testListAll(t, open(t)) })
	t.Run("UpsertBatch", func(t *testing.T) { testUpsertBatch(t, open(t)) })
	t.Run("LargeDocument", func(t *testing.T) { testLargeDocument(t, open(t)) })
	t.Run("TooLarge", func(t *testing.T) { testTooLarge(t, open(t)) })
	t.Run("Invalid", func(t *testing.T) { testInvalid(t, open(t)) })
	t.Run("ModifyConcurrent", func(t *testing.T) { testModifyConcurrent(t, open(t)) })
	t.Run("ModifyConflictRetried", func(t *testing.T) { testModifyConflictRetried(t, open(t)) })
	t.Run("ModifyCancelled", func(t *testing.T) { testModifyCancelled(t, open(t)) })
	t.Run("Docs", func(t *testing.T) { testDocs(t, open(t)) })
}

func doc(v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err)
	}
	return b
}

// sameJSON reports whether two documents hold the same JSON value. Stores
// may give back other bytes (escaped characters) for the same value.
func sameJSON(a, b []byte) bool {
	var va, vb any
	if json.Unmarshal(a, &va) != nil || json.Unmarshal(b, &vb) != nil {
		return false
	}
	return reflect.DeepEqual(va, vb)
}

func mustGet(t *testing.T, s tablestore.Store, pk, rk string) tablestore.Entity {
	t.Helper()
	e, err := s.Get(context.Background(), pk, rk)
	if err != nil {
		t.Fatalf("get %s/%s: %v", pk, rk, err)
	}
	return e
}

func mustInsert(t *testing.T, s tablestore.Store, e tablestore.Entity) tablestore.ETag {
	t.Helper()
	et, err := s.Insert(context.Background(), e)
	if err != nil {
		t.Fatalf("insert %s/%s: %v", e.PartitionKey, e.RowKey, err)
	}
	if et == "" {
		t.Fatalf("insert %s/%s returned no ETag", e.PartitionKey, e.RowKey)
	}
	return et
}

func testGetMissing(t *testing.T, s tablestore.Store) {
	if _, err := s.Get(context.Background(), "p", "nothing"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("get of a missing entity: %v, want ErrNotFound", err)
	}
}

func testInsertGet(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	in := tablestore.Entity{PartitionKey: "p", RowKey: "r1", Doc: doc(map[string]any{"n": 1, "s": "héllo €"}),
		Columns: map[string]string{"Status": "running", "Url": "https://x.example"}}
	et := mustInsert(t, s, in)
	got := mustGet(t, s, "p", "r1")
	if !sameJSON(got.Doc, in.Doc) || !maps.Equal(got.Columns, in.Columns) || got.PartitionKey != "p" || got.RowKey != "r1" {
		t.Fatalf("read back %+v, want %+v", got, in)
	}
	if got.ETag != et {
		t.Fatalf("get ETag %q, insert returned %q", got.ETag, et)
	}
	// A second insert of the key fails and leaves the first document.
	dup := in
	dup.Doc = doc(map[string]any{"n": 2})
	if _, err := s.Insert(ctx, dup); !errors.Is(err, tablestore.ErrConflict) {
		t.Fatalf("insert of an existing key: %v, want ErrConflict", err)
	}
	if got := mustGet(t, s, "p", "r1"); !sameJSON(got.Doc, in.Doc) || got.ETag != et {
		t.Fatalf("a refused insert changed the entity: %s", got.Doc)
	}
	// No columns: none read back.
	mustInsert(t, s, tablestore.Entity{PartitionKey: "p", RowKey: "r2", Doc: []byte(`[1,2]`)})
	if got := mustGet(t, s, "p", "r2"); len(got.Columns) != 0 || !sameJSON(got.Doc, []byte(`[1,2]`)) {
		t.Fatalf("entity without columns read back as %+v", got)
	}
}

func testReplace(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	et1 := mustInsert(t, s, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc("v1"), Columns: map[string]string{"Status": "a"}})
	et2, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc("v2")}, et1)
	if err != nil {
		t.Fatal(err)
	}
	if et2 == "" || et2 == et1 {
		t.Fatalf("replace returned ETag %q after %q: want a new one", et2, et1)
	}
	got := mustGet(t, s, "p", "r")
	if !sameJSON(got.Doc, []byte(`"v2"`)) || got.ETag != et2 {
		t.Fatalf("after replace: %s %q", got.Doc, got.ETag)
	}
	// Replace is not a merge: the column written before is gone.
	if len(got.Columns) != 0 {
		t.Fatalf("replace kept columns %v", got.Columns)
	}
	// A stale ETag is refused and changes nothing.
	if _, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc("v3")}, et1); !errors.Is(err, tablestore.ErrConflict) {
		t.Fatalf("replace with a stale ETag: %v, want ErrConflict", err)
	}
	if got := mustGet(t, s, "p", "r"); !sameJSON(got.Doc, []byte(`"v2"`)) {
		t.Fatalf("a refused replace wrote %s", got.Doc)
	}
	// A missing entity is not found, whatever the ETag.
	if _, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "gone", Doc: doc(1)}, et2); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("replace of a missing entity: %v, want ErrNotFound", err)
	}
	// "*" matches any version of an existing entity.
	if _, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc("v5")}, "*"); err != nil {
		t.Fatalf("replace with *: %v", err)
	}
	if _, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "gone", Doc: doc("v5")}, "*"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("replace of a missing entity with *: %v, want ErrNotFound", err)
	}
	// No ETag: refused (Upsert is the unconditional write).
	if _, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc("v4")}, ""); !errors.Is(err, tablestore.ErrInvalid) {
		t.Fatalf("replace without an ETag: %v, want ErrInvalid", err)
	}
}

func testUpsert(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	et1, err := s.Upsert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc(1)})
	if err != nil || et1 == "" {
		t.Fatalf("upsert (create): %q %v", et1, err)
	}
	et2, err := s.Upsert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc(2)})
	if err != nil || et2 == "" || et2 == et1 {
		t.Fatalf("upsert (overwrite): %q %v after %q", et2, err, et1)
	}
	if got := mustGet(t, s, "p", "r"); !sameJSON(got.Doc, []byte("2")) || got.ETag != et2 {
		t.Fatalf("after upsert: %s %q", got.Doc, got.ETag)
	}
}

func testDelete(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	et1 := mustInsert(t, s, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc(1)})
	et2, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc(2)}, et1)
	if err != nil {
		t.Fatal(err)
	}
	if err := s.Delete(ctx, "p", "r", et1); !errors.Is(err, tablestore.ErrConflict) {
		t.Fatalf("delete with a stale ETag: %v, want ErrConflict", err)
	}
	mustGet(t, s, "p", "r")
	if err := s.Delete(ctx, "p", "r", et2); err != nil {
		t.Fatalf("delete with the current ETag: %v", err)
	}
	if _, err := s.Get(ctx, "p", "r"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("get after delete: %v, want ErrNotFound", err)
	}
	// Deleting what is gone succeeds, with or without an ETag.
	if err := s.Delete(ctx, "p", "r", et2); err != nil {
		t.Fatalf("delete of a missing entity (ETag): %v", err)
	}
	if err := s.Delete(ctx, "p", "r", ""); err != nil {
		t.Fatalf("delete of a missing entity: %v", err)
	}
	// No ETag: any version.
	mustInsert(t, s, tablestore.Entity{PartitionKey: "p", RowKey: "r2", Doc: doc(1)})
	if err := s.Delete(ctx, "p", "r2", ""); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Get(ctx, "p", "r2"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("get after unconditional delete: %v", err)
	}
}
