package dataversesim

import (
	"strings"
	"testing"
)

func wantErr(t *testing.T, r resp, code, contains string) {
	t.Helper()
	if r.status != 400 || r.errCode() != code || !strings.Contains(r.errMsg(), contains) {
		t.Fatalf("want 400 %s %q, got %d %s", code, contains, r.status, r.raw)
	}
}

func stateOf(t *testing.T, e *Env, table, id string) (int64, int64) {
	t.Helper()
	row, ok := e.Get(table, id)
	if !ok {
		t.Fatalf("%s %s missing", table, id)
	}
	return row["statecode"].(int64), row["statuscode"].(int64)
}

// Won and Lost are set by WinOpportunity / LoseOpportunity with an
// opportunityclose (powerapps-docs developer/data-platform/webapi/
// use-web-api-actions.md, "Unbound actions"); a PATCH of statecode answers
// CannotUseOpportunitySetStateMessage (0x80100005) and a closed opportunity
// is read-only (CannotUpdateBecauseItIsReadOnly, 0x8004022e) until a PATCH of
// statecode 0 reopens it (data-service-error-codes.md; opportunity.md
// Messages: SetState).
func TestOpportunityWinLose(t *testing.T) {
	_, e := small(t)
	acc := created(t, e, "accounts", map[string]any{"name": "Buyer"})
	opp := created(t, e, "opportunities", map[string]any{"name": "Deal", "customerid_account@odata.bind": "/accounts(" + acc + ")"})
	wantErr(t, call(t, e, "PATCH", "opportunities("+opp+")", map[string]any{"statecode": 1}), codeUseMessage, "use the WinOpportunity message")
	wantErr(t, call(t, e, "PATCH", "opportunities("+opp+")", map[string]any{"statuscode": 5}), codeUseMessage, "use the LoseOpportunity message")
	if s, _ := stateOf(t, e, "opportunity", opp); s != 0 {
		t.Fatalf("refused PATCH changed the state to %d", s)
	}
	closeOf := func(status int) map[string]any {
		return map[string]any{"Status": status, "OpportunityClose": map[string]any{"subject": "Closed", "actualrevenue": 1200, "opportunityid@odata.bind": "/opportunities(" + opp + ")"}}
	}
	wantErr(t, call(t, e, "POST", "WinOpportunity", closeOf(4)), codeStatus, "not a valid status code")
	want(t, call(t, e, "POST", "WinOpportunity", closeOf(3)), 204)
	if s, st := stateOf(t, e, "opportunity", opp); s != 1 || st != 3 {
		t.Fatalf("won opportunity state %d/%d", s, st)
	}
	row, _ := e.Get("opportunity", opp)
	if row["actualvalue"] != 1200.0 || row["actualclosedate"] == nil {
		t.Errorf("won opportunity: actualvalue %v actualclosedate %v", row["actualvalue"], row["actualclosedate"])
	}
	closes := 0
	for _, id := range e.IDs("opportunityclose") {
		c, _ := e.Get("opportunityclose", id)
		if c["opportunityid"] == (Ref{"opportunity", opp}) {
			closes++
			if c["statecode"] != int64(1) || c["statuscode"] != int64(2) || c["actualrevenue"] != 1200.0 {
				t.Errorf("opportunityclose %v", c)
			}
		}
	}
	if closes != 1 {
		t.Fatalf("%d opportunityclose records, want 1", closes)
	}
	wantErr(t, call(t, e, "PATCH", "opportunities("+opp+")", map[string]any{"name": "edited"}), codeReadOnly, "read-only")
	wantErr(t, call(t, e, "POST", "LoseOpportunity", closeOf(4)), codeReadOnly, "read-only")
	want(t, call(t, e, "PATCH", "opportunities("+opp+")", map[string]any{"statecode": 0, "statuscode": 1, "name": "reopened"}), 204)
	want(t, call(t, e, "POST", "Microsoft.Dynamics.CRM.LoseOpportunity", closeOf(5)), 204)
	if s, st := stateOf(t, e, "opportunity", opp); s != 2 || st != 5 {
		t.Fatalf("lost opportunity state %d/%d", s, st)
	}
	r := call(t, e, "POST", "WinOpportunity", map[string]any{"Status": 3})
	if r.status != 400 || !strings.Contains(r.errMsg(), "OpportunityClose") {
		t.Fatalf("missing OpportunityClose: %d %s", r.status, r.raw)
	}
}

// A change set with WinOpportunity is atomic: when a later request fails,
// the close record and the state change are both undone.
func TestCloseMessageInChangeSet(t *testing.T) {
	_, e := small(t)
	opp := created(t, e, "opportunities", map[string]any{"name": "Deal"})
	n := e.Count("opportunityclose")
	body, ct := batchBody(e, []string{
		post("WinOpportunity", `{"Status":3,"OpportunityClose":{"subject":"won","opportunityid@odata.bind":"/opportunities(`+opp+`)"}}`),
		post("accounts", `{"name":"bad","nosuchcolumn":1}`),
	})
	// Without continue-on-error the batch stops at the failure and answers its
	// status (execute-batch-operations-using-web-api.md, "Handling errors").
	want(t, call(t, e, "POST", "$batch", body, "Content-Type", ct), 400)
	if s, _ := stateOf(t, e, "opportunity", opp); s != 0 || e.Count("opportunityclose") != n {
		t.Fatalf("rolled back WinOpportunity left state %d and %d close records (want %d)", s, e.Count("opportunityclose"), n)
	}
}

// CloseIncident resolves a case with an incidentresolution (incident.md
// Messages); a resolved case answers CaseAlreadyResolved (0x800404cf) to an
// update until a PATCH of statecode 0 reactivates it.
func TestCloseIncident(t *testing.T) {
	_, e := small(t)
	inc := created(t, e, "incidents", map[string]any{"title": "Broken"})
	wantErr(t, call(t, e, "PATCH", "incidents("+inc+")", map[string]any{"statecode": 1}), codeUseMessage, "use the CloseIncident message")
	want(t, call(t, e, "POST", "CloseIncident", map[string]any{"Status": 5,
		"IncidentResolution": map[string]any{"subject": "Fixed", "timespent": 30, "incidentid@odata.bind": "/incidents(" + inc + ")"}}), 204)
	if s, st := stateOf(t, e, "incident", inc); s != 1 || st != 5 {
		t.Fatalf("resolved case %d/%d", s, st)
	}
	wantErr(t, call(t, e, "PATCH", "incidents("+inc+")", map[string]any{"title": "edited"}), codeCaseResolved, "already been resolved")
	wantErr(t, call(t, e, "POST", "CloseIncident", map[string]any{"Status": 5,
		"IncidentResolution": map[string]any{"subject": "Again", "incidentid@odata.bind": "/incidents(" + inc + ")"}}), codeCaseResolved, "already been resolved")
	want(t, call(t, e, "PATCH", "incidents("+inc+")", map[string]any{"statecode": 0}), 204)
	if s, st := stateOf(t, e, "incident", inc); s != 0 || st != 1 {
		t.Fatalf("reactivated case %d/%d", s, st)
	}
}

// A quote is activated by PATCH, then won by WinQuote (only when active) or
// closed by CloseQuote, each with a quoteclose; a won quote stays read-only
// (quote.md). An order is fulfilled or canceled by FulfillSalesOrder /
// CancelSalesOrder (salesorder.md); an invoice is paid by PATCH (invoice.md
// has no close message) and is read-only until reopened.
func TestQuoteOrderInvoiceStates(t *testing.T) {
	_, e := small(t)
	q := created(t, e, "quotes", map[string]any{"name": "Q-1"})
	win := map[string]any{"Status": 4, "QuoteClose": map[string]any{"subject": "Won", "quoteid@odata.bind": "/quotes(" + q + ")"}}
	if r := call(t, e, "POST", "WinQuote", win); r.status != 400 {
		t.Fatalf("WinQuote on a draft quote: %d %s", r.status, r.raw)
	}
	wantErr(t, call(t, e, "PATCH", "quotes("+q+")", map[string]any{"statecode": 2}), codeUseMessage, "use the WinQuote message")
	want(t, call(t, e, "PATCH", "quotes("+q+")", map[string]any{"statecode": 1}), 204)
	want(t, call(t, e, "POST", "WinQuote", win), 204)
	if s, st := stateOf(t, e, "quote", q); s != 2 || st != 4 || e.Count("quoteclose") == 0 {
		t.Fatalf("won quote %d/%d, %d quoteclose", s, st, e.Count("quoteclose"))
	}
	wantErr(t, call(t, e, "PATCH", "quotes("+q+")", map[string]any{"statecode": 1}), codeReadOnly, "read-only")
	q2 := created(t, e, "quotes", map[string]any{"name": "Q-2"})
	want(t, call(t, e, "POST", "CloseQuote", map[string]any{"Status": 5, "QuoteClose": map[string]any{"subject": "Lost", "quoteid@odata.bind": "/quotes(" + q2 + ")"}}), 204)
	if s, st := stateOf(t, e, "quote", q2); s != 3 || st != 5 {
		t.Fatalf("closed quote %d/%d", s, st)
	}

	so := created(t, e, "salesorders", map[string]any{"name": "SO-1"})
	closes := e.Count("orderclose")
	wantErr(t, call(t, e, "PATCH", "salesorders("+so+")", map[string]any{"statecode": 3}), codeUseMessage, "use the FulfillSalesOrder message")
	want(t, call(t, e, "POST", "FulfillSalesOrder", map[string]any{"Status": 100001, "OrderClose": map[string]any{"subject": "Done", "salesorderid@odata.bind": "/salesorders(" + so + ")"}}), 204)
	if s, st := stateOf(t, e, "salesorder", so); s != 3 || st != 100001 || e.Count("orderclose") != closes+1 {
		t.Fatalf("fulfilled order %d/%d, %d orderclose (had %d)", s, st, e.Count("orderclose"), closes)
	}
	so2 := created(t, e, "salesorders", map[string]any{"name": "SO-2"})
	want(t, call(t, e, "POST", "CancelSalesOrder", map[string]any{"Status": 4, "OrderClose": map[string]any{"subject": "No", "salesorderid@odata.bind": "/salesorders(" + so2 + ")"}}), 204)
	if s, _ := stateOf(t, e, "salesorder", so2); s != 2 {
		t.Fatalf("canceled order state %d", s)
	}

	inv := created(t, e, "invoices", map[string]any{"name": "INV-1"})
	want(t, call(t, e, "PATCH", "invoices("+inv+")", map[string]any{"statecode": 2}), 204)
	if s, st := stateOf(t, e, "invoice", inv); s != 2 || st != 100001 {
		t.Fatalf("paid invoice %d/%d", s, st)
	}
	wantErr(t, call(t, e, "PATCH", "invoices("+inv+")", map[string]any{"name": "edited"}), codeReadOnly, "read-only")
	want(t, call(t, e, "PATCH", "invoices("+inv+")", map[string]any{"statecode": 0}), 204)
}

// Completed and canceled activities are read-only until reactivated
// (letter.md, statecode: "Completed and canceled letters are read-only and
// can't be edited").
func TestClosedActivitiesReadOnly(t *testing.T) {
	_, e := small(t)
	for _, set := range []string{"tasks", "letters", "phonecalls"} {
		id := created(t, e, set, map[string]any{"subject": "Do it"})
		want(t, call(t, e, "PATCH", set+"("+id+")", map[string]any{"statecode": 1}), 204)
		wantErr(t, call(t, e, "PATCH", set+"("+id+")", map[string]any{"subject": "edited"}), codeReadOnly, "read-only")
		want(t, call(t, e, "PATCH", set+"("+id+")", map[string]any{"statecode": 0, "subject": "reopened"}), 204)
	}
	l := created(t, e, "letters", map[string]any{"subject": "Default status"})
	if _, st := stateOf(t, e, "letter", l); st != 2 {
		t.Errorf("a new letter's status %d, want 2 Draft (letter.md DefaultStatus)", st)
	}
}
