package dataverse

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

type fixedCred struct{ err error }

func (f fixedCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "tok", ExpiresOn: time.Now().Add(time.Hour)}, f.err
}

// translate and do against a TLS fake: headers sent, typed errors back.
func TestDoAndTranslate(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer tok" || r.Header.Get("OData-Version") != "4.0" || r.Header.Get("If-None-Match") != "null" {
			w.WriteHeader(400)
			return
		}
		switch r.URL.Path {
		case "/api/data/v9.2/WhoAmI()":
			w.Header().Set("x-ms-dop-hint", "7")
			_, _ = w.Write([]byte(`{"UserId":"u","BusinessUnitId":"b","OrganizationId":"o"}`))
		case "/api/data/v9.2/throttled":
			w.Header().Set("Retry-After", "12")
			w.WriteHeader(429)
			_, _ = w.Write([]byte(`{"error":{"code":"0x80072322","message":"Number of requests exceeded the limit"}}`))
		case "/api/data/v9.2/missing":
			w.WriteHeader(404)
			_, _ = w.Write([]byte(`{"error":{"code":"0x80040217","message":"account With Id = x Does Not Exist"}}`))
		case "/api/data/v9.2/moved":
			http.Redirect(w, r, "https://169.254.169.254/latest?token=x", http.StatusFound)
		}
	}))
	defer srv.Close()
	c, err := NewClient(srv.URL, fixedCred{}, &ClientOptions{Transport: srv.Client().Transport})
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	who, err := c.WhoAmI(ctx)
	if err != nil || who.UserID != "u" || who.DopHint != 7 {
		t.Fatalf("WhoAmI = %+v, %v", who, err)
	}
	_, err = c.getJSON(ctx, "throttled", nil, nil)
	if d, ok := IsThrottled(err); !ok || d != 12*time.Second {
		t.Errorf("throttled: %v", err)
	}
	_, err = c.getJSON(ctx, "missing", nil, nil)
	if !IsNotFound(err) || !HasCode(err, CodeObjectNotFound) {
		t.Errorf("missing: %v", err)
	}
	_, err = c.getJSON(ctx, "moved", nil, nil)
	if !HasCode(err, "Redirect") || strings.Contains(err.Error(), "token=x") {
		t.Errorf("redirect: %v", err)
	}
	if _, err := c.getJSON(ctx, "https://evil.example.com/api/data/v9.2/x", nil, nil); err == nil || !strings.Contains(err.Error(), "not the environment's host") {
		t.Errorf("other host: %v", err)
	}
	c2, _ := NewClient(srv.URL, fixedCred{err: errors.New("no token")}, &ClientOptions{Transport: srv.Client().Transport})
	var ae *AuthError
	if _, err := c2.WhoAmI(ctx); !errors.As(err, &ae) {
		t.Errorf("token failure: %v", err)
	}
	for _, bad := range []string{"http://x.crm.dynamics.com", "https://x.crm.dynamics.com/path", "https://u:p@x.crm.dynamics.com", "x"} {
		if _, err := NewClient(bad, fixedCred{}, nil); err == nil {
			t.Errorf("NewClient(%q) accepted", bad)
		}
	}
	if d := retryAfter("", time.Now()); d != DefaultRetryAfter {
		t.Errorf("default retry after = %v", d)
	}
}
