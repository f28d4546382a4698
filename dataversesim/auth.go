package dataversesim

import (
	"bytes"
	"crypto/rsa"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math/big"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// This file is the Entra ID side (issue 3 item 1): the v2.0 token endpoint
// for client_credentials (secret, certificate assertion, federated assertion)
// and password (ROPC), the OpenID configuration azidentity/MSAL read first,
// and the App Service managed identity endpoint.

const federatedAudience = "api://AzureADTokenExchange"

// entraError writes an OAuth error the way Entra does: error, error_description
// starting with the AADSTS code, error_codes, trace and correlation ids.
func entraError(w http.ResponseWriter, status int, code string, aadsts int, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s Trace ID: 0000 Correlation ID: 0000 Timestamp: %s", aadsts, msg, time.Now().UTC().Format("2006-01-02 15:04:05Z")),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          "00000000-0000-0000-0000-000000000000",
		"correlation_id":    "00000000-0000-0000-0000-000000000000",
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

func (s *Server) serveAuthority(w http.ResponseWriter, r *http.Request) {
	parts := strings.Split(strings.Trim(r.URL.Path, "/"), "/")
	if len(parts) >= 2 && strings.EqualFold(parts[0], "common") && strings.EqualFold(parts[1], "UserRealm") {
		s.serveUserRealm(w, r, parts)
		return
	}
	if len(parts) >= 3 && parts[0] == "common" && parts[1] == "discovery" && parts[2] == "instance" {
		host := strings.TrimPrefix(strings.TrimSuffix(s.AuthorityHost, "/"), "https://")
		writeJSON(w, 200, map[string]any{"tenant_discovery_endpoint": s.AuthorityHost + s.tenant + "/v2.0/.well-known/openid-configuration",
			"api-version": "1.1", "metadata": []any{map[string]any{"preferred_network": host, "preferred_cache": host, "aliases": []string{host}}}})
		return
	}
	if len(parts) < 2 {
		http.NotFound(w, r)
		return
	}
	tenant, rest := parts[0], strings.Join(parts[1:], "/")
	if tenant != s.tenant && tenant != "organizations" && tenant != "common" {
		entraError(w, 400, "invalid_request", 90002, fmt.Sprintf("Tenant '%s' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.", tenant))
		return
	}
	base := s.AuthorityHost + tenant
	switch rest {
	case "v2.0/.well-known/openid-configuration", ".well-known/openid-configuration":
		writeJSON(w, 200, map[string]any{
			"token_endpoint": base + "/oauth2/v2.0/token", "authorization_endpoint": base + "/oauth2/v2.0/authorize",
			"device_authorization_endpoint": base + "/oauth2/v2.0/devicecode", "jwks_uri": base + "/discovery/v2.0/keys",
			"issuer": s.AuthorityHost + s.tenant + "/v2.0", "tenant_region_scope": "EU",
			"token_endpoint_auth_methods_supported": []string{"client_secret_post", "private_key_jwt", "client_secret_basic"},
			"response_types_supported":              []string{"code", "id_token", "code id_token", "id_token token"},
			"id_token_signing_alg_values_supported": []string{"RS256"}, "subject_types_supported": []string{"pairwise"},
		})
	case "discovery/v2.0/keys", "discovery/keys":
		key, _, err := processKeys()
		if err != nil {
			http.Error(w, err.Error(), 500)
			return
		}
		writeJSON(w, 200, map[string]any{"keys": []any{map[string]any{"kty": "RSA", "use": "sig", "kid": signingKID(),
			"n": b64.EncodeToString(key.PublicKey.N.Bytes()), "e": b64.EncodeToString(big.NewInt(int64(key.PublicKey.E)).Bytes())}}})
	case "oauth2/v2.0/token":
		if r.Method != http.MethodPost {
			entraError(w, 405, "invalid_request", 900561, "The endpoint only accepts POST requests.")
			return
		}
		if s.tokenFault(w, r) {
			return
		}
		s.serveToken(w, r)
	default:
		http.NotFound(w, r)
	}
}

func (s *Server) serveUserRealm(w http.ResponseWriter, r *http.Request, parts []string) {
	user := ""
	if len(parts) > 2 {
		user, _ = url.PathUnescape(parts[2])
	}
	domain := s.dir.domain
	if i := strings.LastIndex(user, "@"); i >= 0 {
		domain = user[i+1:]
	}
	writeJSON(w, 200, map[string]any{"ver": "1.0", "account_type": "Managed", "domain_name": domain,
		"cloud_instance_name": "microsoftonline.com", "cloud_audience_urn": "urn:federation:MicrosoftOnline"})
}

// resourceOf turns a scope list into the resource (audience). For
// client_credentials only "<resource>/.default" is valid; delegated flows may
// also name a permission ("<resource>/user_impersonation").
func resourceOf(scope string, appOnly bool) (string, bool) {
	for _, sc := range strings.Fields(scope) {
		switch sc {
		case "openid", "offline_access", "profile", "email":
			continue
		}
		if strings.HasSuffix(sc, "/.default") {
			return strings.TrimSuffix(sc, "/.default"), true
		}
		if appOnly {
			return sc, false
		}
		if i := strings.LastIndex(sc, "/"); i > len("https://") {
			return sc[:i], true
		}
	}
	return "", false
}

// knownResource normalises a resource and says whether a service principal
// for it exists in the tenant.
func (s *Server) knownResource(res string) (string, bool) {
	res = strings.TrimSuffix(res, "/")
	if res == federatedAudience {
		return res, true
	}
	for _, u := range []string{s.DiscoveryURL, s.AdminURL, s.GraphURL} {
		if sameOrigin(res, u) {
			return u, true
		}
	}
	for _, e := range s.envs {
		if e.url != "" && sameOrigin(res, e.url) {
			return e.url, true
		}
	}
	return res, false
}

// sameOrigin compares https origins, treating localhost and 127.0.0.1 alike.
func sameOrigin(a, b string) bool {
	norm := func(s string) string {
		s = strings.TrimSuffix(strings.ToLower(s), "/")
		return strings.Replace(s, "://localhost:", "://127.0.0.1:", 1)
	}
	return norm(a) == norm(b)
}

func (s *Server) serveToken(w http.ResponseWriter, r *http.Request) {
	if err := r.ParseForm(); err != nil {
		entraError(w, 400, "invalid_request", 900144, "The request body must contain the following parameter: 'grant_type'.")
		return
	}
	f := r.PostForm
	clientID := f.Get("client_id")
	if u, p, ok := r.BasicAuth(); ok && clientID == "" {
		clientID = u
		f.Set("client_secret", p)
	}
	app := s.dir.byClient[clientID]
	if app == nil {
		entraError(w, 400, "unauthorized_client", 700016, fmt.Sprintf("Application with identifier '%s' was not found in the directory '%s'. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You may have sent your authentication request to the wrong tenant.", clientID, s.dir.domain))
		return
	}
	switch gt := f.Get("grant_type"); gt {
	case "client_credentials":
		if !s.checkClientAuth(w, r, app, f) {
			return
		}
		res, ok := resourceOf(f.Get("scope"), true)
		if !ok {
			entraError(w, 400, "invalid_scope", 1002012, fmt.Sprintf("The provided value for scope %s is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).", f.Get("scope")))
			return
		}
		aud, known := s.knownResource(res)
		if !known {
			entraError(w, 400, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s. This can happen if the application has not been installed by the administrator of the tenant or consented to by any user in the tenant. You might have sent your authentication request to the wrong tenant.", res, s.dir.domain))
			return
		}
		tok, exp, err := s.mintApp(app, aud)
		if err != nil {
			entraError(w, 500, "server_error", 500000, err.Error())
			return
		}
		writeJSON(w, 200, map[string]any{"token_type": "Bearer", "expires_in": int(time.Until(exp).Seconds()), "ext_expires_in": int(time.Until(exp).Seconds()), "access_token": tok})
	case "password":
		s.serveROPC(w, r, app, f)
	case "refresh_token":
		entraError(w, 400, "invalid_grant", 9002313, "Invalid request. Request is malformed or invalid.")
	default:
		entraError(w, 400, "unsupported_grant_type", 70003, fmt.Sprintf("The app requested an unsupported grant type '%s'.", gt))
	}
}

// checkClientAuth validates the secret or the client assertion.
func (s *Server) checkClientAuth(w http.ResponseWriter, r *http.Request, app *AppClient, f url.Values) bool {
	if sec := f.Get("client_secret"); sec != "" {
		if app.Kind != KindSecret || subtle.ConstantTimeCompare([]byte(sec), []byte(app.Secret)) != 1 {
			entraError(w, 401, "invalid_client", 7000215, fmt.Sprintf("Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '%s'.", app.ClientID))
			return false
		}
		return true
	}
	as := f.Get("client_assertion")
	if as == "" {
		entraError(w, 401, "invalid_client", 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.")
		return false
	}
	if f.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" {
		entraError(w, 400, "invalid_request", 50027, "Invalid client_assertion_type.")
		return false
	}
	jwt, err := parseJWT(as)
	if err != nil {
		entraError(w, 401, "invalid_client", 50027, "JWT token is invalid or malformed.")
		return false
	}
	now := s.Now().Unix()
	if exp := jwt.num("exp"); exp != 0 && exp < now-300 {
		entraError(w, 401, "invalid_client", 700024, "Client assertion is not within its valid time range.")
		return false
	}
	switch app.Kind {
	case KindCertificate:
		s1, s256 := certThumbprints(app.cert)
		x5t, _ := jwt.header["x5t"].(string)
		x5t256, _ := jwt.header["x5t#S256"].(string)
		match := func(h string, want []byte) bool {
			b, err := base64.StdEncoding.DecodeString(h)
			if err != nil {
				b, _ = b64.DecodeString(h)
			}
			return bytes.Equal(b, want)
		}
		if !(x5t != "" && match(x5t, s1)) && !(x5t256 != "" && match(x5t256, s256)) {
			entraError(w, 401, "invalid_client", 700027, fmt.Sprintf("The certificate with identifier used to sign the client assertion is not registered on application. [Reason - The key was not found., Please visit the Azure Portal, Graph Explorer or directly use MS Graph to see configured keys for app Id '%s'.]", app.ClientID))
			return false
		}
		if err := jwt.verify(app.cert.PublicKey.(*rsa.PublicKey)); err != nil {
			entraError(w, 401, "invalid_client", 700027, "Client assertion failed signature validation.")
			return false
		}
		if jwt.str("sub") != app.ClientID || jwt.str("iss") != app.ClientID {
			entraError(w, 401, "invalid_client", 700023, "Client assertion audience claim does not match Realm issuer.")
			return false
		}
		return true
	case KindFederated:
		key, _, _ := processKeys()
		if err := jwt.verify(&key.PublicKey); err != nil || jwt.str("iss") != s.issuer || jwt.str("aud") != federatedAudience {
			entraError(w, 400, "invalid_request", 70021, "No matching federated identity record found for presented assertion. Assertion Issuer: '"+jwt.str("iss")+"'. Assertion Subject: '"+jwt.str("sub")+"'. Assertion Audience: '"+jwt.str("aud")+"'.")
			return false
		}
		return true
	}
	entraError(w, 401, "invalid_client", 700027, "Client assertion failed signature validation.")
	return false
}

func (s *Server) serveROPC(w http.ResponseWriter, r *http.Request, app *AppClient, f url.Values) {
	u := s.dir.byUser[strings.ToLower(f.Get("username"))]
	if u == nil {
		entraError(w, 400, "invalid_grant", 50034, fmt.Sprintf("The user account {EUII Hidden} does not exist in the %s directory. To sign into this application, the account must be added to the directory.", s.dir.domain))
		return
	}
	if subtle.ConstantTimeCompare([]byte(f.Get("password")), []byte(u.Password)) != 1 {
		entraError(w, 400, "invalid_grant", 50126, "Error validating credentials due to invalid username or password.")
		return
	}
	res, ok := resourceOf(f.Get("scope"), false)
	aud, known := s.knownResource(res)
	if !ok || !known {
		entraError(w, 400, "invalid_resource", 500011, fmt.Sprintf("The resource principal named %s was not found in the tenant named %s.", res, s.dir.domain))
		return
	}
	if u.MFA {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		w.WriteHeader(400)
		json.NewEncoder(w).Encode(map[string]any{"error": "invalid_grant", "suberror": "basic_action",
			"error_description": fmt.Sprintf("AADSTS50076: Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication to access '%s'. Trace ID: 0000 Correlation ID: 0000", aud),
			"error_codes":       []int{50076}, "claims": `{"access_token":{"capolids":{"essential":true,"values":["00000000-0000-0000-0000-000000000000"]}}}`})
		return
	}
	tok, exp, err := s.mintUser(u, app.ClientID, aud)
	if err != nil {
		entraError(w, 500, "server_error", 500000, err.Error())
		return
	}
	now := s.Now()
	idTok, _ := signJWT(map[string]any{"aud": app.ClientID, "iss": s.issuer, "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"oid": u.ObjectID, "sub": u.ObjectID, "tid": s.tenant, "preferred_username": u.Username, "name": u.DisplayName, "ver": "2.0"})
	ci, _ := json.Marshal(map[string]string{"uid": u.ObjectID, "utid": s.tenant})
	writeJSON(w, 200, map[string]any{"token_type": "Bearer", "scope": f.Get("scope"), "expires_in": int(exp.Sub(now).Seconds()), "ext_expires_in": int(exp.Sub(now).Seconds()),
		"access_token": tok, "id_token": idTok, "client_info": b64.EncodeToString(ci)})
}

// mintApp makes an app-only access token (idtyp app) for aud.
func (s *Server) mintApp(app *AppClient, aud string) (string, time.Time, error) {
	now := s.Now()
	exp := now.Add(s.tokenLifetime)
	c := map[string]any{"aud": aud, "iss": "https://sts.windows.net/" + s.tenant + "/", "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"appid": app.ClientID, "azp": app.ClientID, "oid": app.ObjectID, "sub": app.ObjectID, "tid": s.tenant, "idtyp": "app", "ver": "1.0", "appidacr": "1"}
	if app.Kind == KindManagedIdentity || aud == federatedAudience {
		c["iss"] = s.issuer // a federated assertion is checked against this issuer
	}
	tok, err := signJWT(c)
	return tok, exp, err
}

func (s *Server) mintUser(u *ServiceAccount, clientID, aud string) (string, time.Time, error) {
	now := s.Now()
	exp := now.Add(s.tokenLifetime)
	tok, err := signJWT(map[string]any{"aud": aud, "iss": "https://sts.windows.net/" + s.tenant + "/", "iat": now.Unix(), "nbf": now.Unix(), "exp": exp.Unix(),
		"appid": clientID, "oid": u.ObjectID, "sub": u.ObjectID, "tid": s.tenant, "idtyp": "user", "upn": u.Username, "unique_name": u.Username,
		"name": u.DisplayName, "scp": "user_impersonation", "ver": "1.0"})
	return tok, exp, err
}

// serveMSI is the App Service managed identity endpoint (IDENTITY_ENDPOINT +
// IDENTITY_HEADER, api-version 2019-08-01), plain http on loopback.
func (s *Server) serveMSI(w http.ResponseWriter, r *http.Request) {
	if r.URL.Path != "/msi/token" {
		http.NotFound(w, r)
		return
	}
	if r.Header.Get("X-IDENTITY-HEADER") != s.dir.msiHeader {
		writeJSON(w, 401, map[string]any{"statusCode": 401, "message": "Unauthorized: X-IDENTITY-HEADER missing or wrong."})
		return
	}
	if s.tokenFault(w, r) {
		return
	}
	q := r.URL.Query()
	if q.Get("api-version") != "2019-08-01" {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "Unsupported api-version " + q.Get("api-version")})
		return
	}
	mi := s.dir.app(KindManagedIdentity)
	if id := q.Get("client_id"); id != "" && id != mi.ClientID {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "No User Assigned or Delegated Managed Identity found for specified ClientId/ResourceId/PrincipalId."})
		return
	}
	aud, known := s.knownResource(strings.TrimSuffix(q.Get("resource"), "/.default"))
	if !known {
		writeJSON(w, 400, map[string]any{"statusCode": 400, "message": "AADSTS500011: The resource principal named " + q.Get("resource") + " was not found in the tenant."})
		return
	}
	tok, exp, err := s.mintApp(mi, aud)
	if err != nil {
		http.Error(w, err.Error(), 500)
		return
	}
	writeJSON(w, 200, map[string]any{"access_token": tok, "expires_on": strconv.FormatInt(exp.Unix(), 10), "resource": q.Get("resource"), "token_type": "Bearer", "client_id": mi.ClientID})
}

// FederatedAssertion returns a signed assertion the federated client accepts
// as client_assertion (what a workload identity would present).
func (s *Server) FederatedAssertion() string {
	tok, _, _ := s.mintApp(s.dir.app(KindManagedIdentity), federatedAudience)
	return tok
}

// Token mints an access token for app clientID and a resource (environment
// URL, DiscoveryURL, AdminURL or GraphURL) without an HTTP round trip.
func (s *Server) Token(clientID, resource string) (string, error) {
	app := s.dir.byClient[clientID]
	if app == nil {
		return "", fmt.Errorf("dataversesim: unknown client %s", clientID)
	}
	aud, _ := s.knownResource(resource)
	tok, _, err := s.mintApp(app, aud)
	return tok, err
}

// UserToken mints a delegated token for a service account (MFA ignored).
func (s *Server) UserToken(username, resource string) (string, error) {
	u := s.dir.byUser[strings.ToLower(username)]
	if u == nil {
		return "", fmt.Errorf("dataversesim: unknown user %s", username)
	}
	aud, _ := s.knownResource(resource)
	tok, _, err := s.mintUser(u, s.dir.app(KindPublic).ClientID, aud)
	return tok, err
}

// principal is the caller identified by a verified bearer token.
type principal struct {
	oid, appid string
	isApp      bool
	upn        string
}

// checkBearer verifies signature, expiry and audience; it returns a reason on failure.
func (s *Server) checkBearer(r *http.Request, audience string) (*principal, string) {
	h := r.Header.Get("Authorization")
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return nil, "missing bearer token"
	}
	jwt, err := parseJWT(strings.TrimSpace(h[7:]))
	if err != nil {
		return nil, "malformed token"
	}
	key, _, _ := processKeys()
	if err := jwt.verify(&key.PublicKey); err != nil {
		return nil, "invalid signature"
	}
	if jwt.num("exp") < s.Now().Unix() {
		return nil, "token expired"
	}
	if !sameOrigin(jwt.str("aud"), audience) {
		return nil, "audience " + jwt.str("aud") + " is not " + audience
	}
	return &principal{oid: jwt.str("oid"), appid: jwt.str("appid"), isApp: jwt.str("idtyp") == "app", upn: jwt.str("upn")}, ""
}
