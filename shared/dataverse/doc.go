// Package dataverse is the client of the Dataverse Web API
// (https://<org>.crm.dynamics.com/api/data/v9.2/), shaped like an Azure SDK
// client: NewClient(envURL, cred, *ClientOptions), methods taking a context,
// typed answers and typed errors.
//
// client.go holds the Client and its request helper do (auth header, OData
// headers, same-host check, no redirects, error translation); errors.go holds
// the error types and translate, where HTTP answers become errors (a $batch
// answer's parts through BatchResponse.Err, on the same rules), and
// Classify, the only place that decides what a failure means for a retry
// (throttled, transient, permanent, token expired, read refused). whoami.go
// holds the calls connection validation needs (WhoAmI, a user's roles,
// change tracking readability). pages.go reads collection pages (streamed,
// with their next and delta links), metadata.go the table definitions,
// metadatachanges.go many tables' columns and relationships at once and what
// changed since a version stamp (RetrieveMetadataChanges), and (tablemeta.go: one table's columns and relationships in one request, for
// restore, and Execute, which posts actions such as the close messages);
// write.go, batch.go, files.go, upload.go and fileblocks.go write records,
// $batch requests (with or without continue-on-error) and file columns. All
// build on do. hosts.go holds the environment-URL allow-list that keeps the
// service from being pointed at arbitrary hosts (SSRF).
//
// The client does not retry. A 429 is a *ThrottledError carrying Retry-After;
// callers decide whether to wait or to re-queue their work, retrying through
// shared/retry with Decide as the policy's judge.
package dataverse
