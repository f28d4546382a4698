package plan_test

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan/plantest"
)

func id(n int) string { return fmt.Sprintf("00000000-0000-4000-8000-%012d", n) }

var (
	userA   = id(900) // backed-up owner, absent in the target, same domain name as userB
	userB   = id(901) // the target's user with userA's domain name
	userC   = id(902) // backed-up owner nobody maps
	project = id(800)
)

// world is a backup of accounts, contacts, projects and their N:N links,
// and a target environment with the same tables.
type world struct {
	src *plantest.Source
	tgt *plantest.Target
}

func newWorld(t *testing.T) *world {
	t.Helper()
	w := &world{src: plantest.NewSource(), tgt: plantest.NewTarget()}
	rw := func(name string) plan.Column { return plan.Column{Name: name, Create: true, Update: true} }
	acc := w.tgt.AddTable(plan.TableInfo{Name: "account", EntitySet: "accounts", PrimaryID: "accountid"},
		rw("name"), rw("primarycontactid"), rw("ownerid"), rw("statecode"), rw("statuscode"), rw("overriddencreatedon"))
	acc.Navigations["primarycontactid"] = map[string]string{"contact": "primarycontactid"}
	con := w.tgt.AddTable(plan.TableInfo{Name: "contact", EntitySet: "contacts", PrimaryID: "contactid"},
		rw("fullname"), plan.Column{Name: "parentcustomerid", Create: true, Update: true, Targets: []string{"account", "contact"}})
	con.Navigations["parentcustomerid"] = map[string]string{"account": "parentcustomerid_account", "contact": "parentcustomerid_contact"}
	w.tgt.AddTable(plan.TableInfo{Name: "cr1_project", EntitySet: "cr1_projects", PrimaryID: "cr1_projectid"}, rw("cr1_name"))
	w.tgt.AddTable(plan.TableInfo{Name: "systemuser", EntitySet: "systemusers", PrimaryID: "systemuserid"}, rw("domainname"))
	w.tgt.AddTable(plan.TableInfo{Name: "cr1_account_cr1_project", EntitySet: "cr1_account_cr1_projectset", PrimaryID: "cr1_account_cr1_projectid", IsIntersect: true},
		rw("accountid"), rw("cr1_projectid"))
	w.tgt.Relationships = []plan.ManyToMany{{Name: "cr1_account_cr1_project", Intersect: "cr1_account_cr1_project", Entity1: "account", Entity2: "cr1_project",
		Entity1Column: "accountid", Entity2Column: "cr1_projectid", Entity1Navigation: "cr1_account_cr1_project", Entity2Navigation: "cr1_account_cr1_project"}}
	must(t, w.tgt.Put("systemuser", map[string]any{"systemuserid": userB, "domainname": "ANN@contoso.com"}))
	must(t, w.tgt.Put("cr1_project", map[string]any{"cr1_projectid": project, "cr1_name": "P", "@odata.etag": `W/"5"`}))
	must(t, w.src.Add("systemuser", "systemuserid",
		map[string]any{"systemuserid": userA, "domainname": "ann@contoso.com"},
		map[string]any{"systemuserid": userC, "domainname": "carl@contoso.com"}))
	must(t, w.src.Add("cr1_project", "cr1_projectid", map[string]any{"cr1_projectid": project, "cr1_name": "P", "versionnumber": 5}))
	return w
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// account is a backed-up account owned by owner, version v.
func account(n int, name, owner string, v int) map[string]any {
	return map[string]any{"accountid": id(n), "name": name, "versionnumber": v, "statecode": 0, "statuscode": 1, "createdon": "2024-01-02T03:04:05Z",
		"_ownerid_value": owner, "_ownerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "systemuser", "_primarycontactid_value": nil}
}

// live is the target's copy of a backed-up record at version v.
func live(rec map[string]any, v int, changes map[string]any) map[string]any {
	out := map[string]any{"@odata.etag": fmt.Sprintf(`W/"%d"`, v)}
	for k, x := range rec {
		if k != "versionnumber" {
			out[k] = x
		}
	}
	for k, x := range changes {
		out[k] = x
	}
	return out
}

func build(t *testing.T, w *world, req plan.Request) *plan.Plan {
	t.Helper()
	if req.Run == "" {
		req.Run = "r1"
	}
	if req.Job == "" {
		req.Job = "job1"
	}
	pl, err := plan.Build(context.Background(), w.src, w.tgt, req)
	if err != nil {
		t.Fatal(err)
	}
	return pl
}

// decisions renders each record prediction as "table/source:action".
func decisions(pl *plan.Plan) map[string]string {
	out := map[string]string{}
	for _, p := range pl.Predictions {
		if p.Kind == plan.KindRecord {
			out[p.Table+"/"+p.Source] = string(p.Action)
		}
	}
	return out
}

func TestPolicies(t *testing.T) {
	w := newWorld(t)
	a1, a2, a3 := account(1, "Absent", userB, 7), account(2, "Same", userB, 7), account(3, "Changed", userB, 7)
	must(t, w.src.Add("account", "accountid", a1, a2, a3))
	must(t, w.tgt.Put("account", live(a2, 7, nil)))
	must(t, w.tgt.Put("account", live(a3, 9, map[string]any{"name": "Changed later"})))
	scope := plan.Scope{Tables: []string{"account"}}
	for _, tc := range []struct {
		policy plan.Policy
		want   [3]plan.Action
	}{
		{plan.PolicySkipExisting, [3]plan.Action{plan.ActionCreate, plan.ActionSkip, plan.ActionSkip}},
		{plan.PolicyOverwrite, [3]plan.Action{plan.ActionCreate, plan.ActionSkip, plan.ActionUpdate}},
		{plan.PolicyIfUnchanged, [3]plan.Action{plan.ActionCreate, plan.ActionSkip, plan.ActionConflict}},
		{plan.PolicyRestoreAsNew, [3]plan.Action{plan.ActionCreate, plan.ActionCreate, plan.ActionCreate}},
	} {
		t.Run(string(tc.policy), func(t *testing.T) {
			pl := build(t, w, plan.Request{Policy: tc.policy, Scope: scope, Options: plan.Options{Owner: true, State: true}})
			got := decisions(pl)
			for i, want := range tc.want {
				if a := got["account/"+id(i+1)]; a != string(want) {
					t.Errorf("account %d: %s, want %s (all: %v)", i+1, a, want, got)
				}
			}
			for _, p := range pl.Predictions {
				switch {
				case p.Source == id(2) && p.Action == plan.ActionSkip && tc.policy != plan.PolicySkipExisting && p.Reason != "identical to the backup":
					t.Errorf("identical account skipped because %q", p.Reason)
				case p.Source == id(3) && p.Action == plan.ActionUpdate && (len(p.Diff) != 1 || p.Diff[0].Field != "name" || string(p.Diff[0].Live) != `"Changed later"`):
					t.Errorf("update of account 3: diff %+v, want name only", p.Diff)
				case p.Source == id(3) && p.Action == plan.ActionConflict && !strings.Contains(p.Reason, "version 9 > 7"):
					t.Errorf("conflict reason %q", p.Reason)
				case tc.policy == plan.PolicyRestoreAsNew && p.Kind == plan.KindRecord && (p.Target == p.Source || p.Target == ""):
					t.Errorf("restore-as-new kept id %s -> %q", p.Source, p.Target)
				}
			}
		})
	}
	// Restore-as-new ids are stable for a job and differ between jobs.
	a := build(t, w, plan.Request{Job: "j1", Policy: plan.PolicyRestoreAsNew, Scope: scope})
	b := build(t, w, plan.Request{Job: "j1", Policy: plan.PolicyRestoreAsNew, Scope: scope})
	c := build(t, w, plan.Request{Job: "j2", Policy: plan.PolicyRestoreAsNew, Scope: scope})
	if a.Predictions[0].Target != b.Predictions[0].Target || a.Predictions[0].Target == c.Predictions[0].Target {
		t.Errorf("restore-as-new ids: job1 %s and %s, job2 %s", a.Predictions[0].Target, b.Predictions[0].Target, c.Predictions[0].Target)
	}
}

// TestReadsOnlyTheRecordsItDecidesOn: with thousands of accounts in the
// target, restoring two asks the target for those two (and the records they
// refer to), one call per table and step, never for a table.
func TestReadsOnlyTheRecordsItDecidesOn(t *testing.T) {
	w := newWorld(t)
	var backed []map[string]any
	for n := 1; n <= 3000; n++ {
		a := account(n, fmt.Sprint("A", n), userB, 3)
		backed = append(backed, a)
		must(t, w.tgt.Put("account", live(a, 3, nil)))
	}
	must(t, w.src.Add("account", "accountid", backed...))
	pl := build(t, w, plan.Request{Policy: plan.PolicyOverwrite, Scope: plan.Scope{Records: map[string][]string{"account": {id(10), id(20)}}},
		Options: plan.Options{Owner: true}})
	if got := decisions(pl); len(got) != 2 {
		t.Fatalf("decisions %v", got)
	}
	// One call for the two accounts, one for their owner.
	got := fmt.Sprint(w.tgt.Calls())
	if want := "[{Records account 2} {Existing systemuser 1}]"; got != want {
		t.Errorf("calls %s, want %s", got, want)
	}
}

func TestLookupsPhasesAndMapping(t *testing.T) {
	w := newWorld(t)
	// An account and its primary contact point at each other (a cycle);
	// the account is owned by userA (mapped by domain name to userB), the
	// contact's parent is the account (polymorphic lookup).
	acc := account(1, "Cycle", userA, 2)
	acc["_primarycontactid_value"] = id(101)
	acc["_primarycontactid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] = "contact"
	acc["statecode"], acc["statuscode"] = 1, 2 // inactive: set last
	other := account(2, "Unmapped owner", userC, 2)
	must(t, w.src.Add("account", "accountid", acc, other))
	must(t, w.src.Add("contact", "contactid", map[string]any{"contactid": id(101), "fullname": "Ann", "versionnumber": 2,
		"_parentcustomerid_value": id(1), "_parentcustomerid_value@Microsoft.Dynamics.CRM.lookuplogicalname": "account"}))
	must(t, w.src.Add("cr1_account_cr1_project", "cr1_account_cr1_projectid",
		map[string]any{"cr1_account_cr1_projectid": id(700), "accountid": id(1), "cr1_projectid": project},
		map[string]any{"cr1_account_cr1_projectid": id(701), "accountid": id(2), "cr1_projectid": id(899)}))
	pl := build(t, w, plan.Request{Policy: plan.PolicySkipExisting, ChunkSize: 1,
		Scope:   plan.Scope{Tables: []string{"account", "contact"}},
		Options: plan.Options{Owner: true, State: true, KeepCreatedOn: true, Associations: true}})
	var phases []string
	for _, ph := range pl.Phases {
		phases = append(phases, fmt.Sprintf("%s:%d+%d", ph.Name, ph.First, ph.Chunks))
	}
	if got := strings.Join(phases, " "); got != "record:1+3 patch:4+1 association:5+1 state:6+1" {
		t.Errorf("phases %s", got)
	}
	ops := map[string]plan.Op{}
	for _, ch := range pl.Chunks {
		if len(ch) != 1 {
			t.Fatalf("chunk of %d operations with chunk size 1", len(ch))
		}
		ops[string(ch[0].Kind)+"/"+ch[0].Source] = ch[0]
	}
	body := func(op plan.Op) map[string]any {
		var m map[string]any
		if err := json.Unmarshal(op.Body, &m); err != nil {
			t.Fatalf("%s body %s: %v", op.Key, op.Body, err)
		}
		return m
	}
	a := body(ops["record/"+id(1)])
	if a["ownerid@odata.bind"] != "/systemusers("+userB+")" || a["name"] != "Cycle" || a["overriddencreatedon"] != "2024-01-02T03:04:05Z" || a["statecode"] != nil {
		t.Errorf("account body %v", a)
	}
	// The cycle is broken: one lookup is set inline (its target written
	// by an earlier chunk), the other patched after both records exist.
	bound := func(src, nav string) string {
		if v := ops["record/"+src].Inline[nav+"@odata.bind"]; v != "" {
			return "inline " + v
		}
		if p, ok := ops["patch/"+src]; ok {
			if v, ok := body(p)[nav+"@odata.bind"].(string); ok {
				return "patch " + v
			}
		}
		return ""
	}
	c2a, a2c := bound(id(101), "parentcustomerid_account"), bound(id(1), "primarycontactid")
	if !strings.HasSuffix(c2a, "/accounts("+id(1)+")") || !strings.HasSuffix(a2c, "/contacts("+id(101)+")") || c2a[:5] == a2c[:5] {
		t.Errorf("contact -> account %q, account -> contact %q: want one inline, one patched", c2a, a2c)
	}
	if s := body(ops["state/"+id(1)]); s["statecode"] != float64(1) || s["statuscode"] != float64(2) {
		t.Errorf("state %v", s)
	}
	if as := ops["association/"+id(1)+"|"+project]; as.Assoc == nil || as.Assoc.TargetSet != "cr1_projects" || as.Assoc.TargetID != project || as.Set != "accounts" {
		t.Errorf("association %+v", as)
	}
	var skipped []string
	for _, p := range pl.Predictions {
		if p.Kind == plan.KindAssociation && !p.Planned {
			skipped = append(skipped, p.Source+": "+p.Reason)
		}
		if p.Source == id(2) && p.Kind == plan.KindRecord && !strings.Contains(strings.Join(p.Warnings, ";"), "ownerid: systemuser "+userC+" unmapped") {
			t.Errorf("unmapped owner not reported on the record: %v", p.Warnings)
		}
	}
	if len(skipped) != 1 || !strings.Contains(skipped[0], "cr1_project "+id(899)+" is neither restored nor present") {
		t.Errorf("skipped associations %v", skipped)
	}
	if len(pl.Unmapped) != 1 || pl.Unmapped[0].ID != userC || pl.Unmapped[0].Key != "domainname=carl@contoso.com" || pl.Unmapped[0].Count != 1 {
		t.Errorf("unmapped %+v", pl.Unmapped)
	}
}

func TestDeletedScopeAndMissingRecords(t *testing.T) {
	w := newWorld(t)
	a1, a2 := account(1, "Deleted", userB, 2), account(2, "Still there", userB, 2)
	must(t, w.src.Add("account", "accountid", a1, a2))
	must(t, w.tgt.Put("account", live(a2, 2, nil)))
	must(t, w.tgt.Put("cr1_account_cr1_project", map[string]any{"cr1_account_cr1_projectid": id(600), "accountid": id(2), "cr1_projectid": project}))
	must(t, w.src.Add("cr1_account_cr1_project", "cr1_account_cr1_projectid",
		map[string]any{"cr1_account_cr1_projectid": id(700), "accountid": id(1), "cr1_projectid": project},
		map[string]any{"cr1_account_cr1_projectid": id(600), "accountid": id(2), "cr1_projectid": project}))
	pl := build(t, w, plan.Request{Policy: plan.PolicySkipExisting, Scope: plan.Scope{Deleted: true}, Options: plan.Options{Associations: true}})
	got := decisions(pl)
	if len(got) != 1 || got["account/"+id(1)] != "create" {
		t.Errorf("deleted scope decided %v, want only the deleted account created", got)
	}
	var links []string
	for _, p := range pl.Predictions {
		if p.Kind == plan.KindAssociation {
			links = append(links, fmt.Sprint(p.Source, " ", p.Action))
		}
	}
	sort.Strings(links)
	if want := id(1) + "|" + project + " associate"; len(links) != 1 || links[0] != want {
		t.Errorf("links %v, want [%s] (the other one still exists)", links, want)
	}
	// A record asked for by id that the run does not hold fails, named.
	pl = build(t, w, plan.Request{Policy: plan.PolicySkipExisting, Scope: plan.Scope{Records: map[string][]string{"account": {id(1), id(55)}}, Tables: []string{"lead"}}})
	var failed []plan.Prediction
	for _, p := range pl.Predictions {
		if p.Action == plan.ActionFail {
			failed = append(failed, p)
		}
	}
	if len(failed) != 1 || failed[0].Source != id(55) || !strings.Contains(failed[0].Message, "not in run r1") {
		t.Errorf("failed %+v", failed)
	}
	if strings.Join(pl.Notes, ";") != "table lead has no state in run r1" {
		t.Errorf("notes %v", pl.Notes)
	}
}

func TestBuildRefusesUnknownPolicy(t *testing.T) {
	w := newWorld(t)
	if _, err := plan.Build(context.Background(), w.src, w.tgt, plan.Request{Policy: "overwrite-everything"}); err == nil {
		t.Error("unknown policy accepted")
	}
	if !plan.PolicyIfUnchanged.Valid() || plan.Policy("skip").Valid() {
		t.Error("Policy.Valid")
	}
}
