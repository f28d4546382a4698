package dataversesim

import (
	"reflect"
	"testing"
)

// The demo organization has won and lost opportunities with their close
// records, resolved cases with resolutions, emails and appointments with
// parties, quotes with lines; the older tables keep their counts; the same
// seed gives the same organization. One account has everything a delete
// takes or unlinks, and deleting it is not restricted (issue 13 part 1
// item 4 and its acceptance scenario).
func TestSeededOrganization(t *testing.T) {
	s := Start(t, Options{Records: 500, Seed: 11})
	e := s.Demo()
	for table, n := range map[string]int{"account": 150, "contact": 150, "opportunity": 50, "lead": 50, "task": 50, "annotation": 25, "cr1_project": 25} {
		if got := e.Count(table); got != n {
			t.Errorf("%s: %d rows, want %d", table, got, n)
		}
	}
	count := func(table, col string, v any) int {
		n := 0
		for _, id := range e.IDs(table) {
			if row, _ := e.Get(table, id); row[col] == v {
				n++
			}
		}
		return n
	}
	won, lost := count("opportunity", "statecode", int64(1)), count("opportunity", "statecode", int64(2))
	if won == 0 || lost == 0 || e.Count("opportunityclose") != won+lost {
		t.Errorf("opportunities: %d won, %d lost, %d opportunityclose", won, lost, e.Count("opportunityclose"))
	}
	if resolved := count("incident", "statecode", int64(1)); resolved == 0 || e.Count("incidentresolution") != resolved {
		t.Errorf("cases: %d resolved, %d incidentresolution", resolved, e.Count("incidentresolution"))
	}
	if e.Count("email") == 0 || e.Count("appointment") == 0 || e.Count("activityparty") < 2*e.Count("email") {
		t.Errorf("%d emails, %d appointments, %d parties", e.Count("email"), e.Count("appointment"), e.Count("activityparty"))
	}
	if e.Count("quote") == 0 || e.Count("quotedetail") < e.Count("quote") || e.Count("quoteclose") == 0 || e.Count("salesorder") == 0 || e.Count("invoice") == 0 {
		t.Errorf("quotes %d lines %d closes %d, orders %d, invoices %d", e.Count("quote"), e.Count("quotedetail"), e.Count("quoteclose"), e.Count("salesorder"), e.Count("invoice"))
	}
	if unresolved := count("activityparty", "partyid", nil); unresolved == 0 {
		t.Error("no party is an unresolved address")
	}

	// The anchor account: contacts, a child account, a won opportunity, a
	// resolved case, an email with parties, an appointment.
	anchor := ""
	for _, id := range e.IDs("appointment") {
		row, _ := e.Get("appointment", id)
		if ref, ok := row["regardingobjectid"].(Ref); ok && ref.Table == "account" && count("incident", "customerid", ref) > 0 {
			anchor = ref.ID
		}
	}
	ref := Ref{"account", anchor}
	wonOfAnchor := 0
	for _, id := range e.IDs("opportunity") {
		if row, _ := e.Get("opportunity", id); row["customerid"] == ref && row["statecode"] == int64(1) {
			wonOfAnchor++
		}
	}
	if anchor == "" || count("contact", "parentcustomerid", ref) == 0 || count("account", "parentaccountid", ref) == 0 || wonOfAnchor == 0 || count("email", "regardingobjectid", ref) == 0 {
		t.Fatalf("no account with the acceptance scenario's set (anchor %q)", anchor)
	}
	seeded := map[string][]string{}
	for _, table := range []string{"email", "appointment", "activityparty", "quote", "quotedetail", "opportunityclose", "incident", "invoice"} {
		seeded[table] = e.IDs(table)
	}
	children := count("account", "parentaccountid", ref)
	accounts := e.Count("account")
	want(t, call(t, e, "DELETE", "accounts("+anchor+")", nil), 204)
	if count("contact", "parentcustomerid", ref) != 0 || count("incident", "customerid", ref) != 0 || count("email", "regardingobjectid", ref) != 0 ||
		e.Count("account") != accounts-1 || count("account", "parentaccountid", ref) != 0 || children == 0 {
		t.Errorf("the anchor's delete did not cascade and unlink as documented")
	}

	again := Start(t, Options{Records: 500, Seed: 11}).Demo()
	for table, ids := range seeded {
		if !reflect.DeepEqual(again.IDs(table), ids) {
			t.Errorf("%s ids differ between two simulators with the same seed", table)
		}
	}
}
