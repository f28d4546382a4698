// Package identity builds the token credentials a connection uses to reach
// Dataverse, Graph and the discovery services, one constructor per connection
// mode: client secret, client certificate (PEM or PFX with password), the
// Function App's managed identity (user-assigned), workload identity
// federation (a client assertion taken from the managed identity), and a
// service account (username/password, ROPC).
//
// Tokens are cached in memory by azidentity and never stored. Explain turns
// credential errors (Entra AADSTS codes) into problems with a fix, MFA first.
package identity
