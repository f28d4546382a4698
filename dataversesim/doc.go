// Package dataversesim is a local Dataverse: the Web API of several
// environments, an Entra ID authority host, an App Service managed identity
// endpoint, the Global Discovery Service, the Power Platform admin API and
// the Graph calls the product makes. Nothing here reaches Microsoft's cloud,
// so every test, demo and benchmark of the product runs against it. It is
// built from shared/docs/dataverse-reference.md (section numbers below);
// where the reference marks a fact [unverified] the behaviour is an Options
// switch.
//
// # Use
//
//	s := dataversesim.Start(t, dataversesim.Options{Records: 500, Seed: 1}) // or New + Close
//	e := s.Demo()                      // also s.Env("second"), s.Environments()
//	hc := e.AuthorizedClient("")       // trusts the CA, sends a bearer token
//	res, _ := hc.Get(e.APIURL() + "accounts?$select=name")
//
// Tokens for a test: e.Token(clientID) or s.Token(clientID, resourceURL)
// mint directly; real credentials work against s.AuthorityHost with
// DisableInstanceDiscovery and a Transport of s.Client() (see auth_test.go
// for ClientSecretCredential, ClientCertificateCredential,
// ClientAssertionCredential, UsernamePasswordCredential and, with
// IDENTITY_ENDPOINT=s.MSIEndpoint and IDENTITY_HEADER=s.MSIHeader,
// ManagedIdentityCredential). Identities: s.SecretClients() (System
// Administrator application users; spread load over them), s.App(name) for
// the ones without an application user, disabled or without roles,
// s.CertificateClient(), s.FederatedClient() with s.FederatedAssertion(),
// s.ManagedIdentity(), s.ServiceAccount("admin"|"d365admin"|"user"|"mfa").
//
// Data: e.Get, e.IDs, e.Count, e.Create, e.Update, e.Delete, e.Associated,
// e.File bypass the API but version rows and leave tombstones exactly as
// API writes do, so deltas see them; e.Delete applies the delete cascades
// (and refuses a Restrict) as a user's delete does. Metadata: e.AddColumn,
// e.DeleteColumn, e.DeleteTable change one organization's schema as a maker
// would, so RetrieveMetadataChanges reports them. Behaviour per environment:
// e.InjectFault, e.SetLimits, e.SetLatency, e.SetServerTime,
// e.SetChangeTrackingExpiry; per server: s.InjectTokenFault, s.AdvanceClock.
//
// # Layout
//
// One TLS certificate (ECDSA, made at start, for 127.0.0.1, ::1 and
// localhost) signed by a CA made at start (CAPEM, CertPool, Client). Each
// endpoint has its own port because each is a token audience: the authority
// host, the managed identity endpoint (plain http, as App Service), the
// global discovery service, the admin API, Graph, and one port per
// environment with Dataverse. With a fixed Options.Addr port the others
// take the following ports, so URLs survive a restart with -state.
//
// Environments (env.go): "demo" (Options.Records rows), "second" (other
// ids for users, teams and business units, for cross-environment restore;
// its System Administrator role is named "Systemadministrator", so only the
// role template id identifies it),
// "disabled" (listed, answers 403) and "nodataverse" (admin API only).
//
// # Files by concern
//
//   - auth.go, jwt.go, certs.go, identities.go: Entra v2.0 token endpoint
//     (client_credentials with secret, certificate assertion PS256/RS256 with
//     x5t#S256/x5t, federated assertion; password/ROPC incl. AADSTS50076 for
//     the MFA account), openid-configuration, keys, UserRealm, the managed
//     identity endpoint, bearer checks (reference 7). RSA keys are made once
//     per process because tests start many simulators.
//   - env.go: the request pipeline: bearer check (audience = environment
//     URL, application user present and enabled), limits, faults, dispatch
//     under the environment lock into a buffer, then simulated server time
//     and latency outside the lock.
//   - webapi.go, query.go, filter.go, encode.go: routing (v9.0, v9.1 and
//     v9.2 alike), collection reads with $select/$filter (parameter aliases
//     too)/$orderby/$top/$count, Prefer odata.maxpagesize (5000 max) and
//     annotations, @odata.nextLink with the documented paging-cookie
//     $skiptoken, @odata.etag, lookups as _x_value (reference 1). $select
//     of a navigation property answers the whole record (reference 11).
//     $skip, $search, $format and every option not implemented are refused
//     ("The query parameter X is not supported"), never ignored. JSON is
//     written by hand for speed.
//   - expand.go: $expand of lookups, one-to-many and many-to-many
//     navigation properties. fetchxml.go, fetchparse.go: fetchXml= queries (filters,
//     order, count/page/paging cookie, distinct, aggregates,
//     datasource="retained"); apply.go: $apply aggregate/groupby/filter.
//   - odataerrors.go: error codes and wording as Dataverse answers them
//     (never Go error text; odataerrors_test.go guards it).
//   - changetracking.go: Prefer odata.track-changes, deltaLink with
//     "<version>!<MM/dd/yyyy HH:mm:ss>" tokens, $deletedEntity, rejection of
//     $filter/$orderby/$expand/$top, expiry (reference 2). Options.
//     DeltaTokenAtFirstPage is the [unverified] switch for the version of a
//     paged initial load. A delta is paged by odata.maxpagesize (default
//     5000): intermediate pages carry @odata.nextLink (same $deltatoken plus
//     a $skiptoken position), the last the new @odata.deltaLink, whose token
//     is the version at the first page so changes made while paging come
//     in the next delta. Options.SingleDeltaPage [unverified] restores one
//     response for the whole delta.
//   - metadata.go, metaquery.go, metaprops.go: EntityDefinitions with
//     $select/$filter/$expand (Attributes, Keys, relationships, nested
//     options), Attributes and casts, Keys, RelationshipDefinitions,
//     GlobalOptionSetDefinitions; every property checked against the
//     requested type (Targets only on LookupAttributeMetadata) (reference
//     3, 11). metadatachanges.go: RetrieveMetadataChanges with version
//     stamps, changes since a ClientVersionStamp and deletions; metaedit.go
//     the metadata changes behind it: e.AddColumn, e.DeleteColumn,
//     e.DeleteTable give the organization its own copy of the schema.
//     csdl.go: the CSDL $metadata (entity, enum and complex types,
//     navigation properties, the served functions and actions).
//   - bulk.go: CreateMultiple, UpdateMultiple, UpsertMultiple and (elastic
//     tables) DeleteMultiple, each target routed as a single write
//     (reference 12).
//   - write.go, n2n.go: create/update/upsert/delete with If-Match and
//     If-None-Match, @odata.bind incl. polymorphic navigation properties,
//     statecode rules, $ref associate/disassociate (reference 5).
//   - relationships.go, cascade.go: one-to-many relationships built from
//     the schema's lookups with the CascadeConfiguration the table
//     reference pages state (Referential, Remove Link for custom lookups),
//     served as relationship metadata; a delete cascades (children deleted
//     with tombstones), removes links (survivors re-versioned) or is
//     refused by a Restrict (0x80040227) before anything changes
//     (reference 11).
//   - statemessages.go: WinOpportunity, LoseOpportunity, CloseIncident,
//     WinQuote, CloseQuote, FulfillSalesOrder, CancelSalesOrder (with their
//     close activities) and the bound SendEmail; a PATCH into a state only
//     a message sets answers 0x80100005; closed records are read-only until
//     a PATCH of an open statecode reopens them, where Dataverse allows it.
//   - activityparty.go: parties of email, appointment, phone call, letter
//     and fax as activityparty rows, written by deep insert on the
//     activity's create and read through <activity>_activity_parties, its
//     $expand on one activity and /activityparties.
//   - query.go also answers $select of a navigation property (e.g.
//     role's roletemplateid) with the whole record (reference 11).
//   - batch.go: $batch with change sets, Content-ID, rollback through an
//     undo log, 1000-request cap; without Prefer odata.continue-on-error
//     it stops at the first failure and answers that failure's status
//     (reference 5).
//   - files.go: file and image columns, Range 206, chunked upload
//     (reference 4); annotation.documentbody is an ordinary column checked
//     against organization.maxuploadfilesize.
//   - limits.go: service protection limits per user and environment over a
//     sliding window, with SCALE (reference 6).
//   - discovery.go: Global Discovery Instances, admin environments, Graph
//     me/memberOf (reference 7).
//   - faults.go: 500/503/429 bursts, resets mid-body, truncated JSON, slow
//     responses, token endpoint outages.
//   - seed.go, schema.go: the deterministic demo organization (issue 3
//     item 6); schema_org.go, seed_org.go: its sales, service and activity
//     tables and records (won and lost opportunities, resolved cases,
//     activities with parties, quotes, orders and invoices with lines; one
//     account with the whole set a delete takes, issue 13). state.go:
//     -state persistence. handles.go: direct data access.
//
// # Schema options
//
// The schema is fixed and shared by every server unless one of two options
// asks for a private copy (schemaFor in schema.go); defaults leave it as is.
//
//   - Options.WideColumns adds N String columns named cr1_wide001,
//     cr1_wide002, ... (WideColumnName) to Options.WideTable (default
//     "account"), with attribute metadata like every other column, so a
//     backup discovers and reads them as it reads the rest of the table.
//     Seeded rows get WideValue(Options.WideColumnSize, row, col) in each
//     (default 100 characters); Create, Update and the Web API write them
//     like any column. Used for wide-record memory benchmarks (issue 8).
//   - Options.MaxFileSizeMB sets cr1_project.cr1_document's MaxSizeInKB
//     (default 32 MB): the limit of single and chunked uploads, so files of
//     50 or 100 MB can be stored through the Web API.
//
// # Concurrency
//
// Each environment has one RWMutex over its rows, files and version
// counter: GETs share it, writes and whole $batch requests hold it
// exclusively (which is what makes a change set atomic). Limits, faults and
// behaviour switches have their own small mutexes. Sleeping (latency, server
// time, slow faults) never happens under the data lock.
package dataversesim
