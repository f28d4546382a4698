package dataverse

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

func TestClassify(t *testing.T) {
	entra := func(status int) error {
		return &AuthError{Scope: "s", Err: &azidentity.AuthenticationFailedError{RawResponse: &http.Response{StatusCode: status}}}
	}
	resp := func(status int, code, msg string) error {
		return fmt.Errorf("read page 3 of account: %w", &ResponseError{StatusCode: status, Code: code, Message: msg})
	}
	cases := []struct {
		name string
		err  error
		want Class
	}{
		{"nil", nil, ClassNone},
		{"429", &ThrottledError{RetryAfter: 9 * time.Second}, ClassThrottled},
		{"execution time limit code on another status", resp(400, CodeExecutionTimeLimit, "Combined execution time"), ClassThrottled},
		{"decimal concurrency code", resp(503, "-2147015898", "Number of concurrent requests"), ClassThrottled},
		{"500", resp(500, "", "boom"), ClassTransient},
		{"503", resp(503, "", ""), ClassTransient},
		{"408", resp(408, "", ""), ClassTransient},
		{"connection reset", fmt.Errorf("dataverse: GET x: %w", syscall.ECONNRESET), ClassTransient},
		{"truncated body", fmt.Errorf("dataverse: read page of x: %w", io.ErrUnexpectedEOF), ClassTransient},
		{"context ended", context.Canceled, ClassTransient},
		{"token service 503", entra(503), ClassTransient},
		{"token service unreachable", &AuthError{Scope: "s", Err: errors.New("dial tcp: refused")}, ClassTransient},
		{"token service 429", entra(429), ClassTransient},
		{"identity refused by Entra", entra(401), ClassPermanent},
		{"bad secret", entra(400), ClassPermanent},
		{"404", resp(404, CodeObjectNotFound, "Does Not Exist"), ClassPermanent},
		{"400", resp(400, "0x80044331", "bad"), ClassPermanent},
		{"412", resp(412, "", "version mismatch"), ClassPermanent},
		{"redirect", resp(302, "Redirect", "redirect refused"), ClassPermanent},
		{"401 valid token", resp(401, "", ""), ClassPermanent},
		{"401 expired token", &ResponseError{StatusCode: 401, TokenExpired: true}, ClassTokenExpired},
		{"change tracking expired", resp(400, CodeChangeTrackingExpired, "Version stamp associated with the client has expired."), ClassPermanent},
		{"change tracking expired on a 5xx", resp(500, "", "Version stamp associated with the client has expired. Please perform a full sync."), ClassPermanent},
		{"RetrieveMultiple refused", resp(400, CodeUnsupportedOperation, "The 'RetrieveMultiple' method does not support entities of type 'postrole'."), ClassReadRefused},
		{"403", resp(403, "", "forbidden"), ClassReadRefused},
		{"missing privilege", resp(400, CodeMissingPrivilege, "Principal user is missing prvReadAccount privilege"), ClassReadRefused},
		{"organization disabled", resp(403, CodeOrganizationDisabled, "The organization is disabled."), ClassPermanent},
		{"user disabled", resp(403, CodeUserDisabled, "disabled"), ClassPermanent},
		{"no file", fmt.Errorf("download: %w", ErrNoFile), ClassPermanent},
		{"batch cut short", fmt.Errorf("$batch: %w", ErrBatchNotRun), ClassTransient},
	}
	for _, c := range cases {
		if got := Classify(c.err); got != c.want {
			t.Errorf("%s: Classify(%v) = %s, want %s", c.name, c.err, got, c.want)
		}
	}
}

func TestDecide(t *testing.T) {
	d := Decide(&ThrottledError{RetryAfter: 9 * time.Second})
	if !d.Retry || !d.Throttled || d.After != 9*time.Second {
		t.Errorf("throttle: %+v; want a retry after 9 s, counted as a throttle", d)
	}
	if d := Decide(&ResponseError{StatusCode: 400, Code: CodeRequestsLimit}); !d.Throttled || d.After != DefaultRetryAfter {
		t.Errorf("limit code: %+v; want a throttle with DefaultRetryAfter", d)
	}
	for _, err := range []error{&ResponseError{StatusCode: 502}, &ResponseError{StatusCode: 401, TokenExpired: true}, io.ErrUnexpectedEOF} {
		if d := Decide(err); !d.Retry || d.Throttled || d.After != 0 {
			t.Errorf("%v: %+v; want a retry after backoff", err, d)
		}
	}
	for _, err := range []error{&ResponseError{StatusCode: 404}, &ResponseError{StatusCode: 403}, &ResponseError{StatusCode: 401}} {
		if d := Decide(err); d.Retry {
			t.Errorf("%v: %+v; want final", err, d)
		}
	}
}

type expiringCred struct{ expires time.Time }

func (c expiringCred) GetToken(context.Context, policy.TokenRequestOptions) (azcore.AccessToken, error) {
	return azcore.AccessToken{Token: "t", ExpiresOn: c.expires}, nil
}

// A 401 is "token expired" when the token sent had expired by its own
// expiry or when the server's challenge says so; otherwise it is final.
func TestUnauthorizedTokenExpired(t *testing.T) {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch r.URL.Path {
		case "/api/data/v9.2/expired":
			w.Header().Set("WWW-Authenticate", `Bearer authorization_uri=https://login.microsoftonline.com/t/oauth2/authorize, resource_id=x`)
			w.Header().Set("x-ms-diagnostics", "token expired")
		case "/api/data/v9.2/challenge":
			w.Header().Set("WWW-Authenticate", `Bearer error="invalid_token", error_description="The access token expired"`)
		}
		w.WriteHeader(http.StatusUnauthorized)
	}))
	defer srv.Close()
	client := func(expires time.Time) *Client {
		c, err := NewClient(srv.URL, expiringCred{expires}, &ClientOptions{Transport: srv.Client().Transport})
		if err != nil {
			t.Fatal(err)
		}
		return c
	}
	ctx := context.Background()
	valid, stale := client(time.Now().Add(time.Hour)), client(time.Now().Add(-time.Minute))
	for _, c := range []struct {
		c    *Client
		path string
		want Class
	}{
		{valid, "expired", ClassTokenExpired},
		{valid, "challenge", ClassTokenExpired},
		{valid, "refused", ClassPermanent},
		{stale, "refused", ClassTokenExpired},
	} {
		_, err := c.c.getJSON(ctx, c.path, nil, nil)
		if got := Classify(err); got != c.want {
			t.Errorf("%s: %v classified %s, want %s", c.path, err, got, c.want)
		}
	}
}

// A page cut mid-body is transient: reading it again may succeed.
func TestTruncatedPageIsTransient(t *testing.T) {
	c := pageTestClient(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"value":[{"accountid":"a1"},{"accou`)
	})
	_, err := c.ReadPage(context.Background(), CollectionQuery("accounts", nil, ""), nil, func(Entity) error { return nil })
	if err == nil || Classify(err) != ClassTransient {
		t.Errorf("truncated page: %v classified %s, want transient", err, Classify(err))
	}
}
