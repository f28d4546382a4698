package functions

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/cloudbackup-d365/cloudbackup/shared/config"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
	"github.com/cloudbackup-d365/cloudbackup/shared/messaging"
	"github.com/cloudbackup-d365/cloudbackup/shared/storageaccount"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

type noClients struct{}

func (noClients) Clients(context.Context, string) ([]*dataverse.Client, error) { return nil, nil }

// TestRestoreRoutes checks the wiring of the restore endpoints: roles,
// strict bodies, problems for unknown runs and jobs, the list.
func TestRestoreRoutes(t *testing.T) {
	az := azurite.Shared(t)
	clients, err := storageaccount.Open(config.Storage{ConnectionString: az.ConnectionString()}, nil)
	if err != nil {
		t.Fatal(err)
	}
	a := &App{Log: slog.New(slog.NewTextHandler(io.Discard, nil)), Config: &config.Config{},
		Storage: clients, Sender: messaging.NewMemorySender(), RestoreDirectory: noClients{}}
	mux := http.NewServeMux()
	a.registerRestoreRoutes(mux)
	srv := httptest.NewServer(a.accessLog(mux))
	defer srv.Close()
	call := func(method, path, body string, roles ...Role) (int, map[string]any) {
		req, _ := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if body != "" {
			req.Header.Set("Content-Type", "application/json")
		}
		req.Header.Set(principalHeader, principal("tester", roles...))
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer res.Body.Close()
		var m map[string]any
		_ = json.NewDecoder(res.Body).Decode(&m)
		return res.StatusCode, m
	}
	cases := []struct {
		method, path, body string
		roles              []Role
		want               int
	}{
		{"POST", "/api/restores", `{"environment":"e1"}`, []Role{RoleAdmin}, 403},
		{"POST", "/api/restores", `{"environment":"e1","bogus":1}`, []Role{RoleRestore}, 400},
		{"POST", "/api/restores", `{"environment":"e1","policy":"clobber"}`, []Role{RoleRestore}, 400},
		{"POST", "/api/restores", `{"environment":"e1","scope":{"records":{"account":["not-a-guid"]}}}`, []Role{RoleRestore}, 400},
		{"POST", "/api/restores", `{"environment":"nobackups"}`, []Role{RoleRestore}, 404},
		{"GET", "/api/restores", "", []Role{RoleReader}, 200},
		{"GET", "/api/restores/r-missing", "", []Role{RoleReader}, 404},
		{"GET", "/api/restores/..%2f..", "", []Role{RoleReader}, 400},
		{"GET", "/api/restores/export/e1/run1/account", "", []Role{RoleReader}, 404},
		{"GET", "/api/restores/export/e1/run1/account?format=xml", "", []Role{RoleReader}, 400},
	}
	for _, c := range cases {
		got, body := call(c.method, c.path, c.body, c.roles...)
		if got != c.want {
			t.Errorf("%s %s %s: %d, want %d (%v)", c.method, c.path, c.body, got, c.want, body)
		}
	}
}
