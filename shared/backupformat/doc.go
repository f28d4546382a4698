// Package backupformat is the storage format of backups, shared by the backup
// engine (which writes it) and restore, export and browsing (which read it).
// All knowledge of the format lives here.
//
// The write side: container and blob names, the page format (gzip NDJSON,
// one record per line), manifests, the metadata snapshot name,
// content-addressed file blobs (PutFile), and FileHashKey, the key that
// replaces an inline file column moved to a file blob.
//
// The read side: TableState streams a table's state as of a run (the full
// load plus the deltas of later runs applied, deleted records removed) and
// TableIDs its ids; RunReader reads a run's tables, records and files (the
// source of a restore); LatestRun finds the newest restorable run; Export
// writes a table as of a run as CSV or JSON; Browse and FindRecord search a
// table's state; Verify re-reads a run's blobs against its manifest, and
// VerifyChain a run and the runs it builds on, naming the damaged tables.
//
// Blob names are derived only from (environment, run, table, page number), so
// a message that is processed twice overwrites the same blob instead of adding
// one. The format is documented in docs/storage-format.md; FormatVersion is
// written into every manifest and bumped on incompatible changes.
//
// Blobs are read and written through blobstore.Store (Azure or in memory);
// a missing blob, manifest or run is blobstore.ErrNotFound.
package backupformat
