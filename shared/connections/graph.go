package connections

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"

	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
	"github.com/cloudbackup-d365/cloudbackup/shared/tlsroots"
)

// Directory role template ids a service account needs one of.
const (
	GlobalAdministratorRoleTemplateID = "62e90394-69f5-4237-9190-012177145e10"
	DynamicsAdministratorRoleTemplate = "44367163-eba1-44c3-98af-f5787879f96a"
)

func tokenOptions(scope string) policy.TokenRequestOptions {
	return policy.TokenRequestOptions{Scopes: []string{scope}}
}

// httpError is a non-2xx answer of Graph, discovery or the admin API.
type httpError struct {
	Status  int
	Code    string
	Message string
}

func (e *httpError) Error() string { return fmt.Sprintf("%d %s: %s", e.Status, e.Code, e.Message) }

// tokenError marks a token acquisition failure.
type tokenError struct{ err error }

func (e *tokenError) Error() string { return e.err.Error() }
func (e *tokenError) Unwrap() error { return e.err }

// getJSON GETs rawURL with a token for scope and decodes the answer.
func (s *Service) getJSON(ctx context.Context, cred azcore.TokenCredential, scope, rawURL string, out any) error {
	tok, err := cred.GetToken(ctx, tokenOptions(scope))
	if err != nil {
		return &tokenError{err}
	}
	hc, err := tlsroots.Client(s.o.ExtraCA)
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+tok.Token)
	req.Header.Set("Accept", "application/json")
	resp, err := hc.Do(req)
	if err != nil {
		var ue interface{ Unwrap() error }
		if errors.As(err, &ue) {
			return fmt.Errorf("GET %s: %w", strings.SplitN(rawURL, "?", 2)[0], ue.Unwrap())
		}
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 16<<20))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		var e struct {
			Error struct{ Code, Message string } `json:"error"`
		}
		_ = json.Unmarshal(body, &e)
		if resp.StatusCode >= 300 && resp.StatusCode < 400 {
			e.Error.Code, e.Error.Message = "Redirect", "redirects are never followed"
		}
		return &httpError{Status: resp.StatusCode, Code: e.Error.Code, Message: e.Error.Message}
	}
	return json.Unmarshal(body, out)
}

// directoryRoles reads the service account's directory roles (Graph
// /me/memberOf) and reports a problem when it holds neither Global
// Administrator nor Dynamics 365 Service Administrator.
func (s *Service) directoryRoles(ctx context.Context, cred azcore.TokenCredential, spec identity.Spec) ([]string, *Problem) {
	graph := strings.TrimSuffix(s.o.Endpoints.Graph, "/")
	var out struct {
		Value []struct {
			Type        string `json:"@odata.type"`
			DisplayName string `json:"displayName"`
			Template    string `json:"roleTemplateId"`
		} `json:"value"`
	}
	err := s.getJSON(ctx, cred, graph+"/.default", graph+"/v1.0/me/memberOf?$select=displayName,roleTemplateId", &out)
	var te *tokenError
	if errors.As(err, &te) {
		p := identity.Explain(te.err, spec)
		return nil, &Problem{Code: p.Code, Severity: "error", Message: p.Message, Fix: p.Fix}
	}
	if err != nil {
		return nil, &Problem{Code: "directory_roles_unreadable", Severity: "error",
			Message: "Cannot read the directory roles of " + spec.Username + " through Microsoft Graph: " + err.Error(),
			Fix:     "Grant the public client the delegated Graph permission User.Read (and Directory.Read.All) with admin consent."}
	}
	roles := []string{}
	ok := false
	for _, v := range out.Value {
		if v.Type != "#microsoft.graph.directoryRole" {
			continue
		}
		roles = append(roles, v.DisplayName)
		if v.Template == GlobalAdministratorRoleTemplateID || v.Template == DynamicsAdministratorRoleTemplate ||
			v.DisplayName == "Global Administrator" || v.DisplayName == "Dynamics 365 Administrator" || v.DisplayName == "Dynamics 365 Service Administrator" {
			ok = true
		}
	}
	if ok {
		return roles, nil
	}
	held := "no directory role"
	if len(roles) > 0 {
		held = "only " + strings.Join(roles, ", ")
	}
	return roles, &Problem{Code: "directory_role_missing", Severity: "error",
		Message: "The service account " + spec.Username + " holds " + held + "; it needs Global Administrator or Dynamics 365 Service Administrator (missing both).",
		Fix:     "In Entra ID > Roles and administrators, assign the account the Dynamics 365 Administrator role (least privilege) or Global Administrator; or use an app profile connection."}
}
