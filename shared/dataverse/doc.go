// Package dataverse is the client of the Dataverse Web API
// (https://<org>.crm.dynamics.com/api/data/v9.2/), shaped like an Azure SDK
// client: NewClient(envURL, cred, *ClientOptions), methods taking a context,
// typed answers and typed errors.
//
// client.go holds the Client and its request helper do (auth header, OData
// headers, same-host check, no redirects, error translation); errors.go holds
// the error types and translate, the only place HTTP answers become errors.
// whoami.go holds the calls connection validation needs (WhoAmI, a user's
// roles, change tracking readability). pages.go reads collection pages
// (streamed, with their next and delta links) and metadata.go the table
// definitions; write.go, batch.go, files.go and upload.go write records,
// $batch requests and file columns. All build on do. hosts.go holds the
// environment-URL allow-list that keeps the service from being pointed at
// arbitrary hosts (SSRF).
//
// The client does not retry. A 429 is a *ThrottledError carrying Retry-After;
// callers decide whether to wait or to re-queue their work.
package dataverse
