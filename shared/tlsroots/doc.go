// Package tlsroots builds the HTTP transport used for outbound calls to
// Dataverse, Entra ID, Graph and Key Vault: the system roots plus, when
// configured (DATAVERSE_EXTRA_CA_FILE, the local simulator), one extra CA.
package tlsroots
