package dataversesim

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func rawGet(t *testing.T, e *Env, path string) (*http.Response, []byte, error) {
	t.Helper()
	res, err := e.AuthorizedClient("").Get(e.APIURL() + path)
	if err != nil {
		return nil, nil, err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return res, b, err
}

func TestFaultBurstsAndSlow(t *testing.T) {
	_, e := small(t)
	e.InjectFault(Fault{Kind: Fault503, Count: 2, Path: "accounts"})
	e.InjectFault(Fault{Kind: Fault500, Path: "contacts"})
	want(t, call(t, e, "GET", "WhoAmI()", nil), 200) // path does not match
	want(t, call(t, e, "GET", "accounts?$top=1", nil), 503)
	want(t, call(t, e, "GET", "accounts?$top=1", nil), 503)
	want(t, call(t, e, "GET", "accounts?$top=1", nil), 200)
	r := call(t, e, "GET", "contacts?$top=1", nil)
	if r.status != 500 || r.errCode() == "" {
		t.Fatalf("500: %d %s", r.status, r.raw)
	}
	e.InjectFault(Fault{Kind: FaultSlow, Delay: 300 * time.Millisecond})
	start := time.Now()
	want(t, call(t, e, "GET", "WhoAmI()", nil), 200)
	if time.Since(start) < 300*time.Millisecond {
		t.Fatal("slow fault not applied")
	}
}

func TestFaultResetAndTruncate(t *testing.T) {
	_, e := small(t)
	e.InjectFault(Fault{Kind: FaultReset, Path: "accounts"})
	if _, _, err := rawGet(t, e, "accounts?$top=50"); err == nil {
		t.Fatal("reset mid-body: no error")
	}
	e.InjectFault(Fault{Kind: FaultTruncate, Path: "accounts"})
	res, body, err := rawGet(t, e, "accounts?$top=50")
	if err != nil || res.StatusCode != 200 {
		t.Fatalf("truncate: %v", err)
	}
	var m map[string]any
	if json.Unmarshal(body, &m) == nil {
		t.Fatal("truncated JSON parsed")
	}
	if _, body, err := rawGet(t, e, "accounts?$top=50"); err != nil || json.Unmarshal(body, &m) != nil {
		t.Fatal("fault not consumed")
	}
}

func TestTokenOutage(t *testing.T) {
	s, e := small(t)
	app := s.SecretClients()[0]
	form := map[string][]string{"grant_type": {"client_credentials"}, "client_id": {app.ClientID}, "client_secret": {app.Secret}, "scope": {e.URL() + "/.default"}}
	s.InjectTokenFault(Fault{Kind: Fault503})
	if st, m := postForm(t, s, form); st != 503 || m["error"] != "temporarily_unavailable" {
		t.Fatalf("outage: %d %v", st, m)
	}
	s.InjectTokenFault(Fault{Kind: FaultReset})
	if _, err := s.Client().PostForm(s.TokenURL(), form); err == nil {
		t.Fatal("reset: no error")
	}
	// A short outage is ridden out by azidentity's retries.
	s.InjectTokenFault(Fault{Kind: Fault503, Count: 1})
	cred, _ := azidentity.NewClientSecretCredential(s.TenantID(), app.ClientID, app.Secret,
		&azidentity.ClientSecretCredentialOptions{ClientOptions: clientOpts(s), DisableInstanceDiscovery: true})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	if _, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{e.URL() + "/.default"}}); err != nil {
		t.Fatalf("after outage: %v", err)
	}
}
