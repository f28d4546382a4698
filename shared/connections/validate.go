package connections

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"sync"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
)

type validateOptions struct {
	// dryRun: do not record the result on the connection and environments.
	dryRun bool
}

// Validate signs in with every identity of the connection and checks every
// active environment: WhoAmI, System Administrator role, change tracking
// readable. The result is recorded on the connection and its environments.
func (s *Service) Validate(ctx context.Context, connID string) (*Validation, error) {
	c, err := s.Get(ctx, connID)
	if err != nil {
		return nil, err
	}
	envs, err := s.activeEnvironments(ctx, c.ID)
	if err != nil {
		return nil, err
	}
	return s.validate(ctx, c, envs, nil)
}

func (s *Service) validate(ctx context.Context, c *Connection, envs []Environment, o *validateOptions) (*Validation, error) {
	v := &Validation{OK: true, CheckedAt: s.now(), Identities: []IdentityCheck{}, Environments: []EnvironmentCheck{}}
	for _, id := range c.Identities {
		cred, err := s.credential(ctx, c, id)
		var iv *Validation
		if err != nil {
			iv = &Validation{Identities: []IdentityCheck{{IdentityID: id.ID, Mode: string(id.Mode), Problems: []Problem{{Code: "secret_unavailable", Severity: "error",
				Message: "The identity's secret could not be read from the secret store: " + err.Error(),
				Fix:     "Rotate the secret through POST /api/connections/" + c.ID + "/rotate, and check the Function App's access to Key Vault (Key Vault Secrets Officer)."}}}}}
		} else {
			iv = s.validateIdentity(ctx, c, id, cred, envs, nil)
		}
		v.Identities = append(v.Identities, iv.Identities...)
		v.Environments = append(v.Environments, iv.Environments...)
	}
	for _, ic := range v.Identities {
		if !ic.OK {
			v.OK = false
		}
	}
	for _, ec := range v.Environments {
		if !ec.OK {
			v.OK = false
		}
	}
	if o != nil && o.dryRun {
		return v, nil
	}
	c.LastValidation = v
	c.UpdatedAt = s.now()
	if err := s.o.Store.PutConnection(ctx, c); err != nil {
		return v, err
	}
	for _, e := range envs {
		var mine *EnvironmentCheck
		for i := range v.Environments {
			ec := &v.Environments[i]
			// The environment's record keeps its worst check over identities.
			if ec.EnvironmentID == e.ID && (mine == nil || (mine.OK && !ec.OK)) {
				mine = ec
			}
		}
		if mine == nil {
			continue
		}
		e := e
		e.LastValidation = mine
		if mine.OrganizationID != "" {
			e.OrganizationID = mine.OrganizationID
		}
		if err := s.o.Store.PutEnvironment(ctx, &e); err != nil && !errors.Is(err, ErrConflict) {
			return v, err
		}
	}
	return v, nil
}

// validateIdentity checks one identity: directory roles for a service
// account, then each environment (in parallel, at most 4 at a time).
func (s *Service) validateIdentity(ctx context.Context, c *Connection, id Identity, cred azcore.TokenCredential, envs []Environment, secretValues []string) *Validation {
	ic := IdentityCheck{IdentityID: id.ID, Mode: string(id.Mode), OK: true, Problems: []Problem{}}
	spec := id.Spec(c.TenantID)
	if id.Mode == identity.ModeServiceAccount {
		roles, p := s.directoryRoles(ctx, cred, spec)
		ic.DirectoryRoles = roles
		if p != nil {
			ic.Problems = append(ic.Problems, *p)
		}
	} else if len(envs) == 0 {
		// Nothing to reach yet: prove the credential signs in.
		scope := strings.TrimSuffix(s.o.Endpoints.PowerPlatformAdmin, "/") + "/.default"
		if _, err := cred.GetToken(ctx, tokenOptions(scope)); err != nil {
			p := identity.Explain(err, spec)
			ic.Problems = append(ic.Problems, Problem{Code: p.Code, Severity: "error", Message: p.Message, Fix: p.Fix})
		}
	}
	checks := make([]EnvironmentCheck, len(envs))
	var wg sync.WaitGroup
	sem := make(chan struct{}, 4)
	for i, e := range envs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			sem <- struct{}{}
			defer func() { <-sem }()
			checks[i] = s.checkEnvironment(ctx, c, id, cred, e)
		}()
	}
	wg.Wait()
	// An authentication failure is the identity's problem, not each environment's.
	for _, ec := range checks {
		for _, p := range ec.Problems {
			if isAuthProblem(p.Code) && !hasProblem(ic.Problems, p.Code) {
				ic.Problems = append(ic.Problems, p)
			}
		}
	}
	ic.OK = !hasErrors(ic.Problems)
	v := &Validation{OK: ic.OK, CheckedAt: s.now(), Identities: []IdentityCheck{ic}, Environments: checks}
	for i := range v.Environments {
		if !v.Environments[i].OK {
			v.OK = false
		}
	}
	scrub(v, secretValues)
	return v
}

func hasProblem(ps []Problem, code string) bool {
	for _, p := range ps {
		if p.Code == code {
			return true
		}
	}
	return false
}

var authCodes = map[string]bool{"mfa_required": true, "invalid_credentials": true, "user_not_found": true, "account_locked": true, "account_disabled": true,
	"password_expired": true, "invalid_client_secret": true, "client_secret_expired": true, "invalid_client_assertion": true, "federation_mismatch": true,
	"app_not_found": true, "tenant_not_found": true, "consent_required": true, "public_client_required": true, "managed_identity_unavailable": true, "authentication_failed": true}

func isAuthProblem(code string) bool { return authCodes[code] }

// scrub removes secret values from every message (defence in depth: Entra
// and Dataverse do not echo them, but a message must never carry one).
func scrub(v *Validation, secretValues []string) {
	if len(secretValues) == 0 {
		return
	}
	fix := func(ps []Problem) {
		for i := range ps {
			ps[i].Message = redact(ps[i].Message, secretValues)
			ps[i].Fix = redact(ps[i].Fix, secretValues)
		}
	}
	for i := range v.Identities {
		fix(v.Identities[i].Problems)
	}
	for i := range v.Environments {
		fix(v.Environments[i].Problems)
	}
}

var rePrivilege = regexp.MustCompile(`prv[A-Za-z0-9_]+`)

// who names the principal in messages and fixes.
func who(c *Connection, id Identity) (subject, fixUser string) {
	switch id.Mode {
	case identity.ModeServiceAccount:
		return "user " + id.Username, "the user " + id.Username
	case identity.ModeManagedIdentity:
		mi := id.ManagedIdentityClientID
		if mi == "" {
			mi = "(the Function App's managed identity, AZURE_CLIENT_ID)"
		}
		return "managed identity " + mi, "an application user for the managed identity's client id " + mi
	default:
		return "app " + id.ClientID, "an application user for app id " + id.ClientID
	}
}

// checkEnvironment runs WhoAmI, the role check and the change tracking check
// for one identity on one environment.
func (s *Service) checkEnvironment(ctx context.Context, c *Connection, id Identity, cred azcore.TokenCredential, e Environment) EnvironmentCheck {
	ec := EnvironmentCheck{EnvironmentID: e.ID, URL: e.URL, IdentityID: id.ID, Problems: []Problem{}, CheckedAt: s.now()}
	add := func(sev, code, msg, fix string) {
		ec.Problems = append(ec.Problems, Problem{Code: code, Severity: sev, Message: msg, Fix: fix})
	}
	subject, fixUser := who(c, id)
	ppac := "In the Power Platform admin center (admin.powerplatform.microsoft.com), open Environments > the environment > Settings > Users + permissions > "
	dv, err := dataverse.NewClient(e.URL, cred, &dataverse.ClientOptions{ExtraCA: s.o.ExtraCA})
	if err != nil {
		add("error", "invalid_url", err.Error(), "Register the environment by its https://<org>.crm.dynamics.com URL.")
		return ec
	}
	who, err := dv.WhoAmI(ctx)
	if err != nil {
		s.explainDataverse(&ec, err, id, c, subject, fixUser, ppac)
		return ec
	}
	ec.UserID, ec.OrganizationID, ec.DopHint = who.UserID, who.OrganizationID, who.DopHint
	roles, err := dv.UserRoles(ctx, who.UserID)
	switch {
	case err != nil && (dataverse.HasStatus(err, http.StatusForbidden) || dataverse.HasCode(err, dataverse.CodeMissingPrivilege, dataverse.CodeCheckPrivilegeFailed)):
		priv := rePrivilege.FindString(errMessage(err))
		msg := subject + " lacks the System Administrator security role in " + e.URL
		if priv != "" {
			msg += ": it is missing privilege " + priv + " (Dataverse refused reading its roles)"
		} else {
			msg += ": Dataverse refused reading its roles (" + errMessage(err) + ")"
		}
		add("error", "missing_system_administrator", msg, ppac+rolesPage(id)+", select "+fixUser+" and assign the System Administrator security role.")
	case err != nil:
		s.explainDataverse(&ec, err, id, c, subject, fixUser, ppac)
		return ec
	default:
		sa := false
		var names []string
		for _, r := range roles {
			names = append(names, r.Name)
			if r.IsSystemAdministrator() {
				sa = true
			}
		}
		if !sa {
			held := "no security role"
			if len(names) > 0 {
				held = "the roles " + strings.Join(names, ", ") + " but not System Administrator"
			}
			add("error", "missing_system_administrator", subject+" holds "+held+" in "+e.URL+"; backup and restore need System Administrator (organization-level read of every table, change tracking, bypassing business logic on restore).",
				ppac+rolesPage(id)+", select "+fixUser+" and assign the System Administrator security role.")
		}
	}
	tables, err := dv.ChangeTrackedTables(ctx)
	switch {
	case err != nil:
		add("error", "metadata_unreadable", subject+" cannot read table metadata in "+e.URL+": "+errMessage(err), "Assign the System Administrator security role.")
	case len(tables) == 0:
		add("warning", "no_change_tracking", "No table of "+e.URL+" has change tracking enabled: every backup will be a full read.",
			"Enable 'Track changes' on the tables to back up incrementally (Power Apps > Tables > table > Properties > Advanced options).")
	default:
		t := tables[0]
		for _, x := range tables {
			if x.LogicalName == "account" {
				t = x
			}
		}
		applied, err := dv.CheckChangeTracking(ctx, t)
		switch {
		case err != nil:
			priv := rePrivilege.FindString(errMessage(err))
			msg := subject + " cannot read changes of table " + t.LogicalName + " in " + e.URL + ": " + errMessage(err)
			if priv != "" {
				msg = subject + " cannot read changes of table " + t.LogicalName + " in " + e.URL + ": missing privilege " + priv
			}
			add("error", "change_tracking_unreadable", msg, "Change tracking needs organization-level read on the table: assign the System Administrator security role.")
		case !applied:
			add("warning", "change_tracking_not_applied", "Dataverse did not apply change tracking when reading "+t.LogicalName+" in "+e.URL+".", "Check that change tracking is enabled on the table.")
		}
	}
	ec.OK = !hasErrors(ec.Problems)
	return ec
}

func rolesPage(id Identity) string {
	if id.Mode == identity.ModeServiceAccount {
		return "Users"
	}
	return "Application users"
}

func errMessage(err error) string {
	var re *dataverse.ResponseError
	if errors.As(err, &re) && re.Message != "" {
		return re.Message
	}
	return err.Error()
}

// explainDataverse turns a failed call into the environment's problem.
func (s *Service) explainDataverse(ec *EnvironmentCheck, err error, id Identity, c *Connection, subject, fixUser, ppac string) {
	add := func(sev, code, msg, fix string) {
		ec.Problems = append(ec.Problems, Problem{Code: code, Severity: sev, Message: msg, Fix: fix})
	}
	var ae *dataverse.AuthError
	retryAfter, throttled := dataverse.IsThrottled(err)
	switch {
	case errors.As(err, &ae):
		p := identity.Explain(ae.Err, id.Spec(c.TenantID))
		add("error", p.Code, p.Message, p.Fix)
	case throttled:
		add("error", "throttled", fmt.Sprintf("%s was throttled by %s (service protection limits); retry after %s.", subject, ec.URL, retryAfter), "Validate again later.")
	case dataverse.HasCode(err, dataverse.CodeUserNotInEnvironment):
		if id.Mode == identity.ModeServiceAccount {
			add("error", "not_a_member", subject+" is not a member of "+ec.URL+".",
				"Assign the user a Dynamics 365 license, add them to the environment's security group, and in the Power Platform admin center give them the System Administrator role (Environments > the environment > Settings > Users + permissions > Users).")
		} else {
			add("error", "no_application_user", subject+" has no application user in "+ec.URL+".",
				ppac+"Application users, choose 'New app user', create "+fixUser+" with the System Administrator security role.")
		}
	case dataverse.HasCode(err, dataverse.CodeUserDisabled):
		add("error", "user_disabled", "The "+map[bool]string{true: "user", false: "application user"}[id.Mode == identity.ModeServiceAccount]+" of "+subject+" is disabled in "+ec.URL+".",
			ppac+rolesPage(id)+", select "+fixUser+" and activate it (users also need a license and an enabled Entra account).")
	case dataverse.HasCode(err, dataverse.CodeOrganizationDisabled):
		add("error", "environment_disabled", "The environment "+ec.URL+" is disabled.", "Enable the environment in the Power Platform admin center, or leave it out of backups.")
	case dataverse.Classify(err) == dataverse.ClassTokenExpired:
		add("error", "token_expired", "Dataverse refused the token of "+subject+" at "+ec.URL+" as expired.", "Validate again; if it persists, check the clock of the machine running the service (tokens last about an hour).")
	case dataverse.HasStatus(err, http.StatusUnauthorized):
		add("error", "token_refused", "Dataverse refused the token of "+subject+" at "+ec.URL+": "+errMessage(err), "Check that the environment belongs to tenant "+c.TenantID+".")
	case dataverse.HasStatus(err, http.StatusForbidden):
		add("error", "forbidden", "Dataverse refused "+subject+" at "+ec.URL+": "+errMessage(err), ppac+rolesPage(id)+", give "+fixUser+" the System Administrator role.")
	case dataverse.HasCode(err, "Redirect"):
		add("error", "redirected", ec.URL+" answered with a redirect, which is never followed: "+errMessage(err), "Register the environment by its final https://<org>.crm.dynamics.com URL.")
	default:
		var re *dataverse.ResponseError
		if errors.As(err, &re) {
			add("error", "dataverse_error", fmt.Sprintf("%s answered %d: %s", ec.URL, re.StatusCode, errMessage(err)), "Check the environment URL and the Dataverse service health.")
		} else {
			add("error", "unreachable", "Cannot reach "+ec.URL+": "+err.Error(), "Check the environment URL (Power Platform admin center > Environments > Environment URL) and outbound network access.")
		}
	}
}
