package dataverse_test

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// A $batch answer as Dataverse writes it: a committed change set, a failed
// one (its failing request alone, as with Prefer: odata.continue-on-error),
// then a request outside any change set.
const sampleBatch = "--batchresponse_1\r\n" +
	"Content-Type: multipart/mixed; boundary=changesetresponse_a\r\n\r\n" +
	"--changesetresponse_a\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 1\r\n\r\n" +
	"HTTP/1.1 204 No Content\r\nOData-Version: 4.0\r\nOData-EntityId: https://x/api/data/v9.2/accounts(11111111-1111-1111-1111-111111111111)\r\n\r\n\r\n" +
	"--changesetresponse_a--\r\n" +
	"--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\nContent-ID: 2\r\n\r\n" +
	"HTTP/1.1 400 Bad Request\r\nContent-Type: application/json; odata.metadata=minimal\r\nOData-Version: 4.0\r\n\r\n" +
	`{"error":{"code":"0x80044331","message":"A validation error occurred."}}` + "\r\n" +
	"--batchresponse_1\r\nContent-Type: application/http\r\nContent-Transfer-Encoding: binary\r\n\r\n" +
	"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n{\"value\":[]}\r\n" +
	"--batchresponse_1--\r\n"

func TestParseBatchResponse(t *testing.T) {
	parts, err := dataverse.ParseBatchResponse("multipart/mixed; boundary=batchresponse_1", strings.NewReader(sampleBatch))
	if err != nil {
		t.Fatal(err)
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}
	if len(parts[0].ChangeSet) != 1 || parts[0].ChangeSet[0].StatusCode != 204 || parts[0].ChangeSet[0].ContentID != "1" ||
		dataverse.IDFromEntityURL(parts[0].ChangeSet[0].Header.Get("OData-EntityId")) != "11111111-1111-1111-1111-111111111111" {
		t.Errorf("change set part: %+v", parts[0])
	}
	if parts[1].Single == nil || parts[1].Single.StatusCode != 400 || parts[1].Single.ContentID != "2" {
		t.Fatalf("failed part: %+v", parts[1])
	}
	if parts[2].Single == nil || parts[2].Single.StatusCode != 200 || string(parts[2].Single.Body) != `{"value":[]}` {
		t.Errorf("single part: %+v", parts[2].Single)
	}
	sets := []dataverse.ChangeSet{{{Method: "PATCH", Path: "accounts(1)"}}, {{Method: "POST", Path: "contacts"}, {Method: "POST", Path: "tasks"}}, {{Method: "GET", Path: "x"}}, {{Method: "POST", Path: "y"}}}
	res := dataverse.MatchBatch(sets, parts)
	var re *dataverse.ResponseError
	if res[0].Err != nil || !errors.As(res[1].Err, &re) || re.Code != "0x80044331" || re.Method != "POST" || re.URL != "tasks" || res[2].Err != nil {
		t.Errorf("matched: %+v / %v", res, res[1].Err)
	}
	if !errors.Is(res[3].Err, dataverse.ErrBatchNotRun) {
		t.Errorf("a change set without an answer: %v", res[3].Err)
	}
	for _, bad := range []string{"text/plain", "multipart/mixed", "multipart/mixed; boundary=zz"} {
		if p, err := dataverse.ParseBatchResponse(bad, strings.NewReader(sampleBatch)); err == nil && len(p) > 0 {
			t.Errorf("%q parsed: %+v", bad, p)
		}
	}
	if _, err := dataverse.ParseBatchResponse("multipart/mixed; boundary=batchresponse_1", strings.NewReader(sampleBatch[:200])); err == nil {
		t.Error("a truncated answer parsed without error")
	}
}

func FuzzParseBatchResponse(f *testing.F) {
	f.Add("batchresponse_1", []byte(sampleBatch))
	f.Add("b", []byte("--b\r\nContent-Type: application/http\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n--b--\r\n"))
	f.Add("b", []byte("--b\r\nContent-Type: multipart/mixed; boundary=c\r\n\r\n--c\r\n\r\nHTTP/1.1 999 x\r\n\r\n--c--\r\n--b--"))
	f.Fuzz(func(t *testing.T, boundary string, body []byte) {
		parts, err := dataverse.ParseBatchResponse("multipart/mixed; boundary=\""+boundary+"\"", strings.NewReader(string(body)))
		if err != nil {
			return
		}
		for _, p := range parts {
			if (p.Single == nil) == (p.ChangeSet == nil) {
				t.Fatalf("a part is neither single nor a change set: %+v", p)
			}
			if p.Single != nil && (p.Single.StatusCode < 100 || p.Single.StatusCode > 999) {
				t.Fatalf("status %d", p.Single.StatusCode)
			}
		}
		dataverse.MatchBatch([]dataverse.ChangeSet{{{Method: "POST", Path: "a"}}, {}}, parts)
	})
}

func simClient(t *testing.T) (*dataversesim.Env, *dataverse.Client) {
	t.Helper()
	s := dataversesim.Start(t, dataversesim.Options{Records: 50, Seed: 3})
	app := s.SecretClients()[0]
	cred, err := azidentity.NewClientSecretCredential(s.TenantID(), app.ClientID, app.Secret, &azidentity.ClientSecretCredentialOptions{
		ClientOptions:            azcore.ClientOptions{Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: s.AuthorityHost}, Transport: s.Client()},
		DisableInstanceDiscovery: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	c, err := dataverse.NewClient(s.Demo().URL(), cred, &dataverse.ClientOptions{ExtraCA: s.CAPEM()})
	if err != nil {
		t.Fatal(err)
	}
	return s.Demo(), c
}

// TestExecuteBatchFailedChangeSet: against the simulator, a failed change
// set is rolled back whole and reported with Dataverse's code, the others
// are committed.
func TestExecuteBatchFailedChangeSet(t *testing.T) {
	e, c := simClient(t)
	ctx := context.Background()
	ids := []string{"aaaaaaaa-0000-4000-8000-000000000001", "aaaaaaaa-0000-4000-8000-000000000002", "aaaaaaaa-0000-4000-8000-000000000003"}
	h := http.Header{"If-None-Match": {"*"}}
	sets := []dataverse.ChangeSet{
		{{Method: "PATCH", Path: dataverse.EntityPath("accounts", ids[0]), Header: h, Body: []byte(`{"name":"one"}`)}},
		{
			{Method: "PATCH", Path: dataverse.EntityPath("accounts", ids[1]), Header: h, Body: []byte(`{"name":"two"}`)},
			{Method: "PATCH", Path: dataverse.EntityPath("accounts", ids[1]), Header: h, Body: []byte(`{"name":"again"}`)},
		},
		{{Method: "PATCH", Path: dataverse.EntityPath("accounts", ids[2]), Header: h, Body: []byte(`{"nosuchcolumn":1}`)}},
	}
	res, err := c.ExecuteBatch(ctx, sets, nil)
	if err != nil {
		t.Fatal(err)
	}
	if res[0].Err != nil {
		t.Errorf("change set 1: %v", res[0].Err)
	}
	if !dataverse.HasStatus(res[1].Err, 412) {
		t.Errorf("change set 2 (second request hits If-None-Match): %v", res[1].Err)
	}
	if !dataverse.HasStatus(res[2].Err, 400) || !dataverse.HasCode(res[2].Err, "0x80060888") && res[2].Err.(*dataverse.ResponseError).Code == "" {
		t.Errorf("change set 3: %v", res[2].Err)
	}
	if _, ok := e.Get("account", ids[0]); !ok {
		t.Error("the committed change set's record is missing")
	}
	if _, ok := e.Get("account", ids[1]); ok {
		t.Error("the failed change set was not rolled back")
	}
	// Writes outside $batch.
	if err := c.Upsert(ctx, "accounts", ids[0], map[string]any{"name": "changed"}, &dataverse.WriteOptions{IfMatch: "*"}); err != nil {
		t.Fatal(err)
	}
	if err := c.Upsert(ctx, "accounts", ids[1], map[string]any{"name": "x"}, &dataverse.WriteOptions{IfMatch: "*"}); !dataverse.IsNotFound(err) {
		t.Errorf("update of a missing record: %v", err)
	}
	id, err := c.Create(ctx, "accounts", map[string]any{"name": "created"}, nil)
	if err != nil || id == "" {
		t.Fatalf("create: %q %v", id, err)
	}
	if err := c.Delete(ctx, "accounts", id, nil); err != nil {
		t.Fatal(err)
	}
}

// TestExecuteBatchStopOnError: without continue-on-error the simulator
// answers as Dataverse documents (the failing request's status, the parts
// run so far with the failing one last). The change sets before the failure
// are committed, the failed one carries its error, the ones after it are
// not run; a failed change set of several requests is rolled back whole.
func TestExecuteBatchStopOnError(t *testing.T) {
	e, c := simClient(t)
	ctx := context.Background()
	ids := []string{"bbbbbbbb-0000-4000-8000-000000000001", "bbbbbbbb-0000-4000-8000-000000000002",
		"bbbbbbbb-0000-4000-8000-000000000003", "bbbbbbbb-0000-4000-8000-000000000004", "bbbbbbbb-0000-4000-8000-000000000005"}
	h := http.Header{"If-None-Match": {"*"}}
	patch := func(id, body string) dataverse.BatchRequest {
		return dataverse.BatchRequest{Method: "PATCH", Path: dataverse.EntityPath("accounts", id), Header: h, Body: []byte(body)}
	}
	stop := &dataverse.BatchOptions{StopOnError: true}
	res, err := c.ExecuteBatch(ctx, []dataverse.ChangeSet{
		{patch(ids[0], `{"name":"before"}`)},
		{patch(ids[1], `{"nosuchcolumn":1}`)},
		{patch(ids[2], `{"name":"after"}`)},
	}, stop)
	if err != nil {
		t.Fatalf("a stopped batch is an answer, not an error: %v", err)
	}
	if len(res) != 3 || res[0].Err != nil || len(res[0].Responses) != 1 {
		t.Fatalf("change set before the failure: %+v", res)
	}
	var re *dataverse.ResponseError
	if !errors.As(res[1].Err, &re) || re.StatusCode != 400 || !strings.Contains(re.Message, "nosuchcolumn") || re.URL != dataverse.EntityPath("accounts", ids[1]) {
		t.Errorf("failed change set: %v", res[1].Err)
	}
	if !errors.Is(res[2].Err, dataverse.ErrBatchNotRun) {
		t.Errorf("change set after the failure: %v", res[2].Err)
	}
	if _, ok := e.Get("account", ids[0]); !ok {
		t.Error("the change set before the failure was not committed")
	}
	if _, ok := e.Get("account", ids[2]); ok {
		t.Error("the change set after the failure was run")
	}

	res, err = c.ExecuteBatch(ctx, []dataverse.ChangeSet{
		{patch(ids[3], `{"name":"in set"}`), patch(ids[3], `{"name":"again"}`)},
		{patch(ids[4], `{"name":"after set"}`)},
	}, stop)
	if err != nil {
		t.Fatal(err)
	}
	if !dataverse.HasStatus(res[0].Err, 412) || !errors.Is(res[1].Err, dataverse.ErrBatchNotRun) {
		t.Errorf("failed change set of two requests: %v / %v", res[0].Err, res[1].Err)
	}
	for _, id := range ids[3:] {
		if _, ok := e.Get("account", id); ok {
			t.Errorf("account %s written by a rolled back or stopped change set", id)
		}
	}
}

// TestUploadFileChunked uploads a file column in several chunks.
func TestUploadFileChunked(t *testing.T) {
	e, c := simClient(t)
	ctx := context.Background()
	old := dataverse.UploadChunkSize
	dataverse.UploadChunkSize = 1000
	defer func() { dataverse.UploadChunkSize = old }()
	id := e.IDs("cr1_project")[0]
	data := []byte(strings.Repeat("0123456789", 350))
	if err := c.UploadFile(ctx, "cr1_projects", id, "cr1_document", "big.pdf", "application/pdf", strings.NewReader(string(data)), int64(len(data)), nil); err != nil {
		t.Fatal(err)
	}
	row, _ := e.Get("cr1_project", id)
	name, _, got, ok := e.File(row["cr1_document"].(string))
	if !ok || name != "big.pdf" || string(got) != string(data) {
		t.Errorf("file %q ok=%v, %d bytes, want %d", name, ok, len(got), len(data))
	}
}
