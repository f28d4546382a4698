// Package backupdemo runs the product end to end on one machine: Azurite,
// the Dataverse simulator (TLS), the dev host and the real handler binary.
// It registers the demo organization through the HTTP API, runs backups
// through the API and the queues, and verifies what was stored against the
// simulator (stack.go, scenario.go). Its restore part (restore.go) deletes
// accounts as a user does, the simulator cascading as Dataverse does, with
// every effect predicted and checked (deletion.go), restores the deleted
// records through the API and compares every record the delete touched
// with its state before, field by field (compare.go). cmd/demo (make demo),
// cmd/firstbackup (make run) and the end-to-end tests use it.
package backupdemo
