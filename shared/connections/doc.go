// Package connections is the connections domain: how the service signs in to
// Dataverse environments, and which environments it backs up.
//
// A Connection (model.go) is an app profile or a service account holding
// one or more identities (identity.Mode: managed identity, workload
// identity, certificate, client secret, service account); an Environment is
// a Dataverse URL registered under one connection, with its backup Policy.
// The Service owns every change to them, one file per job:
//   - service.go: the Service, its Options and Endpoints, reads, Delete and
//     UpdatePolicy;
//   - create.go: Create, AddEnvironments and Move (environments registered
//     under a connection by URL, checked free and well-formed);
//   - identities.go: AddIdentity, RemoveIdentity, Rotate and the secret
//     input of each mode (secrets go to the secrets.Store under names
//     derived from the ids, never into errors or logs: redact);
//   - validate.go, validation.go: Validate signs in as every identity and
//     checks every environment (WhoAmI, System Administrator, change
//     tracking), each Problem saying what is wrong and how to fix it;
//   - discovery.go, graph.go: finding environments (Global Discovery for a
//     service account, the Power Platform admin API or the registered URLs
//     for an app profile) and a service account's directory roles;
//   - clients.go: Clients gives one Dataverse client per identity of an
//     environment's connection, credentials cached per identity and secret
//     version;
//   - store.go: the Store of connections and environments, JSON documents
//     on tablestore with ETag-conditional writes (ErrConflict on a
//     concurrent change).
//
// The engines do not import this package: package wiring adapts the
// Service to their Directory interfaces.
package connections
