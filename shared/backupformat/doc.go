// Package backupformat is the storage format of backups, shared by the backup
// engine (which writes it) and restore and browsing (which read it). It owns
// container and blob names, the page format (gzip NDJSON, one record per
// line), manifests, the metadata snapshot name, content-addressed file blobs,
// and TableState, which streams a table's state as of a run (the full load
// plus the deltas of later runs applied, deleted records removed).
//
// Blob names are derived only from (environment, run, table, page number), so
// a message that is processed twice overwrites the same blob instead of adding
// one. The format is documented in docs/storage-format.md; FormatVersion is
// written into every manifest and bumped on incompatible changes.
//
// Blob storage is package blobstore (its Store, with the Azure and
// in-memory implementations); Blobs, BlobInfo, NewAzureBlobs, NewMemoryBlobs
// and the error names here are aliases of blobstore's.
package backupformat
