// Package backupdemo runs the product end to end on one machine: Azurite,
// the Dataverse simulator (TLS), the dev host and the real handler binary.
// It registers the demo organization through the HTTP API, runs backups
// through the API and the queues, and verifies what was stored against the
// simulator; RestoreDeleted deletes a slice of the organization and
// restores it through the API (Scenario runs all of it). cmd/demo (make
// demo), cmd/firstbackup (make run) and the end-to-end tests use it.
package backupdemo
