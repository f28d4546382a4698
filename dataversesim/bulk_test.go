package dataversesim

import (
	"encoding/json"
	"strings"
	"testing"
)

// Bulk operation messages, as powerapps-docs developer/data-platform/
// bulk-operations.md documents them (shapes, per-table availability,
// all-or-nothing on standard tables, DeleteMultiple on elastic tables only).

func targets(table string, rows ...map[string]any) map[string]any {
	out := make([]any, len(rows))
	for i, r := range rows {
		r["@odata.type"] = "Microsoft.Dynamics.CRM." + table
		out[i] = r
	}
	return map[string]any{"Targets": out}
}

func TestCreateMultiple(t *testing.T) {
	_, e := small(t)
	n := e.Count("account")
	v0 := e.Version()
	r := call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
		targets("account", map[string]any{"name": "bulk 1"}, map[string]any{"name": "bulk 2", "revenue": 5}, map[string]any{"name": "bulk 3"}))
	want(t, r, 200)
	if !strings.HasSuffix(r.body["@odata.context"].(string), "$metadata#Microsoft.Dynamics.CRM.CreateMultipleResponse") {
		t.Fatalf("context: %s", r.raw)
	}
	ids, _ := r.body["Ids"].([]any)
	if len(ids) != 3 || e.Count("account") != n+3 {
		t.Fatalf("created %d rows, ids %v", e.Count("account")-n, ids)
	}
	for i, id := range ids {
		row, ok := e.Get("account", id.(string))
		if !ok || row["name"] != "bulk "+string(rune('1'+i)) || row["createdon"] == nil {
			t.Fatalf("row %d: %v", i, row)
		}
	}
	if e.Version() < v0+3 {
		t.Fatalf("rows not versioned like single creates: version %d after %d", e.Version(), v0)
	}
	// A change-tracking delta sees them, as it sees single creates.
	first := call(t, e, "GET", "accounts?$select=name", nil, "Prefer", "odata.track-changes")
	link := first.body["@odata.deltaLink"].(string)
	r = call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", targets("account", map[string]any{"name": "bulk delta"}))
	want(t, r, 200)
	d := call(t, e, "GET", link, nil, "Prefer", "odata.track-changes")
	if len(d.values()) != 1 || d.values()[0].(map[string]any)["name"] != "bulk delta" {
		t.Fatalf("delta after CreateMultiple: %s", d.raw)
	}
}

func TestCreateMultipleAllOrNothing(t *testing.T) {
	_, e := small(t)
	n, v0 := e.Count("account"), e.Version()
	r := call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple",
		targets("account", map[string]any{"name": "ok 1"}, map[string]any{"name": "ok 2"}, map[string]any{"name": "bad", "nosuchcolumn": 1}))
	if r.status != 400 || !strings.Contains(r.errMsg(), "nosuchcolumn") {
		t.Fatalf("bad target: %d %s", r.status, r.raw)
	}
	if e.Count("account") != n {
		t.Fatalf("standard table kept %d of the targets of a failed CreateMultiple", e.Count("account")-n)
	}
	// Rolled back rows leave no tombstone: a delta from before sees nothing.
	tok := e.deltaToken(v0)
	d := call(t, e, "GET", "accounts?$select=name&$deltatoken="+tok, nil, "Prefer", "odata.track-changes")
	if len(d.values()) != 0 {
		t.Fatalf("rolled back creates visible in delta: %s", d.raw)
	}
	// Every target needs its @odata.type, of the set's table.
	r = call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{"Targets": []any{map[string]any{"name": "x"}}})
	if r.status != 400 || !strings.Contains(r.errMsg(), "@odata.type") {
		t.Fatalf("missing @odata.type: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", targets("contact", map[string]any{"lastname": "x"}))
	if r.status != 400 || !strings.Contains(r.errMsg(), "Microsoft.Dynamics.CRM.account") {
		t.Fatalf("wrong @odata.type: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", map[string]any{})
	if r.status != 400 || !strings.Contains(r.errMsg(), "Targets") {
		t.Fatalf("no Targets: %d %s", r.status, r.raw)
	}
	// An action is POSTed: GET answers 404 like any action called with the wrong method.
	r = call(t, e, "GET", "accounts/Microsoft.Dynamics.CRM.CreateMultiple", nil)
	if r.status != 404 || !strings.Contains(r.errMsg(), "No HTTP resource was found") {
		t.Fatalf("GET of an action: %d %s", r.status, r.raw)
	}
}

func TestUpdateMultiple(t *testing.T) {
	_, e := small(t)
	ids := e.IDs("contact")
	etag := call(t, e, "GET", "contacts("+ids[0]+")?$select=jobtitle", nil).body["@odata.etag"]
	missing := "00000000-0000-0000-0000-0000000000aa"
	r := call(t, e, "POST", "contacts/Microsoft.Dynamics.CRM.UpdateMultiple", targets("contact",
		map[string]any{"contactid": ids[0], "jobtitle": "bulk updated"}, map[string]any{"contactid": missing, "jobtitle": "x"}))
	if r.status != 404 || r.errMsg() != "Contact With Ids = "+missing+" Do Not Exist" {
		t.Fatalf("missing row: %d %s", r.status, r.raw)
	}
	if row, _ := e.Get("contact", ids[0]); row["jobtitle"] == "bulk updated" {
		t.Fatal("UpdateMultiple on a standard table kept an update of a failed request")
	}
	if e.Count("contact") != len(ids) {
		t.Fatal("UpdateMultiple created a row")
	}
	r = call(t, e, "POST", "contacts/Microsoft.Dynamics.CRM.UpdateMultiple", targets("contact",
		map[string]any{"contactid": ids[0], "jobtitle": "bulk updated"}, map[string]any{"contactid": ids[1], "jobtitle": "bulk updated 2"}))
	want(t, r, 204)
	for i, wantTitle := range []string{"bulk updated", "bulk updated 2"} {
		if row, _ := e.Get("contact", ids[i]); row["jobtitle"] != wantTitle {
			t.Fatalf("row %d: %v", i, row["jobtitle"])
		}
	}
	if got := call(t, e, "GET", "contacts("+ids[0]+")?$select=jobtitle", nil).body["@odata.etag"]; got == etag {
		t.Fatal("UpdateMultiple did not version the row")
	}
	r = call(t, e, "POST", "contacts/Microsoft.Dynamics.CRM.UpdateMultiple", targets("contact", map[string]any{"jobtitle": "no id"}))
	if r.status != 400 {
		t.Fatalf("target without id: %d %s", r.status, r.raw)
	}
}

func TestUpsertMultiple(t *testing.T) {
	_, e := small(t)
	ids := e.IDs("account")
	newID := "00000000-0000-0000-0000-0000000000bb"
	r := call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", targets("account",
		map[string]any{"accountid": ids[2], "name": "upserted existing"},
		map[string]any{"accountid": newID, "name": "upserted new"},
		map[string]any{"accountnumber": "UPS-1", "name": "upserted by key"}))
	want(t, r, 200)
	res, _ := r.body["Results"].([]any)
	if len(res) != 3 {
		t.Fatalf("results: %s", r.raw)
	}
	created := []bool{false, true, true}
	for i, x := range res {
		m := x.(map[string]any)
		if m["RecordCreated"] != created[i] || m["Target"].(map[string]any)["@odata.type"] != "#Microsoft.Dynamics.CRM.account" {
			t.Fatalf("result %d: %v", i, m)
		}
	}
	if row, _ := e.Get("account", ids[2]); row["name"] != "upserted existing" {
		t.Fatalf("update: %v", row["name"])
	}
	if row, ok := e.Get("account", newID); !ok || row["name"] != "upserted new" {
		t.Fatalf("create by id: %v", row)
	}
	byKey := res[2].(map[string]any)["Target"].(map[string]any)["accountid"].(string)
	if row, ok := e.Get("account", byKey); !ok || row["accountnumber"] != "UPS-1" {
		t.Fatalf("create by alternate key: %v", row)
	}
	// The same key again updates the row it created.
	r = call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.UpsertMultiple", targets("account", map[string]any{"accountnumber": "UPS-1", "name": "second pass"}))
	want(t, r, 200)
	if row, _ := e.Get("account", byKey); row["name"] != "second pass" || r.body["Results"].([]any)[0].(map[string]any)["RecordCreated"] != false {
		t.Fatalf("upsert by key again: %v %s", row["name"], r.raw)
	}
}

func TestBulkPerTableSupport(t *testing.T) {
	_, e := small(t)
	// Intersect tables refuse Create, so they refuse CreateMultiple.
	r := call(t, e, "POST", "systemuserrolescollection/Microsoft.Dynamics.CRM.CreateMultiple",
		targets("systemuserroles", map[string]any{"systemuserid": e.IDs("systemuser")[0]}))
	if r.status != 400 || r.errCode() != codeUnsupported || !strings.Contains(r.errMsg(), "The 'CreateMultiple' method does not support entities of type 'systemuserroles'") {
		t.Fatalf("intersect table: %d %s", r.status, r.raw)
	}
	// DeleteMultiple is for elastic tables only, with the documented error.
	r = call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.DeleteMultiple", targets("account", map[string]any{"accountid": e.IDs("account")[0]}))
	if r.status != 400 || r.errMsg() != "DeleteMultiple has not yet been implemented." {
		t.Fatalf("DeleteMultiple on a standard table: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "accounts/Microsoft.Dynamics.CRM.NoSuchMultiple", map[string]any{})
	if r.status != 404 || r.errCode() != codeNoSegment {
		t.Fatalf("unknown action: %d %s", r.status, r.raw)
	}
}

// TestElasticBulk: on an elastic table targets succeed or fail one by one
// and DeleteMultiple is available (bulk-operations.md, "Standard and elastic
// table usage").
func TestElasticBulk(t *testing.T) {
	_, e := small(t)
	e.mu.Lock()
	e.ownSchema().byName["cr1_project"].TableType = "Elastic"
	e.mu.Unlock()
	ids := e.IDs("cr1_project")
	n := len(ids)
	missing := "00000000-0000-0000-0000-0000000000cc"
	r := call(t, e, "POST", "cr1_projects/Microsoft.Dynamics.CRM.DeleteMultiple", targets("cr1_project",
		map[string]any{"cr1_projectid": ids[0]}, map[string]any{"cr1_projectid": missing}, map[string]any{"cr1_projectid": ids[1]}),
		"Prefer", `odata.include-annotations="*"`)
	if r.status != 404 || e.Count("cr1_project") != n-2 {
		t.Fatalf("partial DeleteMultiple: %d, %d rows left of %d: %s", r.status, e.Count("cr1_project"), n, r.raw)
	}
	var details []struct {
		RequestIndex int
		Id           string
		StatusCode   int
	}
	raw, _ := r.body["error"].(map[string]any)["@Microsoft.PowerApps.CDS.ErrorDetails.Plugin.BulkApiErrorDetails"].(string)
	if err := json.Unmarshal([]byte(raw), &details); err != nil || len(details) != 3 || details[1].StatusCode != 404 || details[0].StatusCode != 204 || details[1].Id != missing {
		t.Fatalf("per-record statuses %q: %v", raw, err)
	}
	r = call(t, e, "POST", "cr1_projects/Microsoft.Dynamics.CRM.DeleteMultiple", targets("cr1_project", map[string]any{"cr1_projectid": ids[2]}))
	want(t, r, 204)
	if _, ok := e.Get("cr1_project", ids[2]); ok {
		t.Fatal("DeleteMultiple left the row")
	}
}
