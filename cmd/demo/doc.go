// Command demo is make demo: a scripted, non-interactive scenario on the
// local stack (Azurite, the Dataverse simulator, the dev host and the
// handler), run by testkit/backupdemo.Scenario: connect the demo
// organization through the HTTP API, full backup, changes in the simulator,
// incremental backup, verify both runs, delete a slice of the organization
// and restore it through the API, compare, stop everything. Its last line
// on stdout is one JSON object; it exits 0 only if everything held.
package main
