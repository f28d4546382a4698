package tablestoretest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

// largeDoc is a JSON string of about units UTF-16 units mixing one-, two-,
// three- and four-byte characters and escapes, so chunk boundaries fall
// next to (and would split) multi-byte and surrogate-pair characters.
func largeDoc(units int) []byte {
	// Pieces as they appear in JSON text, with their UTF-16 length.
	pieces := []struct {
		s string
		n int
	}{{"a", 1}, {"é", 1}, {"€", 1}, {"😀", 2}, {`\"`, 2}, {`\\`, 2}, {`\n`, 2}, {`\u003c`, 6}}
	var b strings.Builder
	b.WriteByte('"')
	for i, n := 0, 2; n < units; i++ {
		p := pieces[(i*7+i/13)%len(pieces)]
		b.WriteString(p.s)
		n += p.n
	}
	b.WriteByte('"')
	return []byte(b.String())
}

func testLargeDocument(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	for _, units := range []int{31999, 32000, 32001, 64001, 200000} {
		d := largeDoc(units)
		rk := fmt.Sprintf("u%d", units)
		et := mustInsert(t, s, tablestore.Entity{PartitionKey: "p", RowKey: rk, Doc: d, Columns: map[string]string{"Status": "bïg 😀"}})
		got := mustGet(t, s, "p", rk)
		if !sameJSON(got.Doc, d) || got.Columns["Status"] != "bïg 😀" || got.ETag != et {
			t.Fatalf("%d units: read back %d bytes (want %d), columns %v", units, len(got.Doc), len(d), got.Columns)
		}
	}
	// Replacing a many-chunk document by a one-chunk one leaves no trace.
	e := mustGet(t, s, "p", "u200000")
	if _, err := s.Replace(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "u200000", Doc: doc("small")}, e.ETag); err != nil {
		t.Fatal(err)
	}
	if got := mustGet(t, s, "p", "u200000"); !sameJSON(got.Doc, []byte(`"small"`)) {
		t.Fatalf("after shrinking: %.40s", got.Doc)
	}
	for got, err := range s.List(ctx, "p", "u64") {
		if err != nil || !sameJSON(got.Doc, largeDoc(64001)) {
			t.Fatalf("listed large document: %d bytes, %v", len(got.Doc), err)
		}
	}
}

func testTooLarge(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	big := doc(strings.Repeat("x", tablestore.MaxEntityBytes/2))
	for name, write := range map[string]func() error{
		"insert": func() error {
			_, err := s.Insert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "big", Doc: big})
			return err
		},
		"upsert": func() error {
			_, err := s.Upsert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "big", Doc: big})
			return err
		},
		"batch": func() error {
			return s.UpsertBatch(ctx, []tablestore.Entity{{PartitionKey: "p", RowKey: "big", Doc: big}})
		},
		"column": func() error {
			_, err := s.Insert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "big", Doc: doc(1),
				Columns: map[string]string{"Note": strings.Repeat("é", tablestore.MaxColumnChars+1)}})
			return err
		},
	} {
		if err := write(); !errors.Is(err, tablestore.ErrTooLarge) {
			t.Errorf("%s of a too large entity: %v, want ErrTooLarge", name, err)
		}
	}
	if _, err := s.Get(ctx, "p", "big"); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("a refused write left an entity: %v", err)
	}
	// Check says the same before any write.
	if err := tablestore.Check(tablestore.Entity{PartitionKey: "p", RowKey: "big", Doc: big}); !errors.Is(err, tablestore.ErrTooLarge) {
		t.Fatalf("Check: %v, want ErrTooLarge", err)
	}
}

func testInvalid(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	for _, k := range []string{"", "a/b", `a\b`, "a#b", "a?b", "a\x01b", "a\u0085b", strings.Repeat("k", tablestore.MaxKeyChars+1)} {
		if _, err := s.Insert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: k, Doc: doc(1)}); !errors.Is(err, tablestore.ErrInvalid) {
			t.Errorf("insert with row key %.20q: %v, want ErrInvalid", k, err)
		}
		if _, err := s.Insert(ctx, tablestore.Entity{PartitionKey: k, RowKey: "r", Doc: doc(1)}); !errors.Is(err, tablestore.ErrInvalid) {
			t.Errorf("insert with partition key %.20q: %v, want ErrInvalid", k, err)
		}
		if _, err := s.Get(ctx, "p", k); !errors.Is(err, tablestore.ErrInvalid) {
			t.Errorf("get of row key %.20q: %v, want ErrInvalid", k, err)
		}
		if err := s.Delete(ctx, "p", k, ""); !errors.Is(err, tablestore.ErrInvalid) {
			t.Errorf("delete of row key %.20q: %v, want ErrInvalid", k, err)
		}
	}
	for _, col := range []string{"Data", "Data1", "DataChunks", "PartitionKey", "RowKey", "Timestamp", "D0", "1st", "a-b", ""} {
		if _, err := s.Insert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: doc(1), Columns: map[string]string{col: "v"}}); !errors.Is(err, tablestore.ErrInvalid) {
			t.Errorf("insert with column %q: %v, want ErrInvalid", col, err)
		}
	}
	for _, d := range [][]byte{nil, []byte("not json"), []byte(`{"a":`), []byte("\"\xff\"")} {
		if _, err := s.Insert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "r", Doc: d}); !errors.Is(err, tablestore.ErrInvalid) {
			t.Errorf("insert of document %q: %v, want ErrInvalid", d, err)
		}
	}
	if n := len(keys(t, s, "p", "")); n != 0 {
		t.Fatalf("refused writes left %d entities", n)
	}
	for _, err := range s.List(ctx, "a/b", "") {
		if !errors.Is(err, tablestore.ErrInvalid) {
			t.Fatalf("list of partition a/b: %v, want ErrInvalid", err)
		}
	}
}
