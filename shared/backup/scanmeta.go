package backup

import (
	"compress/gzip"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/cloudbackup-d365/cloudbackup/shared/backupformat"
	"github.com/cloudbackup-d365/cloudbackup/shared/dataverse"
)

// How the scan reads table metadata. RetrieveMetadataChanges
// (powerapps-docs, developer/data-platform/query-schema-definitions.md)
// is the documented way to read many tables' columns and relationships in
// one request with the properties of the derived column types: the
// EntityDefinitions endpoints give Targets, OptionSet or MaxSizeInKB only
// through a cast, one cast per request, so they cost several requests per
// table (seven before: columns, lookups, choices, files and three kinds of
// relationships). It is also the only one that reports what changed since
// an earlier answer (cache-schema-data.md), which EntityDefinitions cannot.
//
//   - Full read: the tables in scope, MetadataTablesPerRequest per request
//     (a LogicalName Or-Equals filter, as the documented example; about
//     10 KB of URL for 50 names), the same properties for every table.
//   - Incremental read: when the previous finished run's snapshot has a
//     version stamp, one request with ClientVersionStamp (and
//     DeletedMetadataFilters Attribute, Relationship) over every table gives
//     what changed since; it is applied to that snapshot's tables
//     (metaparts.go), and only tables it lacks are read in full. The stamp
//     marks a point in time: the query then names no tables, a superset of
//     the full read's, so no change to a kept table is missed.
//   - An expired stamp (ExpiredVersionStamp, cache-schema-data.md "Manage
//     expired cache"), or any refusal of the incremental request, falls back
//     to the full read; the run records which happened and why
//     (Run.MetadataRead, Run.MetadataReason).
//
// The snapshot keeps the stamp of the earliest answer it was built from, so
// a change made while the scan reads is reported again by the next run's
// incremental read rather than lost (applying it twice is harmless).

// Metadata read kinds (Run.MetadataRead, snapshot metadataRead).
const (
	MetadataFull        = "full"
	MetadataIncremental = "incremental"
)

// metadataQuery is the query of every metadata read; names limits it to
// those tables (nil: every table, for the incremental read).
func metadataQuery(names []string) *dataverse.EntityQuery {
	q := &dataverse.EntityQuery{
		Properties:        &dataverse.MetadataProperties{PropertyNames: []string{"Attributes", "ManyToManyRelationships", "ManyToOneRelationships", "OneToManyRelationships"}},
		AttributeQuery:    &dataverse.MetadataSubQuery{Properties: &dataverse.MetadataProperties{PropertyNames: attributeQueryProps}},
		RelationshipQuery: &dataverse.MetadataSubQuery{Properties: &dataverse.MetadataProperties{PropertyNames: relationshipProps}},
	}
	if names != nil {
		q.Criteria = dataverse.NamesIn(names)
	}
	return q
}

// metaReader sends one metadata request (round the identities, retried in
// the invocation when it fails transiently) and counts it in the snapshot.
type metaReader func(fn func(c *dataverse.Client) error) error

// readTableMetadata fills snap.Tables for the tables in names (sorted).
// A retryable failure is returned (the caller keeps the partial snapshot);
// a refusal is recorded for the tables it concerns and the scan goes on.
func (e *Engine) readTableMetadata(ctx context.Context, snap *snapshot, names []string, base *backupformat.Manifest, fullReason string, read metaReader) error {
	if snap.MetadataRead == "" {
		if err := e.applyMetadataChanges(ctx, snap, names, base, fullReason, read); err != nil {
			return err
		}
	}
	var missing []string
	for _, n := range names {
		if snap.Tables[n] == nil {
			missing = append(missing, n)
		}
	}
	per := e.opts.MetadataTablesPerRequest
	for chunk := range slices.Chunk(missing, per) {
		var ch dataverse.MetadataChanges
		err := read(func(c *dataverse.Client) (err error) {
			ch, err = c.RetrieveMetadataChanges(ctx, metadataQuery(chunk), nil)
			return err
		})
		if err != nil {
			if dataverse.Classify(err).Retryable() {
				return err
			}
			// Refused (privilege, bad request): the snapshot records the
			// answer for these tables and the scan goes on.
			for _, n := range chunk {
				snap.Tables[n] = refusedParts(err.Error())
			}
			continue
		}
		if snap.MetadataVersionStamp == "" {
			snap.MetadataVersionStamp = ch.ServerVersionStamp
		}
		want := map[string]bool{}
		for _, n := range chunk {
			want[n] = true
		}
		for _, raw := range ch.EntityMetadata {
			ent, err := decodeEntity(raw)
			if err != nil {
				return err
			}
			if !want[ent.LogicalName] {
				continue
			}
			parts, err := tableParts(ent)
			if err != nil {
				return err
			}
			if snap.Tables[ent.LogicalName], err = encodeParts(parts); err != nil {
				return err
			}
		}
		for _, n := range chunk {
			if snap.Tables[n] == nil {
				snap.Tables[n] = refusedParts("the table is not in the RetrieveMetadataChanges answer")
			}
		}
	}
	return nil
}

func refusedParts(msg string) map[string]json.RawMessage {
	b, _ := json.Marshal(msg)
	out := map[string]json.RawMessage{}
	for _, p := range snapshotParts {
		out[p+"Error"] = b
	}
	return out
}

// applyMetadataChanges decides between an incremental and a full read and
// does the incremental one: the previous snapshot's tables with the changes
// since applied. It sets snap.MetadataRead (and the reason of a full read).
func (e *Engine) applyMetadataChanges(ctx context.Context, snap *snapshot, names []string, base *backupformat.Manifest, fullReason string, read metaReader) error {
	full := func(why string) error {
		snap.MetadataRead, snap.MetadataReason = MetadataFull, why
		return nil
	}
	if fullReason != "" {
		return full(fullReason)
	}
	prev, why := e.previousSnapshot(ctx, base)
	if prev == nil {
		return full(why)
	}
	var ch dataverse.MetadataChanges
	err := read(func(c *dataverse.Client) (err error) {
		ch, err = c.RetrieveMetadataChanges(ctx, metadataQuery(nil), &dataverse.MetadataChangesOptions{
			ClientVersionStamp: prev.MetadataVersionStamp, DeletedMetadataFilters: []string{"Attribute", "Relationship"}})
		return err
	})
	switch {
	case err != nil && dataverse.IsVersionStampExpired(err):
		return full("the metadata version stamp of run " + base.Run + " expired: " + errText(err))
	case err != nil && !dataverse.Classify(err).Retryable():
		return full("the incremental metadata read was refused: " + errText(err))
	case err != nil:
		return err
	}
	deleted := map[string]bool{}
	for _, kind := range []string{"Attribute", "Relationship"} {
		for _, id := range ch.Deleted[kind] {
			deleted[strings.ToLower(id)] = true
		}
	}
	changes := map[string]complexEntity{}
	for _, raw := range ch.EntityMetadata {
		ent, err := decodeEntity(raw)
		if err != nil {
			return err
		}
		changes[ent.LogicalName] = ent
	}
	kept := 0
	for _, n := range names {
		parts, ok := decodeParts(prev.Tables[n])
		if !ok {
			continue // not in the previous snapshot, or refused there: read in full
		}
		removeIDs(parts, deleted)
		if ent, ok := changes[n]; ok {
			if err := applyEntity(parts, ent); err != nil {
				return err
			}
		}
		tm, err := encodeParts(parts)
		if err != nil {
			return err
		}
		snap.Tables[n] = tm
		kept++
	}
	snap.MetadataRead, snap.MetadataBase = MetadataIncremental, base.Run
	snap.MetadataVersionStamp = ch.ServerVersionStamp
	snap.MetadataReason = fmt.Sprintf("%d table(s) changed since run %s", len(changes), base.Run)
	e.log.InfoContext(ctx, "metadata read incrementally", "run", snap.Run, "base", base.Run, "kept", kept,
		"changedTables", len(changes), "deleted", len(deleted))
	return nil
}

// previousSnapshot reads the snapshot of the base run, checked against its
// manifest, when it can serve an incremental read; else why not.
func (e *Engine) previousSnapshot(ctx context.Context, base *backupformat.Manifest) (*snapshot, string) {
	if base == nil {
		return nil, "no earlier run to read changes from"
	}
	if base.Metadata == nil || base.Metadata.Blob == "" {
		return nil, "run " + base.Run + " has no metadata snapshot"
	}
	rc, err := e.blobs.Get(ctx, backupformat.ContainerBackups, base.Metadata.Blob)
	if err != nil {
		return nil, "the metadata snapshot of run " + base.Run + " is unreadable: " + err.Error()
	}
	defer rc.Close()
	h := sha256.New()
	tee := io.TeeReader(rc, h)
	gz, err := gzip.NewReader(tee)
	if err != nil {
		return nil, "the metadata snapshot of run " + base.Run + " is unreadable: " + err.Error()
	}
	var prev snapshot
	if err := json.NewDecoder(gz).Decode(&prev); err != nil {
		return nil, "the metadata snapshot of run " + base.Run + " is unreadable: " + err.Error()
	}
	_, _ = io.Copy(io.Discard, gz)
	_, _ = io.Copy(io.Discard, tee)
	if sum := hex.EncodeToString(h.Sum(nil)); base.Metadata.SHA256 != "" && sum != base.Metadata.SHA256 {
		return nil, "the metadata snapshot of run " + base.Run + " does not match its manifest checksum"
	}
	if prev.MetadataVersionStamp == "" {
		return nil, "the metadata snapshot of run " + base.Run + " has no version stamp"
	}
	return &prev, ""
}
