package dataversesim

import (
	"fmt"
	"strings"
	"testing"
)

// batchBody builds a $batch payload; a part is either a single request
// string or a []string change set.
func batchBody(e *Env, parts ...any) (string, string) {
	var b strings.Builder
	req := func(r string, cid int) {
		b.WriteString("Content-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n")
		if cid > 0 {
			fmt.Fprintf(&b, "Content-ID: %d\r\n", cid)
		}
		b.WriteString("\r\n" + r + "\r\n")
	}
	for _, p := range parts {
		b.WriteString("--batch_x\r\n")
		switch x := p.(type) {
		case string:
			req(x, 0)
		case []string:
			b.WriteString("Content-Type: multipart/mixed; boundary=changeset_y\r\n\r\n")
			for i, r := range x {
				b.WriteString("--changeset_y\r\n")
				req(r, i+1)
			}
			b.WriteString("--changeset_y--\r\n")
		}
	}
	b.WriteString("--batch_x--\r\n")
	return b.String(), "multipart/mixed; boundary=batch_x"
}

func post(set, json string) string {
	return "POST /api/data/v9.2/" + set + " HTTP/1.1\r\nContent-Type: application/json; type=entry\r\n\r\n" + json
}

func TestBatchChangeSetRollback(t *testing.T) {
	_, e := small(t)
	n := e.Count("account")
	body, ct := batchBody(e, []string{
		post("accounts", `{"name":"batch one"}`),
		post("contacts", `{"lastname":"ref","parentcustomerid_account@odata.bind":"$1"}`),
		post("accounts", `{"name":"bad","nosuchcolumn":1}`),
	})
	// Without continue-on-error the batch answers the failure's status.
	r := call(t, e, "POST", "$batch", body, "Content-Type", ct)
	want(t, r, 400)
	if !strings.Contains(string(r.raw), "--batchresponse_") || !strings.Contains(string(r.raw), "HTTP/1.1 400") || !strings.Contains(string(r.raw), `"code":"0x0"`) || !strings.Contains(string(r.raw), "Invalid property 'nosuchcolumn'") {
		t.Fatalf("batch response: %s", r.raw)
	}
	if e.Count("account") != n {
		t.Fatalf("change set not rolled back: %d accounts, want %d", e.Count("account"), n)
	}
	// A good change set with a Content-ID reference commits.
	nc := e.Count("contact")
	body, ct = batchBody(e, []string{
		post("accounts", `{"name":"batch two"}`),
		post("contacts", `{"lastname":"ref","parentcustomerid_account@odata.bind":"$1"}`),
	}, "GET /api/data/v9.2/accounts?$select=name&$top=1 HTTP/1.1\r\nAccept: application/json\r\n")
	r = call(t, e, "POST", "$batch", body, "Content-Type", ct)
	want(t, r, 200)
	if e.Count("account") != n+1 || e.Count("contact") != nc+1 || strings.Count(string(r.raw), "HTTP/1.1 204") != 2 || !strings.Contains(string(r.raw), "changesetresponse_") {
		t.Fatalf("committed batch: %s", r.raw)
	}
}

// TestBatchContinueOnError follows the "Handling errors" example of
// powerapps-docs, developer/data-platform/webapi/execute-batch-operations-using-web-api.md:
// without Prefer: odata.continue-on-error the batch stops at the first failed
// request and the batch itself answers that request's status, the failing
// part in its body; with it the batch answers 200 and every part carries its
// own status.
func TestBatchContinueOnError(t *testing.T) {
	_, e := small(t)
	n := e.Count("account")
	bad := post("accounts", `{"nosuch":1}`)
	body, ct := batchBody(e, post("accounts", `{"name":"before error"}`), bad, post("accounts", `{"name":"after error"}`))
	r := call(t, e, "POST", "$batch", body, "Content-Type", ct)
	want(t, r, 400)
	if !strings.HasPrefix(r.header.Get("Content-Type"), "multipart/mixed; boundary=batchresponse_") {
		t.Fatalf("stopped batch content type %q", r.header.Get("Content-Type"))
	}
	raw := string(r.raw)
	if e.Count("account") != n+1 || strings.Count(raw, "HTTP/1.1 204") != 1 || strings.Count(raw, "HTTP/1.1 400") != 1 ||
		strings.Index(raw, "HTTP/1.1 204") > strings.Index(raw, "HTTP/1.1 400") || !strings.Contains(raw, "Invalid property 'nosuch'") {
		t.Fatalf("batch went on after an error without continue-on-error (%d accounts, want %d): %s", e.Count("account"), n+1, raw)
	}
	r = call(t, e, "POST", "$batch", body, "Content-Type", ct, "Prefer", "odata.continue-on-error")
	want(t, r, 200)
	raw = string(r.raw)
	if e.Count("account") != n+3 || strings.Count(raw, "HTTP/1.1 400") != 1 || strings.Count(raw, "HTTP/1.1 204") != 2 ||
		r.header.Get("Preference-Applied") != "odata.continue-on-error" {
		t.Fatalf("continue-on-error: %d, %s", e.Count("account"), raw)
	}
	// A failed change set without continue-on-error: the batch answers the
	// failing request's status and later parts are not run.
	body, ct = batchBody(e, []string{post("accounts", `{"name":"in set"}`), bad}, post("accounts", `{"name":"after set"}`))
	r = call(t, e, "POST", "$batch", body, "Content-Type", ct)
	if r.status != 400 || e.Count("account") != n+3 || strings.Contains(string(r.raw), "HTTP/1.1 204") {
		t.Fatalf("failed change set: %d %d %s", r.status, e.Count("account"), r.raw)
	}
}

func TestBatchLimit(t *testing.T) {
	_, e := small(t)
	parts := make([]any, 1001)
	for i := range parts {
		parts[i] = "GET /api/data/v9.2/WhoAmI() HTTP/1.1\r\n"
	}
	body, ct := batchBody(e, parts...)
	r := call(t, e, "POST", "$batch", body, "Content-Type", ct)
	want(t, r, 400)
	body, ct = batchBody(e, parts[:1000]...)
	want(t, call(t, e, "POST", "$batch", body, "Content-Type", ct), 200)
	body, ct = batchBody(e, []string{"GET /api/data/v9.2/accounts HTTP/1.1\r\n"})
	r = call(t, e, "POST", "$batch", body, "Content-Type", ct)
	if !strings.Contains(string(r.raw), "HTTP/1.1 400") {
		t.Fatalf("GET in change set: %s", r.raw)
	}
}
