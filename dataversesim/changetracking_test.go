package dataversesim

import (
	"strings"
	"testing"
	"time"
)

// initialLoad pages a tracked table and returns the ids and the deltaLink.
func initialLoad(t *testing.T, e *Env, set string, pageSize string) (map[string]bool, string) {
	t.Helper()
	ids := map[string]bool{}
	link := set + "?$select=name"
	for {
		r := call(t, e, "GET", link, nil, "Prefer", "odata.track-changes", "Prefer", "odata.maxpagesize="+pageSize)
		want(t, r, 200)
		if !strings.Contains(r.header.Get("Preference-Applied"), "odata.track-changes") {
			t.Fatalf("Preference-Applied %q", r.header.Get("Preference-Applied"))
		}
		for _, v := range r.values() {
			ids[v.(map[string]any)["accountid"].(string)] = true
		}
		if next, ok := r.body["@odata.nextLink"].(string); ok {
			if _, hasDelta := r.body["@odata.deltaLink"]; hasDelta {
				t.Fatal("deltaLink on an intermediate page")
			}
			link = next
			continue
		}
		dl, _ := r.body["@odata.deltaLink"].(string)
		if !strings.Contains(dl, "$deltatoken=") {
			t.Fatalf("no deltaLink on last page: %.300s", r.raw)
		}
		return ids, dl
	}
}

func TestChangeTrackingDelta(t *testing.T) {
	_, e := small(t)
	all, delta := initialLoad(t, e, "accounts", "25")
	if len(all) != e.Count("account") {
		t.Fatalf("initial load %d of %d", len(all), e.Count("account"))
	}
	// No changes: empty value and a new deltaLink.
	r := call(t, e, "GET", delta, nil, "Prefer", "odata.track-changes")
	want(t, r, 200)
	if len(r.values()) != 0 || r.body["@odata.deltaLink"] == nil || !strings.HasSuffix(r.body["@odata.context"].(string), "/$delta") {
		t.Fatalf("empty delta: %s", r.raw)
	}
	ids := e.IDs("account")
	// Updates through the API and directly, deletes, a create, and a row created then deleted.
	want(t, call(t, e, "PATCH", "accounts("+ids[1]+")", map[string]any{"name": "api update"}), 204)
	if err := e.Update("account", ids[2], map[string]any{"name": "direct update"}); err != nil {
		t.Fatal(err)
	}
	want(t, call(t, e, "DELETE", "accounts("+ids[3]+")", nil), 204)
	if err := e.Delete("account", ids[4]); err != nil {
		t.Fatal(err)
	}
	created := call(t, e, "POST", "accounts", map[string]any{"name": "new one"})
	want(t, created, 204)
	newID := strings.TrimSuffix(created.header.Get("OData-EntityId")[strings.LastIndex(created.header.Get("OData-EntityId"), "(")+1:], ")")
	tmp, _ := e.Create("account", map[string]any{"name": "short-lived"})
	e.Delete("account", tmp)

	r = call(t, e, "GET", delta, nil, "Prefer", "odata.track-changes")
	want(t, r, 200)
	changed, deleted := []string{}, map[string]bool{}
	for _, v := range r.values() {
		m := v.(map[string]any)
		if deletedEntry(m) {
			if m["reason"] != "deleted" {
				t.Fatalf("deleted entry %v", m)
			}
			deleted[m["id"].(string)] = true
			continue
		}
		changed = append(changed, m["accountid"].(string))
	}
	if strings.Join(changed, ",") != strings.Join([]string{ids[1], ids[2], newID}, ",") {
		t.Fatalf("changed (in version order) %v", changed)
	}
	if len(deleted) != 3 || !deleted[ids[3]] || !deleted[ids[4]] || !deleted[tmp] {
		t.Fatalf("deleted %v", deleted)
	}
	// The next delta from the new link is empty.
	r2 := call(t, e, "GET", r.body["@odata.deltaLink"].(string), nil, "Prefer", "odata.track-changes")
	if len(r2.values()) != 0 {
		t.Fatalf("second delta not empty: %s", r2.raw)
	}
}

func deletedEntry(m map[string]any) bool {
	c, _ := m["@odata.context"].(string)
	return strings.HasSuffix(c, "$deletedEntity")
}

func TestChangeTrackingRejectsAndExpires(t *testing.T) {
	s, e := small(t)
	for _, q := range []string{"$filter=name eq 'x'", "$orderby=name", "$top=5"} {
		r := call(t, e, "GET", "accounts?"+q, nil, "Prefer", "odata.track-changes")
		if r.status != 400 || !strings.Contains(r.errMsg(), "query parameter isn't supported when Change Tracking is enabled") {
			t.Fatalf("%s: %d %s", q, r.status, r.raw)
		}
	}
	r := call(t, e, "GET", "leads", nil, "Prefer", "odata.track-changes")
	want(t, r, 400)
	_, delta := initialLoad(t, e, "accounts", "5000")
	e.SetChangeTrackingExpiry(24 * time.Hour)
	s.AdvanceClock(25 * time.Hour)
	r = call(t, e, "GET", delta, nil, "Prefer", "odata.track-changes")
	if r.status != 400 || r.errMsg() != "Version stamp associated with the client has expired. Please perform a full sync." {
		t.Fatalf("expired: %d %s", r.status, r.raw)
	}
}

func TestDeltaTokenFirstVersusLastPage(t *testing.T) {
	for _, first := range []bool{false, true} {
		s := Start(t, Options{Records: 100, Seed: 5, DeltaTokenAtFirstPage: first})
		e := s.Demo()
		r := call(t, e, "GET", "accounts?$select=name", nil, "Prefer", "odata.track-changes,odata.maxpagesize=10")
		next := r.body["@odata.nextLink"].(string)
		ids := e.IDs("account")
		// A change during the initial load to a row already read.
		e.Update("account", ids[0], map[string]any{"name": "during load"})
		var delta string
		for next != "" {
			r = call(t, e, "GET", next, nil, "Prefer", "odata.track-changes,odata.maxpagesize=10")
			next, _ = r.body["@odata.nextLink"].(string)
			delta, _ = r.body["@odata.deltaLink"].(string)
		}
		r = call(t, e, "GET", delta, nil, "Prefer", "odata.track-changes")
		got := len(r.values())
		if first && got != 1 || !first && got != 0 {
			t.Fatalf("DeltaTokenAtFirstPage=%v: %d changes", first, got)
		}
	}
}
