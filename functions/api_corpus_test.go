package functions

import (
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
)

// badCase is one request the API must refuse.
type badCase struct {
	category     string
	method, path string
	body         any
	ctype        string // Content-Type when not application/json
	want         int
	// field, when set, must be named in the problem's errors; detail, when
	// set, must be in its detail (the reason and what to fix).
	field, detail string
}

// internalText matches what a problem detail must not carry: package and
// store names, storage error codes, loopback addresses and ports, Go type
// names, SDK dumps, stack traces.
var internalText = regexp.MustCompile(`backupformat:|blobstore|tablestore|BlobNotFound|ResourceNotFound|ContainerNotFound|` +
	`127\.0\.0\.1:\d|localhost:\d|\[::1\]|Go (value|struct)|json: |\*[a-z]+\.[A-Z][A-Za-z]+|RESPONSE \d|ERROR CODE|goroutine|panic|runtime error|` +
	`environments env/|connections conn/|restorejobs|backups/env/`)

// TestAPIBadInputCorpus sends every kind of bad input to every route that
// takes input and asserts, for each: the status, a problem+json body with
// status, title and a detail that says what is wrong without internal text
// (and names the field when there is one), no injected header. Afterwards
// nothing was written: the entity counts of every product table, the blobs
// of every container, the secret store's files and the messages sent are
// as before. The set-up is one connection (demo organization) with a
// finished backup run, so names can be checked against a real run.
func TestAPIBadInputCorpus(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	reg := f.connect()
	connID, envID := reg.conn, reg.env
	f.limitTables(envID, "account", "contact")
	run := f.backUp(envID, nil)["id"].(string)
	runPath := "/api/backups/" + envID + "/" + run
	st, added, _ := f.do("POST", "/api/connections/"+connID+"/environments", map[string]any{"urls": []string{"https://" + f.deadHost}}, admin())
	if st != http.StatusCreated {
		t.Fatalf("register the unreachable environment: %d %v", st, added)
	}
	deadID := added["environments"].([]any)[0].(map[string]any)["id"].(string)

	cases := corpus(envID, connID, run, runPath, f.sim.Demo().URL(), deadID)
	if len(cases) < 150 {
		t.Errorf("the corpus holds %d cases, want at least 150", len(cases))
	}
	before := f.written()
	sentBefore := f.sentCount()
	byCategory := map[string]int{}
	hdr := map[string]string{principalHeader: principal("root", RoleAdmin, RoleOperator, RoleRestore)}
	for _, c := range cases {
		byCategory[c.category]++
		h := map[string]string{}
		for k, v := range hdr {
			h[k] = v
		}
		if c.ctype != "" {
			h["Content-Type"] = c.ctype
		}
		st, p, rh := f.do(c.method, c.path, c.body, h)
		name := fmt.Sprintf("[%s] %s %s %s", c.category, c.method, c.path, shorten(c.body))
		detail, _ := p["detail"].(string)
		switch {
		case st != c.want:
			t.Errorf("%s: %d, want %d (%v)", name, st, c.want, p)
			continue
		case p["status"] != float64(c.want) || p["title"] == nil || detail == "":
			t.Errorf("%s: problem body lacks status, title or detail: %v", name, p)
		case internalText.MatchString(strings.ReplaceAll(detail, f.deadHost, "<the URL given>")): // a URL the admin typed may be echoed
			t.Errorf("%s: detail carries internal text: %q", name, detail)
		case c.detail != "" && !strings.Contains(detail, c.detail):
			t.Errorf("%s: detail %q does not say %q", name, detail, c.detail)
		}
		if c.field != "" && !namesField(p, c.field) {
			t.Errorf("%s: errors %v do not name %s", name, p["errors"], c.field)
		}
		if rh.Get("X-Evil") != "" {
			t.Errorf("%s: header injected", name)
		}
	}
	if after := f.written(); after != before {
		t.Errorf("bad input wrote:\nbefore %s\nafter  %s", before, after)
	}
	if n := f.sentCount(); n != sentBefore {
		t.Errorf("bad input sent %d message(s)", n-sentBefore)
	}
	t.Logf("%d cases: %v", len(cases), byCategory)
}

func shorten(body any) string {
	s, ok := body.(string)
	if !ok {
		if body == nil {
			return ""
		}
		s = fmt.Sprint(body)
	}
	if len(s) > 80 {
		return s[:80] + "..."
	}
	return s
}

func namesField(p map[string]any, field string) bool {
	errs, _ := p["errors"].([]any)
	for _, e := range errs {
		// A field named more precisely (scope.fields.account[0] for
		// scope.fields.account) names it too.
		if m, _ := e.(map[string]any); m != nil && (m["field"] == field || strings.HasPrefix(fmt.Sprint(m["field"]), field+"[")) {
			return true
		}
	}
	return false
}

// written sums up what the product has stored: entities per table (the
// audit log aside: refusals are audited by design), blobs per container,
// files of the local secret store.
func (f *apiFixture) written() string {
	f.t.Helper()
	ctx := context.Background()
	counts := tableCounts(f.t, f.tables)
	blobs := map[string]int{}
	pager := f.storage.Blob.NewListContainersPager(nil)
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			f.t.Fatal(err)
		}
		for _, c := range page.ContainerItems {
			bp := f.storage.Blob.NewListBlobsFlatPager(*c.Name, nil)
			for bp.More() {
				bpage, err := bp.NextPage(ctx)
				if err != nil {
					f.t.Fatal(err)
				}
				blobs[*c.Name] += len(bpage.Segment.BlobItems)
			}
		}
	}
	var secrets []string
	_ = filepath.WalkDir(f.secretsDir, func(p string, d os.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			info, _ := d.Info()
			secrets = append(secrets, fmt.Sprintf("%s:%d", d.Name(), info.Size()))
		}
		return nil
	})
	return fmt.Sprintf("tables %v blobs %v secrets %v", sorted(counts), sorted(blobs), secrets)
}

func sorted(m map[string]int) string {
	var out []string
	for _, k := range keys(m) {
		out = append(out, fmt.Sprintf("%s=%d", k, m[k]))
	}
	return strings.Join(out, " ")
}

func (f *apiFixture) sentCount() int {
	n := 0
	for _, q := range []string{messaging.QueueScan, messaging.QueueExtract, messaging.QueueFiles, messaging.QueueRestore} {
		n += len(f.sender.Sent(q))
	}
	return n
}

// corpus lists the bad requests, by category.
func corpus(envID, connID, run, runPath, envURL, deadID string) []badCase {
	var cs []badCase
	add := func(category string, more ...badCase) {
		for _, c := range more {
			c.category = category
			cs = append(cs, c)
		}
	}
	huge := func(field string) string { return `{"` + field + `":"` + strings.Repeat("a", MaxBodyBytes) + `"}` }
	unknownGUID := "00000000-0000-0000-0000-0000000000ff"
	app := `{"mode":"clientSecret","clientId":"11111111-1111-1111-1111-111111111111","clientSecret":"s"}`
	conn := func(name string) string {
		return `{"name":` + name + `,"kind":"appProfile","tenantId":"00000000-0000-0000-0000-000000000001","identities":[` + app + `]}`
	}
	restoreOf := func(extra string) string { return `{"environment":"` + envID + `"` + extra + `}` }

	// Bodies: wrong types, unknown fields, malformed, empty, two values,
	// not JSON, too large, on every route that takes a body.
	for _, r := range []struct{ method, path, field, good string }{
		{"POST", "/api/connections", "name", conn(`"x"`)},
		{"POST", "/api/connections/" + connID + "/identities", "clientId", app},
		{"POST", "/api/connections/" + connID + "/rotate", "identityId", `{"identityId":"id1","clientSecret":"s"}`},
		{"POST", "/api/connections/" + connID + "/move", "environmentIds", `{"environmentIds":[]}`},
		{"POST", "/api/connections/" + connID + "/environments", "urls", `{"urls":[]}`},
		{"POST", "/api/environments/discover", "connectionId", `{"connectionId":"` + connID + `"}`},
		{"PUT", "/api/environments/" + envID + "/policy", "schedule", `{"enabled":true,"retentionDays":7}`},
		{"POST", "/api/restores", "environment", restoreOf("")},
	} {
		add("body", badCase{method: r.method, path: r.path, body: `{"` + r.field + `":42.5e300}`, want: 400, field: r.field},
			badCase{method: r.method, path: r.path, body: strings.TrimSuffix(r.good, "}") + `,"colour":"red"}`, want: 400, field: "colour"},
			badCase{method: r.method, path: r.path, body: r.good[:len(r.good)/2], want: 400, detail: "JSON"},
			badCase{method: r.method, path: r.path, body: r.good + "{}", want: 400, detail: "more than one JSON value"},
			badCase{method: r.method, path: r.path, body: "", want: 400, detail: "empty"},
			badCase{method: r.method, path: r.path, body: "[]", want: 400},
			badCase{method: r.method, path: r.path, body: "a=b", ctype: "application/x-www-form-urlencoded", want: 415, detail: "application/json"},
			badCase{method: r.method, path: r.path, body: huge(r.field), want: 413, detail: "262144"})
	}

	// Names with characters that are not text: refused, not stored.
	for _, s := range []string{`"x\u0000y"`, `"Contoso\u202e\nmoc.live"`, `"x\ud800y"`, `"x\udfff"`, `"\ud83d"`, `"bell\u0007"`,
		`"esc\u001b[31mred"`, `"x\r\nX-Evil: 1"`, `"tab\there"`, `"ne\u0085l"`, `"del\u007f"`, `"iso\u2066late"`, `"rlm\u200f"`} {
		add("name characters", badCase{method: "POST", path: "/api/connections", body: conn(s), want: 400, field: "name"})
	}
	for _, s := range []string{`"backup\u0000@contoso.com"`, `"backup\u202e@contoso.com"`, `"backup\ud800@contoso.com"`} {
		add("name characters", badCase{method: "POST", path: "/api/connections", body: `{"name":"sa","kind":"serviceAccount","tenantId":"00000000-0000-0000-0000-000000000001",` +
			`"identities":[{"mode":"serviceAccount","username":` + s + `,"password":"p"}]}`, want: 400, field: "identities[0].username"})
	}

	// Paths: dot and empty segments are refused as such (never a redirect).
	for _, p := range []string{"/api/backups/" + envID + "/..", "/api/backups/../../x", "/api/connections/./" + connID, "/api/environments/%2e%2e/policy",
		"/api//connections", "/api/restores/.", "/api/restores/x/../..", runPath + "/tables/../../..", "/api/audit/..", "/api/../api/health"} {
		add("path", badCase{method: "GET", path: p, want: 400, detail: "segment"})
	}
	// Encoded slashes stay in one segment: the id is refused.
	add("path",
		badCase{method: "GET", path: "/api/restores/..%2f..%2fetc", want: 400, field: "id"},
		badCase{method: "GET", path: "/api/restores/export/" + envID + "/..%2f..%2fx/account", want: 400},
		badCase{method: "POST", path: "/api/backups/..%2f..%2fx", want: 404, detail: "does not exist"},
		badCase{method: "GET", path: "/api/backups/" + envID + "/..%2f..%2fx", want: 404, detail: "GET /api/backups/"},
		badCase{method: "GET", path: runPath + "/tables/..%2fx/records", want: 400, field: "table"},
		badCase{method: "DELETE", path: "/api/connections/" + connID + "/identities/..%2fid1", want: 404},
		badCase{method: "GET", path: "/api/connections/" + connID + "%00", want: 404})

	// Ids and names that name nothing.
	add("unknown id",
		badCase{method: "GET", path: "/api/connections/" + unknownGUID, want: 404, detail: "does not exist"},
		badCase{method: "GET", path: "/api/connections/not-a-guid", want: 404, detail: "does not exist"},
		badCase{method: "DELETE", path: "/api/connections/" + unknownGUID, want: 404, detail: "does not exist"},
		badCase{method: "POST", path: "/api/connections/" + unknownGUID + "/validate", want: 404},
		badCase{method: "POST", path: "/api/connections/" + unknownGUID + "/rotate", body: `{"identityId":"id1","clientSecret":"s"}`, want: 404},
		badCase{method: "POST", path: "/api/connections/" + connID + "/rotate", body: `{"identityId":"id9","clientSecret":"s"}`, want: 404, detail: "id9"},
		badCase{method: "POST", path: "/api/connections/" + connID + "/rotate", body: `{"identityId":"../id1","clientSecret":"x"}`, want: 404},
		badCase{method: "DELETE", path: "/api/connections/" + connID + "/identities/id9", want: 404},
		badCase{method: "POST", path: "/api/connections/" + unknownGUID + "/environments", body: `{"urls":["` + envURL + `"]}`, want: 404, detail: "does not exist"},
		badCase{method: "GET", path: "/api/environments/" + unknownGUID, want: 404, detail: "does not exist"},
		badCase{method: "GET", path: "/api/environments/x", want: 404},
		badCase{method: "PUT", path: "/api/environments/not-a-guid/policy", body: `{"enabled":true,"retentionDays":7}`, want: 404},
		badCase{method: "POST", path: "/api/environments/discover", body: `{"connectionId":"../x"}`, want: 404},
		badCase{method: "POST", path: "/api/environments/discover", body: `{"connectionId":"` + unknownGUID + `"}`, want: 404},
		badCase{method: "POST", path: "/api/environments/discover", body: `{}`, want: 400, field: "connectionId"},
		badCase{method: "POST", path: "/api/backups/" + unknownGUID, want: 404, detail: "does not exist"},
		badCase{method: "GET", path: "/api/backups/" + unknownGUID, want: 404},
		badCase{method: "GET", path: "/api/backups/" + envID + "/20990101T000000Z-deadbeef", want: 404, detail: "has no run"},
		badCase{method: "POST", path: "/api/backups/" + envID + "/20990101T000000Z-deadbeef/cancel", want: 404},
		badCase{method: "POST", path: "/api/backups/" + envID + "/20990101T000000Z-deadbeef/verify", want: 404},
		badCase{method: "GET", path: "/api/backups/" + envID + "/20990101T000000Z-deadbeef/tables", want: 404},
		badCase{method: "GET", path: "/api/backups/" + envID + "/20990101T000000Z-deadbeef/tables/..%2fx/records", want: 404},
		badCase{method: "GET", path: "/api/backups/" + envID + "/20990101T000000Z-deadbeef/tables/account/records/not-a-guid", want: 404},
		badCase{method: "GET", path: "/api/restores/r20990101T000000-deadbeef", want: 404, detail: "GET /api/restores"},
		badCase{method: "POST", path: "/api/restores/r20990101T000000-deadbeef/cancel", want: 404},
		badCase{method: "GET", path: "/api/restores/r20990101T000000-deadbeef/report.csv", want: 404},
		badCase{method: "GET", path: "/api/restores/r20990101T000000-deadbeef/report.json", want: 404},
		badCase{method: "GET", path: "/api/nothing/here", want: 404, detail: "openapi.json"},
		badCase{method: "PATCH", path: "/api/connections", want: 404})

	// Environments added later go through the same SSRF checks as at
	// creation (field "urls"; an unknown field is refused by name).
	for _, u := range []string{"http://contoso.crm.dynamics.com", "https://127.0.0.1", "https://[::1]:443", "https://localhost", "https://169.254.169.254/metadata/instance",
		"https://2852039166", "https://0x7f000001", "https://contoso.crm.dynamics.com.evil.example", "https://contoso.crm.dynamics.com@evil.example", "https://evil.example",
		"https://10.0.0.1", "ftp://contoso.crm.dynamics.com", "https://contoso.crm.dynamics.com:8443\r\nX-Evil: 1"} {
		add("ssrf", badCase{method: "POST", path: "/api/connections/" + connID + "/environments", body: `{"urls":[` + quote(u) + `]}`, want: 400, field: "urls[0]"})
	}
	add("ssrf", badCase{method: "POST", path: "/api/connections/" + connID + "/environments", body: `{"environmentUrls":["https://127.0.0.1"]}`, want: 400, field: "environmentUrls"},
		badCase{method: "POST", path: "/api/connections/" + connID + "/environments", body: `{"urls":"https://contoso.crm.dynamics.com"}`, want: 400, field: "urls"},
		badCase{method: "POST", path: "/api/connections/" + connID + "/environments", body: `{"urls":[]}`, want: 400, field: "urls"})

	// Connections: values refused by the domain.
	add("connection",
		badCase{method: "POST", path: "/api/connections/" + connID + "/rotate", body: `{"identityId":"id1","clientSecret":7}`, want: 400, field: "clientSecret"},
		badCase{method: "POST", path: "/api/connections/" + connID + "/rotate", body: `{"clientSecret":"x"}`, want: 400, field: "identityId"},
		badCase{method: "POST", path: "/api/connections/" + connID + "/move", body: `{"environmentIds":["not-a-guid"],"to":"x"}`, want: 400, field: "to"},
		badCase{method: "POST", path: "/api/connections/" + connID + "/identities", body: `{"mode":"clientSecret","clientId":"not-a-guid","clientSecret":"x"}`, want: 400},
		badCase{method: "POST", path: "/api/connections/" + connID + "/identities", body: `{"mode":"telepathy"}`, want: 400, field: "identity.mode"},
		badCase{method: "POST", path: "/api/connections", body: conn(`""`), want: 400, field: "name"},
		badCase{method: "POST", path: "/api/connections/" + connID + "/identities", body: `{"mode":"certificate","clientId":"11111111-1111-1111-1111-111111111111","certificate":"<not base64>"}`, want: 400, detail: "base64"},
		badCase{method: "POST", path: "/api/connections", body: conn(`"` + strings.Repeat("n", 201) + `"`), want: 400, field: "name"},
		badCase{method: "POST", path: "/api/connections", body: `{"name":"x","kind":"other","tenantId":"t","identities":[` + app + `]}`, want: 400, field: "kind"},
		badCase{method: "POST", path: "/api/connections", body: `{"name":"x","kind":"appProfile","tenantId":"00000000-0000-0000-0000-000000000001","identities":[]}`, want: 400, field: "identities"})

	// Policies.
	pol := func(extra string) string { return `{"enabled":true,"retentionDays":7` + extra + `}` }
	add("policy",
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: `{"enabled":"yes"}`, want: 400, field: "enabled"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: pol(`,"schedule":"* * *"`), want: 400, field: "policy.schedule"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: pol(`,"schedule":"0 0 0 30 2 *"`), want: 400, field: "policy.schedule", detail: "never"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: pol(`,"schedule":"0 0 2 * * *\u0000"`), want: 400, field: "policy.schedule"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: `{"enabled":true,"retentionDays":-1}`, want: 400, field: "policy.retentionDays"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: `{"enabled":true}`, want: 400, field: "policy.retentionDays"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: pol(`,"excludeTables":["../x"]`), want: 400, field: "policy.excludeTables"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: pol(`,"includeTables":["Account"]`), want: 400, field: "policy.includeTables"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: pol(`,"fullEveryDays":367`), want: 400, field: "policy.fullEveryDays"},
		badCase{method: "PUT", path: "/api/environments/" + envID + "/policy", body: pol(`,"retentionCount":10001`), want: 400, field: "policy.retentionCount"})

	// Restores: the request, and names checked against the run.
	add("restore",
		badCase{method: "POST", path: "/api/restores", body: `{"environment":42}`, want: 400, field: "environment"},
		badCase{method: "POST", path: "/api/restores", body: `{}`, want: 400, field: "environment"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"dryRun":"yes"`), want: 400, field: "dryRun"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"tables":"account"}`), want: 400, field: "scope.tables"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"bogus":true}`), want: 400, field: "bogus"},
		badCase{method: "POST", path: "/api/restores", body: `{"environment":"../../etc/passwd"}`, want: 400, field: "environment"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"run":"../` + envID + `"`), want: 400, field: "run"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"target":"a/b"`), want: 400, field: "target"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"policy":"clobber"`), want: 400, field: "policy"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"records":{"account":["../../x"]}}`), want: 400, field: "scope.records.account[0]"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"tables":["Account;drop"]}`), want: 400, field: "scope.tables"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"fields":{"account":["name\r\nX-Evil: 1"]}}`), want: 400, field: "scope.fields.account[0]"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"filter":{"account":[{"column":"name","op":"like","value":"x"}]}}`), want: 400, field: "scope.filter.account[0].op"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"filter":{"account":[{"column":"name","op":"eq"}]}}`), want: 400, field: "scope.filter.account[0].value"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"related":{"depth":9}}`), want: 400, field: "scope.related.depth"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"policy":"restore-as-new","scope":{"fields":{"account":["name"]}}`), want: 400, field: "scope.fields"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"mapping":{"systemuser":{"x":"not-a-guid"}}`), want: 400, field: "mapping.systemuser"},
		badCase{method: "POST", path: "/api/restores", body: `{"environment":"` + unknownGUID + `"}`, want: 404, detail: "not registered"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"target":"` + unknownGUID + `"`), want: 404, detail: "not registered"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"run":"20990101T000000Z-deadbeef"`), want: 404, detail: "has no backup"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"tables":["lead"]}`), want: 400, field: "scope.tables[0]", detail: "lead is not in run"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"tables":["account","nosuchtable"]}`), want: 400, field: "scope.tables[1]", detail: "nosuchtable"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"records":{"lead":["00000000-0000-0000-0000-000000000001"]}}`), want: 400, field: "scope.records.lead"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"filter":{"lead":[{"column":"subject","op":"null"}]}}`), want: 400, field: "scope.filter.lead"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"fields":{"lead":["subject"]}}`), want: 400, field: "scope.fields.lead"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"filter":{"../x":[{"column":"name","op":"null"}]}}`), want: 400, field: "scope.filter.../x", detail: "not a table logical name"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"fields":{"":[]}}`), want: 400, field: "scope.fields.", detail: "not a table logical name"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"fields":{"account":["nosuchcolumn"]}}`), want: 400, field: "scope.fields.account[0]", detail: "no column nosuchcolumn"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"scope":{"fields":{"account":["name","telephone9"]}}`), want: 400, field: "scope.fields.account[1]", detail: "telephone9"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"run":"` + run + `","scope":{"fields":{"contact":["fullname","nosuch"]}}`), want: 400, field: "scope.fields.contact[1]"},
		badCase{method: "GET", path: "/api/restores?limit=0", want: 400, field: "limit"},
		badCase{method: "GET", path: "/api/restores?limit=x", want: 400, field: "limit"})

	// Browse, download and export of a run.
	add("browse",
		badCase{method: "GET", path: runPath + "/tables/lead/records", want: 404, detail: "lead is not in run"},
		badCase{method: "GET", path: runPath + "/tables/nosuchtable/records?prefix=a", want: 404, detail: "nosuchtable"},
		badCase{method: "GET", path: runPath + "/tables/Account/records", want: 400, field: "table"},
		badCase{method: "GET", path: runPath + "/tables/account/records?id=not-a-guid", want: 400, field: "id"},
		badCase{method: "GET", path: runPath + "/tables/account/records?id=", want: 400, field: "id"},
		badCase{method: "GET", path: runPath + "/tables/account/records?id=1%27%20or%201=1", want: 400, field: "id"},
		badCase{method: "GET", path: runPath + "/tables/account/records?nameColumn=nosuchcolumn", want: 400, field: "nameColumn", detail: "no column nosuchcolumn"},
		badCase{method: "GET", path: runPath + "/tables/account/records?nameColumn=Name", want: 400, field: "nameColumn"},
		badCase{method: "GET", path: runPath + "/tables/account/records?nameColumn=", want: 400, field: "nameColumn"},
		badCase{method: "GET", path: runPath + "/tables/account/records?limit=0", want: 400, field: "limit"},
		badCase{method: "GET", path: runPath + "/tables/account/records?limit=501", want: 400, field: "limit"},
		badCase{method: "GET", path: runPath + "/tables/account/records?limit=", want: 400, field: "limit"},
		badCase{method: "GET", path: runPath + "/tables/account/records?prefix=%00", want: 400, field: "prefix"},
		badCase{method: "GET", path: runPath + "/tables/account/records?prefix=" + strings.Repeat("p", 201), want: 400, field: "prefix"},
		badCase{method: "GET", path: runPath + "/tables/account/records/not-a-guid", want: 400, field: "recordId"},
		badCase{method: "GET", path: runPath + "/tables/lead/records/00000000-0000-0000-0000-000000000001", want: 404, detail: "lead"},
		badCase{method: "GET", path: runPath + "/tables/account/records/" + unknownGUID, want: 404, detail: "is not in table account"},
		badCase{method: "GET", path: "/api/restores/export/" + envID + "/" + run + "/lead", want: 404, detail: "lead"},
		badCase{method: "GET", path: "/api/restores/export/" + envID + "/20990101T000000Z-deadbeef/account", want: 404, detail: "has no backup"},
		badCase{method: "GET", path: "/api/restores/export/" + envID + "/" + run + "/account?format=xml", want: 400, field: "format"},
		badCase{method: "GET", path: "/api/restores/export/" + envID + "/" + run + "/Account", want: 400, field: "table"},
		badCase{method: "GET", path: "/api/audit?limit=0", want: 400, field: "limit"},
		badCase{method: "GET", path: "/api/audit?limit=1001", want: 400, field: "limit"})

	// An environment whose validation failed: work refused up front.
	add("unreachable environment",
		badCase{method: "POST", path: "/api/backups/" + deadID, want: 409, detail: "failed validation"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"target":"` + deadID + `"`), want: 409, detail: "/validate"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"target":"` + deadID + `","dryRun":true`), want: 409, detail: "Fix:"},
		badCase{method: "POST", path: "/api/restores", body: restoreOf(`,"target":"` + deadID + `","scope":{"tables":["account"]}`), want: 409, detail: "DELETE /api/environments/" + deadID})

	// Removing environments.
	add("delete environment",
		badCase{method: "DELETE", path: "/api/environments/" + envID + "?purgeBackups=maybe", want: 400, field: "purgeBackups"},
		badCase{method: "DELETE", path: "/api/environments/" + envID + "?purgeBackups=", want: 400, field: "purgeBackups"},
		badCase{method: "DELETE", path: "/api/environments/" + envID + "?purge=true", want: 400, field: "purge"},
		badCase{method: "DELETE", path: "/api/environments/" + envID + "?purgeBackups=true&force=1", want: 400, field: "force"},
		badCase{method: "DELETE", path: "/api/environments/" + unknownGUID, want: 404, detail: "does not exist"},
		badCase{method: "DELETE", path: "/api/environments/" + unknownGUID + "?purgeBackups=true", want: 404},
		badCase{method: "DELETE", path: "/api/environments/not-a-guid", want: 404},
		badCase{method: "DELETE", path: "/api/environments/..%2f" + envID, want: 404},
		badCase{method: "DELETE", path: "/api/environments/" + envID + "/..", want: 400, detail: "segment"})

	// Backups.
	add("backup",
		badCase{method: "POST", path: "/api/backups/" + envID, body: `{"unexpected":true}`, want: 400, field: "unexpected"},
		badCase{method: "POST", path: "/api/backups/" + envID, body: `{"full":"yes"}`, want: 400, field: "full"},
		badCase{method: "POST", path: "/api/backups/" + envID, body: `{"full":1}`, want: 400, field: "full"},
		badCase{method: "POST", path: "/api/backups/" + envID, body: `{"full":true,"tables":["account"]}`, want: 400, field: "tables"},
		badCase{method: "POST", path: "/api/backups/" + envID, body: `[true]`, want: 400},
		badCase{method: "POST", path: "/api/backups/" + envID, body: `{"full":true}{}`, want: 400},
		badCase{method: "POST", path: "/api/backups/" + envID, body: `full=true`, ctype: "application/x-www-form-urlencoded", want: 415},
		badCase{method: "POST", path: runPath + "/cancel", want: 409, detail: "already ended"})
	return cs
}

func quote(s string) string { return fmt.Sprintf("%q", s) }
