// Package plan decides what a restore job writes. Build takes a Source (the
// backup: a run's tables, records and files), a Target (the environment
// written to: its metadata and live records) and a Request (scope, conflict
// policy, options, reference mapping) and returns a Plan: the writes as
// operations in chunks, phase by phase, a prediction for every record,
// association and relink considered (create, update, skip, conflict,
// fail, relink, with the field-level diff against the live record), the
// references that map nowhere, the backed-up values that cannot be
// written (NotWritable), and notes. It writes nothing and knows nothing of job state,
// queues or storage: shared/restore runs the plan (and gives the Dataverse
// Target); plantest has in-memory fakes and the conformance suite every
// Target passes.
//
// Planning, in order:
//
//  1. the records of the scope are chosen (tables, ids, a filter; deleted
//     records = present at the run and absent now, which includes what
//     the delete's Cascade relationships took), then related records
//     missing in the target (lookups, N:N partners; depth-limited), then
//     the notes of chosen records; activityparty rows are never chosen
//     (parties.go: they are written with their activity);
//  2. each chosen record is decided under the conflict Policy against its
//     live counterpart; a record a close message will close brings its
//     backed-up close activity, which the message writes (states.go);
//  3. each record to write gets its body, lookups mapped to the target (a
//     record restored by the job, the request's mapping, the same id, or a
//     natural key for users, teams, business units and currencies), state
//     (a PATCH, or the message Dataverse requires), an activity its
//     parties, and files; an update identical to the live record is
//     skipped; every backed-up value that cannot be written is listed
//     (notwritable.go); created records whose restored parent's delete
//     took them are named (cascade.go), and the survivors whose lookup a
//     RemoveLink delete cleared are relinked where untouched since;
//  4. N:N links touching chosen records (every link, for a whole
//     environment) are mapped and those missing in the target associated;
//  5. the writes are laid out in chunks: records (tables ordered so lookup
//     and party targets come first; lookups to records of a later chunk
//     deferred), patch (the deferred lookups), relink, file, association,
//     state.
//
// The live target is read by id, never whole: each step gathers the ids it
// needs and asks for them in one Rows call per table (the Dataverse Target
// batches them into requests), and liveView remembers the answers.
package plan
