package functions

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/data/aztables"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/shared/audit"
	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/connections"
	"github.com/cloudbackup-d365/cloudbackup/shared/identity"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/restore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/shared/secrets"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
	"github.com/cloudbackup-d365/cloudbackup/wiring"
)

// syncBuffer collects log output from concurrent handlers.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}
func (s *syncBuffer) String() string { s.mu.Lock(); defer s.mu.Unlock(); return s.b.String() }

type apiFixture struct {
	t      *testing.T
	app    *App
	srv    *httptest.Server
	sim    *dataversesim.Server
	sender *messaging.MemorySender
	logs   *syncBuffer
	// bodies holds every response body, for the secrets check.
	bodies *syncBuffer
	tables *aztables.ServiceClient
	// storage are the app's storage clients; secretsDir the local secret
	// store's folder (the corpus checks neither changes on bad input).
	storage    *storageaccount.Clients
	secretsDir string
	// deadHost is an allowed environment host (host:port) nothing answers on.
	deadHost string
}

func newAPI(t *testing.T, mode string) *apiFixture {
	t.Helper()
	return newAPIOn(t, mode, azurite.Shared(t).ConnectionString())
}

// newAPIOn builds the fixture on the storage account of connString.
func newAPIOn(t *testing.T, mode, connString string) *apiFixture {
	t.Helper()
	ctx := context.Background()
	tables, err := aztables.NewServiceClientFromConnectionString(connString, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range append(append([]string{connections.TableConnections, connections.TableEnvironments, audit.Table}, runstate.Tables()...), restore.Tables()...) {
		_, _ = tables.DeleteTable(ctx, n, nil)
	}
	store, err := connections.NewStore(ctx, tables)
	if err != nil {
		t.Fatal(err)
	}
	sim := dataversesim.Start(t, dataversesim.Options{Records: 20, SecondRecords: 5, Seed: 5})
	t.Setenv("IDENTITY_ENDPOINT", sim.MSIEndpoint)
	t.Setenv("IDENTITY_HEADER", sim.MSIHeader)
	var hosts []string
	for _, e := range sim.Environments() {
		if e.URL() != "" {
			hosts = append(hosts, strings.TrimPrefix(e.URL(), "https://"))
		}
	}
	// An allowed host where nothing listens: a mistyped environment.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	deadHost := ln.Addr().String()
	ln.Close()
	hosts = append(hosts, deadHost)
	secDir := t.TempDir()
	sec, _ := secrets.NewLocal(secDir)
	logs := &syncBuffer{}
	log := slog.New(slog.NewJSONHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	svc, err := connections.NewService(connections.Options{Store: store, Secrets: sec, ExtraCA: sim.CAPEM(), AllowedHosts: hosts, Log: log,
		Identity:  identity.Options{AuthorityHost: sim.AuthorityHost, ManagedIdentityClientID: sim.ManagedIdentity().ClientID},
		Endpoints: connections.Endpoints{GlobalDiscovery: sim.DiscoveryURL, PowerPlatformAdmin: sim.AdminURL, Graph: sim.GraphURL}})
	if err != nil {
		t.Fatal(err)
	}
	al, err := audit.NewTableLog(ctx, tables)
	if err != nil {
		t.Fatal(err)
	}
	clients, err := storageaccount.Open(config.Storage{ConnectionString: connString}, nil)
	if err != nil {
		t.Fatal(err)
	}
	sender := messaging.NewMemorySender()
	app := newApp(t, clients, sender, svc, al, log, &config.Config{APIAuthorization: mode, BackupSchedule: config.DefaultBackupSchedule, Messaging: config.Messaging{Transport: "storagequeue"}})
	f := &apiFixture{t: t, app: app, sim: sim, sender: sender, logs: logs, bodies: &syncBuffer{}, tables: tables, storage: clients, secretsDir: secDir, deadHost: deadHost}
	f.srv = httptest.NewServer(app.Router())
	t.Cleanup(f.srv.Close)
	return f
}

// newApp builds the app as cmd/handler does: the engines on Azurite through
// package wiring, then functions.New.
func newApp(t *testing.T, st *storageaccount.Clients, sender messaging.Sender, svc *connections.Service, al audit.Log, log *slog.Logger, cfg *config.Config) *App {
	t.Helper()
	eng, err := wiring.NewEngines(context.Background(), wiring.EngineParts{Storage: st, Sender: sender, Connections: svc, Log: log})
	if err != nil {
		t.Fatal(err)
	}
	app, err := New(Deps{Log: log, Config: cfg, Backup: eng.Backup, Restore: eng.Restore, Connections: svc, Audit: al, Storage: st})
	if err != nil {
		t.Fatal(err)
	}
	return app
}

func principal(name string, roles ...Role) string {
	claims := []map[string]string{{"typ": "name", "val": name}, {"typ": "http://schemas.microsoft.com/identity/claims/objectidentifier", "val": "oid-" + name}}
	for _, r := range roles {
		claims = append(claims, map[string]string{"typ": "roles", "val": string(r)})
	}
	b, _ := json.Marshal(map[string]any{"auth_typ": "aad", "name_typ": "name", "role_typ": "roles", "claims": claims})
	return base64.StdEncoding.EncodeToString(b)
}

// do sends a request; hdr may set X-MS-CLIENT-PRINCIPAL and others.
func (f *apiFixture) do(method, path string, body any, hdr map[string]string) (int, map[string]any, http.Header) {
	f.t.Helper()
	var rd io.Reader
	switch b := body.(type) {
	case nil:
	case string:
		rd = strings.NewReader(b)
	case []byte:
		rd = bytes.NewReader(b)
	default:
		raw, _ := json.Marshal(b)
		rd = bytes.NewReader(raw)
	}
	req, _ := http.NewRequest(method, f.srv.URL+path, rd)
	if rd != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	resp, err := http.DefaultClient.Do(req.WithContext(ctx))
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	f.bodies.Write(raw)
	var out map[string]any
	_ = json.Unmarshal(raw, &out)
	if resp.StatusCode >= 400 && !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/problem+json") {
		f.t.Errorf("%s %s: %d without problem+json (%s)", method, path, resp.StatusCode, resp.Header.Get("Content-Type"))
	}
	return resp.StatusCode, out, resp.Header
}

func admin() map[string]string {
	return map[string]string{principalHeader: principal("alice", RoleAdmin)}
}

// The OpenAPI document lists exactly the router's routes.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc struct {
		OpenAPI string                                `json:"openapi"`
		Paths   map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	if doc.OpenAPI != "3.1.0" {
		t.Errorf("openapi = %q", doc.OpenAPI)
	}
	inDoc := map[string]bool{}
	for p, ops := range doc.Paths {
		for m := range ops {
			if m == "parameters" {
				continue
			}
			inDoc[strings.ToUpper(m)+" "+p] = true
		}
	}
	inRouter := map[string]bool{}
	for _, r := range routes() {
		k := r.Method + " " + r.Pattern
		inRouter[k] = true
		if !inDoc[k] {
			t.Errorf("route %s is not in openapi.json", k)
		}
		var op struct {
			Role string `json:"x-required-role"`
		}
		_ = json.Unmarshal(doc.Paths[r.Pattern][strings.ToLower(r.Method)], &op)
		want := string(r.Role)
		if want == "" {
			want = "anonymous"
		}
		if op.Role != want {
			t.Errorf("%s: openapi x-required-role %q, router %q", k, op.Role, want)
		}
	}
	for k := range inDoc {
		if !inRouter[k] {
			t.Errorf("openapi.json documents %s, which the router does not serve", k)
		}
	}
}

// Every route under a function's route prefix is reachable through that function.
func TestRoutesBelongToFunctions(t *testing.T) {
	for _, r := range routes() {
		rest := strings.TrimPrefix(r.Pattern, "/api/")
		ok := false
		for _, d := range Definitions() {
			if d.Trigger != HTTPTrigger {
				continue
			}
			prefix := strings.TrimSuffix(d.Route, "/{*path}")
			if rest == d.Route || rest == prefix || strings.HasPrefix(rest, prefix+"/") && strings.HasSuffix(d.Route, "{*path}") {
				ok = true
			}
		}
		if !ok {
			t.Errorf("route %s has no HTTP function whose route covers it", r.Pattern)
		}
	}
}

var pathParam = regexp.MustCompile(`\{[A-Za-z]+\}`)

// Authorization matrix: each role x each route.
func TestAuthorizationMatrix(t *testing.T) {
	f := newAPI(t, config.AuthEasyAuth)
	callers := map[string][]Role{"none": nil, "reader": {RoleReader}, "operator": {RoleOperator}, "restore": {RoleRestore}, "admin": {RoleAdmin}}
	for _, rt := range routes() {
		path := pathParam.ReplaceAllStringFunc(rt.Pattern, func(p string) string {
			if p == "{table}" {
				return "account"
			}
			return "00000000-0000-0000-0000-00000000000a"
		})
		var body any
		if rt.Method == "POST" || rt.Method == "PUT" {
			body = "{}"
		}
		if rt.Role == roleAnonymous {
			if st, _, _ := f.do(rt.Method, path, body, nil); st != http.StatusOK {
				t.Errorf("%s %s anonymous: %d", rt.Method, rt.Pattern, st)
			}
			continue
		}
		if st, p, _ := f.do(rt.Method, path, body, nil); st != http.StatusUnauthorized || p["code"] != "unauthenticated" {
			t.Errorf("%s %s without principal: %d %v", rt.Method, rt.Pattern, st, p)
		}
		for name, roles := range callers {
			c := &caller{Roles: map[Role]bool{}}
			for _, r := range roles {
				c.Roles[r] = true
			}
			st, p, _ := f.do(rt.Method, path, body, map[string]string{principalHeader: principal(name, roles...)})
			allowed := c.has(rt.Role)
			switch {
			case allowed && (st == http.StatusForbidden || st == http.StatusUnauthorized):
				t.Errorf("%s %s as %s: %d, want allowed (%v)", rt.Method, rt.Pattern, name, st, p["detail"])
			case !allowed && st != http.StatusForbidden:
				t.Errorf("%s %s as %s: %d, want 403", rt.Method, rt.Pattern, name, st)
			}
		}
	}
	// The matrix in words: restore is not granted by Backup.Admin, and
	// Reader/Operator cannot restore.
	for _, r := range []Role{RoleReader, RoleOperator, RoleAdmin} {
		c := &caller{Roles: map[Role]bool{r: true}}
		if c.has(RoleRestore) {
			t.Errorf("%s may restore", r)
		}
	}
	// Refusals are audited.
	es, _ := f.app.audit.List(context.Background(), 1000)
	refused := 0
	for _, e := range es {
		if e.Outcome == "refused" {
			refused++
		}
	}
	if refused == 0 {
		t.Error("no refused change in the audit log")
	}
	// A malformed principal is 401.
	if st, _, _ := f.do("GET", "/api/connections", nil, map[string]string{principalHeader: "%%%"}); st != http.StatusUnauthorized {
		t.Errorf("malformed principal: %d", st)
	}
}

func TestAuthorizationModes(t *testing.T) {
	f := newAPI(t, config.AuthFunctionKey)
	// functionkey: a forged principal without roles is ignored; the key holder may do everything.
	if st, _, _ := f.do("GET", "/api/connections", nil, map[string]string{principalHeader: principal("mallory")}); st != http.StatusOK {
		t.Errorf("functionkey mode: %d", st)
	}
	f.app.cfg.APIAuthorization = config.AuthLocalAdmin
	if st, _, _ := f.do("GET", "/api/audit", nil, nil); st != http.StatusOK {
		t.Errorf("local-admin without principal: %d", st)
	}
	if st, _, _ := f.do("GET", "/api/audit", nil, map[string]string{principalHeader: principal("bob", RoleReader)}); st != http.StatusForbidden {
		t.Errorf("local-admin honours a sent principal: %d", st)
	}
}
