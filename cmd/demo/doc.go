// Command demo is make demo: a scripted, non-interactive scenario on the
// local stack (Azurite, the Dataverse simulator, the dev host and the
// handler), run by testkit/backupdemo.Scenario: connect the demo
// organization through the HTTP API, full backup, changes in the
// simulator, incremental backup, verify both runs; then issue 13's
// acceptance scenario: delete accounts as a user does (one with contacts,
// a child account, a won opportunity, a resolved case, emails with parties
// and an appointment; Dataverse cascades and clears lookups), restore the
// deleted records through the API and compare every record the delete
// touched, survivors included, field by field; stop everything. Its last
// line on stdout is one JSON object (backupdemo.Summary); it exits 0 only
// if everything held.
package main
