// Package tablestore is the one seam to Azure Table Storage: a table of JSON
// documents keyed by (PartitionKey, RowKey) with ETag-conditional writes.
// The app's state stores (runstate, restore jobs, connections, audit) are
// built on it; none of them talks to aztables or translates its errors.
//
// The contract (Store):
//   - Get, Insert (ErrConflict when the key exists), Replace if the ETag still
//     matches (ErrConflict when it changed), Upsert, UpsertBatch, Delete
//     (a missing entity is success; a changed one ErrConflict) and List of a
//     partition by row-key prefix as an iterator that reads page by page.
//   - Errors are ErrNotFound, ErrConflict, ErrTooLarge and ErrInvalid,
//     wrapped with the operation, table and key; each implementation
//     translates its own errors in one function. An ETag mismatch is
//     ErrConflict, like an insert of an existing key: both mean "re-read and
//     decide again", and no caller needs to tell them apart.
//   - Modify is read-modify-write: it re-reads and re-applies the change
//     after a conflict, waiting with shared/retry's backoff (exponential,
//     full jitter), and stops when ctx is cancelled. It wraps the
//     interface, so no store keeps its own retry loop.
//   - Docs[T] is the typed view the domain stores use (encoding/json).
//
// One entity encoding, one size rule (encode.go): the document is stored as
// ASCII JSON (non-ASCII characters as \u escapes, because Azurite corrupts
// characters split across request chunks) cut into string properties Data,
// Data1, ... of at most 32,000 UTF-16 units, with their count in
// DataChunks; optional plain Columns sit beside it for people reading the
// table. An entity must weigh at most MaxEntityBytes by the service's size
// formula, which leaves a little under 1 MiB for the document. Both
// implementations check the rule before writing, so ErrTooLarge never
// depends on which store a test uses. Rows written by the older per-store
// encodings (a single Data property, or runstate's D0..Dn) are still read.
//
// Implementations: Azure (aztables, for Azure and Azurite) and Memory (a map
// under a mutex, for engine unit tests). Both pass the conformance suite in
// tablestoretest.
package tablestore
