package identity

import (
	"errors"
	"fmt"
	"regexp"
	"strings"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Problem is a credential failure explained for the admin: a stable code,
// what happened, and how to fix it. It never holds secret material.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	Fix     string `json:"fix,omitempty"`
	// AADSTS is Entra's error number when the answer had one (e.g. "50076").
	AADSTS string `json:"aadsts,omitempty"`
}

var reAADSTS = regexp.MustCompile(`AADSTS(\d{4,7})`)

// MFAMessage is the answer for MFA-enabled service accounts.
const MFAMessage = "this account requires MFA; service accounts with MFA are not supported — use an app profile"

// Explain maps a token acquisition error to a Problem. spec gives the names
// (client id, username) the message refers to; it holds no secret.
func Explain(err error, spec Spec) Problem {
	if err == nil {
		return Problem{}
	}
	text := err.Error()
	code := ""
	if m := reAADSTS.FindStringSubmatch(text); m != nil {
		code = m[1]
	}
	p := func(c, msg, fix string) Problem { return Problem{Code: c, Message: msg, Fix: fix, AADSTS: code} }
	switch code {
	case "50076", "50079", "50072", "50074", "50158":
		return p("mfa_required", MFAMessage,
			"Create an app profile connection (client secret, certificate, managed identity or workload identity federation) and move the environments to it.")
	case "50126":
		return p("invalid_credentials", "Entra ID refused the user name or password of "+spec.Username+".",
			"Check the password and rotate it through POST /api/connections/{id}/rotate.")
	case "50034":
		return p("user_not_found", "The user "+spec.Username+" does not exist in tenant "+spec.TenantID+".", "Check the user name and the tenant id.")
	case "50053":
		return p("account_locked", "The account "+spec.Username+" is locked after too many sign-in attempts.", "Wait for the lock to expire or unlock it in Entra ID.")
	case "50057":
		return p("account_disabled", "The account "+spec.Username+" is disabled in Entra ID.", "Enable the account or use another one.")
	case "50055":
		return p("password_expired", "The password of "+spec.Username+" has expired.", "Set a new password and rotate it through POST /api/connections/{id}/rotate.")
	case "7000215":
		return p("invalid_client_secret", "Entra ID refused the client secret of app "+spec.ClientID+" (wrong value: give the secret's value, not its id).",
			"Create a new client secret for the app registration and rotate it through POST /api/connections/{id}/rotate.")
	case "7000222":
		return p("client_secret_expired", "The client secret of app "+spec.ClientID+" has expired.",
			"Create a new client secret for the app registration and rotate it through POST /api/connections/{id}/rotate.")
	case "700027", "700024", "700023":
		return p("invalid_client_assertion", "Entra ID refused the certificate or assertion of app "+spec.ClientID+".",
			"Upload the certificate's public key to the app registration (Certificates & secrets), or rotate the certificate through POST /api/connections/{id}/rotate.")
	case "70021", "700213", "700211", "700212":
		return p("federation_mismatch", "No federated identity credential of app "+spec.ClientID+" matches the Function App's managed identity.",
			"Add a federated credential to the app registration whose issuer and subject are the managed identity's (Certificates & secrets > Federated credentials).")
	case "700016":
		return p("app_not_found", "Application "+spec.ClientID+" was not found in tenant "+spec.TenantID+".",
			"Check the client id; for an app of another tenant, consent to it in this tenant first (admin consent URL).")
	case "90002", "900023", "90023":
		return p("tenant_not_found", "Tenant "+spec.TenantID+" was not found.", "Give the directory (tenant) id from Entra ID > Overview.")
	case "65001":
		return p("consent_required", "The app "+spec.ClientID+" has not been consented in this tenant.",
			"Grant admin consent to the app's API permissions (Dynamics CRM user_impersonation, Graph User.Read) in Entra ID.")
	case "500011":
		return p("resource_not_found", "The resource (environment) is not known in tenant "+spec.TenantID+".",
			"Check the environment URL and that it belongs to this tenant.")
	case "7000218":
		return p("public_client_required", "The app "+spec.ClientID+" does not allow the password flow.",
			"Enable 'Allow public client flows' on the app registration, or use an app profile.")
	}
	if code == "" && (spec.Mode == ModeManagedIdentity || spec.Mode == ModeWorkloadIdentity) {
		var afe *azidentity.AuthenticationFailedError
		if !errors.As(err, &afe) || strings.Contains(text, "ManagedIdentityCredential") {
			return p("managed_identity_unavailable", "The Function App's managed identity could not give a token: "+firstLine(text),
				"Assign the user-assigned identity to the Function App and give its client id (AZURE_CLIENT_ID or managedIdentityClientId).")
		}
	}
	if code != "" {
		return p("authentication_failed", fmt.Sprintf("Entra ID refused the sign-in (AADSTS%s): %s", code, entraDescription(text)), "See https://login.microsoftonline.com/error?code="+code+".")
	}
	return p("authentication_failed", "Token acquisition failed: "+firstLine(text), "Check the tenant id, client id and secret, and that Entra ID is reachable.")
}

// entraDescription extracts the AADSTS sentence from an error text.
func entraDescription(text string) string {
	i := strings.Index(text, "AADSTS")
	if i < 0 {
		return firstLine(text)
	}
	s := text[i:]
	if j := strings.IndexAny(s, "\r\n\""); j > 0 {
		s = s[:j]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	if len(s) > 300 {
		s = s[:300]
	}
	return s
}
