package dataversesim

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"log"
	"math/rand/v2"
	"net"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// Options configure a simulator. The zero value is usable: one demo
// environment with 1000 records, limits off, no latency.
type Options struct {
	// Addr is the listen address of the authority host; other endpoints get
	// their own ports on the same host (consecutive ports when Addr's port is
	// fixed, so URLs survive a restart). Default "127.0.0.1:0".
	Addr string
	// Records is the number of business records seeded in the demo
	// environment, spread over the tables. Default 1000; negative means none.
	Records int
	// TableCounts overrides the per-table count in the demo environment
	// (logical name -> rows), e.g. {"account": 12000}.
	TableCounts map[string]int
	// SecondRecords sizes the second environment (default 100).
	SecondRecords int
	// Seed makes seeding, ids and secrets deterministic.
	Seed int64
	// TenantID of the simulated directory; default derived from Seed.
	TenantID string
	// Latency is added to every Web API response.
	Latency time.Duration
	// RequestTime and RecordTime are simulated server time per request and
	// per returned/written record; they are slept and charged to the
	// execution-time budget of the service protection limits.
	RequestTime, RecordTime time.Duration
	// Limits configures service protection limits (off when zero).
	Limits Limits
	// DopHint is the x-ms-dop-hint value (default 4).
	DopHint int
	// ChangeTrackingExpiry is organization.expirechangetrackingindays as a
	// duration (default 7 days; the reference lists 7, 30 and 90).
	ChangeTrackingExpiry time.Duration
	// DeltaTokenAtFirstPage [unverified]: when true the delta token of a
	// paged initial load is the version seen at the first page (changes made
	// during paging come again in the next delta); when false (default) the
	// version at the last page.
	DeltaTokenAtFirstPage bool
	// SingleDeltaPage [unverified]: when true a delta ($deltatoken) answers
	// every change in one response whatever odata.maxpagesize says (the old
	// simulator behaviour). When false (default) a delta is paged like a
	// collection read: intermediate pages carry an @odata.nextLink (the same
	// $deltatoken plus a $skiptoken position), only the last one the new
	// @odata.deltaLink, whose token is the version at the first page.
	SingleDeltaPage bool
	// AllowStatecodeOnCreate accepts statecode in a create body instead of
	// rejecting it (reference 5 says it is not valid on create).
	AllowStatecodeOnCreate bool
	// RejectReadOnlyColumns answers 400 when a write sets a column that is not
	// valid for create/update (modifiedon, createdby...); by default such
	// columns are ignored [unverified].
	RejectReadOnlyColumns bool
	// ExpiredTokenStatus is the HTTP status of the "Version stamp ... expired"
	// error [unverified]; default 400.
	ExpiredTokenStatus int
	// WideColumns adds that many String columns (cr1_wide001,
	// cr1_wide002, ...) to WideTable, with attribute metadata like any
	// other column, so a backup reads them as it reads the rest of the
	// table (benchmarks of wide records). Default 0: the fixed schema.
	WideColumns int
	// WideTable is the table that gets the WideColumns (default "account").
	WideTable string
	// WideColumnSize is the length in characters of the value seeded in
	// every wide column of every seeded row (default 100 when WideColumns
	// is set). Rows made with Create/API writes hold what they are given.
	WideColumnSize int
	// MaxFileSizeMB is cr1_project.cr1_document's MaxSizeInKB / 1024: the
	// largest file an upload (single or chunked) accepts. Default 32.
	MaxFileSizeMB int
	// Org is the shape of the organization: OrgSmall (the zero value's
	// choice: about twenty hand-written tables, fast) or OrgStandard (the
	// tables of Microsoft's table reference, about 700; see orgschema.go).
	Org Org
	// StateFile, when set, is loaded at start (if present) and saved on Close
	// and periodically while dirty.
	StateFile string
	// Logf receives diagnostic lines (default: discard).
	Logf func(format string, args ...any)
}

// Server is a running simulator: an Entra authority host, a managed identity
// endpoint, discovery services and several Dataverse environments.
type Server struct {
	opts     Options
	tenant   string
	ca       *certAuthority
	tlsConf  *tls.Config
	dir      *directory
	envs     []*Env
	schema   *schema         // sharedSchema unless Options change it
	envByKey map[string]*Env // name and host
	servers  []*http.Server
	lns      []net.Listener
	wg       sync.WaitGroup

	// URLs
	AuthorityHost string // https://127.0.0.1:p/ (trailing slash, as cloud.Configuration wants)
	MSIEndpoint   string // http://127.0.0.1:p/msi/token
	MSIHeader     string
	DiscoveryURL  string // global discovery service base
	AdminURL      string // Power Platform admin (BAP) base
	GraphURL      string // Microsoft Graph base
	issuer        string
	mu            sync.Mutex
	clockOffset   time.Duration
	tokenFaults   []Fault
	tokenLifetime time.Duration
	stopSave      chan struct{}
	closed        bool
}

// New starts a simulator. Close it when done.
func New(opts Options) (*Server, error) {
	if opts.Addr == "" {
		opts.Addr = "127.0.0.1:0"
	}
	if opts.Records == 0 {
		opts.Records = 1000
	}
	if opts.SecondRecords == 0 {
		opts.SecondRecords = 100
	}
	if opts.DopHint == 0 {
		opts.DopHint = 4
	}
	if opts.ChangeTrackingExpiry == 0 {
		opts.ChangeTrackingExpiry = 7 * 24 * time.Hour
	}
	if opts.ExpiredTokenStatus == 0 {
		opts.ExpiredTokenStatus = http.StatusBadRequest
	}
	if opts.WideTable == "" {
		opts.WideTable = "account"
	}
	if opts.WideColumns > 0 && opts.WideColumnSize == 0 {
		opts.WideColumnSize = 100
	}
	if opts.Org == "" {
		opts.Org = OrgSmall
	}
	if _, err := ParseOrg(string(opts.Org)); err != nil {
		return nil, fmt.Errorf("dataversesim: %w", err)
	}
	sch, err := schemaFor(opts)
	if err != nil {
		return nil, fmt.Errorf("dataversesim: organization schema: %w", err)
	}
	if opts.WideColumns > 0 && sch.byName[opts.WideTable] == nil {
		return nil, fmt.Errorf("dataversesim: WideTable %q is not a table", opts.WideTable)
	}
	if opts.Logf == nil {
		opts.Logf = func(string, ...any) {}
	}
	rng := rand.New(rand.NewPCG(uint64(opts.Seed), 0x5eed))
	s := &Server{opts: opts, envByKey: map[string]*Env{}, tokenLifetime: time.Hour, stopSave: make(chan struct{}), schema: sch}
	s.tenant = opts.TenantID
	if s.tenant == "" {
		s.tenant = newGUID(rng)
	}
	ca, err := newCertAuthority()
	if err != nil {
		return nil, err
	}
	s.ca = ca
	s.tlsConf = &tls.Config{Certificates: []tls.Certificate{ca.leaf}, NextProtos: []string{"http/1.1"}, MinVersion: tls.VersionTLS12}

	host, portStr, err := net.SplitHostPort(opts.Addr)
	if err != nil {
		return nil, fmt.Errorf("dataversesim: addr %q: %w", opts.Addr, err)
	}
	basePort, _ := strconv.Atoi(portStr)
	next := 0
	listen := func(useTLS bool) (net.Listener, string, error) {
		p := 0
		if basePort != 0 {
			p = basePort + next
		}
		next++
		ln, err := net.Listen("tcp", net.JoinHostPort(host, strconv.Itoa(p)))
		if err != nil {
			return nil, "", err
		}
		scheme := "http"
		if useTLS {
			ln = tls.NewListener(ln, s.tlsConf)
			scheme = "https"
		}
		s.lns = append(s.lns, ln)
		return ln, scheme + "://" + ln.Addr().String(), nil
	}
	type pending struct {
		ln net.Listener
		h  http.Handler
	}
	var toServe []pending
	fail := func(err error) (*Server, error) {
		for _, ln := range s.lns {
			ln.Close()
		}
		return nil, err
	}
	// Authority host, MSI, discovery, admin, graph, then environments.
	ln, u, err := listen(true)
	if err != nil {
		return fail(err)
	}
	s.AuthorityHost = u + "/"
	s.issuer = u + "/" + s.tenant + "/v2.0"
	toServe = append(toServe, pending{ln, http.HandlerFunc(s.serveAuthority)})
	if ln, u, err = listen(false); err != nil {
		return fail(err)
	}
	s.MSIEndpoint = u + "/msi/token"
	toServe = append(toServe, pending{ln, http.HandlerFunc(s.serveMSI)})
	if ln, u, err = listen(true); err != nil {
		return fail(err)
	}
	s.DiscoveryURL = u
	toServe = append(toServe, pending{ln, http.HandlerFunc(s.serveDiscovery)})
	if ln, u, err = listen(true); err != nil {
		return fail(err)
	}
	s.AdminURL = u
	toServe = append(toServe, pending{ln, http.HandlerFunc(s.serveAdmin)})
	if ln, u, err = listen(true); err != nil {
		return fail(err)
	}
	s.GraphURL = u
	toServe = append(toServe, pending{ln, http.HandlerFunc(s.serveGraph)})

	s.dir = newDirectory(rng, s)
	s.MSIHeader = s.dir.msiHeader
	for _, spec := range envSpecs(opts) {
		var url string
		if !spec.noDataverse {
			if ln, url, err = listen(true); err != nil {
				return fail(err)
			}
		}
		e := newEnv(s, spec, url)
		s.envs = append(s.envs, e)
		s.envByKey[spec.name] = e
		if !spec.noDataverse {
			toServe = append(toServe, pending{ln, e})
		}
	}
	loaded := false
	if opts.StateFile != "" {
		if loaded, err = s.loadState(opts.StateFile); err != nil {
			return fail(err)
		}
	}
	if !loaded {
		for _, e := range s.envs {
			if !e.spec.noDataverse {
				e.seed()
			}
		}
	}
	for _, p := range toServe {
		hs := &http.Server{Handler: p.h, ErrorLog: log.New(discard{}, "", 0), ReadHeaderTimeout: 30 * time.Second}
		s.servers = append(s.servers, hs)
		s.wg.Add(1)
		go func(ln net.Listener) {
			defer s.wg.Done()
			hs.Serve(ln)
		}(p.ln)
	}
	if opts.StateFile != "" {
		s.wg.Add(1)
		go s.saveLoop()
	}
	return s, nil
}

type discard struct{}

func (discard) Write(p []byte) (int, error) { return len(p), nil }

// Close stops every listener, waits for in-flight requests and saves state
// when a StateFile is configured.
func (s *Server) Close() error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return nil
	}
	s.closed = true
	s.mu.Unlock()
	close(s.stopSave)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for _, hs := range s.servers {
		hs.Shutdown(ctx)
	}
	s.wg.Wait()
	if s.opts.StateFile != "" {
		return s.saveState(s.opts.StateFile)
	}
	return nil
}

func (s *Server) saveLoop() {
	defer s.wg.Done()
	t := time.NewTicker(2 * time.Second)
	defer t.Stop()
	for {
		select {
		case <-s.stopSave:
			return
		case <-t.C:
			if err := s.saveIfDirty(s.opts.StateFile); err != nil {
				s.opts.Logf("dataversesim: save state: %v", err)
			}
		}
	}
}

// TenantID is the simulated directory's tenant id.
func (s *Server) TenantID() string { return s.tenant }

// TokenURL is the v2.0 token endpoint of the tenant.
func (s *Server) TokenURL() string { return s.AuthorityHost + s.tenant + "/oauth2/v2.0/token" }

// CAPEM returns the PEM of the CA that signed the server certificate.
func (s *Server) CAPEM() []byte { return s.ca.caPEM }

// CertPool returns a pool holding the simulator's CA.
func (s *Server) CertPool() *x509.CertPool {
	p := x509.NewCertPool()
	p.AppendCertsFromPEM(s.ca.caPEM)
	return p
}

// Client returns an HTTP client that trusts the simulator's certificate.
func (s *Server) Client() *http.Client {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{RootCAs: s.CertPool()}
	tr.MaxIdleConnsPerHost = 64
	return &http.Client{Transport: tr}
}

// Now is the simulator's clock (wall clock plus AdvanceClock offsets).
func (s *Server) Now() time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return time.Now().UTC().Add(s.clockOffset)
}

// AdvanceClock moves the simulator's clock forward, e.g. to age a delta
// token past ChangeTrackingExpiry or an access token past its expiry.
func (s *Server) AdvanceClock(d time.Duration) {
	s.mu.Lock()
	s.clockOffset += d
	s.mu.Unlock()
}

// Env returns the environment with that name ("demo", "second", ...) or nil.
func (s *Server) Env(name string) *Env { return s.envByKey[name] }

// Demo returns the demo organization.
func (s *Server) Demo() *Env { return s.envs[0] }

// Environments lists every environment, including the one without Dataverse
// (URL "") and the disabled one.
func (s *Server) Environments() []*Env { return append([]*Env(nil), s.envs...) }

var errNotFound = errors.New("dataversesim: not found")
