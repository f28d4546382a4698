package backupdemo

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/cloudbackup-d365/cloudbackup/dataversesim"
	"github.com/cloudbackup-d365/cloudbackup/devhost"
	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/blobstore"
	"github.com/cloudbackup-d365/cloudbackup/shared/runstate"
	"github.com/cloudbackup-d365/cloudbackup/testkit/azurite"
)

// Options configure a Stack.
type Options struct {
	// AppDir holds host.json, the function folders and the handler
	// (make app-local builds .local/app).
	AppDir string
	// Records seeds the demo organization (default 1000).
	Records int
	// Org is the organization's shape (default dataversesim.OrgSmall).
	Org  dataversesim.Org
	Seed int64
	// Identities is how many app registrations the connection holds (default 2).
	Identities int
	// MaxDeliveryCount of the dev host and the engine (default 10).
	MaxDeliveryCount int
	// LockDuration is how long a delivered message stays invisible before it
	// is redelivered when the handler died (default 15 s).
	LockDuration time.Duration
	// Limits of the simulator (default off).
	Limits dataversesim.Limits
	// Sim, when set, is called with the simulator's Options before it
	// starts (e.g. to set WideColumns or MaxFileSizeMB).
	Sim func(*dataversesim.Options)
	// Progress receives human-readable progress lines (default discard).
	Progress io.Writer
	// HandlerOutput receives the handler's and host's logs (default discard).
	HandlerOutput *os.File
}

// Stack is a running local system.
type Stack struct {
	o     Options
	Az    *azurite.Azurite
	Sim   *dataversesim.Server
	Host  *devhost.Host
	Blobs blobstore.Store
	*API
	tmp string
}

// Start brings the stack up.
func Start(ctx context.Context, o Options) (*Stack, error) {
	if o.Records == 0 {
		o.Records = 1000
	}
	if o.Identities == 0 {
		o.Identities = 2
	}
	if o.MaxDeliveryCount == 0 {
		o.MaxDeliveryCount = 10
	}
	if o.LockDuration == 0 {
		o.LockDuration = 15 * time.Second
	}
	if o.Progress == nil {
		o.Progress = io.Discard
	}
	if abs, err := filepath.Abs(o.AppDir); err == nil {
		o.AppDir = abs
	}
	s := &Stack{o: o}
	ok := false
	defer func() {
		if !ok {
			s.Close()
		}
	}()
	var err error
	if s.tmp, err = os.MkdirTemp("", "cloudbackup-demo-*"); err != nil {
		return nil, err
	}
	if s.Az, err = azurite.StartProcess(ctx); err != nil {
		return nil, fmt.Errorf("azurite: %w", err)
	}
	so := dataversesim.Options{Records: o.Records, Seed: o.Seed, Limits: o.Limits, Org: o.Org}
	if o.Sim != nil {
		o.Sim(&so)
	}
	if s.Sim, err = dataversesim.New(so); err != nil {
		return nil, fmt.Errorf("simulator: %w", err)
	}
	caFile := filepath.Join(s.tmp, "dataverse-ca.pem")
	if err := os.WriteFile(caFile, s.Sim.CAPEM(), 0o600); err != nil {
		return nil, err
	}
	bc, err := azblob.NewClientFromConnectionString(s.Az.ConnectionString(), nil)
	if err != nil {
		return nil, err
	}
	s.Blobs = blobstore.NewAzure(bc)
	out := o.HandlerOutput
	if out == nil {
		if out, err = os.Create(filepath.Join(s.tmp, "handler.log")); err != nil {
			return nil, err
		}
	}
	settings := map[string]string{
		"AzureWebJobsStorage":       s.Az.ConnectionString(),
		"MESSAGING_TRANSPORT":       "storagequeue",
		"DATAVERSE_EXTRA_CA_FILE":   caFile,
		"DATAVERSE_ALLOWED_HOSTS":   strings.TrimPrefix(s.Sim.Demo().URL(), "https://"),
		"ENTRA_AUTHORITY_HOST":      s.Sim.AuthorityHost,
		"DATAVERSE_DISCOVERY_URL":   s.Sim.DiscoveryURL,
		"POWERPLATFORM_ADMIN_URL":   s.Sim.AdminURL,
		"GRAPH_URL":                 s.Sim.GraphURL,
		"API_AUTHORIZATION":         "functionkey",
		"LOCAL_SECRETS_DIR":         filepath.Join(s.tmp, "secrets"),
		"BACKUP_SCHEDULE":           "0 0 2 * * *",
		"RETENTION_SCHEDULE":        "0 30 3 * * *",
		"BACKUP_MAX_DELIVERY_COUNT": fmt.Sprint(o.MaxDeliveryCount),
		"LOG_LEVEL":                 "info",
	}
	s.Host, err = devhost.Start(ctx, devhost.Options{Root: o.AppDir, Settings: settings, MaxDeliveryCount: o.MaxDeliveryCount,
		LockDuration: o.LockDuration, MaxPollInterval: 100 * time.Millisecond, DisableTimers: true,
		Log: slog.New(slog.NewJSONHandler(out, nil)), HandlerStdout: out, HandlerStderr: out})
	if err != nil {
		return nil, fmt.Errorf("dev host: %w", err)
	}
	s.API = NewAPI(s.Host.URL()+"/api", s.Host.FunctionKey(), o.Progress)
	ok = true
	return s, nil
}

// Close stops everything.
func (s *Stack) Close() {
	if s.Host != nil {
		_ = s.Host.Close()
	}
	if s.Sim != nil {
		_ = s.Sim.Close()
	}
	if s.Az != nil {
		_ = s.Az.Stop()
	}
	if s.tmp != "" {
		_ = os.RemoveAll(s.tmp)
	}
}

// API is a client of the product's HTTP API (function key auth).
type API struct {
	Base     string // http://host:port/api
	Key      string
	Progress io.Writer
	client   *http.Client
}

// NewAPI returns a client of the API at base (…/api) using a function key.
func NewAPI(base, key string, progress io.Writer) *API {
	if progress == nil {
		progress = io.Discard
	}
	return &API{Base: strings.TrimRight(base, "/"), Key: key, Progress: progress, client: &http.Client{Timeout: 60 * time.Second}}
}

func (s *API) logf(format string, args ...any) { fmt.Fprintf(s.Progress, format+"\n", args...) }

// call sends a JSON request to the API and decodes the answer into out.
func (s *API) call(ctx context.Context, method, path string, in, out any) (int, error) {
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			return 0, err
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequestWithContext(ctx, method, s.Base+path, body)
	if err != nil {
		return 0, err
	}
	req.Header.Set("x-functions-key", s.Key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := s.client.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 8<<20))
	if resp.StatusCode >= 300 {
		return resp.StatusCode, fmt.Errorf("%s %s: %d %s", method, path, resp.StatusCode, strings.TrimSpace(string(raw)))
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			return resp.StatusCode, fmt.Errorf("%s %s: %w", method, path, err)
		}
	}
	return resp.StatusCode, nil
}

// Connect registers the demo organization through the API (an app-profile
// connection with client-secret identities) and returns its environment id.
func (s *Stack) Connect(ctx context.Context) (string, error) {
	var ids []ClientSecret
	for _, app := range s.Sim.SecretClients()[:min(s.o.Identities, len(s.Sim.SecretClients()))] {
		ids = append(ids, ClientSecret{ClientID: app.ClientID, Secret: app.Secret})
	}
	return s.API.Connect(ctx, s.Sim.TenantID(), s.Sim.Demo().URL(), ids)
}

// ClientSecret is an app registration's id and secret.
type ClientSecret struct {
	ClientID string `json:"clientId"`
	Secret   string `json:"clientSecret"`
}

// Connect registers envURL through the API as an app-profile connection
// with client-secret identities, or finds it registered already, and
// returns its environment id.
func (s *API) Connect(ctx context.Context, tenantID, envURL string, clients []ClientSecret) (string, error) {
	var list struct {
		Value []struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		} `json:"value"`
	}
	if _, err := s.call(ctx, http.MethodGet, "/environments", nil, &list); err != nil {
		return "", err
	}
	for _, e := range list.Value {
		if strings.EqualFold(strings.TrimRight(e.URL, "/"), strings.TrimRight(envURL, "/")) {
			s.logf("environment %s is registered already as %s", envURL, e.ID)
			return e.ID, nil
		}
	}
	var ids []map[string]any
	for _, c := range clients {
		ids = append(ids, map[string]any{"mode": "clientSecret", "clientId": c.ClientID, "clientSecret": c.Secret})
	}
	in := map[string]any{"name": "Contoso demo", "kind": "appProfile", "tenantId": tenantID,
		"identities": ids, "environmentUrls": []string{envURL}}
	var out struct {
		Environments []struct {
			ID  string `json:"id"`
			URL string `json:"url"`
		} `json:"environments"`
	}
	if _, err := s.call(ctx, http.MethodPost, "/connections", in, &out); err != nil {
		return "", err
	}
	if len(out.Environments) != 1 {
		return "", fmt.Errorf("connection created with %d environments, want 1", len(out.Environments))
	}
	s.logf("connected %s as environment %s (%d identities)", out.Environments[0].URL, out.Environments[0].ID, len(ids))
	return out.Environments[0].ID, nil
}

// StartBackup starts an on-demand run through the API.
func (s *API) StartBackup(ctx context.Context, env string) (string, error) {
	var r runstate.Run
	if _, err := s.call(ctx, http.MethodPost, "/backups/"+env, nil, &r); err != nil {
		return "", err
	}
	return r.ID, nil
}

// Run reads a run through the API.
func (s *API) Run(ctx context.Context, env, run string) (*runstate.Run, error) {
	var r runstate.Run
	if _, err := s.call(ctx, http.MethodGet, "/backups/"+env+"/"+run, nil, &r); err != nil {
		return nil, err
	}
	return &r, nil
}

// Wait polls a run until it ends (or ctx ends).
func (s *API) Wait(ctx context.Context, env, run string) (*runstate.Run, error) {
	for {
		r, err := s.Run(ctx, env, run)
		if err == nil && runstate.Terminal(r.Status) {
			return r, nil
		}
		select {
		case <-ctx.Done():
			if err == nil {
				err = fmt.Errorf("run %s still %s", run, r.Status)
			}
			return nil, fmt.Errorf("waiting for run %s: %w (%v)", run, ctx.Err(), err)
		case <-time.After(200 * time.Millisecond):
		}
	}
}

// SimState is the simulator's state: table -> record id -> version.
type SimState map[string]map[string]int64

// SimState captures the demo organization's current state.
func (s *Stack) SimState() SimState { return stateOf(s.Sim.Demo()) }

func stateOf(e *dataversesim.Env) SimState {
	out := SimState{}
	for _, tb := range e.Tables() {
		m := map[string]int64{}
		for _, id := range e.IDs(tb) {
			if row, ok := e.Get(tb, id); ok {
				m[id], _ = row["@version"].(int64)
			}
		}
		out[tb] = m
	}
	return out
}

// Verify checks a finished run against the simulator's current state:
// every blob's checksum (backupformat.Verify), every done table's
// reconstruction (ids and versions), and files byte for byte. It returns
// the number of differences found (0 = verified) with a description.
func (s *Stack) Verify(ctx context.Context, env, run string) (int, []string, error) {
	return s.VerifyAgainst(ctx, env, run, s.SimState())
}

// VerifyAgainst is Verify against a state captured earlier (an old run
// must still reconstruct the state of its time).
func (s *Stack) VerifyAgainst(ctx context.Context, env, run string, state SimState) (int, []string, error) {
	probs, err := backupformat.Verify(ctx, s.Blobs, env, run)
	if err != nil {
		return 0, nil, err
	}
	var out []string
	for _, p := range probs {
		out = append(out, "blob "+p.Blob+": "+p.Reason)
	}
	m, err := backupformat.ReadManifest(ctx, s.Blobs, env, run)
	if err != nil {
		return 0, nil, err
	}
	e := s.Sim.Demo()
	for _, tm := range m.Tables {
		if tm.Status == backupformat.TableFailed {
			out = append(out, "table "+tm.Name+" failed: "+tm.Reason)
			continue
		}
		if tm.Status != backupformat.TableDone {
			continue
		}
		want := state[tm.Name]
		got := map[string]int64{}
		if err := backupformat.TableState(ctx, s.Blobs, env, run, tm.Name, func(r backupformat.Record) error {
			got[r.ID] = r.Version
			return nil
		}); err != nil {
			return 0, nil, err
		}
		for id, v := range want {
			if got[id] != v {
				out = append(out, fmt.Sprintf("%s %s: backed up version %d, simulator %d", tm.Name, id, got[id], v))
			}
		}
		for id := range got {
			if _, ok := want[id]; !ok {
				out = append(out, fmt.Sprintf("%s %s: backed up but not in the simulator", tm.Name, id))
			}
		}
	}
	// Files of the custom table, byte for byte with the simulator's.
	err = backupformat.TableFiles(ctx, s.Blobs, m, "cr1_project", func(fr backupformat.FileRef) error {
		row, ok := e.Get("cr1_project", fr.ID)
		if !ok {
			return nil // deleted since; the reconstruction check covers records
		}
		key := fr.Column
		if key == "cr1_image" {
			key = "cr1_imageid"
		}
		fid, _ := row[key].(string)
		_, _, want, ok := e.File(fid)
		if !ok {
			out = append(out, "file "+fr.ID+" "+fr.Column+": not in the simulator")
			return nil
		}
		rc, err := backupformat.OpenFile(ctx, s.Blobs, fr.SHA256)
		if err != nil {
			return err
		}
		defer rc.Close()
		got, err := io.ReadAll(rc)
		if err != nil {
			return err
		}
		if !bytes.Equal(got, want) {
			out = append(out, "file "+fr.ID+" "+fr.Column+": content differs")
		}
		return nil
	})
	if err != nil && !errors.Is(err, backupformat.ErrTableNotInRun) {
		return 0, nil, err
	}
	return len(out), out, nil
}

// ListRuns lists an environment's runs through the API, oldest first.
func (s *API) ListRuns(ctx context.Context, env string) ([]runstate.Run, error) {
	var out struct {
		Value []runstate.Run `json:"value"`
	}
	if _, err := s.call(ctx, http.MethodGet, "/backups/"+env, nil, &out); err != nil {
		return nil, err
	}
	return out.Value, nil
}

// SetPolicy replaces an environment's backup policy through the API.
func (s *API) SetPolicy(ctx context.Context, env string, policy map[string]any) error {
	_, err := s.call(ctx, http.MethodPut, "/environments/"+env+"/policy", policy, nil)
	return err
}

// FireTimer runs a timer function now (POST /admin/functions/<name> with the
// master key), as the Functions host allows.
func (s *Stack) FireTimer(ctx context.Context, name string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.Host.URL()+"/admin/functions/"+name, strings.NewReader(`{}`))
	if err != nil {
		return err
	}
	req.Header.Set("x-functions-key", s.Host.MasterKey())
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusAccepted {
		b, _ := io.ReadAll(resp.Body)
		return fmt.Errorf("fire %s: %d %s", name, resp.StatusCode, b)
	}
	return nil
}
