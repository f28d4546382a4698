package tablestoretest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

func keys(t *testing.T, s tablestore.Store, pk, prefix string) []string {
	t.Helper()
	var out []string
	for e, err := range s.List(context.Background(), pk, prefix) {
		if err != nil {
			t.Fatalf("list %s %q: %v", pk, prefix, err)
		}
		if e.PartitionKey != pk {
			t.Fatalf("list %s yielded an entity of partition %s", pk, e.PartitionKey)
		}
		out = append(out, e.RowKey)
	}
	return out
}

func testListPrefix(t *testing.T, s tablestore.Store) {
	rows := []string{"c", "a", "b~", "abc", "ab", "b", "a~", "b'q"}
	etags := map[string]tablestore.ETag{}
	for _, rk := range rows {
		etags[rk] = mustInsert(t, s, tablestore.Entity{PartitionKey: "p", RowKey: rk, Doc: doc(rk)})
	}
	mustInsert(t, s, tablestore.Entity{PartitionKey: "q", RowKey: "a", Doc: doc("other partition")})
	mustInsert(t, s, tablestore.Entity{PartitionKey: "pp", RowKey: "a", Doc: doc("longer partition")})
	for _, tc := range []struct {
		prefix string
		want   string
	}{
		{"", "a ab abc a~ b b'q b~ c"},
		{"a", "a ab abc a~"},
		{"ab", "ab abc"},
		{"b", "b b'q b~"},
		{"b'", "b'q"},
		{"c", "c"},
		{"zz", ""},
	} {
		if got := strings.Join(keys(t, s, "p", tc.prefix), " "); got != tc.want {
			t.Errorf("list p %q = %q, want %q", tc.prefix, got, tc.want)
		}
	}
	if got := strings.Join(keys(t, s, "q", ""), " "); got != "a" {
		t.Errorf("list q = %q", got)
	}
	if got := keys(t, s, "none", ""); len(got) != 0 {
		t.Errorf("list of an empty partition = %v", got)
	}
	// Listed entities carry their document and ETag.
	for e, err := range s.List(context.Background(), "p", "") {
		if err != nil {
			t.Fatal(err)
		}
		if !sameJSON(e.Doc, doc(e.RowKey)) || e.ETag != etags[e.RowKey] {
			t.Errorf("listed %s: doc %s ETag %q, want ETag %q", e.RowKey, e.Doc, e.ETag, etags[e.RowKey])
		}
	}
	// Stopping the loop stops the listing.
	n := 0
	for _, err := range s.List(context.Background(), "p", "") {
		if err != nil {
			t.Fatal(err)
		}
		n++
		if n == 2 {
			break
		}
	}
	if n != 2 {
		t.Fatalf("break after 2 yielded %d", n)
	}
}

func testListManyPages(t *testing.T, s tablestore.Store) {
	// More rows than one page of the service (1,000).
	const n = 1234
	var es []tablestore.Entity
	for i := range n {
		es = append(es, tablestore.Entity{PartitionKey: "p", RowKey: fmt.Sprintf("%05d", i), Doc: doc(i)})
	}
	if err := s.UpsertBatch(context.Background(), es); err != nil {
		t.Fatal(err)
	}
	got := keys(t, s, "p", "")
	if len(got) != n {
		t.Fatalf("listed %d rows, want %d", len(got), n)
	}
	for i, k := range got {
		if k != fmt.Sprintf("%05d", i) {
			t.Fatalf("row %d is %s: not in row-key order", i, k)
		}
	}
	if got := keys(t, s, "p", "011"); len(got) != 100 || got[0] != "01100" || got[99] != "01199" {
		t.Fatalf("prefix 011: %d rows %v...", len(got), got[:min(3, len(got))])
	}
}

func testUpsertBatch(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	mustInsert(t, s, tablestore.Entity{PartitionKey: "a", RowKey: "000", Doc: doc("before")})
	var es []tablestore.Entity
	for i := range 150 {
		es = append(es, tablestore.Entity{PartitionKey: "a", RowKey: fmt.Sprintf("%03d", i), Doc: doc(i)})
		if i%3 == 0 {
			es = append(es, tablestore.Entity{PartitionKey: "b", RowKey: fmt.Sprintf("%03d", i), Doc: doc(-i), Columns: map[string]string{"Kind": "b"}})
		}
	}
	// A key given twice is written with its last value.
	es = append(es, tablestore.Entity{PartitionKey: "a", RowKey: "007", Doc: doc("last")})
	if err := s.UpsertBatch(ctx, es); err != nil {
		t.Fatal(err)
	}
	if got := keys(t, s, "a", ""); len(got) != 150 {
		t.Fatalf("partition a has %d rows, want 150", len(got))
	}
	if got := keys(t, s, "b", ""); len(got) != 50 {
		t.Fatalf("partition b has %d rows, want 50", len(got))
	}
	if got := mustGet(t, s, "a", "000"); !sameJSON(got.Doc, []byte("0")) {
		t.Fatalf("existing row not replaced: %s", got.Doc)
	}
	if got := mustGet(t, s, "a", "007"); !sameJSON(got.Doc, []byte(`"last"`)) {
		t.Fatalf("duplicate key: %s, want the last value", got.Doc)
	}
	if got := mustGet(t, s, "b", "003"); !sameJSON(got.Doc, []byte("-3")) || got.Columns["Kind"] != "b" {
		t.Fatalf("b/003: %+v", got)
	}
	// One bad entity: an error, not a silent skip.
	bad := []tablestore.Entity{{PartitionKey: "c", RowKey: "1", Doc: doc(1)}, {PartitionKey: "c", RowKey: "x/y", Doc: doc(2)}}
	if err := s.UpsertBatch(ctx, bad); !errors.Is(err, tablestore.ErrInvalid) {
		t.Fatalf("batch with an invalid key: %v, want ErrInvalid", err)
	}
}

func testListAll(t *testing.T, s tablestore.Store) {
	for _, k := range [][2]string{{"q", "b"}, {"p", "z"}, {"p", "a"}, {"pp", "a"}} {
		mustInsert(t, s, tablestore.Entity{PartitionKey: k[0], RowKey: k[1], Doc: doc(k[0] + "/" + k[1])})
	}
	var got []string
	for e, err := range s.ListAll(context.Background()) {
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, e.PartitionKey+"/"+e.RowKey)
	}
	if want := "p/a p/z pp/a q/b"; strings.Join(got, " ") != want {
		t.Fatalf("ListAll = %v, want %s", got, want)
	}
}
