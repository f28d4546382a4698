// Package backup is the backup engine: it schedules runs, scans an
// environment (metadata snapshot, tables in scope, one task per table),
// extracts pages of records into blobs, downloads files, finalizes runs
// with a manifest, and applies retention. It knows nothing about the
// Functions host: functions/triggers.go hands every message of the backup
// queues (Queues) to Engine.Handle, the one dispatch (tests and bench use it
// too, through testkit/pump), and the timers to Schedule and
// ApplyRetention; the HTTP API calls StartRun (StartRunWith for a full run
// on demand), Cancel (the run ends cancelled), PurgeEnvironment (a removed
// environment's runs) and the run reads (Run, Runs, Tasks, LatestRun(s)). It knows nothing about where
// environments are registered either: a Directory gives them, and the app's
// (package wiring) adapts shared/connections.
//
// The scan reads the table metadata in a bounded number of requests
// (scanmeta.go): RetrieveMetadataChanges for many tables at once, and from
// the second run on only the changes since the previous run's snapshot
// (metaparts.go applies them); the run records the scan's request count and
// how the metadata was read.
//
// Concurrency design. No invocation runs long or holds a run in memory: a
// run is a set of Table Storage rows (shared/runstate) and messages.
//   - One table is read page by page: each ExtractPage invocation reads one
//     page (following the stored @odata.nextLink), streams it into a blob whose
//     name depends only on (environment, run, table, page), records it in the
//     table task with an ETag-conditional write and sends the message for the
//     next page. A duplicate or replayed message finds its page already
//     recorded and only re-sends what may not have been sent.
//   - Tables are read in parallel, up to the run's Concurrency: it starts at
//     the environment's x-ms-dop-hint (capped by Options.MaxConcurrency),
//     halves on every 429 and grows by one for each table that finished
//     without throttling. Queued tables are launched as running ones end.
//     The run row keeps which tables were launched and which ended
//     (runstate.Run.Launched, Ended), so moving the run on after a table
//     reads and writes that one row, whatever the number of tables (a
//     600-table organization does not list 600 tasks per table). A launch
//     is claimed in the row (ETag-conditional: two invocations never claim
//     one table), its message sent, then the claim cleared; a claim left
//     by an invocation that died is sent again by its redelivery or by any
//     later move (lifecycle.go).
//   - A 429 never sleeps in the invocation: the same page message is re-sent
//     with Delay = Retry-After on the next identity of the connection, and the
//     throttle is counted. Pages are spread over the connection's identities
//     (each has its own service protection budget).
//   - What a failure means is dataverse.Classify's call. A transient one
//     (reset, truncated page, 5xx, expired token) is retried a few times in
//     the invocation with jittered backoff (shared/retry), then fails the
//     invocation so the host redelivers; on the last allowed delivery, or at
//     once for a permanent failure, the table is marked failed with the
//     reason and the run goes on (it ends partial).
//   - When the last table ends, the run is finalized once (conditional
//     status change): manifest with the sha256 of every blob, run totals,
//     and the environment's "run in progress" row released.
package backup
