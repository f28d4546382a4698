// Package restore is the restore engine: it puts records of a backup run
// back into the same or another Dataverse environment. It knows nothing
// about the Functions host: functions/restore.go and functions/restoreapi.go
// decode requests and messages and call Engine.Start, Engine.Handle,
// Engine.Job and the report and export functions.
//
// A restore job goes through three steps, each a message on the restore
// queue so no invocation runs long:
//
//  1. plan (Engine.Start sends it): the state of each table as of the run
//     is streamed from the backup (backupformat.TableState), the scope is
//     applied (tables, record ids, a filter, deleted records = present at
//     the run and absent now), related records are followed (lookups, N:N,
//     notes; depth-limited), the live records are read to decide what each
//     record gets under the conflict policy (create, update, skip,
//     conflict), references are mapped to the target (same id, natural key
//     for users, teams, business units and currencies, or the request's
//     override map; unmapped ones are reported), and the writes are laid out
//     as operations in chunks stored as blobs. A dry run stops here: every
//     record's prediction and field-level diff is recorded and nothing is
//     written.
//  2. chunk n: the operations of one chunk are written, then the message of
//     chunk n+1 is sent. Operations come in phases, each phase starting in a
//     new chunk and chunks running one after the other: records (created
//     without their lookups to records not restored yet), lookups patched
//     (self-references and cycles such as account.primarycontactid <->
//     contact.parentcustomerid), files and image columns, N:N associations,
//     and last state (statecode/statuscode, which Dataverse refuses on
//     create and which may make a record read-only).
//  3. finish: counts, job status (succeeded, partial, failed).
//
// Writes go through $batch with one change set per record operation
// (continue-on-error), spread over the connection's identities (one worker
// per identity). The batch size adapts: it starts small (Options.
// InitialBatch), doubles after each batch answered without throttling up to
// MaxBatch, and halves on a 429, whose Retry-After is honoured by sleeping
// when short and otherwise by re-sending the chunk message with that delay.
//
// Crash safety. Every operation's result is a row in Table Storage. Before a
// batch is sent its operations are marked pending; a chunk that is
// delivered again skips finished operations and retries pending ones.
// Creates are PATCH with If-None-Match: * on a known id (the backed-up id,
// or for restore-as-new an id derived from the job and the old id), so a
// replayed create cannot make a second record: its 412 on a pending
// operation means the earlier attempt got through. A chunk is leased with
// an ETag-conditional update of the job row so a duplicate message does
// not run the same chunk twice at once.
package restore
