package dataversesim

import (
	"regexp"
	"testing"
)

// Date-only columns are Edm.Date: read as yyyy-MM-dd, and a value with a
// time part is refused on write (powerapps-docs,
// developer/data-platform/behavior-format-date-time-attribute.md).
func TestDateOnlyColumnIsEdmDate(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "contacts?$select=birthdate&$filter=birthdate ne null&$top=1", nil)
	want(t, r, 200)
	v := r.values()
	if len(v) == 0 {
		t.Fatal("no contact with a birthdate")
	}
	bd, _ := v[0].(map[string]any)["birthdate"].(string)
	if !regexp.MustCompile(`^\d{4}-\d{2}-\d{2}$`).MatchString(bd) {
		t.Fatalf("birthdate %q is not an Edm.Date", bd)
	}
	r = call(t, e, "POST", "contacts", map[string]any{"lastname": "Date", "birthdate": "1990-05-17T10:00:00Z"})
	if r.status != 400 || !regexp.MustCompile(`Edm\.Date`).MatchString(r.errMsg()) {
		t.Fatalf("a date-time for a date-only column: %d %s", r.status, r.raw)
	}
	r = call(t, e, "POST", "contacts", map[string]any{"lastname": "Date", "birthdate": "1990-05-17"}, "Prefer", "return=representation")
	want(t, r, 201)
	if r.body["birthdate"] != "1990-05-17" {
		t.Fatalf("birthdate read back as %v", r.body["birthdate"])
	}
}

// revenue_base is computed from revenue and the currency's exchange rate and
// cannot be set (account.md lists it read-only).
func TestMoneyBaseComputedFromExchangeRate(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "GET", "transactioncurrencies?$select=transactioncurrencyid&$filter=isocurrencycode eq 'EUR'", nil)
	want(t, r, 200)
	eur := r.values()[0].(map[string]any)["transactioncurrencyid"].(string)
	r = call(t, e, "POST", "accounts", map[string]any{"name": "Base", "revenue": 1000, "revenue_base": 5,
		"transactioncurrencyid@odata.bind": "/transactioncurrencies(" + eur + ")"}, "Prefer", "return=representation")
	want(t, r, 201)
	if r.body["revenue_base"] != 1250.0 || r.body["exchangerate"] != 0.8 {
		t.Fatalf("revenue_base %v exchangerate %v, want 1250 and 0.8", r.body["revenue_base"], r.body["exchangerate"])
	}
	id := r.body["accountid"].(string)
	want(t, call(t, e, "PATCH", "accounts("+id+")", map[string]any{"revenue": 2000}), 204)
	r = call(t, e, "GET", "accounts("+id+")?$select=revenue_base", nil)
	if r.body["revenue_base"] != 2500.0 {
		t.Fatalf("revenue_base after update %v, want 2500", r.body["revenue_base"])
	}
}

// An auto-number column gets a value on create when none is given
// (powerapps-docs, developer/data-platform/create-auto-number-attributes.md),
// and keeps a value that is given.
func TestAutoNumberColumn(t *testing.T) {
	_, e := small(t)
	r := call(t, e, "POST", "cr1_projects", map[string]any{"cr1_name": "Auto"}, "Prefer", "return=representation")
	want(t, r, 201)
	code, _ := r.body["cr1_code"].(string)
	if !regexp.MustCompile(`^PRJ-\d{6}$`).MatchString(code) {
		t.Fatalf("cr1_code %q", code)
	}
	r2 := call(t, e, "POST", "cr1_projects", map[string]any{"cr1_name": "Auto2"}, "Prefer", "return=representation")
	if r2.body["cr1_code"] == code {
		t.Fatal("two creates got the same auto number")
	}
	r = call(t, e, "POST", "cr1_projects", map[string]any{"cr1_name": "Given", "cr1_code": "PRJ-OLD-1"}, "Prefer", "return=representation")
	if r.body["cr1_code"] != "PRJ-OLD-1" {
		t.Fatalf("a given auto number was replaced: %v", r.body["cr1_code"])
	}
}
