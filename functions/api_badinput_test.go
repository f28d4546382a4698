package functions

import (
	"context"
	"crypto/tls"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
)

// tableCounts counts the entities of every table the product writes,
// except the audit log (refusals are audited by design).
func tableCounts(t *testing.T, svc *aztables.ServiceClient) map[string]int {
	t.Helper()
	out := map[string]int{}
	names := append([]string{connections.TableConnections, connections.TableEnvironments}, runstate.Tables()...)
	names = append(names, restore.Tables()...)
	for _, n := range names {
		if n == audit.Table {
			continue
		}
		pager := svc.NewClient(n).NewListEntitiesPager(nil)
		for pager.More() {
			page, err := pager.NextPage(context.Background())
			if err != nil {
				break // a table never created holds nothing
			}
			out[n] += len(page.Entities)
		}
	}
	return out
}

// TestDataverseClientRefusesRedirects: an allowed environment host that
// answers with a redirect elsewhere (e.g. to the instance metadata
// endpoint) is not followed: the call fails and the other host is never
// contacted.
func TestDataverseClientRefusesRedirects(t *testing.T) {
	var hit atomic.Int64
	other := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { hit.Add(1) }))
	defer other.Close()
	env := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL+"/metadata/identity/oauth2/token", http.StatusFound)
	}))
	defer env.Close()
	tr := env.Client().Transport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true} // both test servers
	c, err := dataverse.NewClient(env.URL, staticToken{}, &dataverse.ClientOptions{Transport: tr})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := c.WhoAmI(ctx); err == nil {
		t.Error("WhoAmI through a redirect succeeded")
	}
	if hit.Load() != 0 {
		t.Errorf("the redirect target was contacted %d time(s)", hit.Load())
	}
}

type staticToken struct{}

func (staticToken) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: time.Now().Add(time.Hour)}, nil
}
