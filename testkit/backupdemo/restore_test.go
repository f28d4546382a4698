package backupdemo

import (
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
)

func demoOrg(t *testing.T) *dataversesim.Env {
	return dataversesim.Start(t, dataversesim.Options{Records: 500, Seed: 3}).Demo()
}

// The demo deletes what issue 13's acceptance scenario names, and its
// prediction of the delete's effects is checked against what the delete
// really did.
func TestDeletionIsTheAcceptanceScenario(t *testing.T) {
	e := demoOrg(t)
	d, err := planDeletion(e)
	if err != nil {
		t.Fatal(err)
	}
	x := newOrgIndex(e)
	anchor := d.anchor
	gone := func(table string, ids []string) int {
		n := 0
		for _, id := range ids {
			if d.deleted[rowKey{table, id}] {
				n++
			}
		}
		return n
	}
	won := x.where("opportunity", x.referencing("opportunity", "customerid", anchor), stateIs(1))
	resolved := x.where("incident", x.referencing("incident", "customerid", anchor), stateIs(1))
	emails := x.referencing("email", "regardingobjectid", anchor)
	children := x.referencing("account", "parentaccountid", anchor)
	var parties []string
	for _, m := range emails {
		parties = append(parties, x.referencing("activityparty", "activityid", m)...)
	}
	for what, ok := range map[string]bool{
		"contacts cascade":             gone("contact", x.referencing("contact", "parentcustomerid", anchor)) > 0,
		"won opportunity cascades":     len(won) > 0 && gone("opportunity", won) == len(won),
		"its opportunityclose":         gone("opportunityclose", x.referencing("opportunityclose", "opportunityid", won[0])) > 0,
		"resolved case cascades":       len(resolved) > 0 && gone("incident", resolved) == len(resolved),
		"its incidentresolution":       gone("incidentresolution", x.referencing("incidentresolution", "incidentid", resolved[0])) > 0,
		"emails and their parties go":  len(emails) > 0 && gone("email", emails) == len(emails) && gone("activityparty", parties) == len(parties),
		"an appointment goes":          gone("appointment", x.referencing("appointment", "regardingobjectid", anchor)) > 0,
		"the child account stays":      len(children) > 0 && d.survivors[rowKey{"account", children[0]}],
		"a note with an attachment":    d.count("annotation") > 0,
		"a project with a file":        d.count("cr1_project") == 1,
		"victims are accounts/project": len(d.victims) >= 2,
	} {
		if !ok {
			t.Errorf("the demo's deletion lacks: %s", what)
		}
	}
	snap := takeSnapshot(e, d)
	if len(snap.links) == 0 || len(snap.parties) == 0 {
		t.Errorf("snapshot: %d N:N links, parties of %d activities", len(snap.links), len(snap.parties))
	}
	links, err := d.apply(e, snap)
	if err != nil || links == 0 {
		t.Fatalf("apply: %d links removed, %v", links, err)
	}
	if row, _ := e.Get("account", children[0]); row["parentaccountid"] != nil {
		t.Errorf("the child account's parentaccountid was not cleared: %v", row["parentaccountid"])
	}
}

// A prediction that misses a survivor is caught when the delete is applied.
func TestDeletionCatchesAWrongPrediction(t *testing.T) {
	e := demoOrg(t)
	d, err := planDeletion(e)
	if err != nil {
		t.Fatal(err)
	}
	snap := takeSnapshot(e, d)
	for k := range d.survivors {
		delete(d.survivors, k)
		break
	}
	if _, err := d.apply(e, snap); err == nil || !strings.Contains(err.Error(), "changed") {
		t.Fatalf("a missed survivor was not caught: %v", err)
	}
}

// The comparison sees every kind of loss: a changed field, a file with
// other content, a missing record, a cleared lookup on a survivor, a lost
// N:N link; a column Dataverse does not let a client set is listed as not
// writable, not reported as a difference nor passed over; a party back with
// a new id is matched by its role, party and address.
func TestComparisonSeesDifferences(t *testing.T) {
	e := demoOrg(t)
	d, err := planDeletion(e)
	if err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(e, d)
	if c := compareWith(e, before, nil); len(c.differences) != 0 || len(c.notWritable) != 0 || c.compared != len(d.touched()) {
		t.Fatalf("unchanged state: %d differences %v, not writable %v, %d compared of %d touched", len(c.differences), c.differences, c.notWritable, c.compared, len(d.touched()))
	}
	var contact, project string
	for k := range d.deleted {
		switch k.table {
		case "contact":
			contact = k.id
		case "cr1_project":
			project = k.id
		}
	}
	if err := e.Update("contact", contact, map[string]any{"firstname": "Changed"}); err != nil {
		t.Fatal(err)
	}
	c := compareWith(e, before, nil)
	if len(c.differences) != 1 || !strings.Contains(c.differences[0], "firstname") {
		t.Errorf("one changed field: %v", c.differences)
	}
	if c.notWritable["contact.modifiedon"] != 1 || c.reasons["contact.modifiedon"] == "" {
		t.Errorf("modifiedon (not writable) changed by the update is not listed: %v", c.notWritable)
	}

	// A party deleted and written again (as with its activity): a new id, matched.
	var party rowKey
	var fields map[string]any
	for _, ps := range before.parties {
		party, fields = rowKey{"activityparty", ps[0]["activitypartyid"].(string)}, map[string]any{}
		for k, v := range ps[0] {
			if k != "activitypartyid" && k != "versionnumber" {
				fields[k] = v
			}
		}
		break
	}
	if err := e.Delete(party.table, party.id); err != nil {
		t.Fatal(err)
	}
	if _, err := e.Create("activityparty", fields); err != nil {
		t.Fatal(err)
	}
	if c := compareWith(e, before, nil); c.newPartyIDs != 1 || len(c.differences) != 1 {
		t.Errorf("a party with a new id: %d matched, differences %v", c.newPartyIDs, c.differences)
	}

	// Another project's file in the deleted project's file column.
	for _, p := range e.IDs("cr1_project") {
		row, _ := e.Get("cr1_project", p)
		if p != project && row["cr1_document"] != nil {
			if err := e.Update("cr1_project", project, map[string]any{"cr1_document": row["cr1_document"]}); err != nil {
				t.Fatal(err)
			}
			break
		}
	}
	if c := compareWith(e, before, nil); !contains(c.differences, "cr1_document") {
		t.Errorf("a file with other content not seen: %v", c.differences)
	}

	// The delete itself: records missing, the survivor's lookup cleared, the link gone.
	for _, v := range d.victims {
		if _, ok := e.Get(v.table, v.id); ok {
			if err := e.Delete(v.table, v.id); err != nil {
				t.Fatal(err)
			}
		}
	}
	c = compareWith(e, before, nil)
	for _, want := range []string{"missing", ".parentaccountid = <absent>", "N:N link"} {
		if !contains(c.differences, want) {
			t.Errorf("after the delete, no difference mentions %q: %v", want, first(c.differences, 10))
		}
	}
}

func contains(list []string, part string) bool {
	for _, s := range list {
		if strings.Contains(s, part) {
			return true
		}
	}
	return false
}

// In a record the restore created, a not-writable column counts as such
// only when the job lists it; the table metadata alone decides for a value
// Dataverse sets where the backup had none, and for survivors.
func TestNotWritableNeedsTheJobsListing(t *testing.T) {
	e := demoOrg(t)
	d, err := planDeletion(e)
	if err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(e, d)
	var contact, survivor rowKey
	for k := range d.deleted {
		if k.table == "contact" {
			contact = k
		}
	}
	for k := range d.survivors {
		if k.table == "account" {
			survivor = k
		}
	}
	if err := e.Update(contact.table, contact.id, map[string]any{}); err != nil { // modifiedon, versionnumber change
		t.Fatal(err)
	}
	if err := e.Update(survivor.table, survivor.id, map[string]any{}); err != nil {
		t.Fatal(err)
	}
	c := compareWith(e, before, listed{})
	if !contains(c.differences, contact.String()+".modifiedon") || !contains(c.differences, "the job does not list it") || contains(c.differences, survivor.String()) {
		t.Errorf("an unlisted not-writable column of a created record must be a difference, a survivor's not: %v", c.differences)
	}
	c = compareWith(e, before, listed{"contact.modifiedon": "not valid for create", "contact.versionnumber": "not valid for create"})
	if len(c.differences) != 0 || !strings.HasPrefix(c.reasons["contact.modifiedon"], "listed by the job") || c.notWritable["account.modifiedon"] != 1 {
		t.Errorf("listed by the job: differences %v, reasons %v, not writable %v", c.differences, c.reasons, c.notWritable)
	}
}
