package dataversesim

import (
	"testing"
)

// An email's sender and recipients are activityparty rows written with the
// email (deep insert through email_activity_parties) and read through the
// same collection, its $expand and /activityparties (powerapps-docs
// developer/data-platform/reference/entities/activityparty.md: the
// participationtypemask values, RetrieveMultiple its only message). An
// unresolved recipient keeps its address; a resolved one gets the party's.
// The email's Sent state is SendEmail's (email.md Messages), not a PATCH's.
func TestEmailParties(t *testing.T) {
	s, e := small(t)
	user := e.SystemUserFor(s.SecretClients()[0].ClientID)
	con := created(t, e, "contacts", map[string]any{"lastname": "Recipient", "emailaddress1": "recipient@example.com"})
	email := created(t, e, "emails", map[string]any{"subject": "Offer", "email_activity_parties": []any{
		map[string]any{"participationtypemask": 1, "partyid_systemuser@odata.bind": "/systemusers(" + user + ")"},
		map[string]any{"participationtypemask": 2, "partyid_contact@odata.bind": "/contacts(" + con + ")"},
		map[string]any{"participationtypemask": 3, "addressused": "outside@example.org"},
	}})
	r := call(t, e, "GET", "emails("+email+")/email_activity_parties?$select=participationtypemask,addressused,_partyid_value", nil,
		"Prefer", `odata.include-annotations="*"`)
	want(t, r, 200)
	got := map[float64]map[string]any{}
	for _, v := range r.values() {
		m := v.(map[string]any)
		got[m["participationtypemask"].(float64)] = m
	}
	if len(got) != 3 || got[1]["_partyid_value"] != user || got[1]["_partyid_value@Microsoft.Dynamics.CRM.lookuplogicalname"] != "systemuser" ||
		got[2]["_partyid_value"] != con || got[2]["addressused"] != "recipient@example.com" ||
		got[3]["_partyid_value"] != nil || got[3]["addressused"] != "outside@example.org" || got[1]["participationtypemask@OData.Community.Display.V1.FormattedValue"] != "Sender" {
		t.Fatalf("parties: %s", r.raw)
	}
	r = call(t, e, "GET", "emails("+email+")?$select=subject&$expand=email_activity_parties($select=participationtypemask,addressused)", nil)
	want(t, r, 200)
	if ps, _ := r.body["email_activity_parties"].([]any); len(ps) != 3 || r.body["subject"] != "Offer" {
		t.Fatalf("$expand: %s", r.raw)
	}
	r = call(t, e, "GET", "activityparties?$filter=_activityid_value eq "+email, nil)
	if want(t, r, 200); len(r.values()) != 3 {
		t.Fatalf("activityparties: %d rows", len(r.values()))
	}
	pid := r.values()[0].(map[string]any)["activitypartyid"].(string)
	wantErr(t, call(t, e, "POST", "activityparties", map[string]any{"participationtypemask": 2, "addressused": "x@y.z"}), codeUnsupported, "'Create' method")
	wantErr(t, call(t, e, "PATCH", "activityparties("+pid+")", map[string]any{"addressused": "x@y.z"}), codeUnsupported, "'Update' method")
	wantErr(t, call(t, e, "POST", "emails", map[string]any{"subject": "x", "email_activity_parties": []any{map[string]any{"participationtypemask": 2}}}),
		codeInvalidParams, "addressused")
	if r := call(t, e, "POST", "emails", map[string]any{"subject": "x", "email_activity_parties": []any{map[string]any{"participationtypemask": 99, "addressused": "a@b.c"}}}); r.status != 400 {
		t.Fatalf("mask 99 accepted: %s", r.raw)
	}

	wantErr(t, call(t, e, "PATCH", "emails("+email+")", map[string]any{"statecode": 1, "statuscode": 3}), codeUseMessage, "use the SendEmail message")
	r = call(t, e, "POST", "emails("+email+")/Microsoft.Dynamics.CRM.SendEmail", map[string]any{"IssueSend": false, "TrackingToken": ""})
	if want(t, r, 200); r.body["Subject"] != "Offer" {
		t.Fatalf("SendEmail: %s", r.raw)
	}
	if s, st := stateOf(t, e, "email", email); s != 1 || st != 3 {
		t.Fatalf("sent email %d/%d", s, st)
	}
	wantErr(t, call(t, e, "PATCH", "emails("+email+")", map[string]any{"subject": "edited"}), codeReadOnly, "read-only")

	// The contact's delete leaves its party row, marked; the email's delete
	// takes its parties.
	want(t, call(t, e, "DELETE", "contacts("+con+")", nil), 204)
	parties := e.partiesOfID(email)
	if len(parties) != 3 {
		t.Fatalf("%d parties after the contact's delete", len(parties))
	}
	for _, p := range parties {
		if p["partyid"] == (Ref{"contact", con}) && p["ispartydeleted"] != true {
			t.Errorf("party of the deleted contact: %v", p)
		}
	}
	want(t, call(t, e, "DELETE", "emails("+email+")", nil), 204)
	if n := len(e.partiesOfID(email)); n != 0 {
		t.Fatalf("%d parties outlived their email", n)
	}
}

// An appointment's organizer and attendees are parties too.
func TestAppointmentParties(t *testing.T) {
	s, e := small(t)
	user := e.SystemUserFor(s.SecretClients()[0].ClientID)
	acc := created(t, e, "accounts", map[string]any{"name": "Visited"})
	appt := created(t, e, "appointments", map[string]any{"subject": "Visit", "regardingobjectid_account_appointment@odata.bind": "/accounts(" + acc + ")",
		"appointment_activity_parties": []any{
			map[string]any{"participationtypemask": 7, "partyid_systemuser@odata.bind": "/systemusers(" + user + ")"},
			map[string]any{"participationtypemask": 5, "partyid_account@odata.bind": "/accounts(" + acc + ")"},
			map[string]any{"participationtypemask": 6, "addressused": "guest@example.net"},
		}})
	r := call(t, e, "GET", "appointments("+appt+")/appointment_activity_parties", nil)
	if want(t, r, 200); len(r.values()) != 3 {
		t.Fatalf("appointment parties: %s", r.raw)
	}
	// Account_Appointments is parental: the account's delete takes the
	// appointment and with it the parties.
	want(t, call(t, e, "DELETE", "accounts("+acc+")", nil), 204)
	if _, ok := e.Get("appointment", appt); ok || len(e.partiesOfID(appt)) != 0 {
		t.Fatalf("appointment or its parties survived the account's delete")
	}
}

// partiesOfID returns the activityparty rows of an activity id.
func (e *Env) partiesOfID(id string) []map[string]any {
	var out []map[string]any
	for _, pid := range e.IDs("activityparty") {
		p, _ := e.Get("activityparty", pid)
		if ref, ok := p["activityid"].(Ref); ok && ref.ID == id {
			out = append(out, p)
		}
	}
	return out
}
