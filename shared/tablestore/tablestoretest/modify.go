package tablestoretest

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/tablestore"
)

type counter struct {
	N       int      `json:"n"`
	Writers []string `json:"writers"`
}

func testModifyConcurrent(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	c := tablestore.Docs[counter]{Store: s, Columns: func(c *counter) map[string]string { return map[string]string{"N": fmt.Sprint(c.N)} }}
	if _, err := c.Insert(ctx, "p", "c", &counter{}); err != nil {
		t.Fatal(err)
	}
	const writers, each = 6, 4
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				if _, _, err := c.Modify(ctx, "p", "c", func(v *counter) (bool, error) {
					v.N++
					v.Writers = append(v.Writers, fmt.Sprintf("%d.%d", w, i))
					return true, nil
				}); err != nil {
					t.Error(err)
				}
			}
		})
	}
	wg.Wait()
	got, et, err := c.Get(ctx, "p", "c")
	if err != nil {
		t.Fatal(err)
	}
	if got.N != writers*each || len(got.Writers) != writers*each {
		t.Fatalf("counter %d with %d writers after %d increments: updates lost", got.N, len(got.Writers), writers*each)
	}
	if e := mustGet(t, s, "p", "c"); e.Columns["N"] != fmt.Sprint(writers*each) {
		t.Fatalf("column N = %q", e.Columns["N"])
	}
	// Declining writes nothing.
	v, et2, err := c.Modify(ctx, "p", "c", func(v *counter) (bool, error) { v.N = -1; return false, nil })
	if err != nil || et2 != et || v.N != -1 {
		t.Fatalf("declined modify: %v %q (ETag before %q)", err, et2, et)
	}
	if got, _, _ := c.Get(ctx, "p", "c"); got.N != writers*each {
		t.Fatalf("declined modify wrote %d", got.N)
	}
	// fn's error comes back as it is, with nothing written.
	boom := errors.New("boom")
	if _, _, err := c.Modify(ctx, "p", "c", func(v *counter) (bool, error) { v.N = -2; return true, boom }); err != boom { //nolint:errorlint // identity wanted
		t.Fatalf("modify with a failing fn: %v", err)
	}
	if got, et3, _ := c.Get(ctx, "p", "c"); got.N != writers*each || et3 != et {
		t.Fatalf("failed modify wrote %d", got.N)
	}
	if _, _, err := c.Modify(ctx, "p", "missing", func(*counter) (bool, error) { return true, nil }); !errors.Is(err, tablestore.ErrNotFound) {
		t.Fatalf("modify of a missing entity: %v, want ErrNotFound", err)
	}
}

func testModifyConflictRetried(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	c := tablestore.Docs[counter]{Store: s}
	if _, err := c.Insert(ctx, "p", "c", &counter{}); err != nil {
		t.Fatal(err)
	}
	// The first time fn runs, another writer changes the entity: the write
	// conflicts, Modify reads again and fn sees the other writer's value.
	calls := 0
	got, _, err := c.Modify(ctx, "p", "c", func(v *counter) (bool, error) {
		calls++
		if calls == 1 {
			if _, err := c.Upsert(ctx, "p", "c", &counter{N: 10, Writers: []string{"other"}}); err != nil {
				return false, err
			}
		}
		v.N++
		v.Writers = append(v.Writers, "me")
		return true, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if calls != 2 || got.N != 11 || strings.Join(got.Writers, ",") != "other,me" {
		t.Fatalf("fn ran %d times, result %+v; want 2 runs and n=11 other,me", calls, got)
	}
	// A writer that always loses gives up after MaxAttempts with ErrConflict.
	c.Retry = tablestore.RetryOptions{MaxAttempts: 3}
	calls = 0
	_, _, err = c.Modify(ctx, "p", "c", func(v *counter) (bool, error) {
		calls++
		if _, err := c.Upsert(ctx, "p", "c", &counter{N: calls}); err != nil {
			return false, err
		}
		return true, nil
	})
	if !errors.Is(err, tablestore.ErrConflict) || calls != 3 {
		t.Fatalf("always conflicting: %v after %d runs, want ErrConflict after 3", err, calls)
	}
}

func testModifyCancelled(t *testing.T, s tablestore.Store) {
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	c := tablestore.Docs[counter]{Store: s, Retry: tablestore.RetryOptions{MaxAttempts: 1000}}
	if _, err := c.Insert(ctx, "p", "c", &counter{}); err != nil {
		t.Fatal(err)
	}
	calls := 0
	_, _, err := c.Modify(ctx, "p", "c", func(v *counter) (bool, error) {
		calls++
		if _, err := c.Upsert(context.Background(), "p", "c", &counter{N: 100 + calls}); err != nil {
			return false, err
		}
		if calls == 3 {
			cancel()
		}
		v.N++
		return true, nil
	})
	if !errors.Is(err, context.Canceled) || calls > 4 {
		t.Fatalf("cancelled modify: %v after %d runs, want context.Canceled after about 3", err, calls)
	}
}

func testDocs(t *testing.T, s tablestore.Store) {
	ctx := context.Background()
	c := tablestore.Docs[counter]{Store: s}
	for i := range 3 {
		if _, err := c.Insert(ctx, "p", fmt.Sprintf("c%d", i), &counter{N: i}); err != nil {
			t.Fatal(err)
		}
	}
	var ns []int
	for it, err := range c.List(ctx, "p", "c") {
		if err != nil {
			t.Fatal(err)
		}
		if it.ETag == "" || it.PartitionKey != "p" {
			t.Fatalf("item %+v", it)
		}
		ns = append(ns, it.Value.N)
	}
	if fmt.Sprint(ns) != "[0 1 2]" {
		t.Fatalf("listed %v", ns)
	}
	// A document that does not decode is an error, not a skipped row.
	if _, err := s.Insert(ctx, tablestore.Entity{PartitionKey: "p", RowKey: "c1x", Doc: []byte(`{"n":"not a number"}`)}); err != nil {
		t.Fatal(err)
	}
	var errs, items int
	for _, err := range c.List(ctx, "p", "c") {
		if err != nil {
			errs++
		} else {
			items++
		}
	}
	if errs != 1 || items != 2 {
		t.Fatalf("listing with a corrupt document: %d items then %d errors, want 2 then 1", items, errs)
	}
	if _, _, err := c.Get(ctx, "p", "c1x"); err == nil {
		t.Fatal("get of a corrupt document: no error")
	}
}
