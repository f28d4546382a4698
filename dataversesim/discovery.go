package dataversesim

import (
	"net/http"
	"strings"
)

// Discovery (issue 3 item 4, reference 7): Global Discovery Service
// Instances (delegated user tokens), the Power Platform admin environment
// list (including an environment without Dataverse and a disabled one), and
// Graph me / me/memberOf for the service account's directory roles. Each has
// its own https origin, which is the token audience.

func (s *Server) bearerOr401(w http.ResponseWriter, r *http.Request, aud string) *principal {
	p, reason := s.checkBearer(r, aud)
	if p == nil {
		w.Header().Set("WWW-Authenticate", `Bearer authorization_uri="`+s.AuthorityHost+s.tenant+`/oauth2/authorize", error="invalid_token", error_description="`+reason+`"`)
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "InvalidAuthenticationToken", "message": reason}})
	}
	return p
}

func (s *Server) userByOID(oid string) *ServiceAccount {
	for _, u := range s.dir.users {
		if u.ObjectID == oid {
			return u
		}
	}
	return nil
}

const dvVersion = "9.2.25013.00182"

func (s *Server) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	p := s.bearerOr401(w, r, s.DiscoveryURL)
	if p == nil {
		return
	}
	path := r.URL.Path
	if !strings.HasPrefix(path, "/api/discovery/v2.0/Instances") {
		http.NotFound(w, r)
		return
	}
	if p.isApp {
		writeJSON(w, 401, map[string]any{"error": map[string]any{"code": "", "message": "The Global Discovery Service requires a delegated user token; application tokens are not supported."}})
		return
	}
	want := ""
	if i := strings.Index(path, "UniqueName='"); i >= 0 {
		want = strings.TrimSuffix(path[i+len("UniqueName='"):], "')")
	}
	var out []any
	for _, e := range s.envs {
		if !e.HasDataverse() || want != "" && e.spec.uniqueName != want {
			continue
		}
		e.mu.RLock()
		uid, _, derr := e.caller(p)
		admin := derr == nil && e.hasSysAdmin(uid)
		e.mu.RUnlock()
		if derr != nil && derr.code == codeNotMember {
			continue
		}
		state := 0
		if e.spec.disabled {
			state = 1
		}
		out = append(out, map[string]any{"Id": e.OrgID, "UniqueName": e.spec.uniqueName, "UrlName": e.spec.uniqueName, "FriendlyName": e.spec.friendly,
			"State": state, "Version": dvVersion, "Url": e.url, "ApiUrl": e.url, "LastUpdated": "2025-01-15T10:00:00Z", "TrialExpirationDate": nil,
			"OrganizationType": 0, "Purpose": "", "Region": "EMEA", "TenantId": s.tenant, "EnvironmentId": e.EnvironmentID, "DatacenterName": "", "IsUserSysAdmin": admin})
	}
	if want != "" && len(out) == 0 {
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "NotFound", "message": "Instance " + want + " was not found."}})
		return
	}
	writeJSON(w, 200, map[string]any{"@odata.context": s.DiscoveryURL + "/api/discovery/v2.0/$metadata#Instances", "value": out})
}

func (s *Server) adminEnv(e *Env) map[string]any {
	props := map[string]any{"displayName": e.spec.friendly, "environmentSku": e.spec.sku, "isDefault": e.spec.noDataverse, "azureRegion": "westeurope",
		"provisioningState": "Succeeded", "databaseType": "CommonDataService", "createdTime": "2024-01-01T08:00:00Z"}
	runtime := "Enabled"
	if e.spec.disabled {
		runtime = "Disabled"
	}
	props["states"] = map[string]any{"runtime": map[string]any{"id": runtime}, "management": map[string]any{"id": "Ready"}}
	if e.spec.noDataverse {
		props["databaseType"] = "None"
	} else {
		inst := "Ready"
		if e.spec.disabled {
			inst = "Disabled"
		}
		props["linkedEnvironmentMetadata"] = map[string]any{"uniqueName": e.spec.uniqueName, "domainName": e.spec.uniqueName, "instanceUrl": e.url + "/",
			"instanceApiUrl": e.url, "version": dvVersion, "instanceState": inst, "resourceId": e.OrgID, "friendlyName": e.spec.friendly}
	}
	return map[string]any{"id": "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments/" + e.EnvironmentID, "name": e.EnvironmentID,
		"type": "Microsoft.BusinessAppPlatform/scopes/environments", "location": "europe", "properties": props}
}

func (s *Server) serveAdmin(w http.ResponseWriter, r *http.Request) {
	p := s.bearerOr401(w, r, s.AdminURL)
	if p == nil {
		return
	}
	const prefix = "/providers/Microsoft.BusinessAppPlatform/scopes/admin/environments"
	if !strings.HasPrefix(r.URL.Path, prefix) {
		http.NotFound(w, r)
		return
	}
	if r.URL.Query().Get("api-version") == "" {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "MissingApiVersionParameter", "message": "The api-version query parameter (?api-version=) is required for all requests."}})
		return
	}
	if !p.isApp {
		if u := s.userByOID(p.oid); u == nil || len(u.Roles) == 0 {
			writeJSON(w, 403, map[string]any{"error": map[string]any{"code": "Forbidden", "message": "The caller does not have an administrator role in the tenant."}})
			return
		}
	}
	rest := strings.Trim(strings.TrimPrefix(r.URL.Path, prefix), "/")
	if rest != "" {
		for _, e := range s.envs {
			if e.EnvironmentID == rest {
				writeJSON(w, 200, s.adminEnv(e))
				return
			}
		}
		writeJSON(w, 404, map[string]any{"error": map[string]any{"code": "EnvironmentNotFound", "message": "The environment '" + rest + "' could not be found."}})
		return
	}
	var list []any
	for _, e := range s.envs {
		list = append(list, s.adminEnv(e))
	}
	writeJSON(w, 200, map[string]any{"value": list})
}

var directoryRoleTemplates = map[string]string{"Global Administrator": GlobalAdminRoleTemplate, "Dynamics 365 Administrator": DynamicsAdminRoleTemplate}

func (s *Server) serveGraph(w http.ResponseWriter, r *http.Request) {
	p := s.bearerOr401(w, r, s.GraphURL)
	if p == nil {
		return
	}
	path := strings.TrimSuffix(r.URL.Path, "/")
	if !strings.HasPrefix(path, "/v1.0/me") {
		http.NotFound(w, r)
		return
	}
	u := s.userByOID(p.oid)
	if p.isApp || u == nil {
		writeJSON(w, 400, map[string]any{"error": map[string]any{"code": "BadRequest", "message": "/me request is only valid with delegated authentication flow."}})
		return
	}
	switch path {
	case "/v1.0/me":
		writeJSON(w, 200, map[string]any{"@odata.context": s.GraphURL + "/v1.0/$metadata#users/$entity", "id": u.ObjectID, "userPrincipalName": u.Username,
			"displayName": u.DisplayName, "mail": u.Username})
	case "/v1.0/me/memberOf":
		var roles []any
		for _, name := range u.Roles {
			roles = append(roles, map[string]any{"@odata.type": "#microsoft.graph.directoryRole", "id": metadataID("role", name), "displayName": name,
				"roleTemplateId": directoryRoleTemplates[name], "description": name})
		}
		roles = append(roles, map[string]any{"@odata.type": "#microsoft.graph.group", "id": metadataID("group", "all"), "displayName": "All Staff"})
		writeJSON(w, 200, map[string]any{"@odata.context": s.GraphURL + "/v1.0/$metadata#directoryObjects", "value": roles})
	default:
		http.NotFound(w, r)
	}
}
