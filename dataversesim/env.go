package dataversesim

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

type envSpec struct {
	name, uniqueName, friendly string
	sku                        string
	records                    int
	counts                     map[string]int
	seedSalt                   uint64
	noDataverse, disabled      bool
}

func envSpecs(o Options) []envSpec {
	rec := o.Records
	if rec < 0 {
		rec = 0
	}
	sec := o.SecondRecords
	if sec < 0 {
		sec = 0
	}
	return []envSpec{
		{name: "demo", uniqueName: "orgdemo", friendly: "Contoso Demo", sku: "Production", records: rec, counts: o.TableCounts, seedSalt: 1},
		{name: "second", uniqueName: "orgsecond", friendly: "Contoso Restore Target", sku: "Sandbox", records: sec, seedSalt: 2},
		{name: "disabled", uniqueName: "orgdisabled", friendly: "Contoso Disabled", sku: "Sandbox", records: 10, seedSalt: 3, disabled: true},
		{name: "nodataverse", friendly: "Contoso Teams (no Dataverse)", sku: "Developer", seedSalt: 4, noDataverse: true},
	}
}

// Env is one environment (organization). Each with Dataverse has its own
// URL. Its mutex guards tables, files and version; the request pipeline takes
// it for the dispatch only, never while sleeping for latency or server time.
type Env struct {
	s    *Server
	spec envSpec
	url  string

	OrgID, EnvironmentID string

	mu      sync.RWMutex
	tables  map[string]*tableData
	version int64
	files   map[string]*fileBlob
	uploads map[string]*upload
	// blockUploads are InitializeFileBlocksUpload sessions by token.
	blockUploads map[string]*blockUpload
	undo         *[]func()
	dirty        bool
	rng          *rand.Rand
	created      time.Time // organization creation, for delta token timestamps

	// meta is this organization's metadata changes (metadatachanges.go);
	// guarded by mu like the rows.
	meta *metaState

	bmu     sync.Mutex // behaviour switches below
	faults  []Fault
	latency *time.Duration
	reqTime *time.Duration
	recTime *time.Duration
	ctExp   *time.Duration
	limiter *limiter

	// requests and metadataRequests count the authenticated Web API
	// requests, for tests and benchmarks that measure what a scan costs.
	requests, metadataRequests atomic.Int64
}

// Requests reports the authenticated Web API requests served so far, and
// how many of them read metadata (EntityDefinitions, RelationshipDefinitions,
// GlobalOptionSetDefinitions, RetrieveMetadataChanges, $metadata).
func (e *Env) Requests() (all, metadata int64) { return e.requests.Load(), e.metadataRequests.Load() }

func newEnv(s *Server, spec envSpec, url string) *Env {
	r := rand.New(rand.NewPCG(uint64(s.opts.Seed), spec.seedSalt))
	e := &Env{s: s, spec: spec, url: url, tables: map[string]*tableData{}, files: map[string]*fileBlob{}, uploads: map[string]*upload{}, rng: r}
	e.OrgID, e.EnvironmentID = newGUID(r), newGUID(r)
	for _, t := range s.schema.tables {
		e.tables[t.LogicalName] = newTableData(t)
	}
	e.limiter = newLimiter(s.opts.Limits)
	return e
}

// Name is the simulator's short name ("demo", "second", "disabled", "nodataverse").
func (e *Env) Name() string { return e.spec.name }

// URL is the environment URL (the token audience); "" without Dataverse.
func (e *Env) URL() string { return e.url }

// APIURL is URL + "/api/data/v9.2/".
func (e *Env) APIURL() string { return e.url + "/api/data/v9.2/" }

// UniqueName is the organization unique name.
func (e *Env) UniqueName() string { return e.spec.uniqueName }

// FriendlyName is the display name.
func (e *Env) FriendlyName() string { return e.spec.friendly }

// Disabled reports whether the environment is disabled (its API answers 403).
func (e *Env) Disabled() bool { return e.spec.disabled }

// HasDataverse is false for the environment listed by the admin API without a database.
func (e *Env) HasDataverse() bool { return !e.spec.noDataverse }

// Token mints a token for this environment for app clientID ("" = the first
// usable secret client).
func (e *Env) Token(clientID string) (string, error) {
	if clientID == "" {
		clientID = e.s.SecretClients()[0].ClientID
	}
	return e.s.Token(clientID, e.url)
}

// dvError is a Dataverse Web API error.
type dvError struct {
	status  int
	code    string
	message string
}

func (d *dvError) Error() string { return d.message }

func errf(status int, code, format string, args ...any) *dvError {
	return &dvError{status: status, code: code, message: fmt.Sprintf(format, args...)}
}

// Dataverse error codes used here. Codes with a reference are from
// dataverse-reference.md; the others are the simulator's choice.
const (
	codeNotFound        = "0x80040217" // "<table> With Id = <id> Does Not Exist"
	codeBadRequest      = "0x80060888" // OData syntax / unsupported query option
	codeVersionMismatch = "0x80060882" // If-Match mismatch (412)
	codeDuplicate       = "0x80040237" // If-None-Match * on existing row (412)
	codeStatus          = "0x80048408" // reference 5
	codeTooBig          = "0x80044a02" // reference 4
	codeBatch           = "0x80044331" // reference 5
	codeExpiredToken    = "0x80044352"
	codeNotMember       = "0x80072560"
	codeUserDisabled    = "0x80040225"
	codeNoPrivilege     = "0x80042f09"
	codeUnsupported     = "0x80040800"
)

func writeDVError(w http.ResponseWriter, err *dvError) {
	w.Header().Set("Content-Type", "application/json; odata.metadata=minimal")
	w.Header().Set("OData-Version", "4.0")
	w.WriteHeader(err.status)
	b, _ := json.Marshal(map[string]any{"error": map[string]any{"code": err.code, "message": err.message}})
	w.Write(b)
}

// reqCtx carries what one Web API request needs after authentication.
type reqCtx struct {
	e       *Env
	r       *http.Request
	user    string // systemuserid of the caller
	isAdmin bool
	records int    // records returned or written: charged as server time
	base    string // https://host/api/data/v9.x/ (the version the client used)
}

// ServeHTTP is the environment's request pipeline: faults, auth, limits,
// dispatch under the lock into a buffer, then simulated server time and
// latency, then the buffered response (so faults can cut it).
func (e *Env) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	version, ok := apiVersion(r.URL.Path)
	if !ok {
		writeDVError(w, errf(404, codeNoSegment, "Resource not found for the segment '%s'.", strings.TrimPrefix(r.URL.Path, "/")))
		return
	}
	p, reason := e.s.checkBearer(r, e.url)
	if p == nil {
		w.Header().Set("WWW-Authenticate", fmt.Sprintf("Bearer authorization_uri=%s%s/oauth2/authorize, resource_id=%s", e.s.AuthorityHost, e.s.tenant, e.url))
		w.Header().Set("x-ms-diagnostics", reason)
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	e.requests.Add(1)
	if seg := strings.TrimPrefix(r.URL.Path, "/api/data/v9.2/"); strings.HasPrefix(seg, "EntityDefinitions") || strings.HasPrefix(seg, "RelationshipDefinitions") ||
		strings.HasPrefix(seg, "GlobalOptionSetDefinitions") || strings.HasPrefix(seg, "RetrieveMetadataChanges") || seg == "$metadata" {
		e.metadataRequests.Add(1)
	}
	if e.spec.disabled {
		writeDVError(w, errf(403, "0x80072557", "The organization %s is disabled.", e.spec.uniqueName))
		return
	}
	e.mu.RLock()
	uid, admin, derr := e.caller(p)
	e.mu.RUnlock()
	if derr != nil {
		writeDVError(w, derr)
		return
	}
	key := uid
	release, lerr := e.limiter.admit(key, time.Now())
	if lerr != nil {
		w.Header().Set("Retry-After", strconv.Itoa(lerr.retryAfter))
		writeDVError(w, lerr.dv)
		return
	}
	fault := e.nextFault(r)
	if fault != nil && fault.before(w) {
		release(0)
		return
	}
	rc := &reqCtx{e: e, r: r, user: uid, isAdmin: admin, base: e.url + "/api/data/" + version + "/"}
	buf := &bufferedResponse{header: http.Header{}, status: 200}
	e.dispatch(rc, buf, r)
	// Server time is slept outside the lock and charged to the budget.
	serverTime := e.requestTime() + time.Duration(rc.records)*e.recordTime()
	if serverTime > 0 {
		time.Sleep(serverTime)
	}
	if lat := e.latencyNow(); lat > 0 {
		time.Sleep(lat)
	}
	exec := time.Since(start)
	remReq, remTime := release(exec)
	h := w.Header()
	for k, v := range buf.header {
		h[k] = v
	}
	h.Set("x-ms-dop-hint", strconv.Itoa(e.s.opts.DopHint))
	h.Set("x-ms-ratelimit-burst-remaining-xrm-requests", strconv.Itoa(remReq))
	h.Set("x-ms-ratelimit-time-remaining-xrm-requests", strconv.FormatFloat(remTime, 'f', 2, 64))
	if fault != nil && fault.after(w, buf) {
		return
	}
	w.WriteHeader(buf.status)
	w.Write(buf.bytes())
}

// dispatch runs one request under the environment lock (read lock for GET).
func (e *Env) dispatch(rc *reqCtx, w *bufferedResponse, r *http.Request) {
	if r.Method == http.MethodGet || r.Method == http.MethodHead {
		e.mu.RLock()
		defer e.mu.RUnlock()
	} else {
		e.mu.Lock()
		defer e.mu.Unlock()
	}
	e.route(rc, w, r)
}

// bufferedResponse collects a response so it can be sent after the lock is
// released, cut by a fault, or embedded in a $batch response.
type bufferedResponse struct {
	header http.Header
	status int
	body   bytes.Buffer
	whole  []byte // a single large Write is kept without copying
}

func (b *bufferedResponse) Header() http.Header { return b.header }
func (b *bufferedResponse) WriteHeader(s int)   { b.status = s }
func (b *bufferedResponse) Write(p []byte) (int, error) {
	if b.whole == nil && b.body.Len() == 0 && len(p) > 64<<10 {
		b.whole = p
		return len(p), nil
	}
	if b.whole != nil {
		b.body.Write(b.whole)
		b.whole = nil
	}
	return b.body.Write(p)
}

// bytes returns everything written.
func (b *bufferedResponse) bytes() []byte {
	if b.whole != nil {
		return b.whole
	}
	return b.body.Bytes()
}

// caller maps the token's principal to a systemuser of this environment.
func (e *Env) caller(p *principal) (string, bool, *dvError) {
	su := e.tables["systemuser"]
	def := su.def
	var found *Record
	for _, id := range su.ids {
		rec := su.recs[id]
		if p.isApp {
			if v, _ := rec.get(def, "applicationid").(string); v != "" && v == p.appid {
				found = rec
				break
			}
		} else if v, _ := rec.get(def, "azureactivedirectoryobjectid").(string); v != "" && v == p.oid {
			found = rec
			break
		}
	}
	if found == nil {
		return "", false, errf(403, codeNotMember, "The user is not a member of the organization.")
	}
	if d, _ := found.get(def, "isdisabled").(bool); d {
		return "", false, errf(403, codeUserDisabled, "The user with SystemUserId=%s in OrganizationContext=%s is disabled. Disabled users cannot access the system. Consider enabling this user. Also, users are disabled if they don't have a license or if the user account is disabled in Microsoft Entra ID.", found.ID, e.OrgID)
	}
	return found.ID, e.hasSysAdmin(found.ID), nil
}

// hasSysAdmin reports whether the user holds the System Administrator role.
func (e *Env) hasSysAdmin(userID string) bool {
	sur := e.tables["systemuserroles"]
	roles := e.tables["role"]
	for _, id := range sur.ids {
		rec := sur.recs[id]
		if rec.get(sur.def, "systemuserid") == userID {
			roleID, _ := rec.get(sur.def, "roleid").(string)
			if role := roles.recs[roleID]; role != nil && role.get(roles.def, "roletemplateid") == (Ref{"roletemplate", SysAdminRoleTemplate}) {
				return true
			}
		}
	}
	return false
}

func (e *Env) now() time.Time { return e.s.Now() }
