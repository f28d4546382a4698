package dataversesim

import (
	"strings"
	"testing"
)

// trackedDelta returns the deltaLink of an initial change-tracking read of set.
func trackedDelta(t *testing.T, e *Env, set string) string {
	t.Helper()
	link := set
	for {
		r := call(t, e, "GET", link, nil, "Prefer", "odata.track-changes")
		want(t, r, 200)
		if next, ok := r.body["@odata.nextLink"].(string); ok {
			link = next
			continue
		}
		return r.body["@odata.deltaLink"].(string)
	}
}

// deltaOf reads one delta: changed rows by id (with their fields) and deleted ids.
func deltaOf(t *testing.T, e *Env, link, pk string) (map[string]map[string]any, map[string]bool) {
	t.Helper()
	r := call(t, e, "GET", link, nil, "Prefer", "odata.track-changes")
	want(t, r, 200)
	changed, deleted := map[string]map[string]any{}, map[string]bool{}
	for _, v := range r.values() {
		m := v.(map[string]any)
		if deletedEntry(m) {
			deleted[m["id"].(string)] = true
		} else {
			changed[m[pk].(string)] = m
		}
	}
	return changed, deleted
}

func created(t *testing.T, e *Env, set string, body map[string]any) string {
	t.Helper()
	r := call(t, e, "POST", set, body)
	want(t, r, 204)
	loc := r.header.Get("OData-EntityId")
	return loc[strings.LastIndexByte(loc, '(')+1 : len(loc)-1]
}

// Deleting an account applies each one-to-many relationship's
// CascadeConfiguration.Delete (powerapps-docs developer/data-platform/
// configure-entity-relationship-cascading-behavior.md; the settings are those
// of reference/entities/account.md and contact.md): contact_customer_accounts,
// Account_Tasks and Account_Annotation cascade, account_parent_account and
// account_primary_contact remove the link on the survivors, a custom lookup
// removes the link by default. Change tracking sees every step.
func TestDeleteCascadesAndRemovesLinks(t *testing.T) {
	_, e := small(t)
	parent := created(t, e, "accounts", map[string]any{"name": "Parent"})
	bind := "/accounts(" + parent + ")"
	child := created(t, e, "accounts", map[string]any{"name": "Child", "parentaccountid@odata.bind": bind})
	contact := created(t, e, "contacts", map[string]any{"lastname": "Of parent", "parentcustomerid_account@odata.bind": bind})
	other := created(t, e, "accounts", map[string]any{"name": "Points at the contact", "primarycontactid@odata.bind": "/contacts(" + contact + ")"})
	task := created(t, e, "tasks", map[string]any{"subject": "Call", "regardingobjectid_account_task@odata.bind": bind})
	contactTask := created(t, e, "tasks", map[string]any{"subject": "Call the contact", "regardingobjectid_contact_task@odata.bind": "/contacts(" + contact + ")"})
	note := created(t, e, "annotations", map[string]any{"subject": "Note", "objectid_account@odata.bind": bind})
	project := created(t, e, "cr1_projects", map[string]any{"cr1_name": "P", "cr1_accountid@odata.bind": bind})
	accDelta, conDelta, taskDelta := trackedDelta(t, e, "accounts"), trackedDelta(t, e, "contacts"), trackedDelta(t, e, "tasks")
	before, _ := e.Get("account", child)

	want(t, call(t, e, "DELETE", "accounts("+parent+")", nil), 204)

	for _, gone := range [][2]string{{"account", parent}, {"contact", contact}, {"task", task}, {"task", contactTask}, {"annotation", note}} {
		if _, ok := e.Get(gone[0], gone[1]); ok {
			t.Errorf("%s %s survived the cascade", gone[0], gone[1])
		}
	}
	after, ok := e.Get("account", child)
	if !ok || after["parentaccountid"] != nil || after["@version"].(int64) <= before["@version"].(int64) {
		t.Errorf("child account after RemoveLink: %v (version before %v)", after, before["@version"])
	}
	if row, ok := e.Get("account", other); !ok || row["primarycontactid"] != nil {
		t.Errorf("account_primary_contact not unlinked when the contact was cascade-deleted: %v", row)
	}
	if row, ok := e.Get("cr1_project", project); !ok || row["cr1_accountid"] != nil {
		t.Errorf("custom lookup (default RemoveLink): %v", row)
	}
	changed, deleted := deltaOf(t, e, accDelta, "accountid")
	if !deleted[parent] || changed[child] == nil || changed[child]["_parentaccountid_value"] != nil || changed[other] == nil {
		t.Errorf("account delta: changed %v deleted %v", changed, deleted)
	}
	if _, deleted := deltaOf(t, e, conDelta, "contactid"); !deleted[contact] {
		t.Errorf("contact delta misses the cascaded delete: %v", deleted)
	}
	if _, deleted := deltaOf(t, e, taskDelta, "activityid"); !deleted[task] || !deleted[contactTask] {
		t.Errorf("task delta misses the cascaded deletes: %v", deleted)
	}
}

// A Restrict relationship refuses the delete with CannotDeleteDueToAssociation
// (0x80040227, developer/data-platform/includes/data-service-error-codes.md):
// invoice_customer_accounts directly, opportunity_sales_orders through the
// opportunity the account's delete would cascade to (ce/developer/entities/
// account.md, opportunity.md). Nothing changes.
func TestDeleteRestricted(t *testing.T) {
	_, e := small(t)
	acc := created(t, e, "accounts", map[string]any{"name": "Invoiced"})
	inv := created(t, e, "invoices", map[string]any{"name": "INV-1", "customerid_account@odata.bind": "/accounts(" + acc + ")"})
	r := call(t, e, "DELETE", "accounts("+acc+")", nil)
	if r.status != 400 || r.errCode() != codeRestrictedDelete || r.errMsg() != "The object you tried to delete is associated with another object and cannot be deleted." {
		t.Fatalf("restricted delete: %d %s", r.status, r.raw)
	}
	if _, ok := e.Get("account", acc); !ok {
		t.Fatal("the account was deleted")
	}
	// Without the invoice the account goes.
	want(t, call(t, e, "DELETE", "invoices("+inv+")", nil), 204)
	want(t, call(t, e, "DELETE", "accounts("+acc+")", nil), 204)

	acc = created(t, e, "accounts", map[string]any{"name": "Has an ordered deal"})
	opp := created(t, e, "opportunities", map[string]any{"name": "Deal", "customerid_account@odata.bind": "/accounts(" + acc + ")"})
	buyer := created(t, e, "accounts", map[string]any{"name": "Buyer"})
	created(t, e, "salesorders", map[string]any{"name": "SO", "customerid_account@odata.bind": "/accounts(" + buyer + ")", "opportunityid@odata.bind": "/opportunities(" + opp + ")"})
	v := e.Version()
	if r := call(t, e, "DELETE", "accounts("+acc+")", nil); r.status != 400 || r.errCode() != codeRestrictedDelete {
		t.Fatalf("delete restricted through a cascade: %d %s", r.status, r.raw)
	}
	if _, ok := e.Get("opportunity", opp); !ok || e.Version() != v {
		t.Fatalf("a refused delete changed the organization (opportunity kept %v, version %d -> %d)", ok, v, e.Version())
	}
	if err := e.Delete("account", acc); err == nil || !strings.Contains(err.Error(), codeRestrictedDelete) {
		t.Fatalf("Env.Delete ignores Restrict: %v", err)
	}
}

// A cascading delete in a change set is undone whole when the change set fails.
func TestDeleteCascadeRollsBackInChangeSet(t *testing.T) {
	_, e := small(t)
	acc := created(t, e, "accounts", map[string]any{"name": "Parent"})
	child := created(t, e, "accounts", map[string]any{"name": "Child", "parentaccountid@odata.bind": "/accounts(" + acc + ")"})
	con := created(t, e, "contacts", map[string]any{"lastname": "C", "parentcustomerid_account@odata.bind": "/accounts(" + acc + ")"})
	body, ct := batchBody(e, []string{
		"DELETE /api/data/v9.2/accounts(" + acc + ") HTTP/1.1\r\n\r\n",
		post("accounts", `{"name":"bad","nosuchcolumn":1}`),
	})
	// Without continue-on-error the batch stops at the failure and answers its
	// status (execute-batch-operations-using-web-api.md, "Handling errors").
	want(t, call(t, e, "POST", "$batch", body, "Content-Type", ct), 400)
	row, ok := e.Get("account", child)
	if _, okc := e.Get("contact", con); !okc || !ok || row["parentaccountid"] != (Ref{"account", acc}) {
		t.Fatalf("rolled back change set left contact=%v child=%v", okc, row)
	}
}

// OneToManyRelationships and ManyToOneRelationships carry each
// relationship's CascadeConfiguration (OneToManyRelationshipMetadata).
func TestRelationshipMetadataCascade(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "EntityDefinitions(LogicalName='account')/OneToManyRelationships", nil)
	want(t, r, 200)
	got := map[string]string{}
	for _, v := range r.values() {
		m := v.(map[string]any)
		got[m["SchemaName"].(string)] = m["CascadeConfiguration"].(map[string]any)["Delete"].(string)
	}
	for name, del := range map[string]string{"contact_customer_accounts": "Cascade", "account_parent_account": "RemoveLink", "account_master_account": "RemoveLink",
		"Account_Tasks": "Cascade", "Account_Annotation": "Cascade", "Account_Emails": "Cascade", "invoice_customer_accounts": "Restrict",
		"account_activity_parties": "NoCascade", "account_cr1_project_cr1_accountid": DefaultDeleteCascade} {
		if got[name] != del {
			t.Errorf("%s: Delete %q, want %q", name, got[name], del)
		}
	}
	r = call(t, e, "GET", "EntityDefinitions(LogicalName='contact')/ManyToOneRelationships?$select=SchemaName,ReferencingEntityNavigationPropertyName,CascadeConfiguration", nil)
	if !strings.Contains(string(r.raw), `"parentcustomerid_account"`) || !strings.Contains(string(r.raw), `"contact_customer_contacts"`) {
		t.Fatalf("contact N:1: %s", r.raw)
	}
}

// DeleteEffects predicts a delete without making it.
func TestDeleteEffects(t *testing.T) {
	_, e := small(t)
	acc := created(t, e, "accounts", map[string]any{"name": "Parent"})
	child := created(t, e, "accounts", map[string]any{"name": "Child", "parentaccountid@odata.bind": "/accounts(" + acc + ")"})
	con := created(t, e, "contacts", map[string]any{"lastname": "C", "parentcustomerid_account@odata.bind": "/accounts(" + acc + ")"})
	v := e.Version()
	deleted, changed, restricted := e.DeleteEffects("account", acc)
	if e.Version() != v || len(deleted) != 2 || deleted[0] != "account/"+acc || deleted[1] != "contact/"+con ||
		len(changed) != 1 || changed[0] != "account/"+child || restricted != "" {
		t.Fatalf("effects: deleted %v changed %v restricted %q", deleted, changed, restricted)
	}
	created(t, e, "invoices", map[string]any{"name": "I", "customerid_account@odata.bind": "/accounts(" + acc + ")"})
	if _, _, restricted := e.DeleteEffects("account", acc); restricted != "invoice_customer_accounts" {
		t.Fatalf("restricted by %q", restricted)
	}
}
