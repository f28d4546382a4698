package restore_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

func byKey(rep []restore.RecordResult) map[string]restore.RecordResult {
	out := map[string]restore.RecordResult{}
	for _, r := range rep {
		out[r.Table+"/"+r.Source] = r
	}
	return out
}

func get(t *testing.T, e *dataversesim.Env, table, id string) map[string]any {
	t.Helper()
	row, ok := e.Get(table, id)
	if !ok {
		t.Fatalf("%s %s is missing", table, id)
	}
	return row
}

// TestFieldLevelRestore puts back two fields of a modified record and
// leaves its other fields as they are now.
func TestFieldLevelRestore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	id := e.IDs("account")[0]
	old := get(t, e, "account", id)
	f.backup(ctx)
	if err := e.Update("account", id, map[string]any{"name": "Renamed", "telephone1": "000", "websiteurl": "https://new.example"}); err != nil {
		t.Fatal(err)
	}
	j, rep := f.restore(ctx, restore.Request{Policy: plan.PolicyOverwrite,
		Scope: plan.Scope{Records: map[string][]string{"account": {id}}, Fields: map[string][]string{"account": {"name", "telephone1"}}}})
	if j.Status != restore.StatusSucceeded || j.Counts.Updated != 1 {
		t.Fatalf("job %s, counts %+v, report %+v", j.Status, j.Counts, rep)
	}
	now := get(t, e, "account", id)
	if now["name"] != old["name"] || now["telephone1"] != old["telephone1"] {
		t.Errorf("name/telephone1 = %v/%v, want %v/%v", now["name"], now["telephone1"], old["name"], old["telephone1"])
	}
	if now["websiteurl"] != "https://new.example" {
		t.Errorf("websiteurl = %v: a field outside the chosen ones was changed", now["websiteurl"])
	}
	var fields []string
	for _, d := range rep[0].Diff {
		fields = append(fields, d.Field)
	}
	if strings.Join(fields, ",") != "name,telephone1" {
		t.Errorf("diff fields %v, want name,telephone1", fields)
	}
	// A column the table does not have is refused at the start, by name
	// (otherwise nothing of it would be restored, without a word).
	_, err := f.rs.Start(ctx, restore.Request{Environment: f.envID, Policy: plan.PolicyOverwrite,
		Scope: plan.Scope{Records: map[string][]string{"account": {id}}, Fields: map[string][]string{"account": {"name", "telephone9"}}}})
	var ve *restore.ValidationError
	if !errors.As(err, &ve) || len(ve.Errors) != 1 || ve.Errors[0].Field != "scope.fields.account[1]" || !strings.Contains(ve.Errors[0].Message, "telephone9") {
		t.Errorf("unknown field: %v, want a ValidationError naming scope.fields.account[1] and telephone9", err)
	}
}

// TestCrossEnvironmentRestore restores accounts into the second
// environment, whose users, teams and business units have other ids:
// owners map by domain name / team name, currencies by ISO code, and the
// owners without a counterpart are reported.
func TestCrossEnvironmentRestore(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	src, dst := f.demo, f.sim.Env("second")
	f.backup(ctx)
	ids := src.IDs("account")[:12]
	j, rep := f.restore(ctx, restore.Request{Target: f.second, Scope: plan.Scope{Records: map[string][]string{"account": ids}}})
	if j.Status == restore.StatusFailed {
		t.Fatalf("job failed: %s", j.Error)
	}
	if fl := failures(rep); len(fl) > 0 {
		t.Errorf("failures:\n%s", strings.Join(fl, "\n"))
	}
	// The expected owner in the target: same domain name / team name.
	key := func(e *dataversesim.Env, ref dataversesim.Ref) string {
		row := get(t, e, ref.Table, ref.ID)
		if ref.Table == "team" {
			return "team:" + fmt.Sprint(row["name"])
		}
		return "user:" + strings.ToLower(fmt.Sprint(row["domainname"]))
	}
	unmapped := map[string]bool{}
	for _, u := range j.Unmapped {
		unmapped[u.Table+"/"+u.ID] = true
	}
	mapped, reported := 0, 0
	for _, id := range ids {
		s := get(t, src, "account", id)
		d, ok := dst.Get("account", id)
		if !ok {
			t.Errorf("account %s not restored into the second environment", id)
			continue
		}
		so := s["ownerid"].(dataversesim.Ref)
		do := d["ownerid"].(dataversesim.Ref)
		if unmapped[so.Table+"/"+so.ID] {
			reported++
			if !strings.Contains(strings.Join(byKey(rep)["account/"+id].Warnings, " "), so.ID) {
				t.Errorf("account %s: unmapped owner %s not in the record's warnings", id, so.ID)
			}
			continue
		}
		if key(src, so) != key(dst, do) {
			t.Errorf("account %s: owner %s in the target, want the counterpart of %s", id, key(dst, do), key(src, so))
		}
		if do.ID == so.ID {
			t.Errorf("account %s: owner id %s copied, not mapped", id, so.ID)
		}
		mapped++
		if c, ok := s["transactioncurrencyid"].(dataversesim.Ref); ok {
			dc := d["transactioncurrencyid"].(dataversesim.Ref)
			if get(t, src, "transactioncurrency", c.ID)["isocurrencycode"] != get(t, dst, "transactioncurrency", dc.ID)["isocurrencycode"] {
				t.Errorf("account %s: currency not mapped by ISO code", id)
			}
		}
	}
	t.Logf("owners mapped %d, reported unmapped %d; unmapped list %+v", mapped, reported, j.Unmapped)
	if mapped == 0 || reported == 0 {
		t.Errorf("want both mapped and unmapped owners among %d accounts (mapped %d, unmapped %d)", len(ids), mapped, reported)
	}
	if j.Counts.Unmapped == 0 {
		t.Error("the job counts no unmapped reference")
	}
}

// TestDryRunPredictsRealRun: a dry run writes nothing, and the real run then
// does what it predicted, record by record.
func TestDryRunPredictsRealRun(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	keys := victims(t, e, 2)
	f.backup(ctx)
	deleteAll(t, e, keys)
	// One existing record changed: overwrite predicts an update for it.
	changed := e.IDs("account")[5]
	if err := e.Update("account", changed, map[string]any{"telephone1": "changed"}); err != nil {
		t.Fatal(err)
	}
	req := restore.Request{Policy: plan.PolicyOverwrite, Scope: plan.Scope{Tables: []string{"account", "contact", "annotation", "task"}}}
	v0 := e.Version()
	req.DryRun = true
	dj, pred := f.restore(ctx, req)
	if e.Version() != v0 {
		t.Fatalf("the dry run wrote: version %d -> %d", v0, e.Version())
	}
	if dj.Status != restore.StatusSucceeded {
		t.Fatalf("dry run %s: %s", dj.Status, dj.Error)
	}
	p := byKey(pred)
	if p["account/"+changed].Action != "update" || len(p["account/"+changed].Diff) != 1 || p["account/"+changed].Diff[0].Field != "telephone1" {
		t.Errorf("prediction for the changed account: %+v", p["account/"+changed])
	}
	req.DryRun = false
	j, real := f.restore(ctx, req)
	if j.Status != restore.StatusSucceeded {
		t.Fatalf("real run %s: %s %v", j.Status, j.Error, failures(real))
	}
	want := map[plan.Action]string{plan.ActionCreate: restore.ResCreated, plan.ActionUpdate: restore.ResUpdated, plan.ActionSkip: restore.ResSkipped, plan.ActionConflict: restore.ResConflict, plan.ActionAssociate: restore.ResCreated,
		plan.ActionRelink: restore.ResDone}
	r := byKey(real)
	mismatch := 0
	for k, pr := range p {
		if got := r[k].Status; got != want[pr.Action] {
			mismatch++
			if mismatch < 10 {
				t.Errorf("%s: predicted %s, the real run %s (%s)", k, pr.Action, got, r[k].Message)
			}
		}
	}
	if len(p) != len(r) || dj.Counts.Created != j.Counts.Created || dj.Counts.Updated != j.Counts.Updated || dj.Counts.Relinked != j.Counts.Relinked ||
		dj.Counts.CascadeRestored != j.Counts.CascadeRestored || dj.Counts.NotWritable != j.Counts.NotWritable {
		t.Errorf("dry run %d lines %+v, real run %d lines %+v", len(p), dj.Counts, len(r), j.Counts)
	}
	if j.Counts.Created < len(keys) || j.Counts.Updated < 1 {
		t.Errorf("counts %+v", j.Counts)
	}
}

// TestCycleAndSelfReference: account.primarycontactid <-> contact.parentcustomerid,
// a two-account parent cycle and an account that is its own parent.
func TestCycleAndSelfReference(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	seed := e.IDs("account")[0]
	own := func(m map[string]any) map[string]any {
		m["ownerid"], m["owningbusinessunit"] = owner(e, seed), bu(e, seed)
		return m
	}
	a1, _ := e.Create("account", own(map[string]any{"name": "Cycle A"}))
	a2, _ := e.Create("account", own(map[string]any{"name": "Cycle B", "parentaccountid": dataversesim.Ref{Table: "account", ID: a1}}))
	a3, _ := e.Create("account", own(map[string]any{"name": "Self"}))
	c1, _ := e.Create("contact", own(map[string]any{"fullname": "Cyclic Contact", "parentcustomerid": dataversesim.Ref{Table: "account", ID: a1}}))
	must(t, e.Update("account", a1, map[string]any{"parentaccountid": dataversesim.Ref{Table: "account", ID: a2}, "primarycontactid": dataversesim.Ref{Table: "contact", ID: c1}}))
	must(t, e.Update("account", a3, map[string]any{"parentaccountid": dataversesim.Ref{Table: "account", ID: a3}}))
	keys := []rowKey{{"account", a1}, {"account", a2}, {"account", a3}, {"contact", c1}}
	f.backup(ctx)
	before := takeSnapshot(e, keys)
	deleteAll(t, e, keys)
	j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true, Tables: []string{"account", "contact"}}})
	if j.Status != restore.StatusSucceeded {
		t.Fatalf("job %s %s %v", j.Status, j.Error, failures(rep))
	}
	compare(t, e, before)
	patched := 0
	for _, r := range rep {
		for _, s := range r.Steps {
			if strings.HasPrefix(s, "patch:") {
				patched++
			}
		}
	}
	if patched == 0 {
		t.Error("no record needed its lookups patched in the second phase")
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

// TestConflictPolicies runs one restore per policy.
func TestConflictPolicies(t *testing.T) {
	ctx := context.Background()
	f := newFixture(t, fixtureOptions{})
	e := f.demo
	ids := e.IDs("account")
	changed, deleted, same := ids[1], ids[2], ids[3]
	f.backup(ctx)
	must(t, e.Update("account", changed, map[string]any{"name": "Changed after backup"}))
	row := get(t, e, "account", deleted)
	must(t, e.Delete("account", deleted))
	scope := plan.Scope{Records: map[string][]string{"account": {changed, deleted, same}}}
	status := func(rep []restore.RecordResult, id string) string { return byKey(rep)["account/"+id].Status }

	t.Run("skip-existing", func(t *testing.T) {
		_, rep := f.restore(ctx, restore.Request{Policy: plan.PolicySkipExisting, Scope: scope})
		if status(rep, changed) != restore.ResSkipped || status(rep, deleted) != restore.ResCreated || status(rep, same) != restore.ResSkipped {
			t.Errorf("report %+v", rep)
		}
		if get(t, e, "account", changed)["name"] != "Changed after backup" {
			t.Error("skip-existing overwrote an existing record")
		}
	})
	must(t, e.Delete("account", deleted))
	t.Run("if-unchanged-since-backup", func(t *testing.T) {
		_, rep := f.restore(ctx, restore.Request{Policy: plan.PolicyIfUnchanged, Scope: scope})
		if status(rep, changed) != restore.ResConflict || status(rep, deleted) != restore.ResCreated || status(rep, same) != restore.ResSkipped {
			t.Errorf("report %+v", rep)
		}
		if get(t, e, "account", changed)["name"] != "Changed after backup" {
			t.Error("if-unchanged overwrote a record changed since the backup")
		}
	})
	t.Run("overwrite", func(t *testing.T) {
		_, rep := f.restore(ctx, restore.Request{Policy: plan.PolicyOverwrite, Scope: scope})
		if status(rep, changed) != restore.ResUpdated || status(rep, same) != restore.ResSkipped {
			t.Errorf("report %+v", rep)
		}
		if get(t, e, "account", changed)["name"] == "Changed after backup" {
			t.Error("overwrite left the changed name")
		}
	})
	t.Run("restore-as-new", func(t *testing.T) {
		n := e.Count("account")
		var contacts []string
		for _, c := range e.IDs("contact") {
			if r := get(t, e, "contact", c); r["parentcustomerid"] == (dataversesim.Ref{Table: "account", ID: same}) {
				contacts = append(contacts, c)
			}
		}
		j, rep := f.restore(ctx, restore.Request{Policy: plan.PolicyRestoreAsNew,
			Scope: plan.Scope{Records: map[string][]string{"account": {same}, "contact": contacts}}})
		if j.Status != restore.StatusSucceeded || e.Count("account") != n+1 {
			t.Fatalf("job %s, accounts %d -> %d, %v", j.Status, n, e.Count("account"), failures(rep))
		}
		newAcc := byKey(rep)["account/"+same].ID
		if newAcc == same || newAcc == "" {
			t.Fatalf("the copy has id %q", newAcc)
		}
		copyRow := get(t, e, "account", newAcc)
		if copyRow["name"] != get(t, e, "account", same)["name"] {
			t.Error("the copy's name differs")
		}
		for _, c := range contacts {
			nc := byKey(rep)["contact/"+c].ID
			if r := get(t, e, "contact", nc); r["parentcustomerid"] != (dataversesim.Ref{Table: "account", ID: newAcc}) {
				t.Errorf("copied contact %s points at %v, want the new account %s", nc, r["parentcustomerid"], newAcc)
			}
			if r := get(t, e, "contact", c); r["parentcustomerid"] != (dataversesim.Ref{Table: "account", ID: same}) {
				t.Errorf("the original contact %s was re-pointed", c)
			}
		}
		// Notes of the account come along, re-pointed.
		for _, r := range rep {
			if r.Table == "annotation" && r.Status == restore.ResCreated {
				if obj := get(t, e, "annotation", r.ID)["objectid"].(dataversesim.Ref); obj.ID == same {
					t.Errorf("copied note %s still points at the original", r.ID)
				}
			}
		}
	})
	_ = row
}
