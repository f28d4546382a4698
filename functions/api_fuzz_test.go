package functions

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
)

// FuzzDecodeRequest feeds arbitrary bodies to the API's strict decoder for
// every request type the API decodes, then to the validation that follows
// it (restore.Request.Normalize, connections.Policy.Validate). Decoding
// must never panic, and every refusal must be an API error of status 4xx
// (a problem body), never an unclassified error that would answer 500.
// The committed corpus is testdata/fuzz/FuzzDecodeRequest.
func FuzzDecodeRequest(f *testing.F) {
	for _, s := range []string{
		`{"name":"x","kind":"appProfile","tenantId":"00000000-0000-0000-0000-000000000001","identities":[{"mode":"clientSecret","clientId":"00000000-0000-0000-0000-000000000002","clientSecret":"s"}],"environmentUrls":["https://contoso.crm.dynamics.com"]}`,
		`{"environment":"e1","run":"r1","scope":{"tables":["account"],"records":{"account":["00000000-0000-0000-0000-000000000001"]},"filter":{"account":[{"column":"name","op":"eq","value":"A"}]},"deleted":true},"policy":"overwrite","proceedIfDamaged":true}`,
		`{"enabled":true,"schedule":"0 0 */6 * * *","includeTables":[],"excludeTables":["email"],"incremental":true,"fullEveryDays":7,"retentionDays":30,"retentionCount":10}`,
		`{"identityId":"id1","password":"x"}`,
		`{"name":1}`, `{"name":"x","colour":"red"}`, `{} {}`, `[`, ``, `null`, `"\u0000"`, `{"scope":{"records":{"../x":["1"]}}}`,
		`{"environmentUrls":["https://169.254.169.254/"]}`, `{"name":"x\r\nX-Evil: 1"}`,
	} {
		f.Add([]byte(s), "application/json")
	}
	f.Add([]byte(`a=b`), "application/x-www-form-urlencoded")
	f.Add([]byte(`{}`), "application/json; charset=\x00")
	f.Fuzz(func(t *testing.T, body []byte, ctype string) {
		targets := []func() any{
			func() any { return &connections.NewConnection{} },
			func() any { return &connections.NewIdentity{} },
			func() any { return &connections.Policy{} },
			func() any { return &rotateRequest{} },
			func() any { return &moveRequest{} },
			func() any { return &addEnvironmentsRequest{} },
			func() any { return &discoverRequest{} },
			func() any { return &restore.Request{} },
		}
		for _, mk := range targets {
			v := mk()
			r := httptest.NewRequest(http.MethodPost, "/api/x", strings.NewReader(string(body)))
			if ctype != "" {
				r.Header.Set("Content-Type", ctype)
			}
			w := httptest.NewRecorder()
			err := decode(w, r, v)
			if err != nil {
				var ae *apiError
				if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 {
					t.Fatalf("decode into %T: %v is not a 4xx API error", v, err)
				}
				continue
			}
			switch x := v.(type) {
			case *restore.Request:
				_ = x.Normalize()
			case *connections.Policy:
				_ = x.Validate()
			}
		}
	})
}

// FuzzRestoreRequest feeds arbitrary bodies to POST /api/restores' decoding
// and checks, in the API's order: the strict decoder, restore.Request's
// Normalize, then the scope check against a run (account backed up with
// known columns, contact skipped). Nothing may panic; a refusal is a 4xx
// API error or a restore.ValidationError naming fields; a request that
// passes names only valid logical names, lower-case GUIDs and a known
// policy, normalizes to itself a second time, and its scope check reports
// exactly the tables the run does not hold and the account columns it did
// not have. Seeds: the requests of requests.http and edge cases below.
func FuzzRestoreRequest(f *testing.F) {
	for _, s := range []string{
		`{"environment":"e1"}`,
		`{"environment":"e1","run":"20260101T000000.000000Z-0000000a","scope":{"deleted":true},"dryRun":true}`,
		`{"environment":"e1","scope":{"tables":["account","contact"],"deleted":true}}`,
		`{"environment":"e1","scope":{"records":{"account":["{00000000-0000-0000-0000-00000000000A}"]}},"policy":"overwrite"}`,
		`{"environment":"e1","scope":{"filter":{"account":[{"column":"name","op":"eq","value":"A"}]},"fields":{"account":["name","telephone1"]}},"policy":"if-unchanged-since-backup"}`,
		`{"environment":"e1","target":"e2","scope":{"tables":["account"],"related":{"depth":1,"lookups":true}},"policy":"restore-as-new","options":{"suppressFlows":true,"owner":false}}`,
		`{"environment":"e1","mapping":{"systemuser":{"00000000-0000-0000-0000-000000000001":"00000000-0000-0000-0000-000000000002"}}}`,
		`{"environment":"e1","scope":{"tables":["lead"],"fields":{"account":["nosuch"],"contact":["fullname"]}}}`,
		`{"environment":"e1","scope":{"records":{"":[""]},"filter":{"x":[{"column":"","op":""}]}}}`,
		`{"environment":"e1","scope":{"tables":["a\u0000"],"fields":{"account":["name\r\n"]}}}`,
		`{"environment":"e1","scope":{"related":{"depth":-1}},"policy":"restore-as-new","scope":{"fields":{"account":["name"]}}}`,
		`{"environment":"\ud800","run":"../x","target":"a/b"}`,
		`{"environment":"e1","proceedIfDamaged":true,"options":{"keepCreatedOn":null}}`,
		`{"environment":"e1","scope":null}`, `{"environment":"e1","scope":[]}`, `{"scope":{}}`, `null`, `[]`, `{`, ``,
	} {
		f.Add([]byte(s))
	}
	m := &backupformat.Manifest{Environment: "e1", Run: "20260101T000000.000000Z-0000000a", Tables: []backupformat.TableManifest{
		{Name: "account", Status: backupformat.TableDone, Chain: []string{"20260101T000000.000000Z-0000000a"}},
		{Name: "contact", Status: "skipped", Reason: "virtual table"},
	}}
	accountCols := map[string]bool{"accountid": true, "name": true, "telephone1": true, "websiteurl": true}
	columns := func(t string) (map[string]bool, bool, error) {
		if t == "account" {
			return accountCols, true, nil
		}
		return nil, false, nil
	}
	guidRe := regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)
	nameRe := regexp.MustCompile(`^[a-z][a-z0-9_]{0,99}$`)
	f.Fuzz(func(t *testing.T, body []byte) {
		var req restore.Request
		r := httptest.NewRequest(http.MethodPost, "/api/restores", bytes.NewReader(body))
		r.Header.Set("Content-Type", "application/json")
		if err := decode(httptest.NewRecorder(), r, &req); err != nil {
			var ae *apiError
			if !errors.As(err, &ae) || ae.Status < 400 || ae.Status >= 500 || ae.Detail == "" {
				t.Fatalf("decode: %v is not a 4xx API error with a detail", err)
			}
			return
		}
		if err := req.Normalize(); err != nil {
			var ve *restore.ValidationError
			if !errors.As(err, &ve) || len(ve.Errors) == 0 {
				t.Fatalf("Normalize: %v is not a ValidationError naming fields", err)
			}
			if ae, ok := restoreError(err, "").(*apiError); !ok || ae.Status != http.StatusBadRequest || len(ae.Errors) != len(ve.Errors) {
				t.Fatalf("the API answers a ValidationError as %v", restoreError(err, ""))
			}
			return
		}
		if req.Target == "" || !req.Policy.Valid() {
			t.Fatalf("normalized request without target or a valid policy: %+v", req)
		}
		// Normalize checks the names of scope.tables and scope.records; the
		// keys of scope.filter and scope.fields are the API's to check.
		for _, n := range slices.Concat(req.Scope.Tables, keys(req.Scope.Records)) {
			if !nameRe.MatchString(n) {
				t.Fatalf("table %q passed Normalize", n)
			}
		}
		named := slices.Concat(req.Scope.Tables, keys(req.Scope.Records), keys(req.Scope.Filter), keys(req.Scope.Fields))
		for tb, ids := range req.Scope.Records {
			for _, id := range ids {
				if !guidRe.MatchString(id) {
					t.Fatalf("record id %q of %s passed Normalize", id, tb)
				}
			}
		}
		once, _ := json.Marshal(req)
		if err := req.Normalize(); err != nil {
			t.Fatalf("a normalized request is refused the second time: %v", err)
		}
		if twice, _ := json.Marshal(req); !bytes.Equal(once, twice) {
			t.Fatalf("Normalize is not idempotent:\n%s\n%s", once, twice)
		}
		errs, err := scopeErrors(m, req.Scope, columns)
		if err != nil {
			t.Fatal(err)
		}
		reported := map[string]bool{}
		for _, e := range errs {
			if e.Field == "" || e.Message == "" {
				t.Fatalf("scope error without field or message: %+v", e)
			}
			reported[e.Field] = true
		}
		bad := 0
		for _, n := range named {
			if n != "account" {
				bad++
			}
		}
		for tb, cols := range req.Scope.Fields {
			for i, c := range cols {
				field := fmt.Sprintf("scope.fields.%s[%d]", tb, i)
				if want := tb == "account" && !accountCols[c]; want != reported[field] {
					t.Fatalf("column %s of %s: reported %v, want %v (%+v)", c, tb, reported[field], want, errs)
				}
			}
		}
		if bad > 0 && len(errs) == 0 {
			t.Fatalf("%d table(s) not in the run, %d scope error(s): %+v", bad, len(errs), errs)
		}
		for _, e := range errs {
			if strings.HasPrefix(e.Field, "scope.fields.account[") {
				continue
			}
			if strings.Contains(e.Message, "table account ") {
				t.Fatalf("account (in the run) reported: %+v", e)
			}
		}
		for _, n := range keys(req.Scope.Filter) {
			if !nameRe.MatchString(n) && !slices.ContainsFunc(errs, func(e fieldError) bool {
				return e.Field == "scope.filter."+n && strings.Contains(e.Message, "not a table logical name")
			}) && !slices.ContainsFunc(errs, func(e fieldError) bool { return strings.Contains(e.Message, fmt.Sprintf("%q is not a table", n)) }) {
				t.Fatalf("filter table %q not reported as an invalid name: %+v", n, errs)
			}
		}
	})
}
