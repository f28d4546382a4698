// Package runstate keeps the state of backup runs and of their table tasks
// in Azure Table Storage, with ETag-conditional updates so concurrent or
// duplicate invocations never lose or double an update.
//
// Tables and keys (the names are the constants in Tables()):
//
//   - runs: PartitionKey = environment id, RowKey = run id. Run ids start with
//     the UTC creation time (20260102T030405.123456Z-<8 hex>), so a partition lists
//     an environment's runs oldest first. One extra row per environment,
//     RowKey "~active", names the run in progress: it is created (or taken
//     over from a finished run) with a conditional write when a run is
//     created, which is what makes "never two runs of one environment at
//     once" hold, and released when the run ends.
//   - tabletasks: PartitionKey = run id, RowKey = table logical name. One row
//     per table in scope of the run: its mode, phase, page count, next link,
//     delta link, counts and the stats of every page written. Listing a run's
//     tasks is one partition query.
//
// LatestRuns answers every environment's newest run in one query of the
// runs table (the "~active" rows filtered out), for views that list
// environments.
//
// The tables are tablestore Stores: each row is the JSON of a Run, Task or
// lock in tablestore's one encoding (chunked over properties, checked
// against the entity-size rule), plus a plain Status column for people
// reading the table in Storage Explorer. Updates are ETag-conditional;
// ModifyRun and ModifyTask are tablestore's read-modify-write with backoff.
// Open builds the Store on Azure Table Storage; New takes any tablestore
// tables, such as tablestore.NewMemory for engine unit tests.
package runstate
