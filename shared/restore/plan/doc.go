// Package plan decides what a restore job writes. Build takes a Source (the
// backup: a run's tables, records and files), a Target (the environment
// written to: its metadata and live records) and a Request (scope, conflict
// policy, options, reference mapping) and returns a Plan: the writes as
// operations in chunks, phase by phase, a prediction for every record and
// association considered (create, update, skip, conflict, fail, with the
// field-level diff against the live record), the references that map
// nowhere, and notes. It writes nothing and knows nothing of job state,
// queues or storage: shared/restore runs the plan (and gives the Dataverse
// Target); plantest has in-memory fakes and the conformance suite every
// Target passes.
//
// Planning, in order:
//
//  1. the records of the scope are chosen (tables, ids, a filter; deleted
//     records = present at the run and absent now), then related records
//     missing in the target (lookups, N:N partners; depth-limited), then
//     the notes of chosen records;
//  2. each chosen record is decided under the conflict Policy against its
//     live counterpart;
//  3. each record to write gets its body, lookups mapped to the target (a
//     record restored by the job, the request's mapping, the same id, or a
//     natural key for users, teams, business units and currencies), state
//     and files; an update identical to the live record is skipped;
//  4. N:N links touching chosen records (every link, for a whole
//     environment) are mapped and those missing in the target associated;
//  5. the writes are laid out in chunks: records (tables ordered so lookup
//     targets come first; lookups to records of a later chunk deferred),
//     patch (the deferred lookups), file, association, state.
//
// The live target is read by id, never whole: each step gathers the ids it
// needs and asks for them in one Rows call per table (the Dataverse Target
// batches them into requests), and liveView remembers the answers.
package plan
