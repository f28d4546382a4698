package backupformat

import (
	"fmt"
	"strings"
)

// FormatVersion is the version of the storage format described in
// docs/storage-format.md. Readers refuse manifests with a higher version.
const FormatVersion = 1

// Containers, one per purpose.
const (
	// ContainerBackups holds record pages, metadata snapshots, file-reference
	// lists and manifests, under env/<environment>/run/<run>/.
	ContainerBackups = "backups"
	// ContainerFiles holds file contents (attachments, file and image
	// columns) named by their sha256, stored once whatever the number of runs
	// and records referring to them.
	ContainerFiles = "backup-files"
)

// Containers lists every container the format uses.
func Containers() []string { return []string{ContainerBackups, ContainerFiles} }

// ValidID reports whether s may be used as an environment or run id in blob
// names: 1-100 characters of [A-Za-z0-9._-], not starting with '.'.
func ValidID(s string) bool {
	if s == "" || len(s) > 100 || s[0] == '.' {
		return false
	}
	for _, c := range s {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// EnvironmentPrefix is the prefix of every blob of an environment.
func EnvironmentPrefix(env string) string { return "env/" + env + "/" }

// RunPrefix is the prefix of every blob of a run (in ContainerBackups).
func RunPrefix(env, run string) string { return EnvironmentPrefix(env) + "run/" + run + "/" }

// ManifestBlob is the run's manifest (JSON), written when the run ends.
func ManifestBlob(env, run string) string { return RunPrefix(env, run) + "manifest.json" }

// MetadataBlob is the run's metadata snapshot (gzip JSON).
func MetadataBlob(env, run string) string { return RunPrefix(env, run) + "metadata.json.gz" }

// MetadataPartialBlob holds the metadata a throttled scan has read so far
// (deleted once the snapshot is complete; not part of the format a reader sees).
func MetadataPartialBlob(env, run string) string {
	return RunPrefix(env, run) + "metadata.partial.json.gz"
}

// TablePrefix is the prefix of a table's blobs in a run.
func TablePrefix(env, run, table string) string {
	return RunPrefix(env, run) + "tables/" + strings.ToLower(table) + "/"
}

// PageBlob is page n (1-based) of a table in a run: gzip NDJSON records.
// Pages are numbered on across the phases of a table (re-read, delta).
func PageBlob(env, run, table string, n int) string {
	return TablePrefix(env, run, table) + fmt.Sprintf("page-%06d.ndjson.gz", n)
}

// SweepIDsBlob holds the ids read by page n of a table's id sweep (engine
// scratch data, deleted when the sweep ends; not part of the format a
// reader sees).
func SweepIDsBlob(env, run, table string, n int) string {
	return TablePrefix(env, run, table) + fmt.Sprintf("sweep-%06d.ids", n)
}

// FileRefsBlob lists the files referenced by the records of page n (NDJSON
// FileRef lines), written by the files step.
func FileRefsBlob(env, run, table string, n int) string {
	return TablePrefix(env, run, table) + fmt.Sprintf("files-%06d.ndjson", n)
}

// FileBlob is the content-addressed name of a file (in ContainerFiles).
func FileBlob(sha256hex string) string {
	if len(sha256hex) < 2 {
		return "sha256/" + sha256hex
	}
	return "sha256/" + sha256hex[:2] + "/" + sha256hex
}
