// Package restore runs restore jobs: it puts records of a backup run back
// into the same or another Dataverse environment. It knows nothing about
// the Functions host: functions/restore.go and functions/restoreapi.go
// decode requests and messages and call Engine.Start, Engine.Handle,
// Engine.Job, Engine.Cancel and the report functions. What a job writes is
// decided by the planner, shared/restore/plan; this package owns the job:
// its state machine, the writes, the report.
//
// A restore job goes through three steps (Step), each a message on the
// restore queue so no invocation runs long (engine.go: Start, Handle,
// finish, Cancel; message.go):
//
//  1. plan (planstep.go): the run and the runs it builds on are verified
//     (backupformat.VerifyChain; verify.go hides damaged tables when the
//     request accepts that), then plan.Build reads the backup
//     (backupformat.RunReader) and the target (DataverseTarget, target.go:
//     metadata once per table in one request with its columns and
//     relationships, metadata.go; live records by id in batched $filter
//     requests) and returns the plan:
//     operations in chunks, stored as blobs (jobblobs.go), and a prediction
//     per record and association, stored as result rows. A dry run stops
//     here: nothing is written.
//  2. chunk n (execute.go, send.go): the operations of one chunk are
//     written, then the message of chunk n+1 is sent. Phases (records with
//     their activities' parties, deferred lookups, relinks of survivors,
//     files, N:N associations, state) start new chunks and chunks run one
//     after the other. Files go through the block upload messages (the
//     MIME type is kept); a state Dataverse sets only by a message
//     (WinOpportunity, CloseIncident, SendEmail, ...) is sent that message
//     with the backed-up close activity, alone, after reading the record's
//     state.
//  3. finish: counts (cascadeRestored, relinked and notWritable among
//     them), job status (succeeded, partial, failed).
//
// Writes go through $batch with one change set per record operation
// (continue-on-error), spread over the connection's identities (one worker
// per identity). The batch size adapts: it starts small (Options.
// InitialBatch), doubles after each batch answered without throttling up to
// MaxBatch, and halves on a 429, whose Retry-After is honoured by sleeping
// when short and otherwise by re-sending the chunk message with that delay.
// Planning reads retry 429s and transient errors (live.go).
//
// Crash safety. Every operation's result is a row in Table Storage
// (store.go). Before a batch is sent its operations are marked pending; a
// chunk that is delivered again skips finished operations and retries
// pending ones. Creates are PATCH with If-None-Match: * on a known id (the
// backed-up id, or for restore-as-new an id derived from the job and the
// old id), so a replayed create cannot make a second record: its 412 on a
// pending operation means the earlier attempt got through; a replayed
// relink whose If-Match fails, or a replayed state change refused because
// the record is closed, is read back and counted done when the earlier
// attempt got through (send.go, confirmReplays); a close message first
// reads the record's state. A chunk is
// leased with an ETag-conditional update of the job row so a duplicate
// message does not run the same chunk twice at once.
//
// Reports (report.go) fold a record's later operations into one line per
// record and association, as JSON or CSV.
package restore
