package functions

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
)

// Role is an Entra app role of the API.
type Role string

// The API's roles. Backup.Admin includes Backup.Operator, which includes
// Backup.Reader. Restore.Operator includes Backup.Reader only: restoring is
// a separate duty, not granted by Backup.Admin.
const (
	RoleReader        Role = "Backup.Reader"
	RoleOperator      Role = "Backup.Operator"
	RoleRestore       Role = "Restore.Operator"
	RoleAdmin         Role = "Backup.Admin"
	roleAnonymous     Role = ""
	principalHeader        = "X-MS-CLIENT-PRINCIPAL"
	principalIDHeader      = "X-MS-CLIENT-PRINCIPAL-ID"
	principalNameHdr       = "X-MS-CLIENT-PRINCIPAL-NAME"
)

// Roles lists the roles, for docs and tests.
func Roles() []Role { return []Role{RoleReader, RoleOperator, RoleRestore, RoleAdmin} }

// caller is the authenticated principal of a request.
type caller struct {
	Name  string
	ID    string
	Roles map[Role]bool
}

func (c *caller) has(need Role) bool {
	switch need {
	case roleAnonymous:
		return true
	case RoleReader:
		return c.Roles[RoleReader] || c.Roles[RoleOperator] || c.Roles[RoleAdmin] || c.Roles[RoleRestore]
	case RoleOperator:
		return c.Roles[RoleOperator] || c.Roles[RoleAdmin]
	case RoleAdmin:
		return c.Roles[RoleAdmin]
	case RoleRestore:
		return c.Roles[RoleRestore]
	}
	return false
}

func (c *caller) roleList() string {
	var out []string
	for _, r := range Roles() {
		if c.Roles[r] {
			out = append(out, string(r))
		}
	}
	return strings.Join(out, ",")
}

// clientPrincipal is the decoded X-MS-CLIENT-PRINCIPAL (App Service
// Authentication): base64 JSON with the token's claims.
type clientPrincipal struct {
	AuthType string `json:"auth_typ"`
	NameType string `json:"name_typ"`
	RoleType string `json:"role_typ"`
	Claims   []struct {
		Type  string `json:"typ"`
		Value string `json:"val"`
	} `json:"claims"`
}

// parsePrincipal decodes the header; ok=false when it is malformed.
func parsePrincipal(r *http.Request) (*caller, bool) {
	raw := r.Header.Get(principalHeader)
	b, err := base64.StdEncoding.DecodeString(raw)
	if err != nil {
		if b, err = base64.RawStdEncoding.DecodeString(raw); err != nil {
			return nil, false
		}
	}
	var p clientPrincipal
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, false
	}
	c := &caller{Roles: map[Role]bool{}}
	roleTypes := map[string]bool{"roles": true, "http://schemas.microsoft.com/ws/2008/06/identity/claims/role": true}
	if p.RoleType != "" {
		roleTypes[p.RoleType] = true
	}
	nameTypes := []string{p.NameType, "name", "preferred_username", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name", "appid", "azp"}
	names := map[string]string{}
	for _, cl := range p.Claims {
		if roleTypes[cl.Type] {
			for _, known := range Roles() {
				if cl.Value == string(known) {
					c.Roles[known] = true
				}
			}
		}
		if _, seen := names[cl.Type]; !seen {
			names[cl.Type] = cl.Value
		}
		if cl.Type == "http://schemas.microsoft.com/identity/claims/objectidentifier" || cl.Type == "oid" {
			c.ID = cl.Value
		}
	}
	for _, t := range nameTypes {
		if v := names[t]; t != "" && v != "" {
			c.Name = v
			break
		}
	}
	if id := r.Header.Get(principalIDHeader); id != "" && c.ID == "" {
		c.ID = id
	}
	if c.Name == "" {
		c.Name = r.Header.Get(principalNameHdr)
	}
	if c.Name == "" {
		c.Name = c.ID
	}
	return c, true
}

func allRoles(name string) *caller {
	return &caller{Name: name, Roles: map[Role]bool{RoleReader: true, RoleOperator: true, RoleAdmin: true, RoleRestore: true}}
}

// authenticate decides the caller of a request (see API_AUTHORIZATION):
//   - easyauth: the principal App Service Authentication put in
//     X-MS-CLIENT-PRINCIPAL (the front end strips client-supplied copies);
//     none means 401.
//   - functionkey: Easy Auth is off and the function key at the edge is the
//     only gate; principal headers are ignored (anyone could forge them) and
//     the key holder gets every role.
//   - local-admin (local runs only): a principal sent is honoured (tests and
//     role play through the dev host); without one, every role.
func (a *App) authenticate(r *http.Request) (*caller, *apiError) {
	mode := config.AuthEasyAuth
	if a.cfg.APIAuthorization != "" {
		mode = a.cfg.APIAuthorization
	}
	if mode == config.AuthFunctionKey {
		return allRoles("function-key"), nil
	}
	if r.Header.Get(principalHeader) == "" {
		if mode == config.AuthLocalAdmin {
			return allRoles("local-admin"), nil
		}
		return nil, &apiError{Status: http.StatusUnauthorized, Code: "unauthenticated",
			Detail: "no App Service Authentication principal: sign in with Entra ID (Authorization: Bearer <token for the API app>); if Easy Auth is not enabled on this app, set API_AUTHORIZATION=functionkey"}
	}
	c, ok := parsePrincipal(r)
	if !ok {
		return nil, &apiError{Status: http.StatusUnauthorized, Code: "bad_principal", Detail: "the X-MS-CLIENT-PRINCIPAL header is not base64 JSON"}
	}
	return c, nil
}
