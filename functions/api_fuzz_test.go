package functions

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

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
