package tablestore

import (
	"context"
	"errors"
	"iter"
)

// Errors every implementation returns (wrapped with the operation and the
// key); callers test them with errors.Is.
var (
	// ErrNotFound: no entity has the key (Get, Replace, Modify).
	ErrNotFound = errors.New("not found")
	// ErrConflict: Insert of a key that exists, or a Replace/Delete whose
	// ETag no longer matches (the entity changed since it was read). Both
	// mean "someone else wrote first": re-read and decide again. There is no
	// separate precondition-failed error because no caller handles the two
	// differently.
	ErrConflict = errors.New("conflict")
	// ErrTooLarge: the entity breaks the size rule (see MaxEntityBytes).
	// Nothing was written.
	ErrTooLarge = errors.New("entity too large")
	// ErrInvalid: a key, column or document the store cannot hold (empty
	// key, forbidden character, reserved column name, document not JSON).
	// Nothing was written.
	ErrInvalid = errors.New("invalid entity")
)

// ETag is an entity version as the store returns it. It is opaque: compare
// it only for equality and pass it back to Replace and Delete.
type ETag string

// Entity is one stored JSON document and its key.
type Entity struct {
	PartitionKey string
	RowKey       string
	// Doc is the JSON document (any JSON value, usually an object, in
	// UTF-8). It is read back as the same JSON value, not always the same
	// bytes: non-ASCII characters come back as \u escapes (see the package doc).
	Doc []byte
	// Columns are optional plain string properties stored beside the
	// document, for people reading the table in Storage Explorer (a status,
	// an action). They are read back as written; the document is the data.
	Columns map[string]string
	// ETag is the version read (Get, List). Writes ignore it: they take the
	// ETag to match as an argument.
	ETag ETag
}

// Store is one table of JSON documents with ETag-conditional writes.
// Implementations: Azure (Azure Table Storage and Azurite) and Memory; both
// pass the conformance suite in tablestoretest.
//
// Every implementation gives: read-after-write; a write is atomic (a reader
// sees the old or the new document, never a mix of chunks); every write
// returns the new ETag, and any change of an entity changes its ETag; errors
// are ErrNotFound, ErrConflict, ErrTooLarge, ErrInvalid or a transient or
// configuration error that the caller reports (the host's redelivery
// retries). Context errors come back as they are.
type Store interface {
	// Get reads one entity (ErrNotFound when missing).
	Get(ctx context.Context, partitionKey, rowKey string) (Entity, error)
	// Insert writes a new entity (ErrConflict when the key exists).
	Insert(ctx context.Context, e Entity) (ETag, error)
	// Replace overwrites the entity if its ETag is still ifMatch
	// (ErrConflict when it changed, ErrNotFound when it is gone). ifMatch
	// is an ETag read before, or "*" for any version of an existing
	// entity; "" is refused (ErrInvalid): Upsert is the unconditional write.
	Replace(ctx context.Context, e Entity, ifMatch ETag) (ETag, error)
	// Upsert writes the entity whether or not it exists.
	Upsert(ctx context.Context, e Entity) (ETag, error)
	// UpsertBatch upserts many entities with few requests (Azure: entity
	// group transactions of up to 100 per partition). It is not atomic as a
	// whole: after an error some entities may be written, so callers write
	// again (at-least-once) rather than assume nothing happened.
	UpsertBatch(ctx context.Context, es []Entity) error
	// Delete removes the entity if its ETag is still ifMatch ("" = any
	// version). A missing entity is success (deletes are idempotent); a
	// changed one is ErrConflict.
	Delete(ctx context.Context, partitionKey, rowKey string, ifMatch ETag) error
	// List streams the entities of a partition whose row keys start with
	// prefix ("" = all), in ascending row-key order, a page at a time:
	// stopping the loop stops the reads. Entities written during a listing
	// may or may not appear. A listing error is yielded once, last.
	List(ctx context.Context, partitionKey, prefix string) iter.Seq2[Entity, error]
	// ListAll streams every entity of the table, partition by partition, in
	// ascending key order: one query where a view needs a row of every
	// partition (the newest run of every environment). Same streaming and
	// error rules as List.
	ListAll(ctx context.Context) iter.Seq2[Entity, error]
}
