// Package secrets keeps connection secrets (client secrets, certificates,
// passwords). In Azure they live only in Key Vault (azsecrets, reached with
// the Function App's managed identity); locally, when no Key Vault URL is
// configured and the process is not in Azure, a dev-only encrypted file store
// stands in. Open refuses the local store in Azure.
//
// Names are derived from connection and identity ids by the caller
// (shared/connections); values are opaque bytes. Both implementations pass
// the conformance suite in secretstest.
package secrets
