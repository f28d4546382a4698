package blobstore

import (
	"context"
	"errors"
	"io"
	"iter"
	"time"
)

// ErrNotFound is returned when a blob or container does not exist.
var ErrNotFound = errors.New("blob not found")

// ErrExists is returned by Put with IfNotExists when the blob exists.
var ErrExists = errors.New("blob already exists")

// PutOptions tune Put.
type PutOptions struct {
	ContentType string
	// IfNotExists makes Put fail with ErrExists instead of overwriting.
	IfNotExists bool
}

// Info describes a stored blob.
type Info struct {
	Name string
	Size int64
	ETag string
	// LastModified is set by List and Stat.
	LastModified time.Time
}

// Store is blob storage as the app needs it. Implementations: Azure
// (azblob, for Azure and Azurite) and Memory (unit tests); both pass the
// conformance suite in blobstoretest.
//
// Semantics every implementation gives: a Put is atomic (readers see the old
// or the new content, never a part); read-after-write; every Put gives a new
// ETag; Delete of a missing blob succeeds; Get/Stat of a missing blob (or
// container) return ErrNotFound; listing a missing container yields nothing.
// Errors other than ErrNotFound/ErrExists are transient or configuration
// errors that the caller reports and the host's redelivery retries; context
// errors come back as they are.
type Store interface {
	// Put streams r into the blob, creating the container when missing.
	Put(ctx context.Context, container, name string, r io.Reader, o *PutOptions) (Info, error)
	// Get opens the blob for reading; the caller closes it.
	Get(ctx context.Context, container, name string) (io.ReadCloser, error)
	// Stat returns size, ETag and modification time.
	Stat(ctx context.Context, container, name string) (Info, error)
	// List streams the blobs whose names start with prefix, by name, a
	// page at a time: stopping the loop stops the reads. A listing error is
	// yielded once, last.
	List(ctx context.Context, container, prefix string) iter.Seq2[Info, error]
	// Delete removes a blob; a missing blob is not an error.
	Delete(ctx context.Context, container, name string) error
}

// Collect reads a whole listing into a slice, for callers that need the
// names together (a run's blobs); a listing of a large prefix should be
// ranged over instead.
func Collect(seq iter.Seq2[Info, error]) ([]Info, error) {
	var out []Info
	for in, err := range seq {
		if err != nil {
			return out, err
		}
		out = append(out, in)
	}
	return out, nil
}
