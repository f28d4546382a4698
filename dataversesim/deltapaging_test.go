package dataversesim

import (
	"fmt"
	"strings"
	"testing"
)

// readDelta follows a delta from link to its deltaLink with the given page
// size; between(n) runs after page n (1-based) is read. It returns the
// changed ids (in order), the deleted ids, the page count and the deltaLink.
func readDelta(t *testing.T, e *Env, link string, pageSize int, between func(n int)) (changed []string, deleted map[string]bool, pages int, delta string) {
	t.Helper()
	deleted = map[string]bool{}
	for {
		r := call(t, e, "GET", link, nil, "Prefer", fmt.Sprintf("odata.track-changes,odata.maxpagesize=%d", pageSize))
		want(t, r, 200)
		pages++
		if !strings.HasSuffix(r.body["@odata.context"].(string), "/$delta") {
			t.Fatalf("page %d context %v", pages, r.body["@odata.context"])
		}
		if n := len(r.values()); n > pageSize {
			t.Fatalf("page %d has %d entries, page size %d", pages, n, pageSize)
		}
		for _, v := range r.values() {
			m := v.(map[string]any)
			if deletedEntry(m) {
				deleted[m["id"].(string)] = true
			} else {
				changed = append(changed, m["accountid"].(string))
			}
		}
		next, hasNext := r.body["@odata.nextLink"].(string)
		dl, hasDelta := r.body["@odata.deltaLink"].(string)
		if hasNext {
			if hasDelta {
				t.Fatalf("page %d carries both nextLink and deltaLink", pages)
			}
			if len(r.values()) != pageSize {
				t.Fatalf("intermediate page %d has %d entries", pages, len(r.values()))
			}
			if !strings.Contains(next, "$deltatoken=") || !strings.Contains(next, "$skiptoken=") {
				t.Fatalf("nextLink %s", next)
			}
			if between != nil {
				between(pages)
			}
			link = next
			continue
		}
		if !hasDelta || !strings.Contains(dl, "$deltatoken=") || strings.Contains(dl, "$skiptoken") {
			t.Fatalf("last page %d without a clean deltaLink: %.300s", pages, r.raw)
		}
		return changed, deleted, pages, dl
	}
}

func TestDeltaPaged(t *testing.T) {
	s := Start(t, Options{Records: -1, TableCounts: map[string]int{"account": 200}, Seed: 7})
	e := s.Demo()
	flattenAccounts(t, e)
	_, delta := initialLoad(t, e, "accounts", "5000")
	ids := e.IDs("account")
	// 120 changes: 90 updates, 10 creates, 20 deletes.
	var wantChanged []string
	for _, id := range ids[:90] {
		if err := e.Update("account", id, map[string]any{"name": "upd " + id[:8]}); err != nil {
			t.Fatal(err)
		}
		wantChanged = append(wantChanged, id)
	}
	for i := range 10 {
		id, err := e.Create("account", map[string]any{"name": fmt.Sprintf("new %d", i)})
		if err != nil {
			t.Fatal(err)
		}
		wantChanged = append(wantChanged, id)
	}
	wantDeleted := map[string]bool{}
	for _, id := range ids[100:120] {
		if err := e.Delete("account", id); err != nil {
			t.Fatal(err)
		}
		wantDeleted[id] = true
	}
	// Changes while paging: after page 1, update a row already sent and one
	// not yet sent, create one and delete one; after page 2 another update.
	var late []string
	lateDeleted := ids[150]
	changed, deleted, pages, next := readDelta(t, e, delta, 50, func(n int) {
		switch n {
		case 1:
			e.Update("account", ids[0], map[string]any{"name": "again"})
			e.Update("account", ids[80], map[string]any{"name": "during"})
			id, _ := e.Create("account", map[string]any{"name": "during paging"})
			e.Delete("account", lateDeleted)
			late = append(late, ids[0], ids[80], id)
		case 2:
			e.Update("account", ids[160], map[string]any{"name": "page 2"})
			late = append(late, ids[160])
		}
	})
	if pages != 3 {
		t.Fatalf("%d pages, want 3", pages)
	}
	// ids[80] changed before its page was served: it left this read (its
	// new version is above the read's bound) and comes in the next delta.
	wantNow := []string{}
	for _, id := range wantChanged {
		if id != ids[80] {
			wantNow = append(wantNow, id)
		}
	}
	if strings.Join(changed, ",") != strings.Join(wantNow, ",") {
		t.Fatalf("changed %d ids, want %d in version order", len(changed), len(wantNow))
	}
	if len(deleted) != len(wantDeleted) {
		t.Fatalf("deleted %d, want %d", len(deleted), len(wantDeleted))
	}
	for id := range wantDeleted {
		if !deleted[id] {
			t.Fatalf("delete of %s missing", id)
		}
	}
	// The next delta has exactly the changes made while paging.
	changed2, deleted2, pages2, _ := readDelta(t, e, next, 50, nil)
	if pages2 != 1 || strings.Join(changed2, ",") != strings.Join(late, ",") || len(deleted2) != 1 || !deleted2[lateDeleted] {
		t.Fatalf("next delta: pages %d changed %v (want %v) deleted %v", pages2, changed2, late, deleted2)
	}
}

func TestDeltaSingleDeltaPage(t *testing.T) {
	s := Start(t, Options{Records: -1, TableCounts: map[string]int{"account": 100}, Seed: 7, SingleDeltaPage: true})
	e := s.Demo()
	flattenAccounts(t, e)
	_, delta := initialLoad(t, e, "accounts", "5000")
	ids := e.IDs("account")
	for _, id := range ids[:60] {
		e.Update("account", id, map[string]any{"name": "x"})
	}
	for _, id := range ids[60:70] {
		e.Delete("account", id)
	}
	r := call(t, e, "GET", delta, nil, "Prefer", "odata.track-changes,odata.maxpagesize=20")
	want(t, r, 200)
	if len(r.values()) != 70 || r.body["@odata.nextLink"] != nil || r.body["@odata.deltaLink"] == nil {
		t.Fatalf("single page: %d entries, nextLink %v", len(r.values()), r.body["@odata.nextLink"])
	}
}

func TestDeltaBadSkiptoken(t *testing.T) {
	_, e := small(t)
	_, delta := initialLoad(t, e, "accounts", "5000")
	r := call(t, e, "GET", delta+"&$skiptoken=nonsense", nil, "Prefer", "odata.track-changes")
	want(t, r, 400)
}

// flattenAccounts clears parentaccountid on every account, so the deletes of
// a paging test change only the rows it counts: with the hierarchy in place a
// delete also clears the lookup on the child accounts (account_parent_account
// is RemoveLink, cascade_test.go), which would add rows to the delta.
func flattenAccounts(t *testing.T, e *Env) {
	t.Helper()
	for _, id := range e.IDs("account") {
		if row, _ := e.Get("account", id); row["parentaccountid"] != nil {
			if err := e.Update("account", id, map[string]any{"parentaccountid": nil}); err != nil {
				t.Fatal(err)
			}
		}
	}
}
