package restore_test

import (
	"context"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore/plan"
)

// anchor returns the seeded account a restore must bring everything back
// for (seed_org.go): it has contacts, a child account, a won opportunity,
// a resolved case, emails with parties and an appointment.
func anchor(t *testing.T, e *dataversesim.Env) string {
	t.Helper()
	for _, id := range e.IDs("opportunity") {
		row, _ := e.Get("opportunity", id)
		c, ok := row["customerid"].(dataversesim.Ref)
		if ok && c.Table == "account" && row["statecode"] == int64(1) {
			return c.ID
		}
	}
	t.Fatal("the seed has no account with a won opportunity")
	return ""
}

// addClosed gives the account a lost opportunity with its close record, a
// canceled case, and an email completed by the mail server (a state no
// message reaches) with its parties.
func addClosed(t *testing.T, e *dataversesim.Env, account string) (completedEmail string) {
	t.Helper()
	acc := dataversesim.Ref{Table: "account", ID: account}
	at := time.Date(2025, 3, 4, 5, 6, 7, 0, time.UTC)
	must := func(id string, err error) string {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	opp := must(e.Create("opportunity", map[string]any{"name": "Lost deal", "customerid": acc, "parentaccountid": acc, "statecode": int64(2), "statuscode": int64(5),
		"actualclosedate": at, "ownerid": owner(e, account), "owningbusinessunit": bu(e, account)}))
	must(e.Create("opportunityclose", map[string]any{"subject": "Lost: Lost deal", "opportunityid": dataversesim.Ref{Table: "opportunity", ID: opp},
		"actualend": at, "activitytypecode": "opportunityclose", "statecode": int64(1), "statuscode": int64(2), "ownerid": owner(e, account), "owningbusinessunit": bu(e, account)}))
	must(e.Create("incident", map[string]any{"title": "Duplicate request", "customerid": acc, "statecode": int64(2), "statuscode": int64(6),
		"ownerid": owner(e, account), "owningbusinessunit": bu(e, account)}))
	mail := must(e.Create("email", map[string]any{"subject": "Delivered by the server", "regardingobjectid": acc, "directioncode": true,
		"activitytypecode": "email", "statecode": int64(1), "statuscode": int64(2), "actualend": at, "ownerid": owner(e, account), "owningbusinessunit": bu(e, account)}))
	// The parties as the platform stores them: a resolved sender with its
	// name and address filled in, an address nothing resolves.
	user := e.IDs("systemuser")[0]
	u, _ := e.Get("systemuser", user)
	must(e.Create("activityparty", map[string]any{"activityid": dataversesim.Ref{Table: "email", ID: mail}, "participationtypemask": int64(1),
		"partyid": dataversesim.Ref{Table: "systemuser", ID: user}, "partyobjecttypecode": "systemuser", "partyidname": u["fullname"],
		"addressused": u["internalemailaddress"], "ispartydeleted": false}))
	must(e.Create("activityparty", map[string]any{"activityid": dataversesim.Ref{Table: "email", ID: mail}, "participationtypemask": int64(2),
		"addressused": "nobody@partner.example", "ispartydeleted": false}))
	return mail
}

// TestRestoreDeletedAccountWithItsWorld deletes the anchor account: its
// contacts, opportunities (won and lost, with their close records), cases
// (resolved and canceled, with the resolution), emails and an appointment
// with their parties go with it (Cascade); its child account and other
// survivors lose their link (RemoveLink). Restoring the deleted records
// creates everything active, writes the children, then closes through the
// documented messages (WinOpportunity, LoseOpportunity, CloseIncident,
// SendEmail; the simulator refuses a PATCH into those states), creates
// the activities with their parties in the same request, re-points the
// survivors, and reports the one state Dataverse cannot set (an email
// completed by the mail server) as not writable.
//
// It runs on both organization shapes: the small one, and the standard one
// (the tables and relationships of Microsoft's reference pages; backups
// limited to the tables the delete touches).
func TestRestoreDeletedAccountWithItsWorld(t *testing.T) {
	t.Run("small", func(t *testing.T) { testDeletedAccountWithItsWorld(t, fixtureOptions{}) })
	t.Run("standard", func(t *testing.T) {
		testDeletedAccountWithItsWorld(t, fixtureOptions{sim: dataversesim.Options{Org: dataversesim.OrgStandard}, include: []string{
			"account", "contact", "opportunity", "opportunityclose", "incident", "incidentresolution", "email", "appointment", "phonecall",
			"letter", "fax", "task", "activityparty", "annotation", "quote", "quotedetail", "quoteclose", "salesorder", "salesorderdetail",
			"orderclose", "invoice", "invoicedetail", "cr1_project", "cr1_account_cr1_project", "customeraddress", "connection",
			"systemuser", "team", "businessunit", "transactioncurrency"}})
	})
}

func testDeletedAccountWithItsWorld(t *testing.T, o fixtureOptions) {
	ctx := context.Background()
	f := newFixture(t, o)
	e := f.demo
	acc := anchor(t, e)
	mail := addClosed(t, e, acc)
	f.backup(ctx)
	org := takeOrgState(e)
	deleteRoots(t, e, []rowKey{{"account", acc}})
	d := diffStates(org, takeOrgState(e))
	if len(d.orphans) > 0 {
		// Not an engine matter: Dataverse deletes an activity's parties
		// with it. Their check is left out for these activities only.
		t.Logf("SIMULATOR DEFECT: the delete left the parties of %d deleted activities behind (the restore then adds the backed-up ones again); "+
			"their parties are not compared", len(d.orphans))
	}
	taken := map[string]int{}
	records := 0
	for _, k := range d.deleted {
		taken[k.table]++
		if k.table != "activityparty" && !e.Table(k.table).IsIntersect {
			records++
		}
	}
	for _, tb := range []string{"contact", "opportunity", "opportunityclose", "incident", "incidentresolution", "email", "appointment"} {
		if taken[tb] == 0 {
			t.Fatalf("the delete of the anchor took no %s: %v", tb, taken)
		}
	}
	if d.cleared == 0 {
		t.Fatalf("the delete cleared no lookup of a survivor: %v", d.survivors)
	}

	dj, pred := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true}, DryRun: true})
	j, rep := f.restore(ctx, restore.Request{Scope: plan.Scope{Deleted: true}})
	t.Logf("restored %d records (%d by cascade), relinked %d: %+v", j.Counts.Created, j.Counts.CascadeRestored, j.Counts.Relinked, countBy(rep))
	if fl := failures(rep); len(fl) > 0 || j.Status != restore.StatusSucceeded {
		dumpRows(t, f, j.ID)
		t.Fatalf("job %s %q, failures:\n%s", j.Status, j.Error, strings.Join(fl, "\n"))
	}
	if j.Counts.Created != records || j.Counts.CascadeRestored != records-1 || j.Counts.Relinked != d.cleared {
		t.Errorf("counts %+v, want %d created, %d by cascade, %d relinked", j.Counts, records, records-1, d.cleared)
	}
	// The dry run listed the same: creates (cascade children marked),
	// relinks with their field, the columns not writable.
	if dj.Counts.Created != j.Counts.Created || dj.Counts.CascadeRestored != j.Counts.CascadeRestored || dj.Counts.Relinked != j.Counts.Relinked ||
		dj.Counts.NotWritable != j.Counts.NotWritable {
		t.Errorf("dry run counts %+v, real %+v", dj.Counts, j.Counts)
	}
	relinks := 0
	for _, r := range pred {
		if r.Kind == plan.KindRelink && r.Action == plan.ActionRelink {
			relinks++
			if len(r.Diff) == 0 || string(r.Diff[0].Live) != "null" {
				t.Errorf("relink prediction %+v names no cleared field", r)
			}
		}
	}
	if relinks == 0 {
		t.Error("the dry run lists no relink")
	}
	// The closed records' close activities were written by their messages.
	byMessage := map[string]int{}
	for _, r := range rep {
		if r.Kind == plan.KindRecord && strings.HasPrefix(r.Reason, "by ") {
			byMessage[strings.Fields(r.Reason)[1]]++
		}
	}
	for _, m := range []string{"WinOpportunity", "LoseOpportunity", "CloseIncident"} {
		if byMessage[m] == 0 {
			t.Errorf("no close record written by %s: %v", m, byMessage)
		}
	}
	// The completed email is back, as a draft, and says why.
	nw := map[string]bool{}
	for _, x := range j.NotWritable {
		nw[x.Table+"."+x.Column] = true
	}
	if !nw["email.statuscode"] || !nw["email.statecode"] {
		t.Errorf("the completed email's state is not listed as not writable: %+v", j.NotWritable)
	}
	for _, r := range rep {
		if r.Table == "email" && r.Source == mail && (r.Status != restore.ResCreated || !strings.Contains(strings.Join(r.Warnings, " "), "state not restored")) {
			t.Errorf("completed email: %+v", r)
		}
	}
	compareTouched(t, e, org, takeOrgState(e), d, j)
}

// TestKilledRestoreReplaysRelinksAndMessages: the invocation dies after
// Dataverse answered a batch and before its results were stored, once for
// every batch of the job (every other batch of a chunk, counting its
// replays); each time the chunk is delivered again to a new engine. A replayed
// relink (its If-Match ETag moved with the relink) and a replayed close
// message (the record is closed already) are recognised as done by the
// earlier attempt, not reported as conflicts or failures, and nothing is
// written twice.
func TestKilledRestoreReplaysRelinksAndMessages(t *testing.T) {
	ctx := context.Background()
	var mu sync.Mutex
	batches := map[int]int{} // chunk -> batches answered, replays included
	opts := restore.Options{LeaseDuration: 300 * time.Millisecond, AfterBatch: func(job string, chunk int) error {
		mu.Lock()
		defer mu.Unlock()
		if batches[chunk]++; batches[chunk]%2 == 1 {
			return errCrash // a new batch: crash; its replay (the next one) goes through
		}
		return nil
	}}
	f := newFixture(t, fixtureOptions{restore: opts})
	e := f.demo
	acc := anchor(t, e)
	addClosed(t, e, acc)
	f.backup(ctx)
	org := takeOrgState(e)
	deleteRoots(t, e, []rowKey{{"account", acc}})
	d := diffStates(org, takeOrgState(e))
	j, err := f.rs.Start(ctx, restore.Request{Environment: f.envID, Scope: plan.Scope{Deleted: true}})
	if err != nil {
		t.Fatal(err)
	}
	crashes := 0
	for round := 0; round < 200; round++ {
		left := f.pump(ctx, func(_ string, err error) bool { return err != nil && strings.Contains(err.Error(), "crash") })
		if len(left) == 0 {
			break
		}
		crashes++
		f.reopen(opts)
		for _, p := range left {
			must(t, f.sender.Send(ctx, p.queue, p.msg))
		}
	}
	j, rep := f.finished(ctx, j.ID)
	if j.Status != restore.StatusSucceeded || j.Counts.Relinked != d.cleared || j.Counts.Conflicts != 0 {
		dumpRows(t, f, j.ID)
		t.Fatalf("after %d crashes: job %s counts %+v, want succeeded with %d relinked: %v", crashes, j.Status, j.Counts, d.cleared, failures(rep))
	}
	replayed := map[plan.Kind]int{}
	for _, r := range rep {
		if strings.Contains(r.Reason, "earlier attempt") {
			replayed[r.Kind]++
		}
		for _, s := range r.Steps {
			if strings.HasPrefix(s, "state:") && s != "state:done" {
				t.Errorf("%s %s: state step %s", r.Table, r.Source, s)
			}
		}
	}
	t.Logf("%d crashes; recognised as done by the crashed attempt: %v", crashes, replayed)
	closes := 0
	for _, r := range rep {
		if strings.HasPrefix(r.Reason, "by ") && strings.Contains(r.Reason, "earlier attempt") {
			closes++
		}
	}
	if replayed[plan.KindRelink] != len(d.survivors)-countTable(d.survivors, "activityparty") || closes < 3 {
		t.Errorf("%d crashes, replays recognised %v, close messages replayed %d: want every relink and every close message recognised",
			crashes, replayed, closes)
	}
	compareTouched(t, e, org, takeOrgState(e), d, j)
}

func countTable(ks []rowKey, table string) int {
	n := 0
	for _, k := range ks {
		if k.table == table {
			n++
		}
	}
	return n
}
